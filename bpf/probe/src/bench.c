// SPDX-License-Identifier: MIT
/*
 * hangar-probe-bench: the syscalls the probe hooks, in a tight loop, timed one by one, so
 * that the probe's cost can be measured without a language runtime in between. Used by the
 * bench case probe/overhead (bench/src/cases/probe-overhead.ts).
 *
 *   hangar-probe-bench connect N    N x (socket, connect to a 127.0.0.1 listener, accept, close)
 *   hangar-probe-bench exec N       N x (fork, execve /bin/true, wait): the execve round trip
 *   hangar-probe-bench open N PATH [RATE]  N x (open PATH, close), RATE per second if given
 *
 * Prints one JSON line: {"op":…,"n":…,"p50Ns":…,"p99Ns":…,"meanNs":…,"totalNs":…}. With
 * `--cgroup FILE` it first writes its pid to FILE (a cgroup.procs) so it runs inside that
 * cgroup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void fail(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	int argi = 1;
	if (argc > 3 && strcmp(argv[1], "--cgroup") == 0) {
		FILE *f = fopen(argv[2], "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) != 0)
			fail(argv[2]);
		argi = 3;
	}
	if (argc - argi < 2) {
		fprintf(stderr, "usage: hangar-probe-bench [--cgroup FILE] connect N | exec N | open N PATH [RATE]\n");
		return 2;
	}
	const char *op = argv[argi];
	long n = strtol(argv[argi + 1], NULL, 10);
	if (n <= 0)
		return 2;
	uint64_t *lat = calloc((size_t)n, sizeof(uint64_t));
	if (!lat)
		fail("calloc");

	int lfd = -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (strcmp(op, "connect") == 0) {
		socklen_t len = sizeof(sa);
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 128) ||
		    getsockname(lfd, (struct sockaddr *)&sa, &len))
			fail("listener");
	} else if (strcmp(op, "open") == 0) {
		if (argc - argi < 3)
			return 2;
	} else if (strcmp(op, "exec") != 0) {
		fprintf(stderr, "unknown op %s\n", op);
		return 2;
	}

	double rate = (op[0] == 'o' && argc - argi >= 4) ? strtod(argv[argi + 3], NULL) : 0;
	uint64_t start = now_ns();
	for (long i = 0; i < n; i++) {
		if (rate > 0) {
			uint64_t due = start + (uint64_t)((double)i * 1e9 / rate);
			uint64_t t = now_ns();
			if (due > t) {
				struct timespec d = {.tv_sec = (time_t)((due - t) / 1000000000ull),
						     .tv_nsec = (long)((due - t) % 1000000000ull)};
				nanosleep(&d, NULL);
			}
		}
		uint64_t t0 = now_ns();
		if (lfd >= 0) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
				fail("connect");
			lat[i] = now_ns() - t0;
			int c = accept(lfd, NULL, NULL);
			if (c >= 0)
				close(c);
			close(fd);
		} else if (op[0] == 'e') {
			pid_t p = fork();
			if (p < 0)
				fail("fork");
			if (p == 0) {
				char *args[] = {"/bin/true", NULL};
				execv("/bin/true", args);
				_exit(127);
			}
			int st;
			waitpid(p, &st, 0);
			lat[i] = now_ns() - t0;
		} else {
			int fd = open(argv[argi + 2], O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				fail("open");
			lat[i] = now_ns() - t0;
			close(fd);
		}
	}
	uint64_t total = now_ns() - start;
	uint64_t sum = 0;
	for (long i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, (size_t)n, sizeof(uint64_t), cmp_u64);
	printf("{\"op\":\"%s\",\"n\":%ld,\"p50Ns\":%llu,\"p99Ns\":%llu,\"meanNs\":%llu,\"totalNs\":%llu}\n", op, n,
	       (unsigned long long)lat[(n - 1) / 2], (unsigned long long)lat[(n * 99 + 99) / 100 - 1],
	       (unsigned long long)(sum / (uint64_t)n), (unsigned long long)total);
	return 0;
}
