/**
 * The hangar probe's record format (bpf/probe/src/hangar_probe.h): one fixed-size
 * little-endian record per kernel event, and meta records (HELLO, STATS, ACK) from the
 * loader. The byte layout is written out once below (PROBE_EVENT_LAYOUT,
 * PROBE_META_LAYOUT); records.test.ts compares it with what pahole reads from the
 * compiled BPF object and loader, so a change of the C struct that is not made here too
 * fails the tests. The normalize stage turns decoded records into events
 * (`normalize/probe.ts`).
 */
import { formatIPv6 } from "@hangar/core";

export const PROBE_ABI = 1;
export const PROBE_MAGIC = 0x48414e47;

/** enum hangar_kind */
export const ProbeKind = {
  EXEC: 1,
  EXIT: 2,
  CONNECT: 3,
  OPEN: 4,
  SOCK_STATE: 5,
  HELLO: 100,
  STATS: 101,
  ACK: 102,
} as const;

/** Field → [byte offset, byte size] of struct hangar_event. */
export const PROBE_EVENT_LAYOUT = {
  kind: [0, 2],
  size: [2, 2],
  pid: [4, 4],
  tid: [8, 4],
  ppid: [12, 4],
  uid: [16, 4],
  gid: [20, 4],
  time_ns: [24, 8],
  cgroup_id: [32, 8],
  match_cgroup_id: [40, 8],
  start_ns: [48, 8],
  parent_start_ns: [56, 8],
  ret: [64, 4],
  flags: [68, 4],
  family: [72, 2],
  sport: [74, 2],
  dport: [76, 2],
  protocol: [78, 2],
  sock_type: [80, 2],
  old_state: [82, 2],
  path_len: [84, 2],
  args_len: [86, 2],
  daddr: [88, 16],
  saddr: [104, 16],
  comm: [120, 16],
  path: [136, 256],
  args: [392, 256],
} as const satisfies Record<string, readonly [number, number]>;

/** Field → [byte offset, byte size] of struct hangar_meta (padded to the record size). */
export const PROBE_META_LAYOUT = {
  kind: [0, 2],
  size: [2, 2],
  magic: [4, 4],
  abi: [8, 4],
  cgroup_mode: [12, 4],
  boot_ns: [16, 8],
  real_ns: [24, 8],
  events: [32, 8],
  lost: [40, 8],
  read_fail: [48, 8],
  cookie: [56, 8],
  filter_size: [64, 4],
  prefixes: [68, 4],
  cgroup_subsys: [72, 4],
  all_cgroups: [76, 4],
} as const satisfies Record<string, readonly [number, number]>;

/** sizeof(struct hangar_event): every record on the loader's output has this size. */
export const PROBE_RECORD_SIZE = 648;
/** sizeof(struct hangar_meta). */
export const PROBE_META_SIZE = 80;

/** A kernel record, decoded. Times are CLOCK_BOOTTIME nanoseconds. */
export interface ProbeEvent {
  kind: number;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  gid: number;
  timeNs: bigint;
  /** Wall-clock nanoseconds (time_ns shifted by the loader's boot/real clock pair). */
  realNs: bigint;
  cgroupId: bigint;
  matchCgroupId: bigint;
  startNs: bigint;
  parentStartNs: bigint;
  ret: number;
  flags: number;
  family: number;
  sport: number;
  dport: number;
  protocol: number;
  sockType: number;
  oldState: number;
  daddr: string;
  saddr: string;
  comm: string;
  path: string;
  /** argv[1..] joined by spaces (argv[0] dropped, as Tetragon reports arguments). */
  args: string;
}

/** A loader meta record (HELLO, STATS, ACK), decoded. */
export interface ProbeMeta {
  kind: number;
  size: number;
  magic: number;
  abi: number;
  cgroupMode: number;
  bootNs: bigint;
  realNs: bigint;
  events: bigint;
  lost: bigint;
  readFail: bigint;
  cookie: bigint;
  filterSize: number;
  prefixes: number;
  cgroupSubsys: number;
  allCgroups: number;
}

const E = PROBE_EVENT_LAYOUT;
const M = PROBE_META_LAYOUT;
export const AF_INET = 2;
export const AF_INET6 = 10;
const latin = new TextDecoder("utf-8", { fatal: false });

function cstring(buf: Uint8Array, start: number, max: number): string {
  let end = start;
  const stop = start + max;
  while (end < stop && buf[end] !== 0) end++;
  return latin.decode(buf.subarray(start, end));
}

