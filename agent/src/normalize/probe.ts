/**
 * The hangar probe's records (decoded by `sources/probe/records.ts`) → RuntimeEvent:
 * `ProbeNormalizer` turns kernel records into exec, exit, connect and file events, with
 * the pod identity (pod uid, container id) that the cgroup resolver finds for the
 * record's cgroup; the workload resolver adds the provider from the pod uid.
 */
import type { hangar } from "@hangar/proto";
import { readlinkSync } from "node:fs";
import {
  type Counters,
  EventKind,
  FileOperation,
  Sensor,
  newContainer,
  newEvent,
  newPod,
  newProcess,
} from "@hangar/core";
import type { CgroupResolver } from "../sources/probe/cgroups.js";
import type { NormalizeResult } from "./tetragon.js";
import { AF_INET, AF_INET6, ProbeKind, type ProbeEvent } from "../sources/probe/records.js";

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
    return this.#procs.get(p.pid) ?? this.#fromProc(p.pid, p.startNs, true);
  }

  /**
   * A process that exec'd before the probe saw it: identity from its start time, binary from
   * /proc. Remembered when `always`, else only when /proc knew it (a parent looked up for its
   * child's exec).
   */
  #fromProc(pid: number, startNs: bigint, always: boolean): ProcInfo {
    let binary = "";
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- /proc/<pid>/exe: the pid is a number from the kernel record
      binary = readlinkSync(`${this.#procRoot}/${pid}/exe`);
    } catch {
      binary = "";
    }
    const info = { execId: this.#execId(startNs, pid), binary, args: "" };
    if (always || binary !== "") this.#remember(pid, info);
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
            destinationNames: [],
            unixPath: "",
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
    // A new process's parent the probe has not seen yet (started before the agent, e.g. the
    // MCP server itself) is looked up once in /proc; for other events the map is enough.
    const parent =
      this.#procs.get(p.ppid) ??
      (p.kind === ProbeKind.EXEC && p.ppid > 0 ? this.#fromProc(p.ppid, p.parentStartNs, false) : undefined);
    proc.parentExecId = parent?.execId ?? this.#execId(p.parentStartNs, p.ppid);
    ev.process = proc;
    if (parent !== undefined && parent.binary !== "") {
      // The parent as the probe knows it (it saw it exec, or read /proc for it): rules such as
      // "a shell started by the server" need its binary, as Tetragon's events give it.
      const pp = newProcess();
      pp.pid = p.ppid;
      pp.execId = parent.execId;
      pp.binary = parent.binary;
      pp.arguments = parent.args;
      pp.startTime = timestamp(p.realNs - p.timeNs + p.parentStartNs);
      ev.parent = pp;
    }
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
