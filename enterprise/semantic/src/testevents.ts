/**
 * Builds hangar.v1.RuntimeEvents for the tests written next to rules: every
 * field has a realistic default (one MCP pod, its server process, a session),
 * and `field: value` pairs set the rest through the same field names rules use.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, type Value as PbValue, ValueSchema } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import type { Literal } from "./ast.js";
import { kindOf } from "./schema.js";

type RuntimeEvent = hangar.RuntimeEvent;
export type TestValue = string | number | boolean | (string | number)[];

/** Start of every test timeline: `at 0s` is this instant. */
export const TEST_EPOCH_MS = Date.parse("2026-03-02T09:00:00Z");
export const TEST_PROVIDER = "test-provider";

const SENSOR_OF: Record<string, hangar.Sensor> = {
  tool_call: hangar.Sensor.PROXY,
  dns: hangar.Sensor.HUBBLE,
  flow: hangar.Sensor.HUBBLE,
};

const FILE_OPS: Record<string, hangar.FileOperation> = {
  open: hangar.FileOperation.OPEN,
  read: hangar.FileOperation.READ,
  write: hangar.FileOperation.WRITE,
  mmap: hangar.FileOperation.MMAP,
  truncate: hangar.FileOperation.TRUNCATE,
  execute: hangar.FileOperation.EXECUTE,
};
const STATUSES: Record<string, hangar.CallStatus> = {
  ok: hangar.CallStatus.OK,
  error: hangar.CallStatus.ERROR,
  denied: hangar.CallStatus.DENIED,
  timeout: hangar.CallStatus.TIMEOUT,
  cancelled: hangar.CallStatus.CANCELLED,
};

export function literalValue(l: Literal | { t: "list"; items: Literal[] }): TestValue {
  if (l.t === "list") return l.items.map((x) => (x.t === "str" ? x.v : Number(x.v)));
  return l.v;
}

function jsonToValue(v: unknown): PbValue {
  if (v === null || v === undefined) return create(ValueSchema, { kind: { case: "nullValue", value: 0 } });
  if (typeof v === "string") return create(ValueSchema, { kind: { case: "stringValue", value: v } });
  if (typeof v === "number") return create(ValueSchema, { kind: { case: "numberValue", value: v } });
  if (typeof v === "boolean") return create(ValueSchema, { kind: { case: "boolValue", value: v } });
  if (Array.isArray(v))
    return create(ValueSchema, { kind: { case: "listValue", value: { values: v.map(jsonToValue) } } });
  return create(ValueSchema, {
    kind: {
      case: "structValue",
      value: {
        fields: Object.fromEntries(
          Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonToValue(x)]),
        ),
      },
    },
  });
}

function detailFor(kind: string): RuntimeEvent["detail"] {
  switch (kind) {
    case "exec":
      return { case: "exec", value: create(hangar.ExecDetailSchema, {}) };
    case "exit":
      return { case: "exit", value: create(hangar.ExitDetailSchema, {}) };
    case "connect":
      return {
        case: "connect",
        value: create(hangar.ConnectDetailSchema, {
          protocol: "tcp",
          family: "ipv4",
          sourceIp: "10.244.1.17",
          sourcePort: 40000,
          hook: "tcp_connect",
        }),
      };
    case "dns":
      return { case: "dns", value: create(hangar.DnsDetailSchema, { qtypes: ["A"], response: true }) };
    case "file":
      return {
        case: "file",
        value: create(hangar.FileDetailSchema, {
          operation: hangar.FileOperation.READ,
          hook: "security_file_permission",
        }),
      };
    case "flow":
      return {
        case: "flow",
        value: create(hangar.FlowDetailSchema, {
          verdict: "FORWARDED",
          direction: "egress",
          protocol: "tcp",
          sourceIp: "10.244.1.17",
        }),
      };
    case "privilege":
      return { case: "privilege", value: create(hangar.PrivilegeDetailSchema, { hook: "__sys_setuid" }) };
    default:
      return {
        case: "toolCall",
        value: create(hangar.ToolCallDetailSchema, {
          trace: {
            traceId: "0af7651916cd43dd8448eb211c80319c",
            spanId: "b7ad6b7169203331",
            sessionId: "test-session",
            provider: TEST_PROVIDER,
            method: "tools/call",
            caller: { subject: "test-caller", authMethod: "jwt", clientName: "test-client" },
            podNamespace: "mcp",
            podName: "test-pod",
            podUid: "test-pod-uid",
            node: "test-node",
            status: hangar.CallStatus.OK,
          },
        }),
      };
  }
}

