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
const net = (ev: RuntimeEvent): hangar.ConnectDetail | hangar.FlowDetail => {
  const d = detail(ev, "connect") ?? detail(ev, "flow");
  if (d === undefined) throw new NoPlace();
  return d;
};
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
const NET: readonly KindName[] = ["connect", "flow"];

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
  ];
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
  // connect / flow
  f(
    "destination.ip",
    "string",
    NET,
    "remote address",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.destinationIp ?? "",
    into(net, "destinationIp", str),
  ),
  f(
    "destination.port",
    "number",
    NET,
    "remote port",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.destinationPort ?? 0,
    into(net, "destinationPort", num),
  ),
  f(
    "source.ip",
    "string",
    NET,
    "local address",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.sourceIp ?? "",
    into(net, "sourceIp", str),
  ),
  f(
    "source.port",
    "number",
    NET,
    "local port",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.sourcePort ?? 0,
    into(net, "sourcePort", num),
  ),
  f(
    "protocol",
    "string",
    NET,
    "tcp, udp, …",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.protocol ?? "",
    into(net, "protocol", str),
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
    ["flow"],
    "DNS names Hubble associated with the destination",
    (e) => detail(e, "flow")?.destinationNames ?? [],
    into(flowDetail, "destinationNames", list),
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
    "name of a destination pod",
    (e) => detail(e, "flow")?.destinationPod ?? "",
    into(flowDetail, "destinationPod", str),
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
      args[key] = v;
      t.arguments = fromJson(ValueSchema, args);
    },
  };
}

export function lookupField(name: string): FieldDef | undefined {
  return FIELD_BY_NAME.get(name) ?? dynamicField(name);
}

/** Baseline facets and the field of each kind that a bare `baseline(facet)` reads. */
export const FACETS = BASELINE_FACETS;
export type Facet = (typeof FACETS)[number];
