/**
 * The field registry of the rule language over hangar.v1.RuntimeEvent, each field stated
 * once: its name, type, the event kinds that carry it, its meaning (rules/README.md's field
 * table is checked against it), how to read it (compiled once into accessors; no reflection
 * per event) and, for the fields a rule's test may set, how to write it (a derived field such
 * as `process.name` has no writer: tests set the field it comes from).
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { BASELINE_FACETS } from "@hangar/core";

type RuntimeEvent = hangar.RuntimeEvent;
export type FieldType = "string" | "number" | "bool" | "list";
/** A value a rule's test gives a field (`field: value`). */
export type TestValue = string | number | boolean | (string | number)[];

export const KINDS = {
  tool_call: hangar.EventKind.TOOL_CALL,
  exec: hangar.EventKind.EXEC,
  exit: hangar.EventKind.EXIT,
  connect: hangar.EventKind.CONNECT,
  dns: hangar.EventKind.DNS,
  file: hangar.EventKind.FILE,
  flow: hangar.EventKind.FLOW,
  privilege: hangar.EventKind.PRIVILEGE,
  socket: hangar.EventKind.SOCKET,
  dup: hangar.EventKind.DUP,
  module: hangar.EventKind.MODULE,
  namespace: hangar.EventKind.NAMESPACE,
  ptrace: hangar.EventKind.PTRACE,
  mount: hangar.EventKind.MOUNT,
  io_uring: hangar.EventKind.IO_URING,
} as const;
export type KindName = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as KindName[];

export function kindOf(name: string): hangar.EventKind | undefined {
  // Own keys only: "constructor" or "toString" are not kinds.
  return Object.hasOwn(KINDS, name) ? (KINDS as Record<string, hangar.EventKind>)[name] : undefined;
}

export function kindNameOf(kind: hangar.EventKind): string {
  for (const [n, k] of Object.entries(KINDS)) if (k === kind) return n;
  return "unspecified";
}

export interface FieldDef {
  name: string;
  type: FieldType;
  /** Kinds that carry the field; undefined = every kind. */
  kinds?: readonly KindName[];
  doc: string;
  get(ev: RuntimeEvent): unknown;
  /** Writes the field into a test event; absent for derived fields. Use `setField`. */
  set?: (ev: RuntimeEvent, v: TestValue) => void;
}

export const basename = (p: string): string => {
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
};
const dirname = (p: string): string => {
  const i = p.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : "") : p.slice(0, i);
};

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

function longestLabel(q: string): string {
  let best = "";
  for (const l of q.split(".")) if (l.length > best.length) best = l;
  return best;
}

const trace = (ev: RuntimeEvent): hangar.CallTrace | undefined =>
  ev.detail.case === "toolCall" ? ev.detail.value.trace : undefined;
const attr = (ev: RuntimeEvent): hangar.Attribution | undefined => ev.attributions[0];
interface Details {
  exec: hangar.ExecDetail;
  exit: hangar.ExitDetail;
  connect: hangar.ConnectDetail;
  dns: hangar.DnsDetail;
  file: hangar.FileDetail;
  flow: hangar.FlowDetail;
  privilege: hangar.PrivilegeDetail;
  toolCall: hangar.ToolCallDetail;
  socket: hangar.SocketDetail;
  dup: hangar.DupDetail;
  module: hangar.ModuleDetail;
  namespace: hangar.NamespaceDetail;
  ptrace: hangar.PtraceDetail;
  mount: hangar.MountDetail;
  ioUring: hangar.IoUringDetail;
}
function detail<C extends keyof Details>(ev: RuntimeEvent, c: C): Details[C] | undefined {
  return ev.detail.case === c ? (ev.detail.value as Details[C]) : undefined;
}

/** Each enum's names as rules and tests write them; `byName` reads the table the other way. */
const STATUS: Record<number, string> = {
  [hangar.CallStatus.UNSPECIFIED]: "",
  [hangar.CallStatus.OK]: "ok",
  [hangar.CallStatus.ERROR]: "error",
  [hangar.CallStatus.DENIED]: "denied",
  [hangar.CallStatus.TIMEOUT]: "timeout",
  [hangar.CallStatus.CANCELLED]: "cancelled",
};
const FILE_OP: Record<number, string> = {
  [hangar.FileOperation.UNSPECIFIED]: "",
  [hangar.FileOperation.OPEN]: "open",
  [hangar.FileOperation.READ]: "read",
  [hangar.FileOperation.WRITE]: "write",
  [hangar.FileOperation.MMAP]: "mmap",
  [hangar.FileOperation.TRUNCATE]: "truncate",
  [hangar.FileOperation.EXECUTE]: "execute",
  [hangar.FileOperation.DELETE]: "delete",
  [hangar.FileOperation.RENAME]: "rename",
  [hangar.FileOperation.LINK]: "link",
  [hangar.FileOperation.SYMLINK]: "symlink",
  [hangar.FileOperation.CHMOD]: "chmod",
  [hangar.FileOperation.CHOWN]: "chown",
};
const SENSOR: Record<number, string> = {
  [hangar.Sensor.UNSPECIFIED]: "",
  [hangar.Sensor.TETRAGON]: "tetragon",
  [hangar.Sensor.HUBBLE]: "hubble",
  [hangar.Sensor.PROBE]: "probe",
  [hangar.Sensor.PROXY]: "proxy",
};

function byName<E extends number>(names: Record<number, string>): Readonly<Record<string, E>> {
  const out = Object.create(null) as Record<string, E>; // no inherited names ("constructor")
  for (const [value, name] of Object.entries(names)) if (name !== "") out[name] = Number(value) as E;
  return out;
}
const STATUS_BY_NAME = byName<hangar.CallStatus>(STATUS);
const FILE_OP_BY_NAME = byName<hangar.FileOperation>(FILE_OP);
const SENSOR_BY_NAME = byName<hangar.Sensor>(SENSOR);

const ms = (t: { seconds: bigint; nanos: number } | undefined): number =>
  t === undefined ? 0 : Number(t.seconds) * 1000 + t.nanos / 1e6;

/** The tool call's arguments as plain JSON (computed once per event and cached). */
const argsCache = new WeakMap<RuntimeEvent, { json: JsonValue; text: string; leaves: string[] }>();
export function toolArgs(ev: RuntimeEvent): { json: JsonValue; text: string; leaves: string[] } {
  let c = argsCache.get(ev);
  if (c !== undefined) return c;
  const v = trace(ev)?.arguments;
  const json = v === undefined ? null : toJson(ValueSchema, v);
  const leaves: string[] = [];
  const walk = (x: JsonValue): void => {
    if (x === null) return;
    if (Array.isArray(x)) x.forEach(walk);
    else if (typeof x === "object") Object.values(x).forEach((y) => walk(y));
    else leaves.push(typeof x === "string" ? x : JSON.stringify(x));
  };
  walk(json);
  c = { json, text: json === null ? "" : JSON.stringify(json), leaves };
  argsCache.set(ev, c);
  return c;
}