/** A test event of `kind` at `atMs` after TEST_EPOCH_MS, with `fields` set. Throws on a field it cannot set. */
export function testEvent(
  kind: string,
  atMs: number,
  n: number,
  fields: ReadonlyMap<string, TestValue>,
): RuntimeEvent {
  const k = kindOf(kind);
  if (k === undefined) throw new Error(`unknown kind ${kind}`);
  const time = timestampFromMs(TEST_EPOCH_MS + atMs);
  const ev = create(hangar.RuntimeEventSchema, {
    id: `test-${n}`,
    kind: k,
    sensor: SENSOR_OF[kind] ?? hangar.Sensor.TETRAGON,
    time,
    node: "test-node",
    provider: TEST_PROVIDER,
    pod: {
      namespace: "mcp",
      name: "test-pod",
      uid: "test-pod-uid",
      ip: "10.244.1.17",
      workload: "test-server",
      workloadKind: "Deployment",
      labels: { "mcp-hangar.io/provider": TEST_PROVIDER },
      container: { id: "containerd://0123456789ab", name: "server", image: "ghcr.io/example/test-mcp:1.0.0" },
    },
    detail: detailFor(kind),
  });
  if (kind !== "tool_call") {
    ev.process = create(hangar.ProcessIdentitySchema, {
      pid: 4100,
      execId: "test-exec-4100",
      parentExecId: "test-exec-1",
      binary: "/usr/local/bin/node",
      arguments: "/app/server.js",
      uid: 1000,
      cwd: "/app",
    });
    ev.parent = create(hangar.ProcessIdentitySchema, {
      pid: 1,
      execId: "test-exec-1",
      binary: "/usr/bin/tini",
      uid: 1000,
      cwd: "/",
    });
  } else {
    const t = ev.detail.case === "toolCall" ? ev.detail.value.trace : undefined;
    if (t !== undefined) {
      t.startTime = time;
      t.endTime = timestampFromMs(TEST_EPOCH_MS + atMs + 100);
      t.traceId = (n + 1).toString(16).padStart(32, "0");
      t.spanId = (n + 1).toString(16).padStart(16, "0");
    }
  }
  const args: Record<string, unknown> = {};
  for (const [name, value] of fields) {
    if (name.startsWith("tool.args.")) {
      args[name.slice("tool.args.".length)] = value;
      continue;
    }
    setField(ev, name, value);
  }
  if (Object.keys(args).length > 0 && ev.detail.case === "toolCall" && ev.detail.value.trace !== undefined)
    ev.detail.value.trace.arguments = jsonToValue(args);
  return ev;
}

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

