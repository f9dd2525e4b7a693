/**
 * Tetragon → RuntimeEvent. Maps process_exec and process_exit, and the hook events
 * (process_kprobe, process_lsm, process_tracepoint) by what their function means
 * (`hooks.ts`); keeps what Tetragon says about the process (credentials, capabilities,
 * namespaces, audit uid, binary properties, ancestors) and about the hook (return value,
 * action, arguments). An event that carries only a container id (Tetragon has not enriched
 * it with the pod yet) keeps that id for the resolver. Pod-less accounting events
 * (rate_limit_info, process_throttle) become counters. Everything else is dropped with a
 * reason; unsupported hooks are counted by function name, unknown fields by message type.
 */
import { tetragon, type hangar, type tetragonLazy as T } from "@hangar/proto";
import {
  type Counters,
  EventKind,
  Sensor,
  newContainer,
  newEvent,
  newPod,
  newProcess,
  type RuntimeEvent,
} from "@hangar/core";
import { hookDetail, hookInfo, kindOfDetail } from "./hooks.js";
import { capabilityName } from "./linux.js";
import { NamedCounter, unknownFieldNames } from "./names.js";
import { MAX_ANCESTORS, ProcessTable } from "./process-table.js";

export { hookDetail } from "./hooks.js";

/** Reasons an upstream record yields no event; each is a `dropped{reason}` counter. */
export type DropReason =
  | "unknown_variant"
  | "unsupported_variant"
  | "unsupported_hook"
  | "sensor_notice"
  | "not_mcp_pod"
  | "undecodable"
  | "duplicate";

export interface NormalizeResult {
  event?: RuntimeEvent;
  dropped?: DropReason;
}

/** Tetragon's auid for "no login uid". */
const AUID_UNSET = 4294967295;

/** Capability sets repeat (every process of a container has the same): their names are built once. */
const capNames = new Map<string, string[]>();
function capabilities(caps: readonly tetragon.CapabilitiesType[] | undefined): string[] {
  if (caps === undefined || caps.length === 0) return [];
  const key = caps.join(",");
  let names = capNames.get(key);
  if (names === undefined) {
    if (capNames.size >= 1024) capNames.clear();
    names = caps.map((c) => capabilityName(c));
    capNames.set(key, names);
  }
  return names;
}

const NAMESPACES: readonly (readonly [keyof T.Namespaces, string])[] = [
  ["uts", "uts"],
  ["ipc", "ipc"],
  ["mnt", "mnt"],
  ["pid", "pid"],
  ["pidForChildren", "pid_for_children"],
  ["net", "net"],
  ["time", "time"],
  ["timeForChildren", "time_for_children"],
  ["cgroup", "cgroup"],
  ["user", "user"],
];

function hostNamespaces(ns: T.Namespaces | undefined): string[] {
  if (ns === undefined) return [];
  const out: string[] = [];
  for (const [key, name] of NAMESPACES) {
    const n = ns[key] as T.Namespace | undefined;
    if (n?.isHost === true) out.push(name);
  }
  return out;
}

const PRIVILEGE_CHANGES: Readonly<Record<number, string>> = {
  [tetragon.ProcessPrivilegesChanged.PRIVILEGES_RAISED_EXEC_FILE_CAP]: "file_cap",
  [tetragon.ProcessPrivilegesChanged.PRIVILEGES_RAISED_EXEC_FILE_SETUID]: "setuid",
  [tetragon.ProcessPrivilegesChanged.PRIVILEGES_RAISED_EXEC_FILE_SETGID]: "setgid",
};