// ── writing fields (the tests written next to rules) ────────────────────────────
/** Thrown by a writer when the event has no place for its field (a dns field on an exec event). */
class NoPlace extends Error {}

function needTrace(ev: RuntimeEvent): hangar.CallTrace {
  const t = trace(ev);
  if (t === undefined) throw new NoPlace();
  return t;
}
const pod = (ev: RuntimeEvent): hangar.PodIdentity => (ev.pod ??= create(hangar.PodIdentitySchema, {}));
const container = (ev: RuntimeEvent): hangar.Container =>
  (pod(ev).container ??= create(hangar.ContainerSchema, {}));
const callerOf = (t: hangar.CallTrace): hangar.Caller => (t.caller ??= create(hangar.CallerSchema, {}));
/**
 * The call a runtime event is attributed to, made on first use: a test that sets an MCP field
 * of a runtime event (`session.id`, `call.tool`, …) attributes it by time window, confidence 1.
 */
function attribution(ev: RuntimeEvent): hangar.Attribution {
  let a = ev.attributions[0];
  if (a === undefined) {
    a = create(hangar.AttributionSchema, {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      reason: hangar.AttributionReason.TIME_WINDOW,
      confidence: 1,
    });
    ev.attributions.push(a);
  }
  return a;
}

/** A writer: the field's value, converted, into `key` of the part of the event `at` finds (or makes). */
function into<P, K extends keyof P>(
  at: (ev: RuntimeEvent) => P,
  key: K,
  convert: (v: TestValue) => NoInfer<P[K]>,
): (ev: RuntimeEvent, v: TestValue) => void {
  return (ev, v) => {
    // eslint-disable-next-line hangar/no-string-key-write -- key is a field name from the schema table of this file, not input
    at(ev)[key] = convert(v);
  };
}
/** A writer for a field of the call: a tool call's own trace, else the call a runtime event is attributed to. */
function ofCall(
  onTrace: (ev: RuntimeEvent, v: TestValue) => void,
  onAttribution: (ev: RuntimeEvent, v: TestValue) => void,
): (ev: RuntimeEvent, v: TestValue) => void {
  return (ev, v) => (trace(ev) !== undefined ? onTrace : onAttribution)(ev, v);
}
/** The detail of kind `c` (bound once per kind below: inside `into(…)`, TypeScript would type it from its context). */
function part<C extends keyof Details>(c: C): (ev: RuntimeEvent) => Details[C] {
  return (ev) => {
    const d = detail(ev, c);
    if (d === undefined) throw new NoPlace();
    return d;
  };
}
const execDetail = part("exec");
const exitDetail = part("exit");
const connectDetail = part("connect");
const flowDetail = part("flow");
const dnsDetail = part("dns");
const fileDetail = part("file");
const privilegeDetail = part("privilege");
const socketDetail = part("socket");
const dupDetail = part("dup");
const moduleDetail = part("module");
const namespaceDetail = part("namespace");
const ptraceDetail = part("ptrace");
const mountDetail = part("mount");
const ioUringDetail = part("ioUring");
const httpDetail = (ev: RuntimeEvent): hangar.HttpDetail =>
  (flowDetail(ev).http ??= create(hangar.HttpDetailSchema, {}));
const hookInfo = (ev: RuntimeEvent): hangar.HookInfo => (ev.hook ??= create(hangar.HookInfoSchema, {}));
const event = (ev: RuntimeEvent): RuntimeEvent => ev;
const toolCaller = (ev: RuntimeEvent): hangar.Caller => callerOf(needTrace(ev));

const str = (v: TestValue): string => (Array.isArray(v) ? v.join(",") : String(v));
const num = (v: TestValue): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`expected a number, got ${JSON.stringify(v)}`);
  return n;
};
const list = (v: TestValue): string[] => (Array.isArray(v) ? v.map(String) : [String(v)]);
const bool = (v: TestValue): boolean => {
  if (typeof v !== "boolean") throw new Error(`expected true or false, got ${JSON.stringify(v)}`);
  return v;
};
const bigint = (v: TestValue): bigint => BigInt(num(v));
const sensor = (v: TestValue): hangar.Sensor => SENSOR_BY_NAME[str(v)] ?? hangar.Sensor.UNSPECIFIED;
const callStatus = (v: TestValue): hangar.CallStatus =>
  STATUS_BY_NAME[str(v)] ?? hangar.CallStatus.UNSPECIFIED;
function fileOperation(v: TestValue): hangar.FileOperation {
  const op = FILE_OP_BY_NAME[str(v)];
  if (op === undefined)
    throw new Error(`file.operation must be one of ${Object.keys(FILE_OP_BY_NAME).join(", ")}`);
  return op;
}

/** Writes `name` into a test event. Throws on a field that is unknown, derived, or has no place in this event. */
export function setField(ev: RuntimeEvent, name: string, v: TestValue): void {
  try {
    const set = lookupField(name)?.set;
    if (set === undefined) throw new NoPlace();
    set(ev, v);
  } catch (err) {
    if (err instanceof NoPlace)
      throw new Error(`${name} cannot be set on ${ev.detail.case ?? "this"} events`);
    throw err;
  }
}

// ── the fields ────────────────────────────────────────────────────────────────
const NET: readonly KindName[] = ["connect", "flow", "socket"];

/** Source and destination as on the wire: a connect's and a socket's are its local and remote sides. */
function wire(e: RuntimeEvent): { sIp: string; sPort: number; dIp: string; dPort: number } | undefined {
  const d = e.detail;
  if (d.case === "connect" || d.case === "flow")
    return {
      sIp: d.value.sourceIp,
      sPort: d.value.sourcePort,
      dIp: d.value.destinationIp,
      dPort: d.value.destinationPort,
    };
  if (d.case === "socket")
    return {
      sIp: d.value.localIp,
      sPort: d.value.localPort,
      dIp: d.value.remoteIp,
      dPort: d.value.remotePort,
    };
  return undefined;
}
function setWire(e: RuntimeEvent, k: "sIp" | "sPort" | "dIp" | "dPort", v: string | number): void {
  const d = e.detail;
  if (d.case === "connect" || d.case === "flow") {
    const x = d.value;
    if (k === "sIp") x.sourceIp = v as string;
    else if (k === "sPort") x.sourcePort = v as number;
    else if (k === "dIp") x.destinationIp = v as string;
    else x.destinationPort = v as number;
  } else if (d.case === "socket") {
    const x = d.value;
    if (k === "sIp") x.localIp = v as string;
    else if (k === "sPort") x.localPort = v as number;
    else if (k === "dIp") x.remoteIp = v as string;
    else x.remotePort = v as number;
  } else throw new NoPlace();
}

