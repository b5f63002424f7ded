/* The TLS floor: ../shared/reference/lws_floor.c, unchanged, with TLS on. Its source is included here whole;
 * the one call that creates its lws context is redirected so the context gets what quench's own gets under
 * `--tls-cert`/`--tls-key` (LWSServer.start): OpenSSL initialised by lws, the certificate and key from PEM
 * files, ALPN http/1.1, and lws's default cipher list. So the same certificate gives both servers the same
 * handshake and the same cipher, and whatever quench costs beyond this over wss:// is its own.
 *
 * Build: cc -O2 -I../shared/reference -o tls_floor tls_floor.c -lwebsockets
 * Run:   TLS_FLOOR_CERT=cert.pem TLS_FLOOR_KEY=key.pem ./tls_floor PORT [REMINDER_SECONDS] */
#define _GNU_SOURCE
#include <libwebsockets.h>
#include <stdlib.h>

static struct lws_context *tls_create_context(struct lws_context_creation_info *info);
#define lws_create_context tls_create_context
#include "lws_floor.c"
#undef lws_create_context

static struct lws_context *tls_create_context(struct lws_context_creation_info *info) {
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info->ssl_cert_filepath = getenv("TLS_FLOOR_CERT");
	info->ssl_private_key_filepath = getenv("TLS_FLOOR_KEY");
	info->alpn = "http/1.1";
	if (!info->ssl_cert_filepath || !info->ssl_private_key_filepath) {
		fprintf(stderr, "tls_floor: set TLS_FLOOR_CERT and TLS_FLOOR_KEY to PEM files\n");
		return NULL;
	}
	return lws_create_context(info);
}