export function ipv4(buf: Uint8Array, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/** RFC 5952 text of 16 bytes: lower case, the longest run of zero groups (≥2) as "::". */
export function ipv6(buf: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((buf[at + 2 * i] ?? 0) << 8) | (buf[at + 2 * i + 1] ?? 0));
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0) {
    if (groups[5] === 0xffff) return `::ffff:${ipv4(buf, at + 12)}`;
  }
  return formatIPv6(groups);
}

function address(family: number, buf: Uint8Array, at: number): string {
  if (family === AF_INET) return ipv4(buf, at);
  if (family === AF_INET6) return ipv6(buf, at);
  return "";
}

function argv(buf: Uint8Array, start: number, len: number): string {
  // NUL-separated argv, possibly cut short; drop argv[0].
  const parts = latin.decode(buf.subarray(start, start + len)).split("\0");
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts.slice(1).join(" ");
}

/** The kind of the record at `offset` (ProbeKind). */
export function probeRecordKind(buf: Uint8Array, offset = 0): number {
  return (buf[offset] ?? 0) | ((buf[offset + 1] ?? 0) << 8);
}

export function decodeProbeMeta(buf: Uint8Array, offset = 0): ProbeMeta {
  const v = new DataView(buf.buffer, buf.byteOffset + offset, PROBE_META_SIZE);
  return {
    kind: v.getUint16(M.kind[0], true),
    size: v.getUint16(M.size[0], true),
    magic: v.getUint32(M.magic[0], true),
    abi: v.getUint32(M.abi[0], true),
    cgroupMode: v.getUint32(M.cgroup_mode[0], true),
    bootNs: v.getBigUint64(M.boot_ns[0], true),
    realNs: v.getBigUint64(M.real_ns[0], true),
    events: v.getBigUint64(M.events[0], true),
    lost: v.getBigUint64(M.lost[0], true),
    readFail: v.getBigUint64(M.read_fail[0], true),
    cookie: v.getBigUint64(M.cookie[0], true),
    filterSize: v.getUint32(M.filter_size[0], true),
    prefixes: v.getUint32(M.prefixes[0], true),
    cgroupSubsys: v.getUint32(M.cgroup_subsys[0], true),
    allCgroups: v.getUint32(M.all_cgroups[0], true),
  };
}

/**
 * Decodes the kernel record at `offset`. `bootToRealNs` is added to the boot-clock
 * time to give wall-clock time (from the loader's HELLO: real_ns - boot_ns).
 */
export function decodeProbeEvent(buf: Uint8Array, offset: number, bootToRealNs: bigint): ProbeEvent {
  const v = new DataView(buf.buffer, buf.byteOffset + offset, PROBE_RECORD_SIZE);
  const family = v.getUint16(E.family[0], true);
  const pathLen = Math.min(v.getUint16(E.path_len[0], true), E.path[1]);
  const argsLen = Math.min(v.getUint16(E.args_len[0], true), E.args[1]);
  const timeNs = v.getBigUint64(E.time_ns[0], true);
  return {
    kind: v.getUint16(E.kind[0], true),
    pid: v.getUint32(E.pid[0], true),
    tid: v.getUint32(E.tid[0], true),
    ppid: v.getUint32(E.ppid[0], true),
    uid: v.getUint32(E.uid[0], true),
    gid: v.getUint32(E.gid[0], true),
    timeNs,
    realNs: timeNs + bootToRealNs,
    cgroupId: v.getBigUint64(E.cgroup_id[0], true),
    matchCgroupId: v.getBigUint64(E.match_cgroup_id[0], true),
    startNs: v.getBigUint64(E.start_ns[0], true),
    parentStartNs: v.getBigUint64(E.parent_start_ns[0], true),
    ret: v.getInt32(E.ret[0], true),
    flags: v.getUint32(E.flags[0], true),
    family,
    sport: v.getUint16(E.sport[0], true),
    dport: v.getUint16(E.dport[0], true),
    protocol: v.getUint16(E.protocol[0], true),
    sockType: v.getUint16(E.sock_type[0], true),
    oldState: v.getUint16(E.old_state[0], true),
    daddr: address(family, buf, offset + E.daddr[0]),
    saddr: address(family, buf, offset + E.saddr[0]),
    comm: cstring(buf, offset + E.comm[0], E.comm[1]),
    path: latin.decode(buf.subarray(offset + E.path[0], offset + E.path[0] + pathLen)),
    args: argv(buf, offset + E.args[0], argsLen),
  };
}
