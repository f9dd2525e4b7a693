/**
 * Builders of the messages tests feed to the stages: runtime events as the agent's
 * pipeline hands them on (after normalize and resolve), call traces as the MCP proxy
 * publishes them, and alerts. Defaults describe one MCP pod of provider `weather`;
 * every field can be set.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PROVIDER_LABEL, type Alert, type CallTrace, type RuntimeEvent } from "@hangar/core";
import { hangar } from "@hangar/proto";

/** The time tests start at: 2026-03-02T09:00:00Z. */
export const T0 = Date.parse("2026-03-02T09:00:00Z");

export interface EventInit {
  id?: string;
  /** Event time, ms since the epoch (default T0). */
  at?: number;
  sensor?: hangar.Sensor;
  node?: string;
  /** Provider (and the pod's provider label); "" for an event of no MCP pod. */
  provider?: string;
  namespace?: string;
  /** Pod name (default `<provider>-0`). */
  pod?: string;
  labels?: Record<string, string>;
  pid?: number;
  binary?: string;
  args?: string;
  uid?: number;
  execId?: string;
  parentExecId?: string;
  /** Process start, ms since the epoch. */
  processStartMs?: number;
  /** Attributed to this tool call (one time-window attribution, confidence 1). */
  tool?: string;
  attributions?: hangar.Attribution[];
}

/** A runtime event of `kind` with `detail`. */
export function runtimeEvent(
  kind: hangar.EventKind,
  detail: RuntimeEvent["detail"],
  init: EventInit = {},
): RuntimeEvent {
  const provider = init.provider ?? "weather";
  const at = init.at ?? T0;
  const attributions =
    init.attributions ??
    (init.tool === undefined
      ? []
      : [
          create(hangar.AttributionSchema, {
            traceId: "0af7651916cd43dd8448eb211c80319c",
            spanId: "b7ad6b7169203331",
            sessionId: "s-1",
            tool: init.tool,
            caller: "agent:test",
            reason: hangar.AttributionReason.TIME_WINDOW,
            confidence: 1,
          }),
        ]);
  return create(hangar.RuntimeEventSchema, {
    id: init.id ?? `ev-${at}`,
    kind,
    sensor: init.sensor ?? hangar.Sensor.TETRAGON,
    time: timestampFromMs(at),
    node: init.node ?? "node-a",
    provider,
    pod: {
      namespace: init.namespace ?? "mcp",
      name: init.pod ?? `${provider}-0`,
      labels: { ...(provider === "" ? {} : { [PROVIDER_LABEL]: provider }), ...init.labels },
    },
    process: {
      pid: init.pid ?? 7,
      binary: init.binary ?? "/usr/local/bin/node",
      arguments: init.args ?? "/app/server.js",
      uid: init.uid ?? 0,
      execId: init.execId ?? "",
      parentExecId: init.parentExecId ?? "",
      ...(init.processStartMs === undefined ? {} : { startTime: timestampFromMs(init.processStartMs) }),
    },
    detail,
    attributions,
  });
}

/** Builders per kind. */
export const events = {
  exec(init: EventInit = {}): RuntimeEvent {
    return runtimeEvent(
      hangar.EventKind.EXEC,
      { case: "exec", value: create(hangar.ExecDetailSchema, {}) },
      { processStartMs: init.at ?? T0, ...init },
    );
  },
  exit(status = 0, init: EventInit = {}): RuntimeEvent {
    return runtimeEvent(
      hangar.EventKind.EXIT,
      { case: "exit", value: create(hangar.ExitDetailSchema, { status }) },
      init,
    );
  },
  connect(ip: string, port = 443, init: EventInit = {}, protocol = "tcp"): RuntimeEvent {
    return runtimeEvent(
      hangar.EventKind.CONNECT,
      {
        case: "connect",
        value: create(hangar.ConnectDetailSchema, {
          protocol,
          family: ip.includes(":") ? "ipv6" : "ipv4",
          destinationIp: ip,
          destinationPort: port,
          hook: "tcp_connect",
        }),
      },
      init,
    );
  },
  file(
    path: string,
    operation: hangar.FileOperation = hangar.FileOperation.OPEN,
    init: EventInit = {},
  ): RuntimeEvent {
    return runtimeEvent(
      hangar.EventKind.FILE,
      {
        case: "file",
        value: create(hangar.FileDetailSchema, { path, operation, hook: "security_file_open" }),
      },
      init,
    );
  },
  dns(query: string, ips: readonly string[] = [], init: EventInit = {}): RuntimeEvent {
    return runtimeEvent(
      hangar.EventKind.DNS,
      {
        case: "dns",
        value: create(hangar.DnsDetailSchema, { query, ips: [...ips], response: ips.length > 0 }),
      },
      { sensor: hangar.Sensor.HUBBLE, ...init },
    );
  },
};

export interface CallInit {
  /** Numbers the call: trace id, span id, session and tool derive from it (default 1). */
  n?: number;
  traceId?: string;
  spanId?: string;
  sessionId?: string;
  provider?: string;
  tool?: string;
  method?: string;
  subject?: string;
  clientName?: string;
  namespace?: string;
  pod?: string;
  node?: string;
  /** Start and end, ms since the epoch; no end: the call is in flight (its start trace). */
  startMs?: number;
  endMs?: number;
  arguments?: hangar.CallTrace["arguments"];
}

/** A call trace as the proxy publishes it (the agent's `traceEvent` makes it an event). */
export function callTrace(init: CallInit = {}): CallTrace {
  const n = init.n ?? 1;
  const provider = init.provider ?? "weather";
  return create(hangar.CallTraceSchema, {
    traceId: init.traceId ?? n.toString(16).padStart(32, "0"),
    spanId: init.spanId ?? n.toString(16).padStart(16, "0"),
    sessionId: init.sessionId ?? `session-${n}`,
    provider,
    tool: init.tool ?? `tool_${n}`,
    method: init.method ?? "tools/call",
    caller: { subject: init.subject ?? "agent:planner", clientName: init.clientName ?? "claude-desktop" },
    podNamespace: init.namespace ?? "mcp",
    podName: init.pod ?? `${provider}-0`,
    node: init.node ?? "node-a",
    startTime: timestampFromMs(init.startMs ?? T0),
    ...(init.endMs === undefined ? {} : { endTime: timestampFromMs(init.endMs) }),
    ...(init.arguments === undefined ? {} : { arguments: init.arguments }),
  });
}

/** An alert with the given evidence. */
export function alert(init: {
  ruleId?: string;
  severity?: hangar.Severity;
  source?: hangar.AlertSource;
  provider?: string;
  evidence?: RuntimeEvent[];
  explanation?: string;
  baselineVersion?: string;
}): Alert {
  return create(hangar.AlertSchema, {
    ruleId: init.ruleId ?? "test",
    severity: init.severity ?? hangar.Severity.HIGH,
    source: init.source ?? hangar.AlertSource.RULE,
    provider: init.provider ?? "weather",
    evidence: init.evidence ?? [],
    explanation: init.explanation ?? "",
    baselineVersion: init.baselineVersion ?? "",
  });
}
