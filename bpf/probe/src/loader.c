// SPDX-License-Identifier: MIT
/*
 * hangar-probe: loads the hangar probe (hangar_probe.bpf.c), attaches it to its
 * tracepoints and copies the ring buffer's records, unchanged, to stdout or to a
 * unix stream socket. See usage() and bpf/probe/README.md.
 *
 * Output: fixed-size records (struct hangar_event, little endian). The first is a
 * HELLO meta record (ABI, record size, the boot/real clock pair), then kernel records,
 * a STATS meta record about once a second when something changed, and an ACK for
 * every `sync` command.
 *
 * Control: text lines on stdin (stdout output) or on the socket (unix output):
 *   add ID | del ID | clear        the cgroup filter (decimal cgroup ids)
 *   prefix+ PATH | prefix- PATH    the open(2) path prefixes
 *   sync N                         answer with an ACK record carrying N, after the above
 * End of the control input ends the loader (it never outlives its agent).
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/types.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hangar_probe.h"
#include "hangar_probe.skel.h"

#define EXIT_USAGE 1
#define EXIT_LOAD 2
#define EXIT_OUTPUT 3

struct prefix_key {
	__u32 prefixlen;
	__u8 data[HANGAR_PREFIX_MAX];
};

static struct hangar_probe_bpf *skel;
static int out_fd = STDOUT_FILENO;
static int ctl_fd = STDIN_FILENO;
static char out_buf[64 * sizeof(struct hangar_event)];
static size_t out_len;
static __u32 filter_size, prefix_count;
static __u64 meta_events, meta_lost, meta_read_fail;
static bool verbose;
static volatile sig_atomic_t stopping;
static int connect_timeout_ms = 30000;

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hangar-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hangar-probe: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hangar-probe [options]\n"
		"\n"
		"Loads the hangar eBPF probe on tracepoints and writes its records (fixed-size\n"
		"struct hangar_event, %zu bytes each) to stdout or a unix socket.\n"
		"\n"
		"  --output stdout|unix:PATH  where records go (default stdout; control lines are then\n"
		"                             read from stdin, else from the socket)\n"
		"  --prefix PATH              report open(2) of paths starting with PATH (repeatable)\n"
		"  --cgroup ID                trace tasks in this cgroup or below it (repeatable)\n"
		"  --cgroup-mode v2|v1:CTRL   which hierarchy cgroup ids refer to (default v2; v1:memory\n"
		"                             on cgroup v1 nodes)\n"
		"  --all-cgroups              no cgroup filter (every task on the node; for debugging)\n"
		"  --sock-state               also report the outcome of non-blocking TCP connects\n"
		"  --ringbuf-bytes N          ring buffer size, a power of two (default 4194304)\n"
		"  --connect-timeout-ms N     unix output: keep retrying a socket that is not there yet\n"
		"                             for this long (default 30000)\n"
		"  --check                    load and attach, print what was attached, and exit\n"
		"  --verbose                  libbpf debug output on stderr\n"
		"\n"
		"Exit codes: 0 stopped (end of control input or signal), 1 usage, 2 cannot load or\n"
		"attach (privileges, kernel support), 3 output or control channel failed.\n",
		sizeof(struct hangar_event));
}

static void flush_out(void)
{
	size_t off = 0;
	while (off < out_len) {
		ssize_t n = write(out_fd, out_buf + off, out_len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_OUTPUT, "writing records: %s", strerror(errno));
		}
		off += (size_t)n;
	}
	out_len = 0;
}

static void put_record(const void *data, size_t size)
{
	if (out_len + sizeof(struct hangar_event) > sizeof(out_buf))
		flush_out();
	memset(out_buf + out_len, 0, sizeof(struct hangar_event));
	memcpy(out_buf + out_len, data,
	       size < sizeof(struct hangar_event) ? size : sizeof(struct hangar_event));
	out_len += sizeof(struct hangar_event);
}

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	put_record(data, size);
	return 0;
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static void read_stats(void)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals = calloc((size_t)ncpu, sizeof(__u64));
	__u64 sums[HANGAR_STAT_MAX] = {0};
	if (!vals)
		return;
	for (__u32 k = 0; k < HANGAR_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &k, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				sums[k] += vals[c];
	}
	free(vals);
	meta_events = sums[HANGAR_STAT_EVENTS];
	meta_lost = sums[HANGAR_STAT_LOST];
	meta_read_fail = sums[HANGAR_STAT_READ_FAIL];
}

static void put_meta(__u16 kind, __u64 cookie, __u32 mode, __u32 subsys, __u32 all)
{
	struct hangar_meta m = {0};
	m.kind = kind;
	m.size = sizeof(struct hangar_event);
	m.magic = HANGAR_PROBE_MAGIC;
	m.abi = HANGAR_PROBE_ABI;
	m.cgroup_mode = mode;
	m.boot_ns = clock_ns(CLOCK_BOOTTIME);
	m.real_ns = clock_ns(CLOCK_REALTIME);
	m.events = meta_events;
	m.lost = meta_lost;
	m.read_fail = meta_read_fail;
	m.cookie = cookie;
	m.filter_size = filter_size;
	m.prefixes = prefix_count;
	m.cgroup_subsys = subsys;
	m.all_cgroups = all;
	put_record(&m, sizeof(m));
}

static int parse_u64(const char *s, __u64 *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || (*end && *end != '\n'))
		return -1;
	*out = v;
	return 0;
}

static int filter_add(__u64 id)
{
	__u8 one = 1;
	int err = bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_filter), &id, &one, BPF_NOEXIST);
	if (err == 0)
		filter_size++;
	else if (errno != EEXIST)
		return -1;
	return 0;
}

static int prefix_key_of(const char *path, struct prefix_key *k)
{
	size_t n = strlen(path);
	if (n == 0 || n >= HANGAR_PREFIX_MAX)
		return -1;
	memset(k, 0, sizeof(*k));
	memcpy(k->data, path, n);
	k->prefixlen = (__u32)n * 8;
	return 0;
}

static int prefix_add(const char *path)
{
	struct prefix_key k;
	__u8 one = 1;
	if (prefix_key_of(path, &k))
		return -1;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.open_prefixes), &k, &one, BPF_NOEXIST) == 0)
		prefix_count++;
	else if (errno != EEXIST)
		return -1;
	return 0;
}

static void filter_clear(void)
{
	int fd = bpf_map__fd(skel->maps.cgroup_filter);
	__u64 key, next;
	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		bpf_map_delete_elem(fd, &key);
	}
	filter_size = 0;
}

/* One control line (without the newline). Errors are reported and the line skipped. */
static void control_line(char *line, __u32 mode, __u32 subsys, __u32 all)
{
	__u64 v;
	if (strncmp(line, "add ", 4) == 0 && parse_u64(line + 4, &v) == 0) {
		if (filter_add(v))
			warnx_("control: add %llu: %s", (unsigned long long)v, strerror(errno));
	} else if (strncmp(line, "del ", 4) == 0 && parse_u64(line + 4, &v) == 0) {
		if (bpf_map_delete_elem(bpf_map__fd(skel->maps.cgroup_filter), &v) == 0)
			filter_size--;
	} else if (strcmp(line, "clear") == 0) {
		filter_clear();
	} else if (strncmp(line, "prefix+ ", 8) == 0) {
		if (prefix_add(line + 8))
			warnx_("control: prefix+ %s: %s", line + 8,
			       errno ? strerror(errno) : "empty or longer than 255 bytes");
	} else if (strncmp(line, "prefix- ", 8) == 0) {
		struct prefix_key k;
		if (prefix_key_of(line + 8, &k) == 0 &&
		    bpf_map_delete_elem(bpf_map__fd(skel->maps.open_prefixes), &k) == 0)
			prefix_count--;
	} else if (strncmp(line, "sync ", 5) == 0 && parse_u64(line + 5, &v) == 0) {
		read_stats();
		put_meta(HANGAR_KIND_ACK, v, mode, subsys, all);
		flush_out();
	} else if (line[0] != '\0') {
		warnx_("control: unknown line \"%s\" (add ID, del ID, clear, prefix+ PATH, prefix- PATH, sync N)",
		       line);
	}
}

