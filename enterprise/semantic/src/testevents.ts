/**
 * Builds hangar.v1.RuntimeEvents for the tests written next to rules: every
 * field has a realistic default (one MCP pod, its server process, a session),
 * and `field: value` pairs set the rest through the field registry's writers
 * (`schema.ts`), under the same names rules read them by.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import type { Literal } from "./ast.js";
import { kindOf, setField, type TestValue } from "./schema.js";

type RuntimeEvent = hangar.RuntimeEvent;
export type { TestValue } from "./schema.js";

/** Start of every test timeline: `at 0s` is this instant. */
export const TEST_EPOCH_MS = Date.parse("2026-03-02T09:00:00Z");
export const TEST_PROVIDER = "test-provider";

const SENSOR_OF: Record<string, hangar.Sensor> = {
  tool_call: hangar.Sensor.PROXY,
  dns: hangar.Sensor.HUBBLE,
  flow: hangar.Sensor.HUBBLE,
};

export function literalValue(l: Literal | { t: "list"; items: Literal[] }): TestValue {
  if (l.t === "list") return l.items.map((x) => (x.t === "str" ? x.v : Number(x.v)));
  return l.v;
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
          trafficDirection: "egress",
          protocol: "tcp",
          sourceIp: "10.244.1.17",
          podIsSource: true,
        }),
      };
    case "privilege":
      return {
        case: "privilege",
        value: create(hangar.PrivilegeDetailSchema, { hook: "__sys_setuid", operation: "setuid" }),
      };
    case "socket":
      return {
        case: "socket",
        value: create(hangar.SocketDetailSchema, {
          family: "ipv4",
          type: "stream",
          protocol: "tcp",
          localIp: "10.244.1.17",
        }),
      };
    case "dup":
      return { case: "dup", value: create(hangar.DupDetailSchema, { target: "unknown", hook: "do_dup2" }) };
    case "module":
      return {
        case: "module",
        value: create(hangar.ModuleDetailSchema, { operation: "load", hook: "do_init_module" }),
      };
    case "namespace":
      return {
        case: "namespace",
        value: create(hangar.NamespaceDetailSchema, { operation: "setns", hook: "__x64_sys_setns" }),
      };
    case "ptrace":
      return {
        case: "ptrace",
        value: create(hangar.PtraceDetailSchema, { request: "PTRACE_ATTACH", hook: "__x64_sys_ptrace" }),
      };
    case "mount":
      return {
        case: "mount",
        value: create(hangar.MountDetailSchema, { operation: "mount", hook: "security_sb_mount" }),
      };
    case "io_uring":
      return {
        case: "ioUring",
        value: create(hangar.IoUringDetailSchema, { operation: "setup", hook: "__x64_sys_io_uring_setup" }),
      };
    default:
      return {
        case: "toolCall",
        value: create(hangar.ToolCallDetailSchema, {
          // traceId and spanId: testEvent numbers them per event.
          trace: {
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
  for (const [name, value] of fields) setField(ev, name, value);
  return ev;
}
