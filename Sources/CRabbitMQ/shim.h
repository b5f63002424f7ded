// rabbitmq-c 0.11 (Debian's librabbitmq-dev) for QuenchAMQP, plus wrappers for what Swift cannot call or
// build itself: amqp_login is variadic, and field tables are arrays of unions.
#ifndef QUENCH_CRABBITMQ_SHIM_H
#define QUENCH_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

/// Logs in with PLAIN and tells the broker what this client understands: `connection.blocked` (flow
/// control notices), `consumer_cancel_notify` (a deleted queue cancels its consumer instead of going quiet)
/// and `authentication_failure_close` (a refused login is a connection.close with a reason).
static inline amqp_rpc_reply_t quench_amqp_login(amqp_connection_state_t state, const char *vhost, int heartbeat,
                                                 const char *user, const char *password) {
    amqp_table_entry_t capabilities[3];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    capabilities[1].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[1].value.value.boolean = 1;
    capabilities[2].key = amqp_cstring_bytes("authentication_failure_close");
    capabilities[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[2].value.value.boolean = 1;
    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 3;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("product");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes("quench");
    amqp_table_t table = {2, properties};
    return amqp_login_with_properties(state, vhost, 0, 131072, heartbeat, &table, AMQP_SASL_METHOD_PLAIN, user, password);
}

/// A TLS socket (amqps://) that verifies the broker's certificate chain against `ca_file` (NULL: the
/// system's store) and its name against `name`, a DNS name or an IP address; TLS 1.2 or later. rabbitmq-c's
/// own name check is off: it would check the URL's host, which cannot be an address or another name.
/// NULL when it cannot be made, with `why` saying why.
static inline amqp_socket_t *quench_amqp_tls_socket(amqp_connection_state_t state, const char *ca_file, const char *name,
                                                    char *why, size_t size) {
    amqp_socket_t *socket = amqp_ssl_socket_new(state);
    if (socket == NULL) {
        snprintf(why, size, "cannot create a TLS socket");
        return NULL;
    }
    amqp_ssl_socket_set_verify_peer(socket, 1);
    amqp_ssl_socket_set_verify_hostname(socket, 0);
    amqp_ssl_socket_set_ssl_versions(socket, AMQP_TLSv1_2, AMQP_TLSvLATEST);
    SSL_CTX *context = amqp_ssl_socket_get_context(socket);
    int loaded = ca_file != NULL ? SSL_CTX_load_verify_locations(context, ca_file, NULL) : SSL_CTX_set_default_verify_paths(context);
    if (loaded != 1) {
        snprintf(why, size, "cannot load the CA certificates %s", ca_file != NULL ? ca_file : "of the system");
        return NULL;
    }
    // Sessions made from this context inherit the name to check (part of the chain's verification).
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(context);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    unsigned char address[16];
    if (inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name);
    } else {
        X509_VERIFY_PARAM_set1_host(param, name, 0);
    }
    return socket;
}

/// `queue.declare` as python-socketio's managers declare theirs: not durable, not exclusive, not
/// auto-deleted, with `x-expires` (milliseconds) so that the queue of a node gone for good goes too.
static inline int quench_amqp_declare_queue(amqp_connection_state_t state, amqp_channel_t channel, const char *name,
                                            int64_t expires) {
    amqp_table_entry_t arguments[1];
    arguments[0].key = amqp_cstring_bytes("x-expires");
    arguments[0].value.kind = AMQP_FIELD_KIND_I64;
    arguments[0].value.value.i64 = expires;
    amqp_table_t table = {1, arguments};
    return amqp_queue_declare(state, channel, amqp_cstring_bytes(name), 0, 0, 0, 0, table) != NULL;
}

/// `exchange.declare` of a fanout exchange that is neither durable nor auto-deleted (as Kombu and aio-pika
/// declare python-socketio's).
static inline int quench_amqp_declare_fanout(amqp_connection_state_t state, amqp_channel_t channel, const char *name) {
    return amqp_exchange_declare(state, channel, amqp_cstring_bytes(name), amqp_cstring_bytes("fanout"), 0, 0, 0, 0,
                                 amqp_empty_table) != NULL;
}

static inline int quench_amqp_bind(amqp_connection_state_t state, amqp_channel_t channel, const char *queue,
                                   const char *exchange) {
    return amqp_queue_bind(state, channel, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange),
                           amqp_cstring_bytes(""), amqp_empty_table) != NULL;
}

/// `basic.consume` without acknowledgements (at most once, as the Redis channel delivers).
static inline int quench_amqp_consume(amqp_connection_state_t state, amqp_channel_t channel, const char *queue) {
    return amqp_basic_consume(state, channel, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 1, 0, amqp_empty_table) != NULL;
}

/// Publishes `body` with the properties KombuManager's messages carry on the wire (Kombu sends the str it
/// is given as it is: content type text/plain, encoding utf-8, delivery mode 2).
static inline int quench_amqp_publish(amqp_connection_state_t state, amqp_channel_t channel, const char *exchange,
                                      const char *routing_key, const void *body, size_t length) {
    amqp_basic_properties_t properties;
    memset(&properties, 0, sizeof properties);
    properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    properties.content_type = amqp_cstring_bytes("text/plain");
    properties.content_encoding = amqp_cstring_bytes("utf-8");
    properties.delivery_mode = 2;
    amqp_bytes_t bytes = {length, (void *)body};
    return amqp_basic_publish(state, channel, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key), 0, 0,
                              &properties, bytes);
}