export function toProcess(p: T.Process): hangar.ProcessIdentity {
  const out = newProcess();
  out.pid = p.pid ?? 0;
  out.execId = p.execId;
  out.parentExecId = p.parentExecId;
  out.binary = p.binary;
  out.arguments = p.arguments;
  out.uid = p.uid ?? 0;
  out.cwd = p.cwd;
  if (p.startTime !== undefined) out.startTime = p.startTime;
  if (p.auid !== undefined && p.auid !== AUID_UNSET) out.auid = p.auid;
  if (p.cap !== undefined) {
    out.capEffective = capabilities(p.cap.effective);
    out.capPermitted = capabilities(p.cap.permitted);
  }
  const c = p.processCredentials;
  if (c !== undefined) {
    out.credentials = {
      $typeName: "hangar.v1.Credentials",
      uid: c.uid ?? 0,
      gid: c.gid ?? 0,
      euid: c.euid ?? 0,
      egid: c.egid ?? 0,
      suid: c.suid ?? 0,
      sgid: c.sgid ?? 0,
      fsuid: c.fsuid ?? 0,
      fsgid: c.fsgid ?? 0,
    };
    // With --enable-process-cred the credentials carry the capabilities too.
    if (p.cap === undefined && c.caps !== undefined) {
      out.capEffective = capabilities(c.caps.effective);
      out.capPermitted = capabilities(c.caps.permitted);
    }
  }
  out.hostNamespaces = hostNamespaces(p.ns);
  if (p.inInitTree !== undefined) out.inInitTree = p.inInitTree;
  out.user = p.user?.name ?? "";
  const b = p.binaryProperties;
  if (b !== undefined) {
    if (b.setuid !== undefined) out.binarySetuid = b.setuid;
    if (b.setgid !== undefined) out.binarySetgid = b.setgid;
    out.privilegesChanged = b.privilegesChanged.map((x) => PRIVILEGE_CHANGES[x] ?? String(x));
    const links = b.file?.inode?.links;
    if (links !== undefined) out.binaryLinks = links;
  }
  return out;
}

export function toPod(p: T.Pod): hangar.PodIdentity {
  const pod = newPod(p.namespace, p.name, p.podLabels);
  pod.uid = p.uid;
  pod.workload = p.workload;
  pod.workloadKind = p.workloadKind;
  const c = p.container;
  if (c !== undefined)
    pod.container = newContainer(
      c.id,
      c.name,
      c.image?.name ?? "",
      c.image?.id ?? "",
      c.securityContext?.privileged === true,
    );
  return pod;
}

/** The pod of an event Tetragon has not enriched yet: only the container id (`process.docker`) is known. */
function containerOnly(docker: string): hangar.PodIdentity {
  const pod = newPod("", "", {});
  pod.container = newContainer(docker, "", "", "");
  return pod;
}

/** What every process event carries: the process, its parent, its ancestors, a hook's arguments. */
interface Hook {
  process?: T.Process | undefined;
  parent?: T.Process | undefined;
  ancestors: T.Process[];
  args: readonly T.KprobeArgument[];
}
const NO_ARGS: readonly T.KprobeArgument[] = [];

/**
 * One Tetragon GetEventsResponse → at most one RuntimeEvent. It remembers the processes it
 * has seen start (bounded), to give later events their ancestors; safe to share between
 * streams of one node.
 */
export class TetragonNormalizer {
  readonly #counters: Counters;
  readonly #unknown: NamedCounter;
  readonly #hooks: NamedCounter;
  readonly #processes: ProcessTable;

  constructor(counters: Counters, options: { processes?: ProcessTable } = {}) {
    this.#counters = counters;
    this.#unknown = new NamedCounter(counters, "unknown_field_names", "tetragon");
    this.#hooks = new NamedCounter(counters, "unsupported_hooks", "tetragon");
    this.#processes = options.processes ?? new ProcessTable();
  }

