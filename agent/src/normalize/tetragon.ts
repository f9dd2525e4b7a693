/**
 * Tetragon → RuntimeEvent. Maps process_exec, process_exit, and the hook events
 * (process_kprobe, process_tracepoint, process_lsm) by their arguments: socket
 * arguments become connect events, file/path arguments file events, credential
 * changes privilege events. Pod-less accounting events (rate_limit_info,
 * process_throttle) become counters. Everything else is dropped with a reason.
 */
import { tetragon, type hangar } from "@hangar/proto";
import {
  type Counters,
  EventKind,
  FileOperation,
  Sensor,
  newContainer,
  newEvent,
  newPod,
  newProcess,
  type RuntimeEvent,
} from "@hangar/core";

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

const SOCKET_FAMILY: Record<string, string> = { AF_INET: "ipv4", AF_INET6: "ipv6" };
const SOCKET_PROTOCOL: Record<string, string> = { IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp" };
const PRIVILEGE_HOOK =
  /setuid|setgid|setreuid|setregid|setresuid|setresgid|setfsuid|setfsgid|capset|cap_capable|commit_creds|create_user_ns/;

/** Linux MAY_* bits passed to security_file_permission. */
const MAY_WRITE = 2;
const MAY_READ = 4;
const MAY_APPEND = 8;

export function toProcess(p: tetragon.Process): hangar.ProcessIdentity {
  const out = newProcess();
  out.pid = p.pid ?? 0;
  out.execId = p.execId;
  out.parentExecId = p.parentExecId;
  out.binary = p.binary;
  out.arguments = p.arguments;
  out.uid = p.uid ?? 0;
  out.cwd = p.cwd;
  if (p.startTime !== undefined) out.startTime = p.startTime;
  return out;
}

export function toPod(p: tetragon.Pod): hangar.PodIdentity {
  const pod = newPod(p.namespace, p.name, p.podLabels);
  pod.uid = p.uid;
  pod.workload = p.workload;
  pod.workloadKind = p.workloadKind;
  const c = p.container;
  if (c !== undefined) pod.container = newContainer(c.id, c.name, c.image?.name ?? "", c.image?.id ?? "");
  return pod;
}

function fileOperation(fn: string, args: readonly tetragon.KprobeArgument[]): hangar.FileOperation {
  if (fn.includes("mmap")) return FileOperation.MMAP;
  if (fn.includes("truncate")) return FileOperation.TRUNCATE;
  if (fn.includes("bprm") || fn.includes("exec")) return FileOperation.EXECUTE;
  if (fn.includes("permission")) {
    for (const a of args) {
      if (a.arg.case === "intArg" || a.arg.case === "uintArg") {
        const mask = a.arg.value;
        if ((mask & (MAY_WRITE | MAY_APPEND)) !== 0) return FileOperation.WRITE;
        if ((mask & MAY_READ) !== 0) return FileOperation.READ;
      }
    }
    return FileOperation.READ;
  }
  if (fn.includes("write")) return FileOperation.WRITE;
  if (fn.includes("read")) return FileOperation.READ;
  return FileOperation.OPEN;
}

/** Builds the detail of a hook event from its function name and arguments, or undefined. */
export function hookDetail(
  fn: string,
  args: readonly tetragon.KprobeArgument[],
): RuntimeEvent["detail"] | undefined {
  for (const a of args) {
    switch (a.arg.case) {
      case "sockArg": {
        const s = a.arg.value;
        return {
          case: "connect",
          value: {
            $typeName: "hangar.v1.ConnectDetail",
            protocol: SOCKET_PROTOCOL[s.protocol] ?? s.protocol.toLowerCase(),
            family: SOCKET_FAMILY[s.family] ?? s.family.toLowerCase(),
            sourceIp: s.saddr,
            sourcePort: s.sport,
            destinationIp: s.daddr,
            destinationPort: s.dport,
            result: 0,
            state: s.state,
            socketCookie: s.cookie,
            hook: fn,
          },
        };
      }
      case "sockaddrArg": {
        const s = a.arg.value;
        return {
          case: "connect",
          value: {
            $typeName: "hangar.v1.ConnectDetail",
            protocol: "",
            family: SOCKET_FAMILY[s.family] ?? s.family.toLowerCase(),
            sourceIp: "",
            sourcePort: 0,
            destinationIp: s.addr,
            destinationPort: s.port,
            result: 0,
            state: "",
            socketCookie: 0n,
            hook: fn,
          },
        };
      }
      case "skbArg": {
        const s = a.arg.value;
        return {
          case: "connect",
          value: {
            $typeName: "hangar.v1.ConnectDetail",
            // Tetragon fills KprobeSkb.protocol with the same names as KprobeSock ("IPPROTO_TCP").
            protocol: SOCKET_PROTOCOL[s.protocol] ?? s.protocol.toLowerCase(),
            family: SOCKET_FAMILY[s.family] ?? s.family.toLowerCase(),
            sourceIp: s.saddr,
            sourcePort: s.sport,
            destinationIp: s.daddr,
            destinationPort: s.dport,
            result: 0,
            state: "",
            socketCookie: 0n,
            hook: fn,
          },
        };
      }
      case "fileArg":
      case "pathArg": {
        const f = a.arg.value;
        return {
          case: "file",
          value: {
            $typeName: "hangar.v1.FileDetail",
            path: f.path,
            operation: fileOperation(fn, args),
            hook: fn,
            flags: f.flags,
            permission: f.permission,
          },
        };
      }
      case "linuxBinprmArg": {
        const b = a.arg.value;
        return {
          case: "file",
          value: {
            $typeName: "hangar.v1.FileDetail",
            path: b.path,
            operation: FileOperation.EXECUTE,
            hook: fn,
            flags: b.flags,
            permission: b.permission,
          },
        };
      }
      default:
        break;
    }
  }
  if (PRIVILEGE_HOOK.test(fn)) {
    const detail: hangar.PrivilegeDetail = {
      $typeName: "hangar.v1.PrivilegeDetail",
      hook: fn,
      capabilities: [],
    };
    for (const a of args) {
      const v = a.arg;
      if ((v.case === "intArg" || v.case === "uintArg") && detail.targetUid === undefined && v.value >= 0) {
        detail.targetUid = v.value;
      } else if (v.case === "capEffectiveArg" || v.case === "capPermittedArg") {
        if (v.value !== "")
          detail.capabilities.push(`${v.case === "capEffectiveArg" ? "effective" : "permitted"}:${v.value}`);
      } else if (v.case === "capabilityArg") {
        detail.capabilities.push(v.value.name);
      } else if (v.case === "processCredentialsArg") {
        const uid = v.value.euid ?? v.value.uid;
        if (uid !== undefined && detail.targetUid === undefined) detail.targetUid = uid;
      }
    }
    return { case: "privilege", value: detail };
  }
  // Tracepoints on open(2)-like syscalls carry the path as a plain string argument.
  if (/open/.test(fn)) {
    for (const a of args) {
      // Relative paths are kept as they are (resolved against the process cwd by readers).
      if (a.arg.case === "stringArg" && a.arg.value !== "") {
        return {
          case: "file",
          value: {
            $typeName: "hangar.v1.FileDetail",
            path: a.arg.value,
            operation: FileOperation.OPEN,
            hook: fn,
            flags: "",
            permission: "",
          },
        };
      }
    }
  }
  return undefined;
}

const KIND_OF_DETAIL: Record<string, hangar.EventKind> = {
  connect: EventKind.CONNECT,
  file: EventKind.FILE,
  privilege: EventKind.PRIVILEGE,
};

/**
 * One Tetragon GetEventsResponse → at most one RuntimeEvent. Stateless apart
 * from the counters; safe to share between streams.
 */
export class TetragonNormalizer {
  readonly #counters: Counters;

  constructor(counters: Counters) {
    this.#counters = counters;
  }

  normalize(msg: tetragon.GetEventsResponse): NormalizeResult {
    if (msg.$unknown !== undefined)
      this.#counters.inc("unknown_fields", { sensor: "tetragon" }, msg.$unknown.length);
    const e = msg.event;
    let ev: RuntimeEvent | undefined;
    let process: tetragon.Process | undefined;
    let parent: tetragon.Process | undefined;
    switch (e.case) {
      case "processExec": {
        const x = e.value;
        process = x.process;
        parent = x.parent;
        const flags = process?.flags ?? "";
        ev = newEvent(EventKind.EXEC, Sensor.TETRAGON, {
          case: "exec",
          value: {
            $typeName: "hangar.v1.ExecDetail",
            setuid: process?.binaryProperties?.setuid !== undefined,
            flags: flags === "" ? [] : flags.split(" "),
          },
        });
        ev.id = `exec:${process?.execId ?? ""}`;
        break;
      }
      case "processExit": {
        const x = e.value;
        process = x.process;
        parent = x.parent;
        ev = newEvent(EventKind.EXIT, Sensor.TETRAGON, {
          case: "exit",
          value: { $typeName: "hangar.v1.ExitDetail", signal: x.signal, status: x.status },
        });
        ev.id = `exit:${process?.execId ?? ""}`;
        break;
      }
      case "processKprobe":
      case "processLsm": {
        const x = e.value;
        process = x.process;
        parent = x.parent;
        const detail = hookDetail(x.functionName, x.args);
        if (detail === undefined) return this.#drop("unsupported_hook");
        ev = newEvent(KIND_OF_DETAIL[detail.case ?? ""] ?? EventKind.UNSPECIFIED, Sensor.TETRAGON, detail);
        ev.policyName = x.policyName;
        if (x.tags.length > 0) ev.tags = x.tags;
        break;
      }
      case "processTracepoint": {
        const x = e.value;
        process = x.process;
        parent = x.parent;
        const detail = hookDetail(`${x.subsys}/${x.event}`, x.args);
        if (detail === undefined) return this.#drop("unsupported_hook");
        ev = newEvent(KIND_OF_DETAIL[detail.case ?? ""] ?? EventKind.UNSPECIFIED, Sensor.TETRAGON, detail);
        ev.policyName = x.policyName;
        if (x.tags.length > 0) ev.tags = x.tags;
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
        return this.#drop("unknown_variant");
    }
    if (process === undefined) return this.#drop("unsupported_variant");
    const unknown =
      ((e.value as { $unknown?: unknown[] }).$unknown?.length ?? 0) +
      (process.$unknown?.length ?? 0) +
      (process.pod?.$unknown?.length ?? 0) +
      (parent?.$unknown?.length ?? 0);
    if (unknown > 0) this.#counters.inc("unknown_fields", { sensor: "tetragon" }, unknown);
    ev.process = toProcess(process);
    if (parent !== undefined) ev.parent = toProcess(parent);
    if (process.pod !== undefined) ev.pod = toPod(process.pod);
    ev.node = msg.nodeName;
    const time = msg.time ?? process.startTime;
    if (time !== undefined) ev.time = time;
    if (ev.id === "") ev.id = `${ev.process.execId}:${time?.seconds ?? 0n}.${time?.nanos ?? 0}:${ev.kind}`;
    return { event: ev };
  }

  #drop(reason: DropReason): NormalizeResult {
    this.#counters.inc("dropped", { reason });
    return { dropped: reason };
  }
}