/// What waiting for the broker gave.
typedef enum {
    QUENCH_AMQP_NOTHING = 0,   // the timeout passed
    QUENCH_AMQP_DELIVERY,      // `envelope` holds a message (free it with amqp_destroy_envelope)
    QUENCH_AMQP_CANCELLED,     // basic.cancel: the queue was deleted
    QUENCH_AMQP_CLOSED,        // connection.close or channel.close; `why` says why
    QUENCH_AMQP_FAILED,        // the socket or a heartbeat failed; `why` says why
    QUENCH_AMQP_BLOCKED,       // connection.blocked; `why` holds the broker's reason
    QUENCH_AMQP_UNBLOCKED,     // connection.unblocked
    QUENCH_AMQP_OTHER,         // any other frame, ignored
} quench_amqp_event;

static inline void quench_amqp_copy(amqp_bytes_t bytes, char *out, size_t size) {
    size_t length = bytes.len < size - 1 ? bytes.len : size - 1;
    memcpy(out, bytes.bytes, length);
    out[length] = 0;
}

/// Classifies one method frame read off the connection (not a delivery).
static inline quench_amqp_event quench_amqp_method(amqp_connection_state_t state, amqp_frame_t *frame, char *why, size_t size) {
    if (frame->frame_type != AMQP_FRAME_METHOD) return QUENCH_AMQP_OTHER;
    switch (frame->payload.method.id) {
    case AMQP_BASIC_CANCEL_METHOD:
        return QUENCH_AMQP_CANCELLED;
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *close = frame->payload.method.decoded;
        quench_amqp_copy(close->reply_text, why, size);
        amqp_connection_close_ok_t ok;
        amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        return QUENCH_AMQP_CLOSED;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *close = frame->payload.method.decoded;
        quench_amqp_copy(close->reply_text, why, size);
        return QUENCH_AMQP_CLOSED;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        amqp_connection_blocked_t *blocked = frame->payload.method.decoded;
        quench_amqp_copy(blocked->reason, why, size);
        return QUENCH_AMQP_BLOCKED;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        return QUENCH_AMQP_UNBLOCKED;
    default:
        return QUENCH_AMQP_OTHER;
    }
}

/// Waits up to `milliseconds` for a delivery or any other frame (0: only what has already arrived). Sends
/// heartbeats when due and notices a broker that has sent none for two intervals.
static inline quench_amqp_event quench_amqp_wait(amqp_connection_state_t state, int milliseconds, int consuming,
                                                 amqp_envelope_t *envelope, char *why, size_t size) {
    struct timeval timeout = {milliseconds / 1000, (milliseconds % 1000) * 1000};
    why[0] = 0;
    amqp_maybe_release_buffers(state);
    if (consuming) {
        amqp_rpc_reply_t reply = amqp_consume_message(state, envelope, &timeout, 0);
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) return QUENCH_AMQP_DELIVERY;
        if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) return QUENCH_AMQP_NOTHING;
        if (reply.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION || reply.library_error != AMQP_STATUS_UNEXPECTED_STATE) {
            snprintf(why, size, "%s", amqp_error_string2(reply.library_error));
            return QUENCH_AMQP_FAILED;
        }
        timeout.tv_sec = 0;
        timeout.tv_usec = 0;
    }
    amqp_frame_t frame;
    int status = amqp_simple_wait_frame_noblock(state, &frame, &timeout);
    if (status == AMQP_STATUS_TIMEOUT) return QUENCH_AMQP_NOTHING;
    if (status != AMQP_STATUS_OK) {
        snprintf(why, size, "%s", amqp_error_string2(status));
        return QUENCH_AMQP_FAILED;
    }
    return quench_amqp_method(state, &frame, why, size);
}

/// The reason an RPC (login, declare, bind, consume) failed, written to `why`.
static inline void quench_amqp_reply_text(amqp_rpc_reply_t reply, char *why, size_t size) {
    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(why, size, "no error");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(why, size, "no reply from the broker");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(why, size, "%s", amqp_error_string2(reply.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *close = reply.reply.decoded;
            quench_amqp_copy(close->reply_text, why, size);
        } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *close = reply.reply.decoded;
            quench_amqp_copy(close->reply_text, why, size);
        } else {
            snprintf(why, size, "unexpected reply method 0x%08X", reply.reply.id);
        }
        break;
    }
}

/// Whether `reply` is a server refusal of the login or the virtual host (403 ACCESS_REFUSED, 530 NOT_ALLOWED),
/// which no retry alone will cure.
static inline int quench_amqp_refused(amqp_rpc_reply_t reply) {
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || reply.reply.id != AMQP_CONNECTION_CLOSE_METHOD) return 0;
    amqp_connection_close_t *close = reply.reply.decoded;
    return close->reply_code == 403 || close->reply_code == 530;
}

#endif
