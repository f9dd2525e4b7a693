/**
 * Shared by the baseline cases: the baseline engine (loaded by package name,
 * as the agent's bootstrap does; only the shape used here is declared) and
 * runtime events as the pipeline hands them to the baseline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";

export interface BenchStore {
  observe(ev: hangar.RuntimeEvent): unknown;
  lookup(provider: string, facet: "egress" | "dns" | "binary" | "file" | "tool", value: string): string;
  finishLearning(reason?: string): void;
  close(): Promise<void>;
  syncs: number;
}

interface BehavioralModule {
  createBaselineStore(options: {
    db: string;
    learn: boolean;
    maxItemsPerFacet?: number;
    thresholds?: { egress?: number; dns?: number; file?: number; argShapes?: number };
    syncIntervalMs?: number;
  }): Promise<BenchStore>;
}

export const BEHAVIORAL = "@hangar/behavioral";

export async function loadBehavioral(): Promise<BehavioralModule> {
  return (await import(BEHAVIORAL)) as BehavioralModule;
}

/** Whether the baseline engine is in this build (the cases skip with this reason when not). */
export async function behavioralUnavailable(): Promise<string | undefined> {
  try {
    await loadBehavioral();
    return undefined;
  } catch (err) {
    return `${BEHAVIORAL} is not built: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export function tempDb(): { db: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "hangar-bench-baseline-"));
  return { db: join(dir, "baseline.duckdb"), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const T0 = Date.parse("2026-03-02T09:00:00Z");

function base(provider: string, ms: number, tool: string): hangar.RuntimeEvent {
  return create(hangar.RuntimeEventSchema, {
    time: timestampFromMs(ms),
    provider,
    node: "node-a",
    pod: { namespace: "mcp", name: `${provider}-0`, labels: { "mcp-hangar.io/provider": provider } },
    process: {
      pid: 7,
      binary: "/usr/local/bin/node",
      arguments: "/app/server.js",
      startTime: timestampFromMs(ms),
    },
    attributions: tool === "" ? [] : [{ tool, sessionId: "s", caller: "agent:bench", traceId: "t" }],
  });
}

export function connect(
  provider: string,
  ms: number,
  ip: string,
  port: number,
  tool = "",
): hangar.RuntimeEvent {
  const ev = base(provider, ms, tool);
  ev.kind = hangar.EventKind.CONNECT;
  ev.detail = {
    case: "connect",
    value: create(hangar.ConnectDetailSchema, { destinationIp: ip, destinationPort: port, protocol: "tcp" }),
  };
  return ev;
}

export function file(provider: string, ms: number, path: string, tool = ""): hangar.RuntimeEvent {
  const ev = base(provider, ms, tool);
  ev.kind = hangar.EventKind.FILE;
  ev.detail = {
    case: "file",
    value: create(hangar.FileDetailSchema, { path, operation: hangar.FileOperation.READ }),
  };
  return ev;
}

export function dns(provider: string, ms: number, name: string, tool = ""): hangar.RuntimeEvent {
  const ev = base(provider, ms, tool);
  ev.kind = hangar.EventKind.DNS;
  ev.detail = { case: "dns", value: create(hangar.DnsDetailSchema, { query: name }) };
  return ev;
}

export function exec(
  provider: string,
  ms: number,
  binary: string,
  args: string,
  tool = "",
): hangar.RuntimeEvent {
  const ev = base(provider, ms, tool);
  ev.kind = hangar.EventKind.EXEC;
  ev.process!.binary = binary;
  ev.process!.arguments = args;
  ev.detail = { case: "exec", value: create(hangar.ExecDetailSchema, {}) };
  return ev;
}

export function toolCall(provider: string, ms: number, tool: string): hangar.RuntimeEvent {
  const ev = base(provider, ms, "");
  ev.kind = hangar.EventKind.TOOL_CALL;
  ev.detail = {
    case: "toolCall",
    value: create(hangar.ToolCallDetailSchema, { trace: { provider, tool, method: "tools/call" } }),
  };
  return ev;
}

/**
 * A realistic provider's traffic, event `i` of it: tool calls, a database and
 * an API pool, DNS, note files (many distinct), a helper binary.
 */
export function providerEvent(provider: string, i: number, startMs = T0): hangar.RuntimeEvent {
  const ms = startMs + i * 50;
  const tools = ["search", "read", "save", "fetch", "export"];
  const tool = tools[i % 5] as string;
  switch (i % 6) {
    case 0:
      return toolCall(provider, ms, tool);
    case 1:
      return connect(provider, ms, "10.96.0.20", 5432, tool);
    case 2:
      return connect(provider, ms, `198.51.100.${(i >> 3) % 40}`, 443, tool);
    case 3:
      return dns(provider, ms, `api-${(i >> 4) % 8}.example.com`, tool);
    case 4:
      return file(provider, ms, `/app/notes/${(i >> 2) % 500}.md`, tool);
    default:
      return exec(provider, ms, "/usr/bin/tar", `-czf /tmp/export-${i % 3}.tgz /app/notes`, tool);
  }
}

export { T0 };