  normalize(msg: T.GetEventsResponse): NormalizeResult {
    const e = msg.event;
    let ev: RuntimeEvent;
    let hook: Hook | undefined;
    switch (e.case) {
      case "processExec": {
        const x = e.value;
        const flags = x.process?.flags ?? "";
        ev = newEvent(EventKind.EXEC, Sensor.TETRAGON, {
          case: "exec",
          value: {
            $typeName: "hangar.v1.ExecDetail",
            setuid: x.process?.binaryProperties?.setuid !== undefined,
            flags: flags === "" ? [] : flags.split(" "),
          },
        });
        ev.id = `exec:${x.process?.execId ?? ""}`;
        hook = { process: x.process, parent: x.parent, ancestors: x.ancestors, args: NO_ARGS };
        break;
      }
      case "processExit": {
        const x = e.value;
        ev = newEvent(EventKind.EXIT, Sensor.TETRAGON, {
          case: "exit",
          value: { $typeName: "hangar.v1.ExitDetail", signal: x.signal, status: x.status },
        });
        ev.id = `exit:${x.process?.execId ?? ""}`;
        hook = { process: x.process, parent: x.parent, ancestors: x.ancestors, args: NO_ARGS };
        break;
      }
      case "processKprobe":
      case "processLsm":
      case "processTracepoint": {
        const x = e.value;
        const name =
          e.case === "processTracepoint" ? `${e.value.subsys}/${e.value.event}` : e.value.functionName;
        const ret = e.case === "processKprobe" ? e.value.return : undefined;
        const detail = hookDetail(name, x.args, ret);
        if (detail === undefined) {
          this.#hooks.inc(name === "" ? "(none)" : name);
          return this.#drop("unsupported_hook");
        }
        ev = newEvent(kindOfDetail(detail), Sensor.TETRAGON, detail);
        ev.policyName = x.policyName;
        if (x.tags.length > 0) ev.tags = x.tags;
        ev.hook = hookInfo(
          name,
          x.args,
          ret,
          x.action,
          e.case === "processKprobe" ? e.value.returnAction : tetragon.KprobeAction.UNKNOWN,
          x.message,
        );
        hook = x;
        break;
      }
      case "rateLimitInfo":
        this.#counters.inc(
          "sensor_lost_events",
          { sensor: "tetragon", reason: "rate_limit" },
          Number(e.value.numberOfDroppedProcessEvents),
        );
        return this.#drop("sensor_notice");
      case "processThrottle":
        this.#counters.inc("sensor_throttle", {
          sensor: "tetragon",
          type:
            e.value.type === tetragon.ThrottleType.THROTTLE_START
              ? "start"
              : e.value.type === tetragon.ThrottleType.THROTTLE_STOP
                ? "stop"
                : "unknown",
        });
        return this.#drop("sensor_notice");
      case "processLoader":
      case "processUprobe":
      case "processUsdt":
      case "test":
        return this.#drop("unsupported_variant");
      case undefined:
        this.#countUnknown(msg, undefined);
        return this.#drop("unknown_variant");
    }
    const process = hook.process;
    if (process === undefined) return this.#drop("unsupported_variant");
    this.#countUnknown(msg, hook);
    const parent = hook.parent;
    ev.process = toProcess(process);
    if (parent !== undefined) ev.parent = toProcess(parent);
    if (process.pod !== undefined) {
      ev.pod = toPod(process.pod);
      if (ev.pod.container === undefined && process.docker !== "")
        ev.pod.container = newContainer(process.docker, "", "", "");
    } else if (process.docker !== "") ev.pod = containerOnly(process.docker);
    this.#ancestry(ev, hook);
    ev.node = msg.nodeName;
    const time = msg.time ?? process.startTime;
    if (time !== undefined) ev.time = time;
    if (ev.id === "") ev.id = `${ev.process.execId}:${time?.seconds ?? 0n}.${time?.nanos ?? 0}:${ev.kind}`;
    return { event: ev };
  }

  /** The event's ancestors beyond its parent: Tetragon's (--enable-ancestors), else the ones this normalizer saw start. */
  #ancestry(ev: RuntimeEvent, hook: Hook): void {
    const table = this.#processes;
    if (ev.kind === EventKind.EXEC) {
      if (ev.parent !== undefined) table.remember(ev.parent);
      if (ev.process !== undefined) table.remember(ev.process);
    }
    if (hook.ancestors.length > 0) {
      const n = Math.min(hook.ancestors.length, MAX_ANCESTORS);
      for (let i = 0; i < n; i++) {
        const a = toProcess(hook.ancestors[i] as T.Process);
        if (ev.kind === EventKind.EXEC) table.remember(a);
        ev.ancestors.push(a);
      }
      return;
    }
    if (ev.parent !== undefined) ev.ancestors = table.ancestorsAbove(ev.parent);
  }

  /** Counts unknown fields of the messages this normalizer reads, by message type and field. */
  #countUnknown(msg: T.GetEventsResponse, hook: Hook | undefined): void {
    const names: string[] = [];
    unknownFieldNames(msg, names);
    unknownFieldNames(msg.event.value, names);
    if (hook !== undefined) {
      for (const p of [hook.process, hook.parent]) {
        if (p === undefined) continue;
        unknownFieldNames(p, names);
        unknownFieldNames(p.pod, names);
        unknownFieldNames(p.pod?.container, names);
      }
      for (const a of hook.args) {
        unknownFieldNames(a, names);
        const value = a.arg.value;
        if (typeof value === "object" && value !== null && "$typeName" in value)
          unknownFieldNames(value, names);
      }
    }
    if (names.length === 0) return;
    this.#counters.inc("unknown_fields", { sensor: "tetragon" }, names.length);
    for (const n of names) this.#unknown.inc(n);
  }

  #drop(reason: DropReason): NormalizeResult {
    this.#counters.inc("dropped", { reason });
    return { dropped: reason };
  }
}
