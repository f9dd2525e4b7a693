// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * hangar probe: CO-RE programs on tracepoints only (no kprobes, no fentry).
 *
 *   sched/sched_process_exec       exec: filename, argv, identity
 *   sched/sched_process_exit       exit of a whole thread group: exit code
 *   syscalls/sys_enter_connect     remembers the destination of an IPv4/IPv6 connect(2)
 *   syscalls/sys_exit_connect      ... and reports it with the result and the source
 *   syscalls/sys_enter_openat(2)   open of a path under a configured prefix (LPM trie)
 *   syscalls/sys_enter_open        the same, where the syscall exists (x86_64)
 *   sock/inet_sock_set_state       optional: the outcome of a TCP connect that left SYN_SENT
 *
 * Every program first checks the task's cgroup, and up to HANGAR_CGROUP_DEPTH of its
 * ancestors, against the `cgroup_filter` map that user space keeps equal to the
 * cgroups of MCP pods; tasks elsewhere cost a few map lookups and emit nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hangar_probe.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET 2
#define AF_INET6 10
#define EINPROGRESS 115
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define IPPROTO_TCP 6

/* Set by the loader before the programs are loaded. */
const volatile __u32 cfg_cgroup_mode = HANGAR_CGROUP_V2;
const volatile __u32 cfg_cgroup_subsys = 0;
const volatile __u32 cfg_all_cgroups = 0;
const volatile __u32 cfg_sock_state = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* cgroup id -> 1: the cgroups of MCP pods (pod or container level). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_filter SEC(".maps");

struct prefix_key {
	__u32 prefixlen; /* in bits */
	__u8 data[HANGAR_PREFIX_MAX];
};

/* Path prefixes whose opens are reported: a longest-prefix-match lookup per open. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct prefix_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} open_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct prefix_key);
} prefix_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HANGAR_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct pending_connect {
	__u64 match;
	__u32 fd;
	__u16 family;
	__u16 dport;
	__u8 daddr[16];
};

/* thread id -> the connect(2) in progress. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_connect);
} connects SEC(".maps");

/* Who opened a TCP connection still in SYN_SENT: struct sock * -> the connect record. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct hangar_event);
} syn_sent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hangar_event);
} event_scratch SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);
	if (v)
		*v += 1;
}

static __always_inline struct cgroup *task_cgroup(struct task_struct *t)
{
	if (cfg_cgroup_mode == HANGAR_CGROUP_V1) {
		struct css_set *cset = BPF_CORE_READ(t, cgroups);
		struct cgroup_subsys_state *css = NULL;
		__u32 i = cfg_cgroup_subsys;
		if (!cset || i >= bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT))
			return NULL;
		bpf_probe_read_kernel(&css, sizeof(css),
				      (void *)cset + bpf_core_field_offset(struct css_set, subsys) +
					      (__u64)i * sizeof(void *));
		if (!css)
			return NULL;
		return BPF_CORE_READ(css, cgroup);
	}
	return BPF_CORE_READ(t, cgroups, dfl_cgrp);
}

/*
 * The filter: returns the id of the first cgroup, from the task's own upwards, that is
 * in `cgroup_filter` (0: none), and stores the task's own cgroup id in *leaf.
 */
static __always_inline __u64 cgroup_match(struct task_struct *t, __u64 *leaf)
{
	struct cgroup *cg = task_cgroup(t);
	*leaf = 0;
	if (!cg)
		return 0;
	*leaf = BPF_CORE_READ(cg, kn, id);
	if (cfg_all_cgroups)
		return *leaf;
	for (int i = 0; i < HANGAR_CGROUP_DEPTH; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);
		if (id == 0)
			return 0;
		if (bpf_map_lookup_elem(&cgroup_filter, &id))
			return id;
		cg = BPF_CORE_READ(cg, self.parent, cgroup);
		if (!cg)
			return 0;
	}
	return 0;
}