function proc(
  prefix: "process" | "parent",
  pick: (ev: RuntimeEvent) => hangar.ProcessIdentity | undefined,
  make: (ev: RuntimeEvent) => hangar.ProcessIdentity,
) {
  const who = prefix === "process" ? "the process" : "the parent process";
  return [
    f(`${prefix}.pid`, "number", undefined, `pid of ${who}`, (e) => pick(e)?.pid, into(make, "pid", num)),
    f(
      `${prefix}.uid`,
      "number",
      undefined,
      `effective uid of ${who}`,
      (e) => pick(e)?.uid,
      into(make, "uid", num),
    ),
    f(
      `${prefix}.binary`,
      "string",
      undefined,
      `absolute path of ${who}'s binary`,
      (e) => pick(e)?.binary ?? "",
      into(make, "binary", str),
    ),
    f(`${prefix}.name`, "string", undefined, `file name of ${who}'s binary`, (e) =>
      basename(pick(e)?.binary ?? ""),
    ),
    f(
      `${prefix}.arguments`,
      "string",
      undefined,
      `arguments of ${who}, one string`,
      (e) => pick(e)?.arguments ?? "",
      into(make, "arguments", str),
    ),
    f(
      `${prefix}.cwd`,
      "string",
      undefined,
      `working directory of ${who}`,
      (e) => pick(e)?.cwd ?? "",
      into(make, "cwd", str),
    ),
    f(
      `${prefix}.exec_id`,
      "string",
      undefined,
      `cluster-unique id of ${who}`,
      (e) => pick(e)?.execId ?? "",
      into(make, "execId", str),
    ),
    f(
      `${prefix}.parent_exec_id`,
      "string",
      undefined,
      `exec id of ${who}'s parent`,
      (e) => pick(e)?.parentExecId ?? "",
      into(make, "parentExecId", str),
    ),
    f(
      `${prefix}.gid`,
      "number",
      undefined,
      `effective gid of ${who}, when the sensor reports credentials`,
      (e) => pick(e)?.credentials?.egid,
      (e, v) => {
        creds(make(e)).egid = num(v);
      },
    ),
    f(
      `${prefix}.real_uid`,
      "number",
      undefined,
      `real uid of ${who}, when the sensor reports credentials`,
      (e) => pick(e)?.credentials?.uid,
      (e, v) => {
        creds(make(e)).uid = num(v);
      },
    ),
    f(
      `${prefix}.auid`,
      "number",
      undefined,
      `audit login uid of ${who} (unset when it has none: test with exists)`,
      (e) => pick(e)?.auid,
      into(make, "auid", num),
    ),
    f(
      `${prefix}.user`,
      "string",
      undefined,
      `user name of ${who}, when the sensor resolves it`,
      (e) => pick(e)?.user ?? "",
      into(make, "user", str),
    ),
    f(
      `${prefix}.cap_effective`,
      "list",
      undefined,
      `effective capabilities of ${who} (CAP_* names)`,
      (e) => pick(e)?.capEffective ?? [],
      into(make, "capEffective", list),
    ),
    f(
      `${prefix}.cap_permitted`,
      "list",
      undefined,
      `permitted capabilities of ${who} (CAP_* names)`,
      (e) => pick(e)?.capPermitted ?? [],
      into(make, "capPermitted", list),
    ),
    f(
      `${prefix}.host_namespaces`,
      "list",
      undefined,
      `namespaces ${who} shares with the host (net, pid, mnt, …)`,
      (e) => pick(e)?.hostNamespaces ?? [],
      into(make, "hostNamespaces", list),
    ),
    f(
      `${prefix}.in_init_tree`,
      "bool",
      undefined,
      `${who} descends from the container's first process (false: kubectl exec, nsenter; unset when not reported)`,
      (e) => pick(e)?.inInitTree,
      into(make, "inInitTree", bool),
    ),
    f(
      `${prefix}.binary_setuid`,
      "bool",
      undefined,
      `${who}'s binary has the set-uid bit`,
      (e) => pick(e)?.binarySetuid !== undefined,
      (e, v) => {
        if (bool(v)) make(e).binarySetuid = 0;
        else delete make(e).binarySetuid;
      },
    ),
    f(
      `${prefix}.privileges_changed`,
      "list",
      undefined,
      `why ${who}'s exec raised privileges: setuid, setgid, file_cap`,
      (e) => pick(e)?.privilegesChanged ?? [],
      into(make, "privilegesChanged", list),
    ),
    f(
      `${prefix}.binary_deleted`,
      "bool",
      undefined,
      `${who}'s binary has no link on disk (deleted, or memory-only: memfd)`,
      (e) => pick(e)?.binaryLinks === 0,
      (e, v) => {
        if (bool(v)) make(e).binaryLinks = 0;
        else delete make(e).binaryLinks;
      },
    ),
    f(
      `${prefix}.ancestors`,
      "list",
      undefined,
      prefix === "process"
        ? "binaries of the process's ancestors, parent first (at most 17)"
        : "binaries of the parent's ancestors, grandparent first (at most 16)",
      (e) => ancestry(e, prefix).map((p) => p.binary),
      (e, v) => setAncestry(e, prefix, list(v)),
    ),
    f(
      `${prefix}.ancestor_names`,
      "list",
      undefined,
      prefix === "process"
        ? "file names of the process's ancestors' binaries, parent first"
        : "file names of the parent's ancestors' binaries, grandparent first",
      (e) => ancestry(e, prefix).map((p) => basename(p.binary)),
    ),
  ];
}

const creds = (p: hangar.ProcessIdentity): hangar.Credentials =>
  (p.credentials ??= create(hangar.CredentialsSchema, {}));

/** Ancestors of the process (its parent first) or of the parent (the grandparent first). */
function ancestry(e: RuntimeEvent, of: "process" | "parent"): hangar.ProcessIdentity[] {
  if (of === "parent") return e.ancestors;
  return e.parent === undefined ? e.ancestors : [e.parent, ...e.ancestors];
}
function setAncestry(e: RuntimeEvent, of: "process" | "parent", binaries: string[]): void {
  const procs = binaries.map((b, i) =>
    create(hangar.ProcessIdentitySchema, { binary: b, execId: `test-ancestor-${of}-${i}` }),
  );
  if (of === "process") {
    const [parent, ...rest] = procs;
    if (parent !== undefined) {
      e.parent ??= create(hangar.ProcessIdentitySchema, {});
      e.parent.binary = parent.binary;
    }
    e.ancestors = rest;
  } else e.ancestors = procs;
}

function f(
  name: string,
  type: FieldType,
  kinds: readonly KindName[] | undefined,
  doc: string,
  get: (ev: RuntimeEvent) => unknown,
  set?: (ev: RuntimeEvent, v: TestValue) => void,
): FieldDef {
  const def: FieldDef = kinds === undefined ? { name, type, doc, get } : { name, type, kinds, doc, get };
  if (set !== undefined) def.set = set;
  return def;
}

