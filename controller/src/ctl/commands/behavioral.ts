/**
 * What `hangar-ctl baseline` and `hangar-ctl providers` need from the baseline
 * engine, stated here because the controller may not import enterprise types:
 * the module is loaded only through `loadBehavioral()` (bootstrap/plugins.ts).
 */
import { loadBehavioral } from "../../bootstrap/plugins.js";
import { UsageError, type CtlIO } from "../command.js";
import { ApiError, connectController, renderTable, type ConnectFlags } from "./controller-client.js";

export type FacetName = "egress" | "dns" | "binary" | "file" | "tool";
export const FACETS: readonly FacetName[] = ["egress", "dns", "binary", "file", "tool"];

export interface ReportItem {
  value: string;
  qualifier: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  tools: string[];
  collapsed: boolean;
  origin: string;
}

export interface ProviderSummaryReport {
  provider: string;
  state: string;
  partial: boolean;
  capped: boolean;
  progress: number | null;
  learningWindow: string;
  windowSource: string;
  learningStarted: string | null;
  enforcingSince: string | null;
  endReason: string;
  lastNewItem: string | null;
  lastEvent: string | null;
  events: number;
  version: string;
  items: Record<FacetName, number>;
  deviations: number;
}

export interface RateReport {
  median: number;
  mad: number;
  minutes: number;
  alertAbove: number;
}

export interface BaselineReport extends ProviderSummaryReport {
  partialReason: string;
  overflow: number;
  nodes: string[];
  facets: Record<FacetName, ReportItem[]>;
  rates: Record<string, RateReport | null>;
  recentDeviations: {
    kind: string;
    value: string;
    qualifier: string;
    tool: string;
    state: string;
    count: number;
    alerts: number;
    firstSeen: string;
    lastSeen: string;
  }[];
}

export interface ActionResult {
  provider: string;
  action: string;
  state: string;
  version: string;
  message: string;
}

export interface BehavioralModule {
  listProviders(path: string): Promise<ProviderSummaryReport[]>;
  showBaseline(path: string, provider: string): Promise<BaselineReport>;
  applyToFile(
    path: string,
    provider: string,
    action: "freeze" | "reset" | "allow",
    args?: { facet?: string; value?: string; qualifier?: string },
  ): Promise<ActionResult>;
  exportParquet(path: string, dir: string): Promise<string[]>;
}

export function loadBaselineFiles(): Promise<BehavioralModule> {
  return loadBehavioral<BehavioralModule>(["listProviders", "showBaseline", "applyToFile", "exportParquet"]);
}

/** Where baselines are read: a node's file (`--db`), or the controller's REST API. */
export type BaselineSource = { kind: "file"; db: string } | { kind: "controller"; flags: ConnectFlags };

export function sourceOf(values: ConnectFlags & { db?: string | undefined }): BaselineSource {
  if (values.db !== undefined && values.db !== "") return { kind: "file", db: values.db };
  return { kind: "controller", flags: values };
}

/** Changes go to a file: the controller's API serves baselines read-only. */
export function requireDb(values: { db?: string | undefined }, what: string): string {
  if (values.db !== undefined && values.db !== "") return values.db;
  throw new UsageError(
    `${what} needs --db FILE (the baseline database on the node, e.g. /var/lib/hangar/baseline.duckdb): the controller's API serves baselines read-only`,
  );
}

/** Reads providers or one baseline from the controller; API errors print their code and map to exit codes. */
export async function fromController<T>(
  flags: ConnectFlags,
  path: string,
  io: CtlIO,
  command: string,
): Promise<{ ok: true; value: T } | { ok: false; code: number }> {
  const client = await connectController(flags);
  try {
    return { ok: true, value: await client.json<T>("GET", path) };
  } catch (err) {
    if (err instanceof ApiError) {
      io.stderr(`hangar-ctl ${command}: ${err.code}: ${err.message}\n`);
      return { ok: false, code: err.exitCode };
    }
    throw err;
  } finally {
    await client.close();
  }
}

export type OutputFormat = "table" | "json" | "yaml";

export function outputFormat(o: string | undefined): OutputFormat {
  const f = o ?? "table";
  if (f !== "table" && f !== "json" && f !== "yaml")
    throw new UsageError(`-o must be table, json or yaml, got "${f}"`);
  return f;
}

/** "2026-03-02T09:00:02.123Z" → "2026-03-02 09:00:02Z". */
export function shortTime(iso: string | null): string {
  if (iso === null) return "-";
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** A table of `hangar-ctl baseline`/`providers`: indented two spaces, no final newline. */
export function table(headers: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  return renderTable(headers, rows, { numeric, indent: "  " }).trimEnd();
}

export function fit(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function thousands(n: number): string {
  return n.toLocaleString("en-US");
}