static __always_inline void fill_common(struct hangar_event *e, struct task_struct *t, __u16 kind,
					__u64 leaf, __u64 match)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->kind = kind;
	e->size = sizeof(*e);
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->uid = BPF_CORE_READ(t, cred, euid.val);
	e->gid = BPF_CORE_READ(t, cred, egid.val);
	e->time_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = leaf;
	e->match_cgroup_id = match;
	e->start_ns = BPF_CORE_READ(t, group_leader, start_boottime);
	e->parent_start_ns = BPF_CORE_READ(t, real_parent, start_boottime);
	e->ret = 0;
	e->flags = 0;
	e->family = 0;
	e->sport = 0;
	e->dport = 0;
	e->protocol = 0;
	e->sock_type = 0;
	e->old_state = 0;
	e->path_len = 0;
	e->args_len = 0;
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline struct hangar_event *reserve(void)
{
	struct hangar_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		count(HANGAR_STAT_LOST);
	return e;
}

static __always_inline void submit(struct hangar_event *e)
{
	bpf_ringbuf_submit(e, 0);
	count(HANGAR_STAT_EVENTS);
}

SEC("tracepoint/sched/sched_process_exec")
int hangar_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 leaf, match = cgroup_match(t, &leaf);
	if (!match)
		return 0;
	struct hangar_event *e = reserve();
	if (!e)
		return 0;
	fill_common(e, t, HANGAR_KIND_EXEC, leaf, match);
	unsigned int off = ctx->__data_loc_filename & 0xFFFF;
	long n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), (void *)ctx + off);
	e->path_len = n > 0 ? n - 1 : 0;
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	unsigned long start = BPF_CORE_READ(mm, arg_start);
	unsigned long end = BPF_CORE_READ(mm, arg_end);
	unsigned long len = end - start;
	if (len > HANGAR_ARGS_MAX)
		len = HANGAR_ARGS_MAX;
	if (end > start && bpf_probe_read_user(e->args, len & (2 * HANGAR_ARGS_MAX - 1), (void *)start) == 0)
		e->args_len = len;
	else
		count(HANGAR_STAT_READ_FAIL);
	submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int hangar_exit(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	/* One record per thread group: when its last thread goes. */
	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0;
	__u64 leaf, match = cgroup_match(t, &leaf);
	if (!match)
		return 0;
	struct hangar_event *e = reserve();
	if (!e)
		return 0;
	fill_common(e, t, HANGAR_KIND_EXIT, leaf, match);
	e->ret = BPF_CORE_READ(t, exit_code);
	submit(e);
	return 0;
}