/* The subsystem id of a v1 controller: its line number in /proc/cgroups. */
static int v1_subsys_id(const char *name)
{
	FILE *f = fopen("/proc/cgroups", "r");
	char line[256];
	int idx = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		char ctrl[64];
		if (sscanf(line, "%63s", ctrl) == 1 && strcmp(ctrl, name) == 0) {
			fclose(f);
			return idx;
		}
		idx++;
	}
	fclose(f);
	return -1;
}

static const char *tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0)
		return "/sys/kernel/tracing";
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return "/sys/kernel/debug/tracing";
	/* libbpf finds tracepoint ids through tracefs: mount it where it belongs. */
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
		return "/sys/kernel/tracing";
	die(EXIT_LOAD,
	    "tracefs is not mounted and mounting it at /sys/kernel/tracing failed (%s); "
	    "mount it (mount -t tracefs nodev /sys/kernel/tracing) or run with CAP_SYS_ADMIN",
	    strerror(errno));
	return NULL;
}

static bool tracepoint_exists(const char *tfs, const char *cat, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", tfs, cat, name);
	return access(path, F_OK) == 0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		die(EXIT_USAGE, "--output unix:%s: path longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	/* A sidecar may start before the agent listens: retry for a while. */
	for (int waited = 0;; waited += 200) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die(EXIT_OUTPUT, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		int err = errno;
		close(fd);
		if ((err != ENOENT && err != ECONNREFUSED) || waited >= connect_timeout_ms || stopping)
			die(EXIT_OUTPUT, "--output unix:%s: %s", path, strerror(err));
		usleep(200 * 1000);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},   {"prefix", required_argument, NULL, 'p'},
		{"cgroup", required_argument, NULL, 'c'},   {"cgroup-mode", required_argument, NULL, 'm'},
		{"all-cgroups", no_argument, NULL, 'a'},    {"sock-state", no_argument, NULL, 's'},
		{"ringbuf-bytes", required_argument, NULL, 'r'}, {"check", no_argument, NULL, 'k'},
		{"verbose", no_argument, NULL, 'v'},        {"help", no_argument, NULL, 'h'},
		{"connect-timeout-ms", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *output = "stdout";
	const char *prefixes[256];
	__u64 cgroups[1024];
	int nprefix = 0, ncgroup = 0, c;
	__u32 mode = HANGAR_CGROUP_V2, subsys = 0, all = 0;
	bool sock_state = false, check = false;
	__u64 ringbuf = 1u << 22;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'p':
			if (nprefix >= 256)
				die(EXIT_USAGE, "--prefix: at most 256");
			if (optarg[0] == '\0' || strlen(optarg) >= HANGAR_PREFIX_MAX)
				die(EXIT_USAGE, "--prefix \"%s\": must be 1..255 bytes", optarg);
			prefixes[nprefix++] = optarg;
			break;
		case 'c':
			if (ncgroup >= 1024)
				die(EXIT_USAGE, "--cgroup: at most 1024 on the command line (use `add` lines)");
			if (parse_u64(optarg, &cgroups[ncgroup]))
				die(EXIT_USAGE, "--cgroup \"%s\": not a decimal cgroup id", optarg);
			ncgroup++;
			break;
		case 'm':
			if (strcmp(optarg, "v2") == 0) {
				mode = HANGAR_CGROUP_V2;
			} else if (strncmp(optarg, "v1:", 3) == 0) {
				int id = v1_subsys_id(optarg + 3);
				if (id < 0)
					die(EXIT_USAGE, "--cgroup-mode %s: no controller \"%s\" in /proc/cgroups", optarg,
					    optarg + 3);
				mode = HANGAR_CGROUP_V1;
				subsys = (__u32)id;
			} else {
				die(EXIT_USAGE, "--cgroup-mode \"%s\": expected v2 or v1:CONTROLLER", optarg);
			}
			break;
		case 'a':
			all = 1;
			break;
		case 's':
			sock_state = true;
			break;
		case 'r':
			if (parse_u64(optarg, &ringbuf) || ringbuf < 4096 || (ringbuf & (ringbuf - 1)))
				die(EXIT_USAGE, "--ringbuf-bytes \"%s\": a power of two, at least 4096", optarg);
			break;
		case 'k':
			check = true;
			break;
		case 't': {
			__u64 ms;
			if (parse_u64(optarg, &ms) || ms > 3600000)
				die(EXIT_USAGE, "--connect-timeout-ms \"%s\": milliseconds, at most 3600000", optarg);
			connect_timeout_ms = (int)ms;
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		warnx_("unexpected argument \"%s\"", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	libbpf_set_print(libbpf_print);

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		die(EXIT_LOAD, "/sys/kernel/btf/vmlinux: %s: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF), "
			       "which this CO-RE probe needs",
		    strerror(errno));
	const char *tfs = tracefs();

	skel = hangar_probe_bpf__open();
	if (!skel)
		die(EXIT_LOAD, "opening the BPF object: %s", strerror(errno));
	skel->rodata->cfg_cgroup_mode = mode;
	skel->rodata->cfg_cgroup_subsys = subsys;
	skel->rodata->cfg_all_cgroups = all;
	skel->rodata->cfg_sock_state = sock_state;
	bpf_map__set_max_entries(skel->maps.events, (__u32)ringbuf);
	bpf_program__set_autoload(skel->progs.hangar_sock_state, sock_state);
	if (!tracepoint_exists(tfs, "syscalls", "sys_enter_open"))
		bpf_program__set_autoload(skel->progs.hangar_open, false);
	if (!tracepoint_exists(tfs, "syscalls", "sys_enter_openat2"))
		bpf_program__set_autoload(skel->progs.hangar_openat2, false);
	if (!tracepoint_exists(tfs, "syscalls", "sys_enter_connect"))
		die(EXIT_LOAD, "%s/events/syscalls/sys_enter_connect is missing: the kernel has no syscall "
			       "tracepoints (CONFIG_FTRACE_SYSCALLS)",
		    tfs);

	int err = hangar_probe_bpf__load(skel);
	if (err)
		die(EXIT_LOAD, "loading the BPF programs: %s%s", strerror(-err),
		    (err == -EPERM || err == -EACCES)
			    ? " (needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_RESOURCE)"
			    : " (run with --verbose for the verifier log)");

	struct {
		struct bpf_program *prog;
		const char *name;
	} progs[] = {
		{skel->progs.hangar_exec, "sched/sched_process_exec"},
		{skel->progs.hangar_exit, "sched/sched_process_exit"},
		{skel->progs.hangar_connect_enter, "syscalls/sys_enter_connect"},
		{skel->progs.hangar_connect_exit, "syscalls/sys_exit_connect"},
		{skel->progs.hangar_openat, "syscalls/sys_enter_openat"},
		{skel->progs.hangar_openat2, "syscalls/sys_enter_openat2"},
		{skel->progs.hangar_open, "syscalls/sys_enter_open"},
		{skel->progs.hangar_sock_state, "sock/inet_sock_set_state"},
	};
	int attached = 0;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!bpf_program__autoload(progs[i].prog))
			continue;
		struct bpf_link *l = bpf_program__attach(progs[i].prog);
		if (!l)
			die(EXIT_LOAD, "attaching to tracepoint %s: %s", progs[i].name, strerror(errno));
		attached++;
		if (check)
			printf("attached %s\n", progs[i].name);
	}

	for (int i = 0; i < ncgroup; i++)
		if (filter_add(cgroups[i]))
			die(EXIT_LOAD, "--cgroup %llu: %s", (unsigned long long)cgroups[i], strerror(errno));
	for (int i = 0; i < nprefix; i++)
		if (prefix_add(prefixes[i]))
			die(EXIT_LOAD, "--prefix %s: %s", prefixes[i], strerror(errno));

	if (check) {
		printf("ok: %d tracepoints attached, record size %zu, abi %d\n", attached,
		       sizeof(struct hangar_event), HANGAR_PROBE_ABI);
		hangar_probe_bpf__destroy(skel);
		return 0;
	}

	if (strncmp(output, "unix:", 5) == 0) {
		out_fd = connect_unix(output + 5);
		ctl_fd = out_fd;
	} else if (strcmp(output, "stdout") != 0) {
		die(EXIT_USAGE, "--output \"%s\": expected stdout or unix:PATH", output);
	}

	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb)
		die(EXIT_LOAD, "ring buffer: %s", strerror(errno));

	put_meta(HANGAR_KIND_HELLO, 0, mode, subsys, all);
	flush_out();

	struct pollfd pfd[2] = {
		{.fd = ring_buffer__epoll_fd(rb), .events = POLLIN},
		{.fd = ctl_fd, .events = POLLIN},
	};
	char ctl[8192];
	size_t ctl_len = 0;
	__u64 last_stats = clock_ns(CLOCK_MONOTONIC);
	__u64 shown_events = 0, shown_lost = 0, shown_read_fail = 0;
	int code = 0;
	bool peer_gone = false;
	while (!stopping) {
		int n = poll(pfd, 2, 250);
		if (n < 0 && errno != EINTR)
			die(EXIT_OUTPUT, "poll: %s", strerror(errno));
		if (n > 0 && (pfd[0].revents & POLLIN))
			ring_buffer__consume(rb);
		if (n > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(ctl_fd, ctl + ctl_len, sizeof(ctl) - 1 - ctl_len);
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
				/* The agent is gone; on a socket it cannot read a last record either. */
				peer_gone = ctl_fd == out_fd;
				break;
			}
			if (r > 0) {
				ctl_len += (size_t)r;
				char *start = ctl, *nl;
				while ((nl = memchr(start, '\n', ctl_len - (size_t)(start - ctl)))) {
					*nl = '\0';
					/* Records already read come before an ACK. */
					ring_buffer__consume(rb);
					control_line(start, mode, subsys, all);
					start = nl + 1;
				}
				ctl_len -= (size_t)(start - ctl);
				memmove(ctl, start, ctl_len);
				if (ctl_len == sizeof(ctl) - 1) {
					warnx_("control: line longer than %zu bytes dropped", sizeof(ctl) - 1);
					ctl_len = 0;
				}
			}
		}
		__u64 now = clock_ns(CLOCK_MONOTONIC);
		if (now - last_stats >= 1000000000ull) {
			last_stats = now;
			read_stats();
			if (meta_events != shown_events || meta_lost != shown_lost ||
			    meta_read_fail != shown_read_fail) {
				shown_events = meta_events;
				shown_lost = meta_lost;
				shown_read_fail = meta_read_fail;
				put_meta(HANGAR_KIND_STATS, 0, mode, subsys, all);
			}
		}
		flush_out();
	}
	if (!peer_gone) {
		ring_buffer__consume(rb);
		read_stats();
		put_meta(HANGAR_KIND_STATS, 0, mode, subsys, all);
		flush_out();
	}
	ring_buffer__free(rb);
	hangar_probe_bpf__destroy(skel);
	return code;
}
