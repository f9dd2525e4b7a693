/**
 * Runtime events for the store tests (as the agent's pipeline hands them to the baseline):
 * testkit's builders with this suite's defaults (provider "notes", its pod, node-a).
 */
import { create } from "@bufbuild/protobuf";
import type { RuntimeEvent } from "@hangar/core";
import { hangar } from "@hangar/proto";
import { T0, runtimeEvent, tempDir as testkitTempDir, type EventInit } from "@hangar/testkit";

export { T0 };

export interface EventOptions {
  provider?: string;
  tool?: string;
  labels?: Record<string, string>;
  processStartMs?: number;
  binary?: string;
  args?: string;
}

function init(ms: number, o: EventOptions): EventInit {
  const provider = o.provider ?? "notes";
  return {
    id: `ev-${ms}`,
    at: ms,
    provider,
    pod: `${provider}-pod`,
    ...(o.labels === undefined ? {} : { labels: o.labels }),
    binary: o.binary ?? "/usr/local/bin/node",
    args: o.args ?? "/app/server.js",
    ...(o.processStartMs === undefined ? {} : { processStartMs: o.processStartMs }),
    ...(o.tool === undefined ? {} : { tool: o.tool }),
  };
}

export function connectEv(ms: number, ip: string, port = 443, o: EventOptions = {}): RuntimeEvent {
  return runtimeEvent(
    hangar.EventKind.CONNECT,
    {
      case: "connect",
      value: create(hangar.ConnectDetailSchema, {
        protocol: "tcp",
        family: "ipv4",
        destinationIp: ip,
        destinationPort: port,
        hook: "tcp_connect",
      }),
    },
    init(ms, o),
  );
}

export function execEv(ms: number, binary: string, args = "", o: EventOptions = {}): RuntimeEvent {
  return runtimeEvent(
    hangar.EventKind.EXEC,
    { case: "exec", value: create(hangar.ExecDetailSchema, {}) },
    init(ms, { ...o, binary, args, processStartMs: o.processStartMs ?? ms }),
  );
}

export function fileEv(ms: number, path: string, write = false, o: EventOptions = {}): RuntimeEvent {
  return runtimeEvent(
    hangar.EventKind.FILE,
    {
      case: "file",
      value: create(hangar.FileDetailSchema, {
        path,
        operation: write ? hangar.FileOperation.WRITE : hangar.FileOperation.READ,
        hook: "security_file_permission",
      }),
    },
    init(ms, o),
  );
}

export function dnsEv(ms: number, name: string, o: EventOptions = {}): RuntimeEvent {
  return runtimeEvent(
    hangar.EventKind.DNS,
    { case: "dns", value: create(hangar.DnsDetailSchema, { query: name }) },
    init(ms, o),
  );
}

export function toolEv(ms: number, tool: string, o: EventOptions = {}): RuntimeEvent {
  const provider = o.provider ?? "notes";
  return runtimeEvent(
    hangar.EventKind.TOOL_CALL,
    {
      case: "toolCall",
      value: create(hangar.ToolCallDetailSchema, {
        trace: { provider, tool, method: "tools/call", sessionId: "s-1" },
      }),
    },
    { ...init(ms, o), sensor: hangar.Sensor.PROXY },
  );
}

/** A temp dir for a baseline database, and its cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  return testkitTempDir("hangar-baseline-");
}
