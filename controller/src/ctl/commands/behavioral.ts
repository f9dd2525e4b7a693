/**
 * What `hangar-ctl baseline` and `hangar-ctl providers` share: where baselines are read
 * (a node's file through the baseline engine, loaded only through `loadBehavioral()` in
 * bootstrap/plugins.ts, or the controller's REST API), output formats and table helpers.
 * The report types come from @hangar/core, which the baseline engine implements.
 */
import { BASELINE_FACETS, type BaselineFacetName, type BaselineFileTooling } from "@hangar/core";
import { loadBehavioral } from "../../bootstrap/plugins.js";
import { usageError, type CtlIO } from "../command.js";
import { ApiError, connectController, renderTable, type ConnectFlags } from "./controller-client.js";

export type FacetName = BaselineFacetName;
export const FACETS: readonly FacetName[] = BASELINE_FACETS;
export type {
  ActionResult,
  BaselineReport,
  ProviderSummaryReport,
  RateReport,
  ReportItem,
} from "@hangar/core";

export function loadBaselineFiles(): Promise<BaselineFileTooling> {
  return loadBehavioral<BaselineFileTooling>([
    "listProviders",
    "showBaseline",
    "applyToFile",
    "exportParquet",
  ]);
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
  throw usageError(
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
    throw usageError(`-o must be table, json or yaml, got "${f}"`);
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
