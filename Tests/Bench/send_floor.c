/* The kernel's own cost of a reminder fan-out, with no server at all: N established loopback TCP
 * connections, then one send() of a reminder-sized message on each, timed. A child process holds the
 * client ends and reads them with epoll, as the bench clients would, so the loopback receive path and the
 * wake-ups are paid as in the real fan-out. No lws, no Engine.IO: whatever a server adds comes on top.
 *
 * Build: cc -O2 -o send_floor send_floor.c    Run: ./send_floor [CONNECTIONS] [PORT]
 * Prints: `sends=N wall_ms=W cpu_ms=C` (C: CPU time of the sending process during the sends). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double milliseconds(clockid_t clock) {
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The child: connect every client end, say so on the pipe, then read until each has had its message. */
static void hold_clients(const struct sockaddr_in *address, int count, int ready_pipe) {
	int poller = epoll_create1(0);
	for (int i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (const struct sockaddr *)address, sizeof *address) != 0) {
			perror("send_floor: connect");
			exit(1);
		}
		struct epoll_event interest = { .events = EPOLLIN, .data.fd = fd };
		epoll_ctl(poller, EPOLL_CTL_ADD, fd, &interest);
	}
	if (write(ready_pipe, "r", 1) != 1) exit(1);
	char buffer[4096];
	struct epoll_event events[512];
	for (int received = 0; received < count;) {
		int ready = epoll_wait(poller, events, 512, 10000);
		if (ready <= 0) {
			fprintf(stderr, "send_floor: clients received %d of %d\n", received, count);
			exit(1);
		}
		for (int i = 0; i < ready; i++)
			if (read(events[i].data.fd, buffer, sizeof buffer) > 0) received++;
	}
	exit(0);
}

int main(int argc, char **argv) {
	int count = argc > 1 ? atoi(argv[1]) : 15000;
	int port = argc > 2 ? atoi(argv[2]) : 5999;
	struct rlimit limit;
	getrlimit(RLIMIT_NOFILE, &limit);
	limit.rlim_cur = limit.rlim_max;
	setrlimit(RLIMIT_NOFILE, &limit);

	int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) {
		perror("send_floor: listen");
		return 1;
	}
	int ready_pipe[2];
	if (pipe(ready_pipe) != 0) return 1;
	pid_t child = fork();
	if (child == 0) hold_clients(&address, count, ready_pipe[1]);

	int *servers = malloc(sizeof(int) * (size_t)count);
	for (int i = 0; i < count; i++) {
		servers[i] = accept(listener, NULL, NULL);
		if (servers[i] < 0) {
			perror("send_floor: accept");
			return 1;
		}
		setsockopt(servers[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as lws sets it */
	}
	char ready;
	if (read(ready_pipe[0], &ready, 1) != 1) return 1;

	/* A WebSocket text frame of the reminder's size: 2 header bytes + 66 payload bytes. */
	char message[68];
	memset(message, 'x', sizeof message);
	double wall_start = milliseconds(CLOCK_MONOTONIC), cpu_start = milliseconds(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < count; i++) {
		if (send(servers[i], message, sizeof message, MSG_NOSIGNAL) != (ssize_t)sizeof message) {
			perror("send_floor: send");
			return 1;
		}
	}
	double wall = milliseconds(CLOCK_MONOTONIC) - wall_start, cpu = milliseconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
	int status = 0;
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
	printf("sends=%d wall_ms=%.1f cpu_ms=%.1f\n", count, wall, cpu);
	return 0;
}
