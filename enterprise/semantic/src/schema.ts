/**
 * The typed fields of the rule language over hangar.v1.RuntimeEvent: their
 * types, the event kinds that carry them, how to read them (compiled once into
 * accessors; no reflection per event) and how tests set them.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";

type RuntimeEvent = hangar.RuntimeEvent;
export type FieldType = "string" | "number" | "bool" | "list";

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
  return (KINDS as Record<string, hangar.EventKind>)[name];
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
}

const basename = (p: string): string => {
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

const NET: readonly KindName[] = ["connect", "flow"];

function proc(prefix: "process" | "parent", pick: (ev: RuntimeEvent) => hangar.ProcessIdentity | undefined) {
  const who = prefix === "process" ? "the process" : "the parent process";
  return [
    f(`${prefix}.pid`, "number", undefined, `pid of ${who}`, (e) => pick(e)?.pid),
    f(`${prefix}.uid`, "number", undefined, `effective uid of ${who}`, (e) => pick(e)?.uid),
    f(
      `${prefix}.binary`,
      "string",
      undefined,
      `absolute path of ${who}'s binary`,
      (e) => pick(e)?.binary ?? "",
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
    ),
    f(`${prefix}.cwd`, "string", undefined, `working directory of ${who}`, (e) => pick(e)?.cwd ?? ""),
    f(`${prefix}.exec_id`, "string", undefined, `cluster-unique id of ${who}`, (e) => pick(e)?.execId ?? ""),
    f(
      `${prefix}.parent_exec_id`,
      "string",
      undefined,
      `exec id of ${who}'s parent`,
      (e) => pick(e)?.parentExecId ?? "",
    ),
  ];
}

function f(
  name: string,
  type: FieldType,
  kinds: readonly KindName[] | undefined,
  doc: string,
  get: (ev: RuntimeEvent) => unknown,
): FieldDef {
  return kinds === undefined ? { name, type, doc, get } : { name, type, kinds, doc, get };
}

export const FIELDS: readonly FieldDef[] = [
  f("event.id", "string", undefined, "id of the event", (e) => e.id),
  f("event.kind", "string", undefined, "kind of the event (exec, connect, …)", (e) => kindNameOf(e.kind)),
  f("sensor", "string", undefined, "tetragon, hubble, probe or proxy", (e) => SENSOR[e.sensor] ?? ""),
  f("node", "string", undefined, "Kubernetes node name", (e) => e.node),
  f(
    "provider",
    "string",
    undefined,
    "the MCP provider (pod label mcp-hangar.io/provider)",
    (e) => e.provider,
  ),
  f("policy", "string", undefined, "the Tetragon policy that produced a hook event", (e) => e.policyName),
  f("tags", "list", undefined, "sensor tags", (e) => e.tags),
  f("pod.namespace", "string", undefined, "pod namespace", (e) => e.pod?.namespace ?? ""),
  f("pod.name", "string", undefined, "pod name", (e) => e.pod?.name ?? ""),
  f("pod.uid", "string", undefined, "pod uid", (e) => e.pod?.uid ?? ""),
  f("pod.ip", "string", undefined, "pod IP", (e) => e.pod?.ip ?? ""),
  f("pod.workload", "string", undefined, "owning workload name", (e) => e.pod?.workload ?? ""),
  f("pod.workload_kind", "string", undefined, "owning workload kind", (e) => e.pod?.workloadKind ?? ""),
  f("container.id", "string", undefined, "container id", (e) => e.pod?.container?.id ?? ""),
  f("container.name", "string", undefined, "container name", (e) => e.pod?.container?.name ?? ""),
  f("container.image", "string", undefined, "image reference repo:tag", (e) => e.pod?.container?.image ?? ""),
  ...proc("process", (e) => e.process),
  ...proc("parent", (e) => e.parent),
  // The MCP context: for a tool call its own trace, for a runtime event the call it is attributed to.
  f(
    "session.id",
    "string",
    undefined,
    "MCP session id (of the call, or of the call the event is attributed to)",
    (e) => (e.kind === hangar.EventKind.TOOL_CALL ? (trace(e)?.sessionId ?? "") : (attr(e)?.sessionId ?? "")),
  ),
  f("caller", "string", undefined, "who made the call: token subject, else client name", (e) => {
    if (e.kind !== hangar.EventKind.TOOL_CALL) return attr(e)?.caller ?? "";
    const c = trace(e)?.caller;
    return c === undefined ? "" : c.subject !== "" ? c.subject : c.clientName;
  }),
  f("call.tool", "string", undefined, "tool of the call (its own, or the attributed call's)", (e) =>
    e.kind === hangar.EventKind.TOOL_CALL ? (trace(e)?.tool ?? "") : (attr(e)?.tool ?? ""),
  ),
  f("call.trace_id", "string", undefined, "W3C trace id of the call", (e) =>
    e.kind === hangar.EventKind.TOOL_CALL ? (trace(e)?.traceId ?? "") : (attr(e)?.traceId ?? ""),
  ),
  f("call.attributed", "bool", undefined, "a tool call, or a runtime event attributed to one", (e) =>
    e.kind === hangar.EventKind.TOOL_CALL ? true : e.attributions.length > 0,
  ),
  f("call.confidence", "number", undefined, "0..1: how sure the correlator is (1 for a tool call)", (e) =>
    e.kind === hangar.EventKind.TOOL_CALL ? 1 : (attr(e)?.confidence ?? 0),
  ),
  f("call.reason", "string", undefined, "time_window or lineage (empty for a tool call)", (e) => {
    const r = attr(e)?.reason;
    return r === hangar.AttributionReason.TIME_WINDOW
      ? "time_window"
      : r === hangar.AttributionReason.LINEAGE
        ? "lineage"
        : "";
  }),
  // tool_call
  f(
    "tool.name",
    "string",
    ["tool_call"],
    "tool name (tools/call), resource URI or prompt name",
    (e) => trace(e)?.tool ?? "",
  ),
  f(
    "tool.method",
    "string",
    ["tool_call"],
    "JSON-RPC method, e.g. tools/call",
    (e) => trace(e)?.method ?? "",
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
  ),
  f("tool.error", "string", ["tool_call"], "error text of a failed call", (e) => trace(e)?.error ?? ""),
  f("tool.duration_ms", "number", ["tool_call"], "end − start in ms (0 while in flight)", (e) => {
    const t = trace(e);
    return t?.endTime === undefined ? 0 : ms(t.endTime) - ms(t.startTime);
  }),
  f("tool.request_bytes", "number", ["tool_call"], "request size", (e) =>
    Number(trace(e)?.requestBytes ?? 0n),
  ),
  f("tool.response_bytes", "number", ["tool_call"], "response size", (e) =>
    Number(trace(e)?.responseBytes ?? 0n),
  ),
  f(
    "caller.client",
    "string",
    ["tool_call"],
    "clientInfo name from MCP initialize",
    (e) => trace(e)?.caller?.clientName ?? "",
  ),
  f(
    "caller.auth",
    "string",
    ["tool_call"],
    "jwt, tokenreview or none",
    (e) => trace(e)?.caller?.authMethod ?? "",
  ),
  // exec / exit
  f(
    "exec.setuid",
    "bool",
    ["exec"],
    "the binary has the set-uid bit",
    (e) => detail(e, "exec")?.setuid ?? false,
  ),
  f("exec.flags", "list", ["exec"], "sensor flags (e.g. procFS)", (e) => detail(e, "exec")?.flags ?? []),
  f(
    "exit.signal",
    "string",
    ["exit"],
    "signal that ended the process",
    (e) => detail(e, "exit")?.signal ?? "",
  ),
  f("exit.status", "number", ["exit"], "exit status", (e) => detail(e, "exit")?.status ?? 0),
  // connect / flow
  f(
    "destination.ip",
    "string",
    NET,
    "remote address",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.destinationIp ?? "",
  ),
  f(
    "destination.port",
    "number",
    NET,
    "remote port",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.destinationPort ?? 0,
  ),
  f(
    "source.ip",
    "string",
    NET,
    "local address",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.sourceIp ?? "",
  ),
  f(
    "source.port",
    "number",
    NET,
    "local port",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.sourcePort ?? 0,
  ),
  f(
    "protocol",
    "string",
    NET,
    "tcp, udp, …",
    (e) => (detail(e, "connect") ?? detail(e, "flow"))?.protocol ?? "",
  ),
  f("connect.family", "string", ["connect"], "ipv4 or ipv6", (e) => detail(e, "connect")?.family ?? ""),
  f(
    "connect.result",
    "number",
    ["connect"],
    "0 or a negative errno",
    (e) => detail(e, "connect")?.result ?? 0,
  ),
  f(
    "connect.state",
    "string",
    ["connect"],
    "socket state, e.g. TCP_SYN_SENT",
    (e) => detail(e, "connect")?.state ?? "",
  ),
  f(
    "connect.hook",
    "string",
    ["connect"],
    "the kernel hook that reported it",
    (e) => detail(e, "connect")?.hook ?? "",
  ),
  f("flow.verdict", "string", ["flow"], "FORWARDED, DROPPED, …", (e) => detail(e, "flow")?.verdict ?? ""),
  f("flow.direction", "string", ["flow"], "ingress or egress", (e) => detail(e, "flow")?.direction ?? ""),
  f("flow.is_reply", "bool", ["flow"], "the flow is a reply", (e) => detail(e, "flow")?.isReply ?? false),
  f("flow.tcp_flags", "list", ["flow"], "TCP flags set", (e) => detail(e, "flow")?.tcpFlags ?? []),
  f(
    "flow.drop_reason",
    "string",
    ["flow"],
    "why a flow was dropped",
    (e) => detail(e, "flow")?.dropReason ?? "",
  ),
  f(
    "destination.names",
    "list",
    ["flow"],
    "DNS names Hubble associated with the destination",
    (e) => detail(e, "flow")?.destinationNames ?? [],
  ),
  f(
    "destination.namespace",
    "string",
    ["flow"],
    "namespace of a destination pod",
    (e) => detail(e, "flow")?.destinationNamespace ?? "",
  ),
  f(
    "destination.pod",
    "string",
    ["flow"],
    "name of a destination pod",
    (e) => detail(e, "flow")?.destinationPod ?? "",
  ),
  // dns
  f(
    "dns.query",
    "string",
    ["dns"],
    "queried name without the trailing dot",
    (e) => detail(e, "dns")?.query ?? "",
  ),
  f("dns.ips", "list", ["dns"], "answer addresses", (e) => detail(e, "dns")?.ips ?? []),
  f("dns.qtypes", "list", ["dns"], "query types (A, AAAA, TXT, …)", (e) => detail(e, "dns")?.qtypes ?? []),
  f("dns.cnames", "list", ["dns"], "CNAMEs in the answer", (e) => detail(e, "dns")?.cnames ?? []),
  f("dns.rcode", "number", ["dns"], "response code", (e) => detail(e, "dns")?.rcode ?? 0),
  f(
    "dns.response",
    "bool",
    ["dns"],
    "a response (false: a request)",
    (e) => detail(e, "dns")?.response ?? false,
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
  f("file.path", "string", ["file"], "path of the file", (e) => detail(e, "file")?.path ?? ""),
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
  ),
  f(
    "file.hook",
    "string",
    ["file"],
    "the kernel hook that reported it",
    (e) => detail(e, "file")?.hook ?? "",
  ),
  f("file.flags", "string", ["file"], "open flags or mmap protection", (e) => detail(e, "file")?.flags ?? ""),
  f(
    "file.permission",
    "string",
    ["file"],
    "permission string, e.g. -rw-r--r--",
    (e) => detail(e, "file")?.permission ?? "",
  ),
  // privilege
  f(
    "privilege.hook",
    "string",
    ["privilege"],
    "setuid, capset, commit_creds, …",
    (e) => detail(e, "privilege")?.hook ?? "",
  ),
  f(
    "privilege.target_uid",
    "number",
    ["privilege"],
    "uid asked for (test with exists)",
    (e) => detail(e, "privilege")?.targetUid,
  ),
  f(
    "privilege.capabilities",
    "list",
    ["privilege"],
    "capabilities named by the hook",
    (e) => detail(e, "privilege")?.capabilities ?? [],
  ),
];

export const FIELD_BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELDS.map((d) => [d.name, d]));

/** `tool.args.<name>`: one argument of a tool call, as a string (JSON for non-strings). */
export function dynamicField(name: string): FieldDef | undefined {
  if (!name.startsWith("tool.args.")) return undefined;
  const key = name.slice("tool.args.".length);
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
  };
}

export function lookupField(name: string): FieldDef | undefined {
  return FIELD_BY_NAME.get(name) ?? dynamicField(name);
}

/** Baseline facets and the field of each kind that a bare `baseline(facet)` reads. */
export const FACETS = ["egress", "dns", "binary", "file", "tool"] as const;
export type Facet = (typeof FACETS)[number];
