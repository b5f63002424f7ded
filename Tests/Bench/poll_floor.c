/* The long-poll floor: the least an Engine.IO long-polling chat server on libwebsockets 4.1 must do for the
 * seed's app, so quench's polling path can be measured against what lws itself costs (as
 * ../shared/reference/lws_floor.c is for WebSocket). One GET is held per client and answered with whatever
 * the client's POSTs produced (the CONNECT reply and welcome, each bot_message reply), or with a reminder
 * broadcast to every held GET. Engine.IO framing goes only as far as quench-bench's polling client needs:
 * a handshake with a sid, packets joined by the record separator, `ok` for each POST. No pings, no
 * upgrades, no timeouts of its own, no checks beyond what keeps it from writing out of bounds.
 * It is not a product: it exists to be measured.
 *
 * Build: cc -O2 -o poll_floor poll_floor.c -lwebsockets    Run: ./poll_floor PORT [REMINDER_SECONDS] */
#define _GNU_SOURCE
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_BYTES 2048 /* packets waiting for a session's next GET */
#define BODY_BYTES 4096  /* a POST body (the bench's are tens of bytes) */

struct session {
	struct lws *held; /* the GET waiting for packets, if any */
	size_t queued;
	char queue[QUEUE_BYTES];
	size_t body_len; /* the POST being read (a client sends one at a time) */
	char body[BODY_BYTES];
};
static struct session *sessions;
static int session_count, session_capacity;

/* Per request (lws 4.1 allocates it afresh, zeroed, for each request on a keep-alive connection, so it
 * stays small): the session the request names. */
struct pss {
	int session; /* -1: none */
};

static struct lws_context *context;
static int reminder_every;
static lws_sorted_usec_list_t reminder_sul;

