/* SPDX-License-Identifier: MIT */
/*
 * The record layout shared by the BPF programs, the loader and the agent's decoder
 * (agent/src/normalize/probe.ts). Every record on the loader's output is exactly
 * sizeof(struct hangar_event) bytes, little endian: kernel events as they are, and the
 * loader's own meta records (struct hangar_meta) zero-padded to the same size.
 *
 * Change a field and bump HANGAR_PROBE_ABI: the agent refuses a loader whose HELLO
 * record names another ABI, and agent/src/normalize/probe-layout.test.ts fails when the
 * decoder's offsets drift from what pahole reads from the compiled objects.
 */
#ifndef HANGAR_PROBE_H
#define HANGAR_PROBE_H

#define HANGAR_PROBE_ABI 1
#define HANGAR_PROBE_MAGIC 0x48414e47u /* "HANG" */

#define HANGAR_COMM_LEN 16
#define HANGAR_PATH_MAX 256
#define HANGAR_ARGS_MAX 256
/* How many cgroup levels above the task's own are checked against the filter map. */
#define HANGAR_CGROUP_DEPTH 12
/* Longest path prefix accepted by the in-kernel open filter (LPM trie key bytes). */
#define HANGAR_PREFIX_MAX 256

enum hangar_kind {
	HANGAR_KIND_EXEC = 1,
	HANGAR_KIND_EXIT = 2,
	HANGAR_KIND_CONNECT = 3,
	HANGAR_KIND_OPEN = 4,
	HANGAR_KIND_SOCK_STATE = 5,
	/* Written by the loader, never by the kernel. */
	HANGAR_KIND_HELLO = 100,
	HANGAR_KIND_STATS = 101,
	HANGAR_KIND_ACK = 102,
};

/* Which cgroup hierarchy the filter and cgroup_id refer to. */
enum hangar_cgroup_mode {
	HANGAR_CGROUP_V2 = 0, /* the default (unified) hierarchy */
	HANGAR_CGROUP_V1 = 1, /* a v1 hierarchy, chosen by controller (subsystem id) */
};

/* Indexes of the per-CPU counters in the `stats` map. */
enum hangar_stat {
	HANGAR_STAT_EVENTS = 0, /* records submitted to the ring buffer */
	HANGAR_STAT_LOST = 1, /* records lost: ring buffer full */
	HANGAR_STAT_READ_FAIL = 2, /* user memory that could not be read (path, sockaddr) */
	HANGAR_STAT_MAX = 4,
};

struct hangar_event {
	__u16 kind; /* enum hangar_kind */
	__u16 size; /* sizeof(struct hangar_event) */
	__u32 pid; /* thread group id */
	__u32 tid;
	__u32 ppid; /* thread group id of the real parent */
	__u32 uid; /* effective uid */
	__u32 gid; /* effective gid */
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id; /* the task's own cgroup in the configured hierarchy */
	__u64 match_cgroup_id; /* the cgroup (self or ancestor) found in the filter map */
	__u64 start_ns; /* thread group leader's start, CLOCK_BOOTTIME */
	__u64 parent_start_ns; /* real parent's start, CLOCK_BOOTTIME */
	__s32 ret; /* exit: exit_code; connect: syscall result; sock_state: new state */
	__u32 flags; /* open: flags; sock_state: the socket's error (sk_err), 0 when none */
	__u16 family; /* AF_INET, AF_INET6 */
	__u16 sport; /* host byte order */
	__u16 dport; /* host byte order */
	__u16 protocol; /* IPPROTO_* of the socket */
	__u16 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 old_state; /* sock_state: previous TCP state */
	__u16 path_len; /* bytes of path, without the NUL */
	__u16 args_len; /* bytes of args (NUL-separated argv) */
	__u8 daddr[16]; /* IPv4 in the first 4 bytes */
	__u8 saddr[16];
	char comm[HANGAR_COMM_LEN];
	char path[HANGAR_PATH_MAX]; /* exec: filename; open: the path as passed */
	char args[HANGAR_ARGS_MAX]; /* exec: argv[1..], NUL-separated, truncated */
};

/* A loader record: HELLO first, STATS about once a second, ACK for each `sync` command. */
struct hangar_meta {
	__u16 kind; /* HELLO, STATS, ACK */
	__u16 size; /* sizeof(struct hangar_event): the size of every record */
	__u32 magic; /* HANGAR_PROBE_MAGIC */
	__u32 abi; /* HANGAR_PROBE_ABI */
	__u32 cgroup_mode; /* enum hangar_cgroup_mode */
	__u64 boot_ns; /* CLOCK_BOOTTIME ... */
	__u64 real_ns; /* ... and CLOCK_REALTIME, read together */
	__u64 events; /* records submitted by the kernel since the load */
	__u64 lost; /* records the kernel could not submit (ring buffer full) */
	__u64 read_fail; /* user memory reads that failed */
	__u64 cookie; /* ACK: the number given to `sync` */
	__u32 filter_size; /* cgroups in the filter map */
	__u32 prefixes; /* path prefixes in the open filter */
	__u32 cgroup_subsys; /* V1: the controller's subsystem id */
	__u32 all_cgroups; /* 1: the cgroup filter is off */
};

#endif
