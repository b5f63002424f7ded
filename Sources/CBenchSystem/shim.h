// quench-bench's door to C: the libc headers the load tool uses (sockets, poll, resource limits and
// usage, signals), plus static-inline wrappers for what Swift cannot reach without the Glibc overlay.
// Nothing here holds logic of its own.
#ifndef CBENCHSYSTEM_SHIM_H
#define CBENCHSYSTEM_SHIM_H

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/// The calling thread's errno (a macro in C).
static inline int cbench_errno(void) { return errno; }
/// read(2), write(2) and close(2) under names no Swift method shadows.
static inline ssize_t cbench_read(int fd, void *buffer, size_t count) { return read(fd, buffer, count); }
static inline ssize_t cbench_write(int fd, const void *buffer, size_t count) { return write(fd, buffer, count); }
static inline int cbench_close(int fd) { return close(fd); }
/// A peer that goes away mid-write is an error return, not a fatal SIGPIPE (SIG_IGN is a macro cast).
static inline void cbench_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

#endif