/* Writes a 200 with `body` on `wsi` and ends the transaction; nonzero when the connection must close. */
static int respond(struct lws *wsi, const char *body, size_t len) {
	static unsigned char out[LWS_PRE + 256 + QUEUE_BYTES];
	char *p = (char *)out + LWS_PRE;
	int head = snprintf(p, 256, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: %zu\r\n\r\n", len);
	memcpy(p + head, body, len);
	if (lws_write(wsi, (unsigned char *)p, (size_t)head + len, LWS_WRITE_HTTP_FINAL) < 0) return 1;
	return lws_http_transaction_completed(wsi);
}

/* The same, on a held GET from outside its own callback: a failure closes it at the next service turn. */
static void answer_held(struct session *s) {
	struct lws *wsi = s->held;
	s->held = NULL;
	if (respond(wsi, s->queue, s->queued)) lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	s->queued = 0;
}

static void enqueue(struct session *s, const char *packet, size_t len) {
	if (s->queued + 1 + len > QUEUE_BYTES) return;
	if (s->queued) s->queue[s->queued++] = 0x1e;
	memcpy(s->queue + s->queued, packet, len);
	s->queued += len;
}

static void reminder_schedule(void);
static void reminder_fire(lws_sorted_usec_list_t *sul) {
	char text[128];
	time_t t = time(NULL); struct tm tm; localtime_r(&t, &tm);
	int n = snprintf(text, sizeof text, "42[\"bot_message\",{\"text\":\"Remember to stay hydrated! It's %02d:%02d\"}]",
		tm.tm_hour, tm.tm_min);
	for (int i = 0; i < session_count; i++) {
		enqueue(&sessions[i], text, (size_t)n);
		if (sessions[i].held) answer_held(&sessions[i]);
	}
	reminder_schedule();
}
static void reminder_schedule(void) {
	struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
	long long now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, every_us = (long long)reminder_every * 1000000;
	lws_sul_schedule(context, 0, &reminder_sul, reminder_fire, (now_us / every_us + 1) * every_us - now_us);
}

/* The sid in the query (`f` + the session's number), or -1. */
static int session_of(struct lws *wsi) {
	char value[32];
	const char *sid = lws_get_urlarg_by_name(wsi, "sid=", value, sizeof value);
	if (!sid || sid[0] != 'f') return -1;
	int n = atoi(sid + 1);
	return n >= 0 && n < session_count ? n : -1;
}

/* A POST's packets: the namespace CONNECT and each user_message; anything else (a pong) is dropped. */
static void handle_packets(struct session *s, const char *sid, const char *d, size_t len) {
	while (len) {
		const char *end = memchr(d, 0x1e, len);
		size_t n = end ? (size_t)(end - d) : len;
		if (n >= 2 && d[0] == '4' && d[1] == '0') {
			char reply[64];
			int r = snprintf(reply, sizeof reply, "40{\"sid\":\"%s\"}", sid);
			enqueue(s, reply, (size_t)r);
			const char *welcome = "42[\"system_message\",{\"text\":\"Connected to server\"}]";
			enqueue(s, welcome, strlen(welcome));
		} else if (n > 2 && d[0] == '4' && d[1] == '2') {
			const char *k = memmem(d, n, "\"text\":\"", 8), *e = NULL;
			if (k) { k += 8; e = memchr(k, '"', n - (size_t)(k - d)); }
			if (e) {
				char reply[600];
				time_t t = time(NULL); struct tm tm; localtime_r(&t, &tm);
				int r = snprintf(reply, sizeof reply, "42[\"bot_message\",{\"text\":\"%.*s rcvd at %02d:%02d:%02d (dummy reply)\"}]",
					(int)(e - k), k, tm.tm_hour, tm.tm_min, tm.tm_sec);
				if (r > 0 && (size_t)r < sizeof reply) enqueue(s, reply, (size_t)r);
			}
		}
		if (!end) break;
		len -= n + 1;
		d = end + 1;
	}
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
	struct pss *p = user;
	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		p->session = session_of(wsi);
		if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) { /* the body follows */
			if (p->session < 0) return -1;
			sessions[p->session].body_len = 0;
			return 0;
		}
		if (p->session < 0) { /* the handshake */
			if (session_count == session_capacity) {
				session_capacity = session_capacity ? session_capacity * 2 : 1024;
				sessions = realloc(sessions, sizeof *sessions * (size_t)session_capacity);
				if (!sessions) return -1;
			}
			struct session *s = &sessions[session_count];
			s->held = NULL; s->queued = 0; s->body_len = 0;
			char open[160];
			int n = snprintf(open, sizeof open, "0{\"sid\":\"f%d\",\"upgrades\":[],\"pingInterval\":25000,"
				"\"pingTimeout\":20000,\"maxPayload\":1000000}", session_count++);
			return respond(wsi, open, (size_t)n) ? -1 : 0;
		}
		struct session *s = &sessions[p->session];
		if (s->queued) {
			int failed = respond(wsi, s->queue, s->queued);
			s->queued = 0;
			return failed ? -1 : 0;
		}
		s->held = wsi;
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0); /* held until there is something to say */
		return 0;
	}
	case LWS_CALLBACK_HTTP_BODY: {
		if (p->session < 0) return -1;
		struct session *s = &sessions[p->session];
		if (s->body_len + len > BODY_BYTES) return -1;
		memcpy(s->body + s->body_len, in, len);
		s->body_len += len;
		return 0; }
	case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
		if (p->session < 0) return -1;
		struct session *s = &sessions[p->session];
		char sid[16];
		snprintf(sid, sizeof sid, "f%d", p->session);
		handle_packets(s, sid, s->body, s->body_len);
		if (s->queued && s->held) answer_held(s);
		return respond(wsi, "ok", 2) ? -1 : 0;
	}
	case LWS_CALLBACK_CLOSED_HTTP:
		if (p && p->session >= 0 && p->session < session_count && sessions[p->session].held == wsi)
			sessions[p->session].held = NULL;
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static struct lws_protocols protocols[] = {
	{ "http", cb, sizeof(struct pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv) {
	struct lws_context_creation_info info; memset(&info, 0, sizeof info);
	lws_set_log_level(LLL_ERR, NULL);
	info.port = argc > 1 ? atoi(argv[1]) : 5098;
	info.iface = "127.0.0.1";
	info.protocols = protocols;
	info.fd_limit_per_thread = 20000;
	context = lws_create_context(&info);
	if (!context) return 1;
	reminder_every = argc > 2 ? atoi(argv[2]) : 0;
	if (reminder_every > 0) reminder_schedule();
	while (lws_service(context, 0) >= 0) ;
	lws_context_destroy(context);
	return 0;
}
