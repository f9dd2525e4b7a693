/**
 * What `hangar-ctl` does with a baseline file (`--db FILE`): list providers,
 * show one baseline as a report, freeze/reset/allow, export to Parquet. Reads
 * open the file read-only and wait briefly if an agent is in the middle of a
 * sync; writes change the tables and leave the action in the file, where a
 * running agent picks it up at its next sync.
 */
import { mkdirSync } from "node:fs";
import type { ActionResult, BaselineReport, ProviderSummaryReport, ReportItem } from "@hangar/core";
import { applyAction, normalizeAllow } from "./actions.js";
import { BaselineDb, emptyBatch, type ActionName, type ItemRecord, type ProviderRecord } from "./db.js";
import { BehavioralError } from "./errors.js";
import { FACETS, RATE_METRICS, type FacetName, type RateMetric } from "./facets.js";
import { DEFAULT_LIMITS, Profile, WHOLE_RECORDING } from "./profile.js";
import { DEFAULT_RATE_OPTIONS, rateThreshold, type RateStats } from "./rates.js";

export type { ActionResult, BaselineReport, ProviderSummaryReport, ReportItem } from "@hangar/core";

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function windowText(ms: number): string {
  if (ms === WHOLE_RECORDING) return "whole recording";
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}` || "0s";
}

function progressOf(r: ProviderRecord): number | null {
  if (r.state !== "learning") return 1;
  if (r.learningWindowMs === WHOLE_RECORDING) return null;
  if (r.learningStarted === undefined) return 0;
  const elapsed = (r.lastEvent ?? r.learningStarted ?? 0) - (r.learningStarted ?? 0);
  return Math.max(0, Math.min(1, elapsed / r.learningWindowMs));
}

function summary(r: ProviderRecord, items: readonly ItemRecord[], deviations: number): ProviderSummaryReport {
  const counts = Object.fromEntries(FACETS.map((f) => [f, 0])) as Record<FacetName, number>;
  for (const it of items) if (it.tool === "") counts[it.facet]++;
  return {
    provider: r.provider,
    state: r.state,
    partial: r.partial,
    capped: r.capped,
    progress: progressOf(r),
    learningWindow: windowText(r.learningWindowMs),
    windowSource: r.windowSource,
    learningStarted: iso(r.learningStarted),
    enforcingSince: iso(r.enforcingSince),
    endReason: r.endReason,
    lastNewItem: iso(r.lastNewItem),
    lastEvent: iso(r.lastEvent),
    events: r.events,
    version: `v${r.version}`,
    items: counts,
    deviations,
  };
}

async function withDb<T>(path: string, readOnly: boolean, fn: (db: BaselineDb) => Promise<T>): Promise<T> {
  const db = await BaselineDb.open(path, { readOnly, waitMs: 10_000 });
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** Every provider in the file, with state and counts. */
export function listProviders(path: string): Promise<ProviderSummaryReport[]> {
  return withDb(path, true, async (db) => {
    const [providers, items, deviations] = await Promise.all([db.providers(), db.items(), db.deviations()]);
    return providers.map((r) =>
      summary(
        r,
        items.filter((i) => i.provider === r.provider),
        deviations.filter((d) => d.provider === r.provider).length,
      ),
    );
  });
}

function missing(path: string, provider: string, known: string[]): BehavioralError {
  return new BehavioralError(
    "HANGAR_ERR_BASELINE_PROVIDER",
    `unknown provider "${provider}": no baseline for it in ${path}${known.length > 0 ? ` (it has: ${known.join(", ")})` : " (it has none yet)"}`,
    { details: { provider, path } },
  );
}

/** Per-tool items keep the file operation, not the argument shape. */
function toolKey(facet: FacetName, value: string, qualifier: string): string {
  return `${facet}\u0000${value}\u0000${facet === "file" ? qualifier : ""}`;
}

/** One provider's baseline, for people (tables) and programs (JSON/YAML). */
export function showBaseline(path: string, provider: string): Promise<BaselineReport> {
  return withDb(path, true, async (db) => {
    const [rec] = await db.providers(provider);
    if (rec === undefined)
      throw missing(
        path,
        provider,
        (await db.providers()).map((p) => p.provider),
      );
    const [items, deviations] = await Promise.all([db.items(provider), db.deviations(provider)]);
    const tools = new Map<string, Set<string>>();
    for (const it of items) {
      if (it.tool === "") continue;
      const k = toolKey(it.facet, it.value, it.qualifier);
      let s = tools.get(k);
      if (s === undefined) tools.set(k, (s = new Set()));
      s.add(it.tool);
    }
    const facets = Object.fromEntries(FACETS.map((f) => [f, [] as ReportItem[]])) as Record<
      FacetName,
      ReportItem[]
    >;
    for (const it of items) {
      if (it.tool !== "") continue;
      facets[it.facet].push({
        value: it.value,
        qualifier: it.qualifier,
        count: it.count,
        firstSeen: new Date(it.first).toISOString(),
        lastSeen: new Date(it.last).toISOString(),
        tools: [...(tools.get(toolKey(it.facet, it.value, it.qualifier)) ?? [])].sort(),
        collapsed: it.collapsed,
        origin: it.origin,
      });
    }
    for (const f of FACETS) facets[f].sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
    let learned: Partial<Record<RateMetric, RateStats>> = {};
    try {
      learned = JSON.parse(rec.rates) as Partial<Record<RateMetric, RateStats>>;
    } catch {
      learned = {};
    }
    const rates = Object.fromEntries(
      RATE_METRICS.map((m) => {
        const s = learned[m];
        return [
          m,
          s === undefined ? null : { ...s, alertAbove: Math.ceil(rateThreshold(s, DEFAULT_RATE_OPTIONS)) },
        ];
      }),
    ) as BaselineReport["rates"];
    return {
      ...summary(rec, items, deviations.length),
      partialReason: rec.partialReason,
      overflow: rec.overflow,
      nodes: rec.nodes === "" ? [] : rec.nodes.split(","),
      facets,
      rates,
      recentDeviations: deviations.slice(0, 20).map((d) => ({
        kind: d.kind,
        value: d.value,
        qualifier: d.qualifier,
        tool: d.tool,
        state: d.state,
        count: d.count,
        alerts: d.alerts,
        firstSeen: new Date(d.first).toISOString(),
        lastSeen: new Date(d.last).toISOString(),
      })),
    };
  });
}

/**
 * Applies an operator action to the file: the provider's rows change now, and
 * the action stays recorded so that an agent running on this file applies it
 * to its memory at its next sync.
 */
export function applyToFile(
  path: string,
  provider: string,
  action: ActionName,
  args: { facet?: string; value?: string; qualifier?: string } = {},
  now: number = Date.now(),
): Promise<ActionResult> {
  return withDb(path, false, async (db) => {
    const [rec] = await db.providers(provider);
    if (rec === undefined && action !== "allow")
      throw missing(
        path,
        provider,
        (await db.providers()).map((p) => p.provider),
      );
    let facet = "";
    let value = "";
    let qualifier = "";
    if (action === "allow") {
      const n = normalizeAllow(args.facet ?? "", args.value ?? "", args.qualifier ?? "");
      ({ facet, value, qualifier } = n);
    }
    const p =
      rec === undefined
        ? Profile.fresh(provider, now, 3_600_000, "default", DEFAULT_LIMITS)
        : new Profile(rec, await db.items(provider), DEFAULT_LIMITS);
    if (rec === undefined) p.rec.learningStarted = undefined; // starts with the provider's first event
    const action0 = { provider, action, facet, value, qualifier, requestedAt: now };
    applyAction(p, action0);
    if (action === "reset" && p.rec.learningWindowMs === WHOLE_RECORDING) {
      // Learned by replay --learn: learn again with the usual window (an agent's own setting wins).
      p.rec.learningWindowMs = 3_600_000;
      p.rec.windowSource = "default";
    }
    const batch = emptyBatch();
    batch.providers.push({ ...p.rec });
    batch.rewrite.push(provider);
    batch.items.push(...p.itemRecords());
    if (p.clearDeviations) batch.clearDeviations.push(provider);
    batch.checkpoint = true;
    await db.write(batch);
    await db.addAction(action0, false);
    const what =
      action === "allow"
        ? `allowed ${facet} ${value}${qualifier === "" || qualifier === "*" ? "" : ` (${qualifier})`} for ${provider}`
        : action === "freeze"
          ? `froze ${provider}: learning stopped, deviations are alerted`
          : `reset ${provider}: everything learned is forgotten, learning starts again`;
    return {
      provider,
      action,
      state: p.rec.state,
      version: p.versionString(),
      message: `${what}; baseline ${p.versionString()}. An agent using ${path} applies it at its next sync (within seconds).`,
    };
  });
}

/** Writes providers, items and deviations as Parquet files into `dir`. */
export async function exportParquet(path: string, dir: string): Promise<string[]> {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the directory of the operator's database path
  mkdirSync(dir, { recursive: true });
  return withDb(path, true, (db) => db.exportParquet(dir));
}
