// OpenSSL's headers for the TLS client of rediss:// (QuenchTLSClient is the only target that imports them),
// plus static-inline wrappers for the few macros Swift cannot import. Nothing here holds logic of its own.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/// SSL_CTX_set_mode (a macro over SSL_CTX_ctrl).
static inline long copenssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }

/// SSL_CTX_set_min_proto_version (a macro over SSL_CTX_ctrl).
static inline int copenssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

/// SSL_set_tlsext_host_name (a macro over SSL_ctrl): the name sent as SNI.
static inline int copenssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }

/// The SSL_MODE_* flags the client sets (macros of a type Swift imports awkwardly).
static inline long copenssl_mode_partial_moving(void) {
    return SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
}

/// Reads an EOF without close_notify as an orderly close (SSL_OP_IGNORE_UNEXPECTED_EOF, a macro): a RESP
/// reply cut short by it is incomplete either way, and Redis closes without close_notify now and then.
static inline void copenssl_ctx_ignore_unexpected_eof(SSL_CTX *ctx) { SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); }

#endif
