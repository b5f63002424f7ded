// The C side of quench: libwebsockets' headers, plus static-inline wrappers for the few macros
// Swift cannot import. Nothing here holds logic of its own.
#ifndef CLIBWEBSOCKETS_SHIM_H
#define CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>
#include <malloc.h>

/// Headroom lws needs in front of every payload handed to lws_write (LWS_PRE is a macro expression).
static inline size_t clws_pre(void) { return LWS_PRE; }

/// Whether the connection still holds a header table: asked right after lws_http_transaction_completed,
/// that says whether bytes of a next, pipelined request are already buffered on it. lws 4.1 keeps the
/// table then (server.c, "resetting/keeping ah as pipeline") and detaches it otherwise, and the table's
/// pool is as large as the descriptor limit, so attaching one never waits. No public call reports the
/// table itself; lws_hdr_custom_copy clears its destination only when there is one (and finds no custom
/// header in a table just reset), so the probe byte tells.
static inline int clws_holds_header_table(struct lws *wsi) {
    char probe = 1;
    (void)lws_hdr_custom_copy(wsi, &probe, 1, "", 0);
    return probe == 0;
}

/// Hands every free page of every malloc arena back to the system (glibc's malloc_trim, whose header the
/// Swift Glibc module does not include); 1 if any memory was released.
static inline int clws_malloc_trim(void) { return malloc_trim(0); }

#endif