/** An image reference split: "ghcr.io/acme/x:1.4" / "ghcr.io/acme/x@sha256:…" (from the image and its id). */
const imageCache = new WeakMap<hangar.Container, { repository: string; tag: string; digest: string }>();
export function imageParts(e: RuntimeEvent): { repository: string; tag: string; digest: string } {
  const c = e.pod?.container;
  if (c === undefined) return { repository: "", tag: "", digest: "" };
  let r = imageCache.get(c);
  if (r !== undefined) return r;
  const split = (ref: string): { repository: string; tag: string; digest: string } => {
    const at = ref.indexOf("@");
    const name = at < 0 ? ref : ref.slice(0, at);
    const digest = at < 0 ? "" : ref.slice(at + 1);
    const colon = name.lastIndexOf(":");
    const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : "";
    return { repository: tag === "" ? name : name.slice(0, colon), tag, digest };
  };
  const a = split(c.image);
  const b = split(c.imageId);
  r = { repository: a.repository || b.repository, tag: a.tag, digest: a.digest || b.digest };
  imageCache.set(c, r);
  return r;
}

const labelCache = new WeakMap<Record<string, string>, string[]>();
function podLabels(e: RuntimeEvent): string[] {
  const l = e.pod?.labels;
  if (l === undefined) return [];
  let r = labelCache.get(l);
  if (r === undefined) {
    r = Object.entries(l).map(([k, v]) => `${k}=${v}`);
    labelCache.set(l, r);
  }
  return r;
}

/** The pod's side and the other side of a connect, flow or socket event. */
interface Sides {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  remoteNames: string[];
  direction: string;
}
const NO_SIDES: Sides = {
  localIp: "",
  localPort: 0,
  remoteIp: "",
  remotePort: 0,
  remoteNames: [],
  direction: "",
};
const SOCKET_DIRECTION: Readonly<Record<string, string>> = { accept: "ingress", listen: "ingress" };
export function sides(e: RuntimeEvent): Sides {
  const d = e.detail;
  switch (d.case) {
    case "connect": {
      const c = d.value;
      return {
        localIp: c.sourceIp,
        localPort: c.sourcePort,
        remoteIp: c.destinationIp,
        remotePort: c.destinationPort,
        remoteNames: c.destinationNames,
        direction: "egress",
      };
    }
    case "flow": {
      const f = d.value;
      return f.podIsSource
        ? {
            localIp: f.sourceIp,
            localPort: f.sourcePort,
            remoteIp: f.destinationIp,
            remotePort: f.destinationPort,
            remoteNames: f.destinationNames,
            direction: f.direction,
          }
        : {
            localIp: f.destinationIp,
            localPort: f.destinationPort,
            remoteIp: f.sourceIp,
            remotePort: f.sourcePort,
            remoteNames: f.sourceNames,
            direction: f.direction,
          };
    }
    case "socket": {
      const x = d.value;
      return {
        localIp: x.localIp,
        localPort: x.localPort,
        remoteIp: x.remoteIp,
        remotePort: x.remotePort,
        remoteNames: [],
        direction: SOCKET_DIRECTION[x.operation] ?? "",
      };
    }
    default:
      return NO_SIDES;
  }
}

