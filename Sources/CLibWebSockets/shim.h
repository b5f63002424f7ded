// The C side of quench: libwebsockets' headers, plus static-inline wrappers for the few macros
// Swift cannot import. Nothing here holds logic of its own.
#ifndef CLIBWEBSOCKETS_SHIM_H
#define CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>

/// Headroom lws needs in front of every payload handed to lws_write (LWS_PRE is a macro expression).
static inline size_t clws_pre(void) { return LWS_PRE; }

#endif
