/**
 * Linux constants the hook normalizer decodes (uapi values, stable across kernels): address
 * families, socket types, namespace clone flags, ptrace requests, mount flags, capability
 * bits, and the syscall names behind architecture-prefixed kernel symbols.
 */

/** AF_* (include/linux/socket.h) → the family name rules use. */
export const ADDRESS_FAMILIES: Readonly<Record<number, string>> = {
  1: "unix",
  2: "ipv4",
  10: "ipv6",
  16: "netlink",
  17: "packet",
  40: "vsock",
  44: "xdp",
};

/** Tetragon's KprobeSock/KprobeSkb family strings → the family name rules use. */
export const FAMILY_NAMES: Readonly<Record<string, string>> = {
  AF_INET: "ipv4",
  AF_INET6: "ipv6",
  AF_UNIX: "unix",
  AF_LOCAL: "unix",
  AF_PACKET: "packet",
  AF_NETLINK: "netlink",
  AF_VSOCK: "vsock",
  AF_XDP: "xdp",
};

/** SOCK_* (include/linux/net.h), after masking SOCK_NONBLOCK and SOCK_CLOEXEC. */
export const SOCKET_TYPES: Readonly<Record<number, string>> = {
  1: "stream",
  2: "dgram",
  3: "raw",
  4: "rdm",
  5: "seqpacket",
  6: "dccp",
  10: "packet",
};
/** SOCK_NONBLOCK | SOCK_CLOEXEC: flags or'ed into socket(2)'s type. */
export const SOCKET_TYPE_FLAGS = 0o4000 | 0o2000000;

/** IPPROTO_* numbers that socket(2) takes. */
export const IP_PROTOCOLS: Readonly<Record<number, string>> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "icmpv6",
  132: "sctp",
  255: "raw",
};

/** Lowercases an upstream enum-like name without its prefix: "SOCK_STREAM" → "stream". */
export function lowerName(value: string, prefix: string): string {
  return (value.startsWith(prefix) ? value.slice(prefix.length) : value).toLowerCase();
}

/** CLONE_NEW* bits (include/uapi/linux/sched.h) → namespace type names. */
export const NAMESPACE_FLAGS: readonly (readonly [number, string])[] = [
  [0x00020000, "mnt"],
  [0x02000000, "cgroup"],
  [0x04000000, "uts"],
  [0x08000000, "ipc"],
  [0x10000000, "user"],
  [0x20000000, "pid"],
  [0x40000000, "net"],
  [0x00000080, "time"],
];

export function namespaceTypes(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of NAMESPACE_FLAGS) if ((flags & bit) !== 0) out.push(name);
  return out;
}

/** ptrace(2) requests (include/uapi/linux/ptrace.h). */
export const PTRACE_REQUESTS: Readonly<Record<number, string>> = {
  0: "PTRACE_TRACEME",
  1: "PTRACE_PEEKTEXT",
  2: "PTRACE_PEEKDATA",
  3: "PTRACE_PEEKUSR",
  4: "PTRACE_POKETEXT",
  5: "PTRACE_POKEDATA",
  6: "PTRACE_POKEUSR",
  7: "PTRACE_CONT",
  8: "PTRACE_KILL",
  9: "PTRACE_SINGLESTEP",
  12: "PTRACE_GETREGS",
  13: "PTRACE_SETREGS",
  16: "PTRACE_ATTACH",
  17: "PTRACE_DETACH",
  24: "PTRACE_SYSCALL",
  0x4200: "PTRACE_SETOPTIONS",
  0x4204: "PTRACE_GETREGSET",
  0x4205: "PTRACE_SETREGSET",
  0x4206: "PTRACE_SEIZE",
  0x4207: "PTRACE_INTERRUPT",
};

/** MS_* mount flags (include/uapi/linux/mount.h) worth naming. */
export const MOUNT_FLAGS: readonly (readonly [number, string])[] = [
  [1, "MS_RDONLY"],
  [2, "MS_NOSUID"],
  [4, "MS_NODEV"],
  [8, "MS_NOEXEC"],
  [32, "MS_REMOUNT"],
  [4096, "MS_BIND"],
  [8192, "MS_MOVE"],
  [16384, "MS_REC"],
  [1 << 18, "MS_PRIVATE"],
  [1 << 19, "MS_SLAVE"],
  [1 << 20, "MS_SHARED"],
];

export function mountFlags(flags: number): string {
  const names: string[] = [];
  for (const [bit, name] of MOUNT_FLAGS) if ((flags & bit) !== 0) names.push(name);
  return names.join("|");
}

/** The kernel_read_file_id that security_kernel_read_file passes for a module file (READING_MODULE). */
export const READING_MODULE = 2;

/** Capability bit numbers (include/uapi/linux/capability.h) → CAP_* names. */
export const CAPABILITY_NAMES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

export function capabilityName(bit: number): string {
  return CAPABILITY_NAMES[bit] ?? `CAP_${bit}`;
}

/**
 * A capability set as Tetragon prints kernel_cap_t arguments (hexadecimal, e.g.
 * "000001ffffffffff") → the CAP_* names of its bits; undefined when the text is not hex.
 */
export function capabilitySet(hex: string): string[] | undefined {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{1,16}$/.test(h)) return undefined;
  const v = BigInt(`0x${h}`);
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) if (((v >> BigInt(bit)) & 1n) === 1n) out.push(capabilityName(bit));
  return out;
}

/**
 * The syscall (or kernel function) name behind a hook's symbol: architecture and wrapper
 * prefixes go ("__x64_sys_setgid", "__arm64_sys_setgid", "__sys_setgid" → "setgid"), and so
 * does a tracepoint's "sys_enter_"/"sys_exit_" ("syscalls/sys_enter_openat" → "openat").
 */
export function syscallName(fn: string): string {
  let s = fn;
  const slash = s.lastIndexOf("/");
  if (slash >= 0) s = s.slice(slash + 1);
  for (const p of ["sys_enter_", "sys_exit_"]) if (s.startsWith(p)) return s.slice(p.length);
  const m =
    /^(?:__(?:x64|ia32|arm64|arm|riscv|s390x|powerpc|compat)_)?(?:__se_|__do_)?(?:compat_)?sys_(.+)$/.exec(s);
  if (m?.[1] !== undefined) return m[1];
  if (s.startsWith("__sys_")) return s.slice(6);
  if (s.startsWith("ksys_")) return s.slice(5);
  return s;
}