export const FIELDS: readonly FieldDef[] = [
  f("event.id", "string", undefined, "id of the event", (e) => e.id, into(event, "id", str)),
  f("event.kind", "string", undefined, "kind of the event (exec, connect, …)", (e) => kindNameOf(e.kind)),
  f(
    "sensor",
    "string",
    undefined,
    "tetragon, hubble, probe or proxy",
    (e) => SENSOR[e.sensor] ?? "",
    into(event, "sensor", sensor),
  ),
  f("node", "string", undefined, "Kubernetes node name", (e) => e.node, into(event, "node", str)),
  f(
    "provider",
    "string",
    undefined,
    "the MCP provider (pod label mcp-hangar.io/provider)",
    (e) => e.provider,
    (e, v) => {
      e.provider = str(v);
      const t = trace(e);
      if (t !== undefined) t.provider = str(v);
    },
  ),
  f(
    "policy",
    "string",
    undefined,
    "the Tetragon policy that produced a hook event",
    (e) => e.policyName,
    into(event, "policyName", str),
  ),
  f("tags", "list", undefined, "sensor tags", (e) => e.tags, into(event, "tags", list)),
  f(
    "pod.namespace",
    "string",
    undefined,
    "pod namespace",
    (e) => e.pod?.namespace ?? "",
    into(pod, "namespace", str),
  ),
  f("pod.name", "string", undefined, "pod name", (e) => e.pod?.name ?? "", into(pod, "name", str)),
  f("pod.uid", "string", undefined, "pod uid", (e) => e.pod?.uid ?? "", into(pod, "uid", str)),
  f("pod.ip", "string", undefined, "pod IP", (e) => e.pod?.ip ?? "", into(pod, "ip", str)),
  f(
    "pod.workload",
    "string",
    undefined,
    "owning workload name",
    (e) => e.pod?.workload ?? "",
    into(pod, "workload", str),
  ),
  f(
    "pod.workload_kind",
    "string",
    undefined,
    "owning workload kind",
    (e) => e.pod?.workloadKind ?? "",
    into(pod, "workloadKind", str),
  ),
  f(
    "container.id",
    "string",
    undefined,
    "container id",
    (e) => e.pod?.container?.id ?? "",
    into(container, "id", str),
  ),
  f(
    "container.name",
    "string",
    undefined,
    "container name",
    (e) => e.pod?.container?.name ?? "",
    into(container, "name", str),
  ),
  f(
    "container.image",
    "string",
    undefined,
    "image reference repo:tag",
    (e) => e.pod?.container?.image ?? "",
    into(container, "image", str),
  ),
  f(
    "container.image.repository",
    "string",
    undefined,
    "image repository, without tag or digest (ghcr.io/acme/fs-tools-mcp)",
    (e) => imageParts(e).repository,
  ),
  f(
    "container.image.tag",
    "string",
    undefined,
    "image tag (1.4.2); empty when the image is named by digest",
    (e) => imageParts(e).tag,
  ),
  f(
    "container.image.digest",
    "string",
    undefined,
    "image digest (sha256:…), when the sensor knows it",
    (e) => imageParts(e).digest,
  ),
  f(
    "container.image_id",
    "string",
    undefined,
    "image digest reference repo@sha256:…",
    (e) => e.pod?.container?.imageId ?? "",
    into(container, "imageId", str),
  ),
  f(
    "container.privileged",
    "bool",
    undefined,
    "the container runs privileged, when the sensor reports it",
    (e) => e.pod?.container?.privileged ?? false,
    into(container, "privileged", bool),
  ),
  f(
    "pod.labels",
    "list",
    undefined,
    "pod labels as key=value",
    (e) => podLabels(e),
    (e, v) => {
      const labels: Record<string, string> = {};
      for (const kv of list(v)) {
        const i = kv.indexOf("=");
        // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
        labels[i < 0 ? kv : kv.slice(0, i)] = i < 0 ? "" : kv.slice(i + 1);
      }
      pod(e).labels = labels;
    },
  ),
  ...proc(
    "process",
    (e) => e.process,
    (e) => (e.process ??= create(hangar.ProcessIdentitySchema, {})),
  ),
  ...proc(
    "parent",
    (e) => e.parent,
    (e) => (e.parent ??= create(hangar.ProcessIdentitySchema, {})),
  ),
  // The MCP context: for a tool call its own trace, for a runtime event the call it is attributed to.
  f(
    "session.id",
    "string",
    undefined,
    "MCP session id (of the call, or of the call the event is attributed to)",
    (e) => (e.kind === hangar.EventKind.TOOL_CALL ? (trace(e)?.sessionId ?? "") : (attr(e)?.sessionId ?? "")),
    ofCall(into(needTrace, "sessionId", str), into(attribution, "sessionId", str)),
  ),
  f(
    "caller",
    "string",
    undefined,
    "who made the call: token subject, else client name",
    (e) => {
      if (e.kind !== hangar.EventKind.TOOL_CALL) return attr(e)?.caller ?? "";
      const c = trace(e)?.caller;
      return c === undefined ? "" : c.subject !== "" ? c.subject : c.clientName;
    },
    ofCall(into(toolCaller, "subject", str), into(attribution, "caller", str)),
  ),
  f(
    "call.tool",
    "string",
    undefined,
    "tool of the call (its own, or the attributed call's)",
    (e) => (e.kind === hangar.EventKind.TOOL_CALL ? (trace(e)?.tool ?? "") : (attr(e)?.tool ?? "")),
    ofCall(into(needTrace, "tool", str), into(attribution, "tool", str)),
  ),
  f(
    "call.trace_id",
    "string",
    undefined,
    "W3C trace id of the call",
    (e) => (e.kind === hangar.EventKind.TOOL_CALL ? (trace(e)?.traceId ?? "") : (attr(e)?.traceId ?? "")),
    ofCall(into(needTrace, "traceId", str), into(attribution, "traceId", str)),
  ),
  f("call.attributed", "bool", undefined, "a tool call, or a runtime event attributed to one", (e) =>
    e.kind === hangar.EventKind.TOOL_CALL ? true : e.attributions.length > 0,
  ),
  f(
    "call.confidence",
    "number",
    undefined,
    "0..1: how sure the correlator is (1 for a tool call)",
    (e) => (e.kind === hangar.EventKind.TOOL_CALL ? 1 : (attr(e)?.confidence ?? 0)),
    into(attribution, "confidence", num),
  ),
  f(
    "call.reason",
    "string",
    undefined,
    "time_window or lineage (empty for a tool call)",
    (e) => {
      const r = attr(e)?.reason;
      return r === hangar.AttributionReason.TIME_WINDOW
        ? "time_window"
        : r === hangar.AttributionReason.LINEAGE
          ? "lineage"
          : "";
    },
    (e, v) => {
      attribution(e).reason =
        str(v) === "lineage" ? hangar.AttributionReason.LINEAGE : hangar.AttributionReason.TIME_WINDOW;
    },
  ),
  // tool_call
  f(
    "tool.name",
    "string",
    ["tool_call"],
    "tool name (tools/call), resource URI or prompt name",
    (e) => trace(e)?.tool ?? "",
    into(needTrace, "tool", str),
  ),
  f(
    "tool.method",
    "string",
    ["tool_call"],
    "JSON-RPC method, e.g. tools/call",
    (e) => trace(e)?.method ?? "",
    into(needTrace, "method", str),
  ),
  f(
    "tool.args",
    "string",
    ["tool_call"],
    "the (redacted) arguments as compact JSON",
    (e) => toolArgs(e).text,
  ),
  f(
    "tool.arg_values",
    "list",
    ["tool_call"],
    "every scalar value inside the arguments, as strings",
    (e) => toolArgs(e).leaves,
  ),
  f(
    "tool.status",
    "string",
    ["tool_call"],
    "ok, error, denied, timeout, cancelled, or empty while in flight",
    (e) => STATUS[trace(e)?.status ?? 0] ?? "",
    into(needTrace, "status", callStatus),
  ),
  f(
    "tool.error",
    "string",
    ["tool_call"],
    "error text of a failed call",
    (e) => trace(e)?.error ?? "",
    into(needTrace, "error", str),
  ),
  f("tool.duration_ms", "number", ["tool_call"], "end − start in ms (0 while in flight)", (e) => {
    const t = trace(e);
    return t?.endTime === undefined ? 0 : ms(t.endTime) - ms(t.startTime);
  }),
  f(
    "tool.request_bytes",
    "number",
    ["tool_call"],
    "request size",
    (e) => Number(trace(e)?.requestBytes ?? 0n),
    into(needTrace, "requestBytes", bigint),
  ),
  f(
    "tool.response_bytes",
    "number",
    ["tool_call"],
    "response size",
    (e) => Number(trace(e)?.responseBytes ?? 0n),
    into(needTrace, "responseBytes", bigint),
  ),
  f(
    "caller.client",
    "string",
    ["tool_call"],
    "clientInfo name from MCP initialize",
    (e) => trace(e)?.caller?.clientName ?? "",
    into(toolCaller, "clientName", str),
  ),
  f(
    "caller.auth",
    "string",
    ["tool_call"],
    "jwt, tokenreview or none",
    (e) => trace(e)?.caller?.authMethod ?? "",
    into(toolCaller, "authMethod", str),
  ),
  // exec / exit
  f(
    "exec.setuid",
    "bool",
    ["exec"],
    "the binary has the set-uid bit",
    (e) => detail(e, "exec")?.setuid ?? false,
    into(execDetail, "setuid", bool),
  ),
  f(
    "exec.flags",
    "list",
    ["exec"],
    "sensor flags (e.g. procFS)",
    (e) => detail(e, "exec")?.flags ?? [],
    into(execDetail, "flags", list),
  ),
  f(
    "exit.signal",
    "string",
    ["exit"],
    "signal that ended the process",
    (e) => detail(e, "exit")?.signal ?? "",
    into(exitDetail, "signal", str),
  ),
  f(
    "exit.status",
    "number",
    ["exit"],
    "exit status",
    (e) => detail(e, "exit")?.status ?? 0,
    into(exitDetail, "status", num),
  ),
  // connect / flow / socket: source and destination as on the wire; local and remote sides
  f(
    "destination.ip",
    "string",
    NET,
    "destination address as on the wire (a connect's or socket's remote side; in a flow the packet's destination: the pod itself for a reply or an ingress connection)",
    (e) => wire(e)?.dIp ?? "",
    (e, v) => setWire(e, "dIp", str(v)),
  ),
  f(
    "destination.port",
    "number",
    NET,
    "destination port as on the wire",
    (e) => wire(e)?.dPort ?? 0,
    (e, v) => setWire(e, "dPort", num(v)),
  ),
  f(
    "source.ip",
    "string",
    NET,
    "source address as on the wire (a connect's or socket's local side)",
    (e) => wire(e)?.sIp ?? "",
    (e, v) => setWire(e, "sIp", str(v)),
  ),
  f(
    "source.port",
    "number",
    NET,
    "source port as on the wire",
    (e) => wire(e)?.sPort ?? 0,
    (e, v) => setWire(e, "sPort", num(v)),
  ),
  f(
    "protocol",
    "string",
    NET,
    "tcp, udp, …",
    (e) => (detail(e, "connect") ?? detail(e, "flow") ?? detail(e, "socket"))?.protocol ?? "",
    (e, v) => {
      const d = detail(e, "connect") ?? detail(e, "flow") ?? detail(e, "socket");
      if (d === undefined) throw new NoPlace();
      d.protocol = str(v);
    },
  ),
  f("local.ip", "string", NET, "the pod's own address in the connection", (e) => sides(e).localIp),
  f("local.port", "number", NET, "the pod's own port in the connection", (e) => sides(e).localPort),
  f(
    "remote.ip",
    "string",
    NET,
    "the other side's address (for flows, whichever side is not the pod)",
    (e) => sides(e).remoteIp,
  ),
  f("remote.port", "number", NET, "the other side's port", (e) => sides(e).remotePort),
  f(
    "remote.names",
    "list",
    NET,
    "DNS names of the other side (Hubble's, or the pod's own DNS answers for that address)",
    (e) => sides(e).remoteNames,
  ),
  f(
    "network.direction",
    "string",
    NET,
    "egress when the pod opened the connection, ingress when the other side did (listen and accept are ingress); empty when unknown",
    (e) => sides(e).direction,
    into(flowDetail, "direction", str),
  ),
  f(
    "connect.family",
    "string",
    ["connect"],
    "ipv4 or ipv6",
    (e) => detail(e, "connect")?.family ?? "",
    into(connectDetail, "family", str),
  ),
  f(
    "connect.result",
    "number",
    ["connect"],
    "0 or a negative errno",
    (e) => detail(e, "connect")?.result ?? 0,
    into(connectDetail, "result", num),
  ),
  f(
    "connect.state",
    "string",
    ["connect"],
    "socket state, e.g. TCP_SYN_SENT",
    (e) => detail(e, "connect")?.state ?? "",
    into(connectDetail, "state", str),
  ),
  f(
    "connect.unix_path",
    "string",
    ["connect"],
    "path of a unix-domain socket connected to (e.g. /run/containerd/containerd.sock)",
    (e) => detail(e, "connect")?.unixPath ?? "",
    into(connectDetail, "unixPath", str),
  ),
  f(
    "connect.hook",
    "string",
    ["connect"],
    "the kernel hook that reported it",
    (e) => detail(e, "connect")?.hook ?? "",
    into(connectDetail, "hook", str),
  ),
  f(
    "flow.verdict",
    "string",
    ["flow"],
    "FORWARDED, DROPPED, …",
    (e) => detail(e, "flow")?.verdict ?? "",
    into(flowDetail, "verdict", str),
  ),
  f(
    "flow.direction",
    "string",
    ["flow"],
    "ingress or egress",
    (e) => detail(e, "flow")?.direction ?? "",
    into(flowDetail, "direction", str),
  ),
  f(
    "flow.is_reply",
    "bool",
    ["flow"],
    "the flow is a reply",
    (e) => detail(e, "flow")?.isReply ?? false,
    into(flowDetail, "isReply", bool),
  ),
  f(
    "flow.tcp_flags",
    "list",
    ["flow"],
    "TCP flags set",
    (e) => detail(e, "flow")?.tcpFlags ?? [],
    into(flowDetail, "tcpFlags", list),
  ),
  f(
    "flow.drop_reason",
    "string",
    ["flow"],
    "why a flow was dropped",
    (e) => detail(e, "flow")?.dropReason ?? "",
    into(flowDetail, "dropReason", str),
  ),
  f(
    "destination.names",
    "list",
    ["connect", "flow"],
    "DNS names of the destination: the pod's own DNS answers for a connect's address, Hubble's for a flow",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.destinationNames ?? [],
    (e, v) => {
      const d = detail(e, "connect") ?? detail(e, "flow");
      if (d === undefined) throw new NoPlace();
      d.destinationNames = list(v);
    },
  ),
  f(
    "source.names",
    "list",
    ["flow"],
    "DNS names Hubble associated with the source",
    (e) => detail(e, "flow")?.sourceNames ?? [],
    into(flowDetail, "sourceNames", list),
  ),
  f(
    "flow.pod_is_source",
    "bool",
    ["flow"],
    "the pod is the packet's source (its side is source.ip)",
    (e) => detail(e, "flow")?.podIsSource ?? false,
    into(flowDetail, "podIsSource", bool),
  ),
  f(
    "flow.traffic_direction",
    "string",
    ["flow"],
    "Hubble's traffic_direction as reported: the connection's direction where Hubble saw it",
    (e) => detail(e, "flow")?.trafficDirection ?? "",
    into(flowDetail, "trafficDirection", str),
  ),
  f(
    "flow.l7",
    "string",
    ["flow"],
    "request, response or sample for an L7 flow; empty for L3/L4",
    (e) => detail(e, "flow")?.l7Type ?? "",
    into(flowDetail, "l7Type", str),
  ),
  f(
    "http.method",
    "string",
    ["flow"],
    "HTTP method of an L7 flow",
    (e) => detail(e, "flow")?.http?.method ?? "",
    into(httpDetail, "method", str),
  ),
  f(
    "http.url",
    "string",
    ["flow"],
    "HTTP URL of an L7 flow",
    (e) => detail(e, "flow")?.http?.url ?? "",
    into(httpDetail, "url", str),
  ),
  f(
    "http.status",
    "number",
    ["flow"],
    "HTTP status code of an L7 response (0 for a request)",
    (e) => detail(e, "flow")?.http?.code ?? 0,
    into(httpDetail, "code", num),
  ),
  f(
    "destination.namespace",
    "string",
    ["flow"],
    "namespace of a destination pod",
    (e) => detail(e, "flow")?.destinationNamespace ?? "",
    into(flowDetail, "destinationNamespace", str),
  ),
  f(
    "destination.pod",
    "string",
    ["flow"],
    "name of the destination pod as on the wire (the pod itself for a reply or an ingress connection)",
    (e) => detail(e, "flow")?.destinationPod ?? "",
    into(flowDetail, "destinationPod", str),
  ),
  f(
    "remote.namespace",
    "string",
    ["flow"],
    "namespace of the other side's pod (for a reply or an ingress connection: the source's)",
    (e) => detail(e, "flow")?.peerNamespace ?? "",
    into(flowDetail, "peerNamespace", str),
  ),
  f(
    "remote.pod",
    "string",
    ["flow"],
    "name of the other side's pod",
    (e) => detail(e, "flow")?.peerPod ?? "",
    into(flowDetail, "peerPod", str),
  ),
  f(
    "remote.labels",
    "list",
    ["flow"],
    "the other side's labels (k8s:key=value)",
    (e) => detail(e, "flow")?.peerLabels ?? [],
    into(flowDetail, "peerLabels", list),
  ),
  // dns
  f(
    "dns.query",
    "string",
    ["dns"],
    "queried name without the trailing dot",
    (e) => detail(e, "dns")?.query ?? "",
    into(dnsDetail, "query", str),
  ),
  f(
    "dns.ips",
    "list",
    ["dns"],
    "answer addresses",
    (e) => detail(e, "dns")?.ips ?? [],
    into(dnsDetail, "ips", list),
  ),
  f(
    "dns.qtypes",
    "list",
    ["dns"],
    "query types (A, AAAA, TXT, …)",
    (e) => detail(e, "dns")?.qtypes ?? [],
    into(dnsDetail, "qtypes", list),
  ),
  f(
    "dns.rrtypes",
    "list",
    ["dns"],
    "resource record types in the answer (A, AAAA, CNAME, …)",
    (e) => detail(e, "dns")?.rrtypes ?? [],
    into(dnsDetail, "rrtypes", list),
  ),
  f(
    "dns.cnames",
    "list",
    ["dns"],
    "CNAMEs in the answer",
    (e) => detail(e, "dns")?.cnames ?? [],
    into(dnsDetail, "cnames", list),
  ),
  f(
    "dns.rcode",
    "number",
    ["dns"],
    "response code",
    (e) => detail(e, "dns")?.rcode ?? 0,
    into(dnsDetail, "rcode", num),
  ),
  f(
    "dns.response",
    "bool",
    ["dns"],
    "a response (false: a request)",
    (e) => detail(e, "dns")?.response ?? false,
    into(dnsDetail, "response", bool),
  ),
  f("dns.labels", "number", ["dns"], "number of labels in the name", (e) => {
    const q = detail(e, "dns")?.query ?? "";
    return q === "" ? 0 : q.split(".").length;
  }),
  f(
    "dns.longest_label",
    "number",
    ["dns"],
    "length of the longest label",
    (e) => longestLabel(detail(e, "dns")?.query ?? "").length,
  ),
  f("dns.entropy", "number", ["dns"], "Shannon entropy (bits/char) of the longest label", (e) =>
    entropy(longestLabel(detail(e, "dns")?.query ?? "")),
  ),
  // file
  f(
    "file.path",
    "string",
    ["file"],
    "path of the file",
    (e) => detail(e, "file")?.path ?? "",
    into(fileDetail, "path", str),
  ),
  f("file.name", "string", ["file"], "file name (last path element)", (e) =>
    basename(detail(e, "file")?.path ?? ""),
  ),
  f("file.dir", "string", ["file"], "directory of the file", (e) => dirname(detail(e, "file")?.path ?? "")),
  f(
    "file.operation",
    "string",
    ["file"],
    "open, read, write, mmap, truncate or execute",
    (e) => FILE_OP[detail(e, "file")?.operation ?? 0] ?? "",
    into(fileDetail, "operation", fileOperation),
  ),
  f(
    "file.hook",
    "string",
    ["file"],
    "the kernel hook that reported it",
    (e) => detail(e, "file")?.hook ?? "",
    into(fileDetail, "hook", str),
  ),
  f(
    "file.flags",
    "string",
    ["file"],
    "open flags or mmap protection",
    (e) => detail(e, "file")?.flags ?? "",
    into(fileDetail, "flags", str),
  ),
  f(
    "file.permission",
    "string",
    ["file"],
    "permission string, e.g. -rw-r--r--",
    (e) => detail(e, "file")?.permission ?? "",
    into(fileDetail, "permission", str),
  ),
  // privilege
  f(
    "privilege.hook",
    "string",
    ["privilege"],
    "setuid, capset, commit_creds, …",
    (e) => detail(e, "privilege")?.hook ?? "",
    into(privilegeDetail, "hook", str),
  ),
  f(
    "privilege.target_uid",
    "number",
    ["privilege"],
    "uid asked for (test with exists)",
    (e) => detail(e, "privilege")?.targetUid,
    into(privilegeDetail, "targetUid", num),
  ),
  f(
    "privilege.capabilities",
    "list",
    ["privilege"],
    "capabilities named by the hook",
    (e) => detail(e, "privilege")?.capabilities ?? [],
    into(privilegeDetail, "capabilities", list),
  ),
  f(
    "privilege.operation",
    "string",
    ["privilege"],
    "setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid, setfsgid, setgroups, capset, commit_creds, create_user_ns, cap_capable",
    (e) => detail(e, "privilege")?.operation ?? "",
    into(privilegeDetail, "operation", str),
  ),
  f(
    "privilege.target_gid",
    "number",
    ["privilege"],
    "gid asked for, only by calls that change group ids (test with exists)",
    (e) => detail(e, "privilege")?.targetGid,
    into(privilegeDetail, "targetGid", num),
  ),
  f(
    "privilege.denied",
    "bool",
    ["privilege"],
    "the kernel refused it (the hook returned a negative errno), e.g. a denied cap_capable",
    (e) => detail(e, "privilege")?.denied ?? false,
    into(privilegeDetail, "denied", bool),
  ),
  // socket
  f(
    "socket.operation",
    "string",
    ["socket"],
    "listen, accept, send, receive, close, bind, create, shutdown, state; empty when the hook does not say",
    (e) => detail(e, "socket")?.operation ?? "",
    into(socketDetail, "operation", str),
  ),
  f(
    "socket.family",
    "string",
    ["socket"],
    "ipv4, ipv6, unix, packet, netlink, …",
    (e) => detail(e, "socket")?.family ?? "",
    into(socketDetail, "family", str),
  ),
  f(
    "socket.type",
    "string",
    ["socket"],
    "stream, dgram, raw, seqpacket, packet, …",
    (e) => detail(e, "socket")?.type ?? "",
    into(socketDetail, "type", str),
  ),
  f(
    "socket.state",
    "string",
    ["socket"],
    "socket state as reported, e.g. TCP_LISTEN",
    (e) => detail(e, "socket")?.state ?? "",
    into(socketDetail, "state", str),
  ),
  f(
    "socket.bytes",
    "number",
    ["socket"],
    "bytes sent or received, when the hook reports a size",
    (e) => Number(detail(e, "socket")?.bytes ?? 0n),
    into(socketDetail, "bytes", bigint),
  ),
  f(
    "socket.hook",
    "string",
    ["socket"],
    "the kernel hook that reported it",
    (e) => detail(e, "socket")?.hook ?? "",
    into(socketDetail, "hook", str),
  ),
  // dup
  f(
    "dup.new_fd",
    "number",
    ["dup"],
    "the descriptor written (0, 1, 2: stdin, stdout, stderr); unset when not reported",
    (e) => detail(e, "dup")?.newFd,
    into(dupDetail, "newFd", num),
  ),
  f(
    "dup.old_fd",
    "number",
    ["dup"],
    "the descriptor copied; unset when not reported",
    (e) => detail(e, "dup")?.oldFd,
    into(dupDetail, "oldFd", num),
  ),
  f(
    "dup.target",
    "string",
    ["dup"],
    "what the copied descriptor is: socket, file, pipe, tty, anon_inode, or unknown (no path: a socket or pipe whose kind the hook did not say)",
    (e) => detail(e, "dup")?.target ?? "",
    into(dupDetail, "target", str),
  ),
  f(
    "dup.path",
    "string",
    ["dup"],
    "the copied descriptor's path, when it has one",
    (e) => detail(e, "dup")?.path ?? "",
    into(dupDetail, "path", str),
  ),
  // module
  f(
    "module.operation",
    "string",
    ["module"],
    "load, request (loading by name), unload, read (a module file read for loading)",
    (e) => detail(e, "module")?.operation ?? "",
    into(moduleDetail, "operation", str),
  ),
  f(
    "module.name",
    "string",
    ["module"],
    "module name",
    (e) => detail(e, "module")?.name ?? "",
    into(moduleDetail, "name", str),
  ),
  f(
    "module.unsigned",
    "bool",
    ["module"],
    "the module's signature did not verify",
    (e) => detail(e, "module")?.signatureOk === false,
    (e, v) => {
      moduleDetail(e).signatureOk = !bool(v);
    },
  ),
  f(
    "module.tainted",
    "list",
    ["module"],
    "kernel taint flags the module sets (TAINT_* names)",
    (e) => detail(e, "module")?.tainted ?? [],
    into(moduleDetail, "tainted", list),
  ),
  f(
    "module.path",
    "string",
    ["module"],
    "module file, when reported",
    (e) => detail(e, "module")?.path ?? "",
    into(moduleDetail, "path", str),
  ),
  // namespace
  f(
    "namespace.operation",
    "string",
    ["namespace"],
    "setns (enter) or unshare (create)",
    (e) => detail(e, "namespace")?.operation ?? "",
    into(namespaceDetail, "operation", str),
  ),
  f(
    "namespace.types",
    "list",
    ["namespace"],
    "namespaces asked for: mnt, net, pid, uts, ipc, user, cgroup, time (empty for setns(fd, 0))",
    (e) => detail(e, "namespace")?.types ?? [],
    into(namespaceDetail, "types", list),
  ),
  // ptrace
  f(
    "ptrace.request",
    "string",
    ["ptrace"],
    "PTRACE_ATTACH, PTRACE_SEIZE, PTRACE_POKETEXT, … (or the number)",
    (e) => detail(e, "ptrace")?.request ?? "",
    into(ptraceDetail, "request", str),
  ),
  f(
    "ptrace.target_pid",
    "number",
    ["ptrace"],
    "pid of the traced process, when reported",
    (e) => detail(e, "ptrace")?.targetPid,
    into(ptraceDetail, "targetPid", num),
  ),
  // mount
  f(
    "mount.operation",
    "string",
    ["mount"],
    "mount, umount, move, fsmount, pivot_root, open_tree",
    (e) => detail(e, "mount")?.operation ?? "",
    into(mountDetail, "operation", str),
  ),
  f(
    "mount.source",
    "string",
    ["mount"],
    "device or source path",
    (e) => detail(e, "mount")?.source ?? "",
    into(mountDetail, "source", str),
  ),
  f(
    "mount.target",
    "string",
    ["mount"],
    "mount point",
    (e) => detail(e, "mount")?.target ?? "",
    into(mountDetail, "target", str),
  ),
  f(
    "mount.fstype",
    "string",
    ["mount"],
    "file system type (ext4, proc, overlay, …)",
    (e) => detail(e, "mount")?.fstype ?? "",
    into(mountDetail, "fstype", str),
  ),
  f(
    "mount.flags",
    "string",
    ["mount"],
    "MS_* flags, e.g. MS_BIND|MS_REC",
    (e) => detail(e, "mount")?.flags ?? "",
    into(mountDetail, "flags", str),
  ),
  // io_uring
  f(
    "io_uring.operation",
    "string",
    ["io_uring"],
    "setup, sqpoll, override_creds, enter, register",
    (e) => detail(e, "ioUring")?.operation ?? "",
    into(ioUringDetail, "operation", str),
  ),
  // the hook (Tetragon kprobe, LSM, tracepoint)
  f(
    "hook.function",
    "string",
    undefined,
    "the hook's function (kprobe, LSM) or subsystem/event (tracepoint); empty for other events",
    (e) => e.hook?.function ?? "",
    into(hookInfo, "function", str),
  ),
  f(
    "hook.return",
    "number",
    undefined,
    "the hook's return value, when the policy asks for it (test with exists)",
    (e) => (e.hook?.returnValue === undefined ? undefined : Number(e.hook.returnValue)),
    into(hookInfo, "returnValue", bigint),
  ),
  f(
    "hook.action",
    "string",
    undefined,
    "the policy selector's action: post, sigkill, override, signal, …",
    (e) => e.hook?.action ?? "",
    into(hookInfo, "action", str),
  ),
  f(
    "hook.args",
    "list",
    undefined,
    "the hook's arguments as text, label=value when labelled",
    (e) => e.hook?.args ?? [],
    into(hookInfo, "args", list),
  ),
  f(
    "hook.message",
    "string",
    undefined,
    "the policy's message",
    (e) => e.hook?.message ?? "",
    into(hookInfo, "message", str),
  ),
];

