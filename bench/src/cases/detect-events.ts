/**
 * Shared by the detect/* and compile/* cases: the rule engine loaded by
 * package name (bench states the module shape it uses), and a pool of
 * realistic RuntimeEvents with time stamps that only move forward.
 */
import { fileURLToPath } from "node:url";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { MemoryBaselineStore, type BaselineStore, type Detection, type RuntimeEvent } from "@hangar/core";

export const SEMANTIC = "@hangar/semantic";
export const RULES_DIR = fileURLToPath(new URL("../../../../rules/", import.meta.url));

interface Loaded {
  rules: unknown[];
  ok: boolean;
  diagnostics: { file: string; line: number; col: number; code: string; message: string; severity: string }[];
}

export interface BenchDetector {
  process(ev: RuntimeEvent): Detection | undefined;
  flush(): Detection | undefined;
  stats(): {
    partials: number;
    late: number;
    alerts: number;
    matches: number;
    evicted: Record<string, number>;
  };
}

export interface SemanticModule {
  compileSources(sources: ReadonlyMap<string, string>): Loaded;
  loadRules(paths: readonly string[]): Loaded;
  testEvent(
    kind: string,
    atMs: number,
    n: number,
    fields: ReadonlyMap<string, string | number | boolean | string[]>,
  ): RuntimeEvent;
  HangarDetector: new (options: {
    rules: readonly unknown[];
    baseline?: BaselineStore;
    latenessMs?: number;
    maxKeysPerRule?: number;
  }) => BenchDetector;
}

export async function loadSemantic(): Promise<SemanticModule> {
  return (await import(SEMANTIC)) as SemanticModule;
}

export async function semanticUnavailable(): Promise<string | undefined> {
  try {
    await loadSemantic();
    return undefined;
  } catch (err) {
    return `${SEMANTIC} is not built: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export function compiled(mod: SemanticModule, loaded: Loaded): unknown[] {
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0)
    throw new Error(
      `rules do not compile: ${errors.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`).join("; ")}`,
    );
  void mod;
  return loaded.rules;
}

/** A provider whose baseline enforces (lookups answer known/new), as on a node past learning. */
export function enforcingBaseline(): MemoryBaselineStore {
  const b = new MemoryBaselineStore();
  for (const ip of ["198.51.100.7", "198.51.100.8", "198.51.100.9"]) b.allow("test-provider", "egress", ip);
  for (const n of ["api.weather.example", "api.maps.example"]) b.allow("test-provider", "dns", n);
  for (const bin of ["/usr/local/bin/node", "/usr/bin/git"]) b.allow("test-provider", "binary", bin);
  for (const t of ["get_forecast", "get_alerts", "search"]) b.allow("test-provider", "tool", t);
  return b;
}

/**
 * `size` events of ordinary MCP-server work (a power of two): tool calls, DNS
 * lookups, connections, file reads and writes, a few execs and exits, over 64
 * pods and 256 sessions; a little of it suspicious so that sequences start.
 */
export function eventPool(mod: SemanticModule, size: number): RuntimeEvent[] {
  const out: RuntimeEvent[] = [];
  for (let i = 0; i < size; i++) {
    const pod = `pod-${i % 64}`;
    const session = `sess-${i % 256}`;
    const common: [string, string | number][] = [
      ["pod.name", pod],
      ["session.id", session],
      ["process.exec_id", `exec-${i % 512}`],
      ["process.pid", 4000 + (i % 512)],
    ];
    let kind: string;
    const f = new Map<string, string | number | boolean | string[]>(common);
    switch (i % 10) {
      case 0:
        kind = "tool_call";
        f.set("tool.name", ["get_forecast", "get_alerts", "search", "read_file"][i % 4] as string);
        f.set("tool.args.city", i % 97 === 0 ? "Oslo; id" : "Oslo");
        f.delete("process.exec_id");
        f.delete("process.pid");
        break;
      case 1:
      case 2:
        kind = "dns";
        f.set("dns.query", i % 53 === 0 ? `x${i}.tunnel.example` : "api.weather.example");
        break;
      case 3:
      case 4:
      case 5:
        kind = "connect";
        f.set("destination.ip", i % 41 === 0 ? `203.0.113.${i % 250}` : "198.51.100.7");
        f.set("destination.port", 443);
        break;
      case 6:
      case 7:
        kind = "file";
        f.set("file.path", i % 61 === 0 ? "/app/.env" : "/app/config/cities.json");
        f.set("file.operation", i % 2 === 0 ? "read" : "write");
        break;
      case 8:
        kind = "exec";
        f.set("process.binary", i % 89 === 0 ? "/bin/sh" : "/usr/bin/git");
        f.set("parent.binary", "/usr/local/bin/node");
        break;
      default:
        kind = "exit";
        f.set("exit.status", 0);
    }
    out.push(mod.testEvent(kind, i, i, f));
  }
  return out;
}

/** Time stamps 10 µs apart (100 000 events per second of event time), one per step, made before timing. */
export function stamps(n: number, startMs = Date.parse("2026-03-02T09:00:00Z")): Timestamp[] {
  const out = new Array<Timestamp>(n);
  for (let i = 0; i < n; i++) out[i] = timestampFromMs(startMs + i * 0.01);
  return out;
}