function setField(ev: RuntimeEvent, name: string, v: TestValue): void {
  const d = ev.detail;
  const tr = d.case === "toolCall" ? d.value.trace : undefined;
  const pod = ev.pod as hangar.PodIdentity;
  const [head, rest = ""] = name.includes(".")
    ? [name.slice(0, name.indexOf(".")), name.slice(name.indexOf(".") + 1)]
    : [name, ""];
  if (head === "process" || head === "parent") {
    const p = (head === "process" ? ev.process : ev.parent) ?? create(hangar.ProcessIdentitySchema, {});
    if (head === "process") ev.process = p;
    else ev.parent = p;
    switch (rest) {
      case "pid":
        p.pid = num(v);
        return;
      case "uid":
        p.uid = num(v);
        return;
      case "binary":
        p.binary = str(v);
        return;
      case "arguments":
        p.arguments = str(v);
        return;
      case "cwd":
        p.cwd = str(v);
        return;
      case "exec_id":
        p.execId = str(v);
        return;
      case "parent_exec_id":
        p.parentExecId = str(v);
        return;
    }
  }
  switch (name) {
    case "event.id":
      ev.id = str(v);
      return;
    case "sensor":
      ev.sensor =
        ({ tetragon: 1, hubble: 2, probe: 3, proxy: 4 } as Record<string, hangar.Sensor>)[str(v)] ?? 0;
      return;
    case "node":
      ev.node = str(v);
      return;
    case "provider":
      ev.provider = str(v);
      if (tr !== undefined) tr.provider = str(v);
      return;
    case "policy":
      ev.policyName = str(v);
      return;
    case "tags":
      ev.tags = list(v);
      return;
    case "pod.namespace":
      pod.namespace = str(v);
      return;
    case "pod.name":
      pod.name = str(v);
      return;
    case "pod.uid":
      pod.uid = str(v);
      return;
    case "pod.ip":
      pod.ip = str(v);
      return;
    case "pod.workload":
      pod.workload = str(v);
      return;
    case "pod.workload_kind":
      pod.workloadKind = str(v);
      return;
    case "container.id":
    case "container.name":
    case "container.image": {
      const c = pod.container ?? create(hangar.ContainerSchema, {});
      pod.container = c;
      if (name === "container.id") c.id = str(v);
      else if (name === "container.name") c.name = str(v);
      else c.image = str(v);
      return;
    }
    case "session.id":
      if (tr !== undefined) tr.sessionId = str(v);
      else attribution(ev).sessionId = str(v);
      return;
    case "caller":
      if (tr !== undefined) (tr.caller ?? (tr.caller = create(hangar.CallerSchema, {}))).subject = str(v);
      else attribution(ev).caller = str(v);
      return;
    case "call.tool":
      if (tr !== undefined) tr.tool = str(v);
      else attribution(ev).tool = str(v);
      return;
    case "call.trace_id":
      if (tr !== undefined) tr.traceId = str(v);
      else attribution(ev).traceId = str(v);
      return;
    case "call.confidence":
      attribution(ev).confidence = num(v);
      return;
    case "call.reason":
      attribution(ev).reason =
        str(v) === "lineage" ? hangar.AttributionReason.LINEAGE : hangar.AttributionReason.TIME_WINDOW;
      return;
  }
  if (tr !== undefined) {
    switch (name) {
      case "tool.name":
        tr.tool = str(v);
        return;
      case "tool.method":
        tr.method = str(v);
        return;
      case "tool.status":
        tr.status = STATUSES[str(v)] ?? hangar.CallStatus.UNSPECIFIED;
        return;
      case "tool.error":
        tr.error = str(v);
        return;
      case "tool.request_bytes":
        tr.requestBytes = BigInt(num(v));
        return;
      case "tool.response_bytes":
        tr.responseBytes = BigInt(num(v));
        return;
      case "caller.client":
        (tr.caller ?? (tr.caller = create(hangar.CallerSchema, {}))).clientName = str(v);
        return;
      case "caller.auth":
        (tr.caller ?? (tr.caller = create(hangar.CallerSchema, {}))).authMethod = str(v);
        return;
    }
  }
  switch (d.case) {
    case "exec":
      if (name === "exec.setuid") return void (d.value.setuid = bool(v));
      if (name === "exec.flags") return void (d.value.flags = list(v));
      break;
    case "exit":
      if (name === "exit.signal") return void (d.value.signal = str(v));
      if (name === "exit.status") return void (d.value.status = num(v));
      break;
    case "connect":
    case "flow": {
      const x = d.value;
      switch (name) {
        case "destination.ip":
          x.destinationIp = str(v);
          return;
        case "destination.port":
          x.destinationPort = num(v);
          return;
        case "source.ip":
          x.sourceIp = str(v);
          return;
        case "source.port":
          x.sourcePort = num(v);
          return;
        case "protocol":
          x.protocol = str(v);
          return;
      }
      if (d.case === "connect") {
        const c = d.value;
        if (name === "connect.family") return void (c.family = str(v));
        if (name === "connect.result") return void (c.result = num(v));
        if (name === "connect.state") return void (c.state = str(v));
        if (name === "connect.hook") return void (c.hook = str(v));
      } else {
        const f = d.value;
        if (name === "flow.verdict") return void (f.verdict = str(v));
        if (name === "flow.direction") return void (f.direction = str(v));
        if (name === "flow.is_reply") return void (f.isReply = bool(v));
        if (name === "flow.tcp_flags") return void (f.tcpFlags = list(v));
        if (name === "flow.drop_reason") return void (f.dropReason = str(v));
        if (name === "destination.names") return void (f.destinationNames = list(v));
        if (name === "destination.namespace") return void (f.destinationNamespace = str(v));
        if (name === "destination.pod") return void (f.destinationPod = str(v));
      }
      break;
    }
    case "dns": {
      const x = d.value;
      if (name === "dns.query") return void (x.query = str(v));
      if (name === "dns.ips") return void (x.ips = list(v));
      if (name === "dns.qtypes") return void (x.qtypes = list(v));
      if (name === "dns.cnames") return void (x.cnames = list(v));
      if (name === "dns.rcode") return void (x.rcode = num(v));
      if (name === "dns.response") return void (x.response = bool(v));
      break;
    }
    case "file": {
      const x = d.value;
      if (name === "file.path") return void (x.path = str(v));
      if (name === "file.operation") {
        const op = FILE_OPS[str(v)];
        if (op === undefined)
          throw new Error(`file.operation must be one of ${Object.keys(FILE_OPS).join(", ")}`);
        x.operation = op;
        return;
      }
      if (name === "file.hook") return void (x.hook = str(v));
      if (name === "file.flags") return void (x.flags = str(v));
      if (name === "file.permission") return void (x.permission = str(v));
      break;
    }
    case "privilege": {
      const x = d.value;
      if (name === "privilege.hook") return void (x.hook = str(v));
      if (name === "privilege.target_uid") return void (x.targetUid = num(v));
      if (name === "privilege.capabilities") return void (x.capabilities = list(v));
      break;
    }
    default:
      break;
  }
  throw new Error(`${name} cannot be set on ${d.case ?? "this"} events`);
}