export const FIELD_BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELDS.map((d) => [d.name, d]));

const TOOL_ARGS = "tool.args.";

/** `tool.args.<name>`: one argument of a tool call, as a string (JSON for non-strings). */
export function dynamicField(name: string): FieldDef | undefined {
  if (!name.startsWith(TOOL_ARGS)) return undefined;
  const key = name.slice(TOOL_ARGS.length);
  if (key === "") return undefined;
  return {
    name,
    type: "string",
    kinds: ["tool_call"],
    doc: "one argument of the tool call",
    get(e) {
      const j = toolArgs(e).json;
      if (j === null || typeof j !== "object" || Array.isArray(j)) return "";
      const v = j[key];
      return v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
    },
    set(e, v) {
      // An argument on an event that is not a tool call has nowhere to go (and is dropped).
      const t = trace(e);
      if (t === undefined) return;
      const args =
        t.arguments === undefined ? {} : (toJson(ValueSchema, t.arguments) as Record<string, JsonValue>);
      // A computed key in a literal is an own property, even "__proto__" (the key is the rule's).
      t.arguments = fromJson(ValueSchema, { ...args, [key]: v });
    },
  };
}

export function lookupField(name: string): FieldDef | undefined {
  return FIELD_BY_NAME.get(name) ?? dynamicField(name);
}

/** Baseline facets and the field of each kind that a bare `baseline(facet)` reads. */
export const FACETS = BASELINE_FACETS;
export type Facet = (typeof FACETS)[number];