/* The socket behind a file descriptor of the current task (NULL when unknown). */
static __always_inline struct socket *fd_socket(struct task_struct *t, __u32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	return (struct socket *)BPF_CORE_READ(f, private_data);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int hangar_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 leaf, match = cgroup_match(t, &leaf);
	if (!match)
		return 0;
	struct pending_connect p = {};
	void *uaddr = (void *)ctx->args[1];
	p.match = match;
	p.fd = (__u32)ctx->args[0];
	if (bpf_probe_read_user(&p.family, sizeof(p.family), uaddr)) {
		count(HANGAR_STAT_READ_FAIL);
		return 0;
	}
	if (p.family == AF_INET) {
		struct sockaddr_in sin = {};
		if (bpf_probe_read_user(&sin, sizeof(sin), uaddr)) {
			count(HANGAR_STAT_READ_FAIL);
			return 0;
		}
		p.dport = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(p.daddr, &sin.sin_addr.s_addr, 4);
	} else if (p.family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr)) {
			count(HANGAR_STAT_READ_FAIL);
			return 0;
		}
		p.dport = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(p.daddr, &sin6.sin6_addr, 16);
	} else {
		return 0; /* AF_UNIX and the rest are not network connects */
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&connects, &tid, &p, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int hangar_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_connect *p = bpf_map_lookup_elem(&connects, &tid);
	if (!p)
		return 0;
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0;
	struct hangar_event *e = bpf_map_lookup_elem(&event_scratch, &zero);
	if (!e) {
		bpf_map_delete_elem(&connects, &tid);
		return 0;
	}
	__u64 leaf;
	cgroup_match(t, &leaf);
	fill_common(e, t, HANGAR_KIND_CONNECT, leaf, p->match);
	e->ret = (__s32)ctx->ret;
	e->family = p->family;
	e->dport = p->dport;
	__builtin_memcpy(e->daddr, p->daddr, 16);
	struct socket *sock = fd_socket(t, p->fd);
	bpf_map_delete_elem(&connects, &tid);
	struct sock *sk = NULL;
	if (sock) {
		e->sock_type = BPF_CORE_READ(sock, type);
		sk = BPF_CORE_READ(sock, sk);
	}
	if (sk) {
		e->protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
		e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		/* BPF_CORE_READ_INTO would copy sizeof(*dst), one byte of the array: size it here. */
		if (e->family == AF_INET)
			bpf_core_read(e->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		else
			bpf_core_read(e->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	}
	struct hangar_event *out = reserve();
	if (out) {
		__builtin_memcpy(out, e, sizeof(*e));
		submit(out);
	}
	if (!cfg_sock_state || !sk || e->protocol != IPPROTO_TCP || e->ret != -EINPROGRESS)
		return 0;
	/*
	 * Non-blocking connect: the outcome comes through inet_sock_set_state. Over loopback
	 * the handshake (or the reset) happens inside connect(2) itself, before this exit:
	 * then the socket has already left SYN_SENT and the outcome is reported right here.
	 */
	__u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == TCP_SYN_SENT) {
		__u64 key = (__u64)sk;
		bpf_map_update_elem(&syn_sent, &key, e, BPF_ANY);
		return 0;
	}
	out = reserve();
	if (!out)
		return 0;
	__builtin_memcpy(out, e, sizeof(*e));
	out->kind = HANGAR_KIND_SOCK_STATE;
	out->old_state = TCP_SYN_SENT;
	out->ret = state;
	out->flags = BPF_CORE_READ(sk, sk_err);
	out->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	submit(out);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int hangar_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_SYN_SENT)
		return 0;
	__u64 key = (__u64)ctx->skaddr;
	struct hangar_event *prev = bpf_map_lookup_elem(&syn_sent, &key);
	if (!prev)
		return 0;
	struct hangar_event *e = reserve();
	if (!e) {
		bpf_map_delete_elem(&syn_sent, &key);
		return 0;
	}
	__builtin_memcpy(e, prev, sizeof(*e));
	bpf_map_delete_elem(&syn_sent, &key);
	e->kind = HANGAR_KIND_SOCK_STATE;
	e->time_ns = bpf_ktime_get_boot_ns();
	e->old_state = ctx->oldstate;
	e->ret = ctx->newstate;
	e->flags = BPF_CORE_READ((struct sock *)ctx->skaddr, sk_err);
	e->sport = ctx->sport;
	submit(e);
	return 0;
}

static __always_inline int handle_open(const char *upath, __u64 flags)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 leaf, match = cgroup_match(t, &leaf);
	if (!match)
		return 0;
	__u32 zero = 0;
	struct prefix_key *k = bpf_map_lookup_elem(&prefix_scratch, &zero);
	if (!k)
		return 0;
	long n = bpf_probe_read_user_str(k->data, sizeof(k->data), upath);
	if (n <= 0) {
		count(HANGAR_STAT_READ_FAIL);
		return 0;
	}
	k->prefixlen = (__u32)(n - 1) * 8;
	if (!bpf_map_lookup_elem(&open_prefixes, k))
		return 0;
	struct hangar_event *e = reserve();
	if (!e)
		return 0;
	fill_common(e, t, HANGAR_KIND_OPEN, leaf, match);
	e->flags = (__u32)flags;
	e->path_len = n - 1;
	bpf_probe_read_kernel(e->path, sizeof(e->path), k->data);
	submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int hangar_openat(struct trace_event_raw_sys_enter *ctx)
{
	return handle_open((const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int hangar_openat2(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (void *)ctx->args[2]); /* open_how.flags */
	return handle_open((const char *)ctx->args[1], flags);
}

SEC("tracepoint/syscalls/sys_enter_open")
int hangar_open(struct trace_event_raw_sys_enter *ctx)
{
	return handle_open((const char *)ctx->args[0], ctx->args[1]);
}
