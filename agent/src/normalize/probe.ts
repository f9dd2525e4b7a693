/**
 * The hangar probe's records (bpf/probe/src/hangar_probe.h) → RuntimeEvent.
 *
 * `decodeProbeRecord` reads one fixed-size little-endian record. The byte layout is
 * written out once below (PROBE_EVENT_LAYOUT, PROBE_META_LAYOUT); probe-layout.test.ts
 * compares it with what pahole reads from the compiled BPF object and loader, so a
 * change of the C struct that is not made here too fails the tests.
 *
 * `ProbeNormalizer` turns kernel records into exec, exit, connect and file events, with
 * the pod identity (pod uid, container id) that the cgroup resolver finds for the
 * record's cgroup; the workload resolver adds the provider from the pod uid.
 */
import type { hangar } from "@hangar/proto";
import { readlinkSync } from "node:fs";
import type { Counters } from "../pipeline/counters.js";
import type { CgroupResolver } from "../resolve/cgroups.js";
import { EventKind, FileOperation, Sensor, newContainer, newEvent, newPod, newProcess } from "./event.js";
import type { NormalizeResult } from "./tetragon.js";
import { formatIPv6 } from "./ipv6.js";

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
const AF_INET = 2;
const AF_INET6 = 10;
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

const TCP_STATES = [
  "",
  "TCP_ESTABLISHED",
  "TCP_SYN_SENT",
  "TCP_SYN_RECV",
  "TCP_FIN_WAIT1",
  "TCP_FIN_WAIT2",
  "TCP_TIME_WAIT",
  "TCP_CLOSE",
  "TCP_CLOSE_WAIT",
  "TCP_LAST_ACK",
  "TCP_LISTEN",
  "TCP_CLOSING",
  "TCP_NEW_SYN_RECV",
];

const SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

const O_ACCMODE = 3;
const OPEN_FLAGS: readonly [number, string][] = [
  [0o100, "O_CREAT"],
  [0o200, "O_EXCL"],
  [0o1000, "O_TRUNC"],
  [0o2000, "O_APPEND"],
  [0o4000, "O_NONBLOCK"],
  [0o200000, "O_DIRECTORY"],
  [0o400000, "O_NOFOLLOW"],
  [0o2000000, "O_CLOEXEC"],
  [0o20200000, "O_TMPFILE"],
];

/** open(2) flags as text, e.g. "O_WRONLY|O_CREAT|O_CLOEXEC". */
export function openFlags(flags: number): string {
  const out = [["O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"][flags & O_ACCMODE] as string];
  for (const [bit, name] of OPEN_FLAGS) if ((flags & bit) === bit) out.push(name);
  return out.join("|");
}

const TCP_ESTABLISHED = 1;
const ECONNABORTED = 103;

/**
 * connect(2)'s result; for a SOCK_STATE record, the outcome of the handshake: 0 when
 * established, else the socket's error (-ECONNREFUSED, -ETIMEDOUT, …), or -ECONNABORTED
 * when the socket was closed before it got one.
 */
function connectResult(p: ProbeEvent): number {
  if (p.kind === ProbeKind.CONNECT) return p.ret;
  if (p.ret === TCP_ESTABLISHED) return 0;
  return p.flags !== 0 ? -p.flags : -ECONNABORTED;
}

function protocolName(p: ProbeEvent): string {
  if (p.protocol === 6) return "tcp";
  if (p.protocol === 17) return "udp";
  if (p.protocol === 0) return p.sockType === 1 ? "tcp" : p.sockType === 2 ? "udp" : "";
  return String(p.protocol);
}

function timestamp(ns: bigint): hangar.RuntimeEvent["time"] {
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: ns / 1_000_000_000n,
    nanos: Number(ns % 1_000_000_000n),
  };
}

export interface ProbeNormalizerOptions {
  counters: Counters;
  /** This node's name: part of exec ids and of every event. */
  node?: string;
  /** cgroup id → pod uid and container id; without it events carry no pod. */
  cgroups?: CgroupResolver;
  /** Where /proc is (binary of processes that predate the probe). */
  procRoot?: string;
  /** How many processes to remember (exec ids, binaries); default 65 536. */
  maxProcesses?: number;
}

interface ProcInfo {
  execId: string;
  binary: string;
  args: string;
}

/**
 * Probe records → RuntimeEvents. Keeps the exec id, binary and arguments of every live
 * process it saw exec (dropped at exit), so that connect and open events carry them too.
 */
export class ProbeNormalizer {
  readonly #counters: Counters;
  readonly #node: string;
  readonly #cgroups: CgroupResolver | undefined;
  readonly #procRoot: string;
  readonly #max: number;
  readonly #procs = new Map<number, ProcInfo>();

