/** Runtime events for the store tests (as the agent's pipeline hands them to the baseline). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import type { RuntimeEvent } from "@hangar/agent";

export const T0 = Date.parse("2026-03-02T09:00:00Z");

export interface EventOptions {
  provider?: string;
  tool?: string;
  labels?: Record<string, string>;
  processStartMs?: number;
  binary?: string;
  args?: string;
}

function base(ms: number, o: EventOptions): RuntimeEvent {
  const provider = o.provider ?? "notes";
  return create(hangar.RuntimeEventSchema, {
    id: `ev-${ms}`,
    sensor: hangar.Sensor.TETRAGON,
    time: timestampFromMs(ms),
    node: "node-a",
    provider,
    pod: {
      namespace: "mcp",
      name: `${provider}-pod`,
      labels: { "mcp-hangar.io/provider": provider, ...o.labels },
    },
    process: {
      pid: 7,
      binary: o.binary ?? "/usr/local/bin/node",
      arguments: o.args ?? "/app/server.js",
      ...(o.processStartMs === undefined ? {} : { startTime: timestampFromMs(o.processStartMs) }),
    },
    attributions:
      o.tool === undefined
        ? []
        : [
            {
              traceId: "0af7651916cd43dd8448eb211c80319c",
              spanId: "b7ad6b7169203331",
              sessionId: "s-1",
              tool: o.tool,
              caller: "agent:test",
              reason: hangar.AttributionReason.TIME_WINDOW,
              confidence: 1,
            },
          ],
  });
}

export function connectEv(ms: number, ip: string, port = 443, o: EventOptions = {}): RuntimeEvent {
  const ev = base(ms, o);
  ev.kind = hangar.EventKind.CONNECT;
  ev.detail = {
    case: "connect",
    value: create(hangar.ConnectDetailSchema, {
      protocol: "tcp",
      family: "ipv4",
      destinationIp: ip,
      destinationPort: port,
      hook: "tcp_connect",
    }),
  };
  return ev;
}

export function execEv(ms: number, binary: string, args = "", o: EventOptions = {}): RuntimeEvent {
  const ev = base(ms, { ...o, binary, args, processStartMs: o.processStartMs ?? ms });
  ev.kind = hangar.EventKind.EXEC;
  ev.detail = { case: "exec", value: create(hangar.ExecDetailSchema, {}) };
  return ev;
}

export function fileEv(ms: number, path: string, write = false, o: EventOptions = {}): RuntimeEvent {
  const ev = base(ms, o);
  ev.kind = hangar.EventKind.FILE;
  ev.detail = {
    case: "file",
    value: create(hangar.FileDetailSchema, {
      path,
      operation: write ? hangar.FileOperation.WRITE : hangar.FileOperation.READ,
      hook: "security_file_permission",
    }),
  };
  return ev;
}

export function dnsEv(ms: number, name: string, o: EventOptions = {}): RuntimeEvent {
  const ev = base(ms, o);
  ev.kind = hangar.EventKind.DNS;
  ev.detail = { case: "dns", value: create(hangar.DnsDetailSchema, { query: name }) };
  return ev;
}

export function toolEv(ms: number, tool: string, o: EventOptions = {}): RuntimeEvent {
  const ev = base(ms, o);
  ev.kind = hangar.EventKind.TOOL_CALL;
  ev.sensor = hangar.Sensor.PROXY;
  ev.detail = {
    case: "toolCall",
    value: create(hangar.ToolCallDetailSchema, {
      trace: { provider: ev.provider, tool, method: "tools/call", sessionId: "s-1" },
    }),
  };
  return ev;
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "hangar-baseline-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