  constructor(options: ProbeNormalizerOptions) {
    this.#counters = options.counters;
    this.#node = options.node ?? "";
    this.#cgroups = options.cgroups;
    this.#procRoot = options.procRoot ?? "/proc";
    this.#max = options.maxProcesses ?? 65_536;
  }

  /** Number of processes remembered. */
  get processes(): number {
    return this.#procs.size;
  }

  #execId(ns: bigint, pid: number): string {
    return Buffer.from(`${this.#node}:${ns}:${pid}`).toString("base64");
  }

  #remember(pid: number, info: ProcInfo): void {
    if (this.#procs.size >= this.#max && !this.#procs.has(pid)) {
      // Oldest first: Map keeps insertion order.
      const first = this.#procs.keys().next();
      if (first.done !== true) this.#procs.delete(first.value);
    }
    this.#procs.set(pid, info);
  }

  #known(p: ProbeEvent): ProcInfo {
    let info = this.#procs.get(p.pid);
    if (info === undefined) {
      // A process that exec'd before the probe saw it: identity from its start time.
      let binary = "";
      try {
        binary = readlinkSync(`${this.#procRoot}/${p.pid}/exe`);
      } catch {
        binary = "";
      }
      info = { execId: this.#execId(p.startNs, p.pid), binary, args: "" };
      this.#remember(p.pid, info);
    }
    return info;
  }

  normalize(p: ProbeEvent): NormalizeResult {
    let detail: hangar.RuntimeEvent["detail"];
    let kind: hangar.EventKind;
    let info: ProcInfo;
    switch (p.kind) {
      case ProbeKind.EXEC:
        info = { execId: this.#execId(p.timeNs, p.pid), binary: p.path, args: p.args };
        this.#remember(p.pid, info);
        kind = EventKind.EXEC;
        detail = { case: "exec", value: { $typeName: "hangar.v1.ExecDetail", setuid: false, flags: [] } };
        break;
      case ProbeKind.EXIT: {
        info = this.#known(p);
        this.#procs.delete(p.pid);
        kind = EventKind.EXIT;
        const sig = p.ret & 0x7f;
        detail = {
          case: "exit",
          value: {
            $typeName: "hangar.v1.ExitDetail",
            signal: sig === 0 ? "" : (SIGNALS[sig] ?? `SIG${sig}`),
            status: (p.ret >> 8) & 0xff,
          },
        };
        break;
      }
      case ProbeKind.CONNECT:
      case ProbeKind.SOCK_STATE:
        info = this.#known(p);
        kind = EventKind.CONNECT;
        detail = {
          case: "connect",
          value: {
            $typeName: "hangar.v1.ConnectDetail",
            protocol: protocolName(p),
            family: p.family === AF_INET ? "ipv4" : p.family === AF_INET6 ? "ipv6" : "",
            sourceIp: p.saddr,
            sourcePort: p.sport,
            destinationIp: p.daddr,
            destinationPort: p.dport,
            result: connectResult(p),
            state: p.kind === ProbeKind.SOCK_STATE ? (TCP_STATES[p.ret] ?? String(p.ret)) : "",
            socketCookie: 0n,
            hook: p.kind === ProbeKind.CONNECT ? "sys_exit_connect" : "inet_sock_set_state",
          },
        };
        break;
      case ProbeKind.OPEN:
        info = this.#known(p);
        kind = EventKind.FILE;
        detail = {
          case: "file",
          value: {
            $typeName: "hangar.v1.FileDetail",
            path: p.path,
            operation: FileOperation.OPEN,
            hook: "sys_enter_openat",
            flags: openFlags(p.flags),
            permission: "",
          },
        };
        break;
      default:
        this.#counters.inc("dropped", { reason: "unknown_variant" });
        return { dropped: "unknown_variant" };
    }
    const ev = newEvent(kind, Sensor.PROBE, detail);
    ev.id = `probe:${this.#node}:${p.timeNs}:${p.tid}:${p.kind}`;
    ev.node = this.#node;
    ev.time = timestamp(p.realNs);
    const proc = newProcess();
    proc.pid = p.pid;
    proc.execId = info.execId;
    proc.binary = info.binary;
    proc.arguments = info.args;
    proc.uid = p.uid;
    proc.cgroupId = p.cgroupId;
    proc.startTime = timestamp(p.realNs - p.timeNs + p.startNs);
    const parent = this.#procs.get(p.ppid);
    proc.parentExecId = parent?.execId ?? this.#execId(p.parentStartNs, p.ppid);
    ev.process = proc;
    const id = this.#cgroups?.lookup(p.cgroupId, p.matchCgroupId, p.pid);
    if (id !== undefined && id.podUid !== "") {
      const pod = newPod("", "", {});
      pod.uid = id.podUid;
      if (id.containerId !== "") pod.container = newContainer(id.containerId, "", "", "");
      ev.pod = pod;
    }
    return { event: ev };
  }
}
