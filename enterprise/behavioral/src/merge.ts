/**
 * Across nodes: each agent turns what it learned since its last report into a
 * `hangar.v1.BaselineDelta` (counts since the last delta, so merging adds up);
 * the controller merges the deltas of every agent into its own DuckDB file
 * (`mergeDeltas`) and reads the result back as `hangar.v1.MergedBaseline`
 * (`mergedBaselines`), which its hub sends to every agent hosting the provider;
 * the agent adopts it (`DuckDbBaselineStore.adoptMerged`). The controller's hub
 * and REST routes call these through its bootstrap.
 */
import { existsSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { itemKey } from "./collapse.js";
import { BaselineDb, emptyBatch, type LifecycleState, type ProviderRecord } from "./db.js";
import { BehavioralError } from "./errors.js";
import { FACETS, FACET_TO_PROTO, facetFromProto, isValidEgress, type FacetName } from "./facets.js";
import { DEFAULT_LIMITS, Profile, type ProfileLimits } from "./profile.js";

function stamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: BigInt(seconds),
    nanos: Math.round((ms - seconds * 1000) * 1e6),
  };
}

function msOf(t: Timestamp | undefined): number | undefined {
  return t === undefined ? undefined : Number(t.seconds) * 1000 + t.nanos / 1e6;
}

/**
 * What changed in `p` since the last delta (undefined when nothing did). Marks it as sent.
 * With `full`, it carries every item with its cumulative count (`full: true`), which the
 * controller merges without adding counts twice (the store sends its first delta of a
 * process, and those the controller asks for, that way).
 */
export function takeDelta(
  p: Profile,
  node: string,
  now: number = Date.now(),
  full = false,
): hangar.BaselineDelta | undefined {
  if (full) p.sent.clear();
  const items: hangar.BaselineItem[] = [];
  for (const [key, it] of p.items) {
    const sent = p.sent.get(key);
    if (sent !== undefined && it.count <= sent) continue;
    items.push(
      create(hangar.BaselineItemSchema, {
        facet: FACET_TO_PROTO[it.facet],
        value: it.value,
        tool: it.tool,
        count: BigInt(it.count - (sent ?? 0)),
        firstSeen: stamp(it.first),
        lastSeen: stamp(it.last),
        qualifier: it.qualifier,
      }),
    );
    p.sent.set(key, it.count);
  }
  if (items.length === 0) return undefined;
  return create(hangar.BaselineDeltaSchema, {
    provider: p.provider,
    node,
    items,
    version: BigInt(p.rec.version),
    time: stamp(now),
    full,
  });
}

/** A delta with no items (only the summary the caller adds): a provider's state changed. */
export function emptyDelta(p: Profile, node: string, now: number = Date.now()): hangar.BaselineDelta {
  return create(hangar.BaselineDeltaSchema, {
    provider: p.provider,
    node,
    items: [],
    version: BigInt(p.rec.version),
    time: stamp(now),
  });
}

const STATE_TO_PROTO: Record<LifecycleState, hangar.BaselineState> = {
  learning: hangar.BaselineState.LEARNING,
  enforcing: hangar.BaselineState.ENFORCING,
  frozen: hangar.BaselineState.FROZEN,
};

/**
 * The summary of one provider's baseline. The proto has one state: a learning
 * baseline that began on running pods is PARTIAL, an enforcing one whose cap
 * was reached is CAPPED; the report of `hangar-ctl baseline show` keeps both flags.
 */
export function summaryOf(p: Profile): hangar.BaselineSummary {
  const r = p.rec;
  let state = STATE_TO_PROTO[r.state];
  if (r.state === "learning" && r.partial) state = hangar.BaselineState.PARTIAL;
  if (r.state === "enforcing" && r.capped) state = hangar.BaselineState.CAPPED;
  const collapsed = new Set<FacetName>();
  for (const it of p.items.values()) if (it.collapsed) collapsed.add(it.facet);
  const progress =
    r.state !== "learning"
      ? 1
      : r.learningWindowMs <= 0 || r.learningStarted === undefined
        ? 0
        : Math.min(1, ((r.lastEvent ?? r.learningStarted) - r.learningStarted) / r.learningWindowMs);
  return create(hangar.BaselineSummarySchema, {
    provider: r.provider,
    state,
    progress: Math.max(0, progress),
    ...(r.learningWindowMs > 0
      ? {
          learningWindow: {
            seconds: BigInt(Math.floor(r.learningWindowMs / 1000)),
            nanos: 0,
          },
        }
      : {}),
    ...(r.learningStarted === undefined ? {} : { learningStarted: stamp(r.learningStarted) }),
    ...(r.enforcingSince === undefined ? {} : { enforcingSince: stamp(r.enforcingSince) }),
    facets: FACETS.map((f) => ({
      facet: FACET_TO_PROTO[f],
      items: BigInt(p.view.size(f) || countFacet(p, f)),
      collapsed: collapsed.has(f),
    })),
    version: BigInt(r.version),
    ...(r.lastNewItem === undefined ? {} : { lastNewItem: stamp(r.lastNewItem) }),
  });
}

function countFacet(p: Profile, f: FacetName): number {
  let n = 0;
  for (const it of p.items.values()) if (it.facet === f && it.tool === "") n++;
  return n;
}

/** Checks a delta at the edge; errors name the field path. */
export function validateDelta(
  d: { provider: string; node?: string; items: readonly hangar.BaselineItem[] },
  where = "delta",
): void {
  const fail = (field: string, msg: string) =>
    new BehavioralError("HANGAR_ERR_BASELINE_DELTA", `${where}.${field}: ${msg}`, {
      details: { provider: d.provider, node: d.node ?? "", field },
    });
  if (d.provider === "") throw fail("provider", "empty");
  if (d.items.length > 1_000_000)
    throw fail("items", `${d.items.length} items, more than 1 000 000 in one delta`);
  d.items.forEach((it, i) => {
    const facet = facetFromProto(it.facet);
    if (facet === undefined) throw fail(`items[${i}].facet`, `unknown facet ${it.facet}`);
    if (it.value === "") throw fail(`items[${i}].value`, "empty");
    if (facet === "egress" && !isValidEgress(it.value))
      throw fail(`items[${i}].value`, `"${it.value}" is not an egress value`);
    if ((facet === "file" || facet === "binary") && !it.value.startsWith("/"))
      throw fail(`items[${i}].value`, `"${it.value}" is not an absolute path`);
    if (it.firstSeen === undefined || it.lastSeen === undefined)
      throw fail(`items[${i}].${it.firstSeen === undefined ? "first_seen" : "last_seen"}`, "missing");
  });
}

export interface MergeResult {
  providers: string[];
  items: number;
}

/**
 * Merges deltas (from any number of agents) into the controller's DuckDB file.
 * Counts add up, first/last seen widen, collapse runs on the merged items, and
 * each merged provider gets a new version. The agents' states (`states`, else
 * the summaries the deltas carry) decide the merged state: enforcing once every
 * agent reporting in this call has finished learning. The hub merges each delta
 * as it arrives, so there a provider's merged baseline enforces once the first
 * agent finished its window (later agents still learn locally; a node that
 * starts hosting the provider afterwards enforces from the start, see
 * `adoptMerged`).
 */
export async function mergeDeltas(
  path: string,
  deltas: readonly hangar.BaselineDelta[],
  options: { states?: readonly hangar.BaselineSummary[]; limits?: ProfileLimits; now?: number } = {},
): Promise<MergeResult> {
  deltas.forEach((d, i) => validateDelta(d, `deltas[${i}]`));
  const now = options.now ?? Date.now();
  const limits = options.limits ?? DEFAULT_LIMITS;
  const db = await BaselineDb.open(path, { waitMs: 10_000 });
  try {
    const byProvider = new Map<string, hangar.BaselineDelta[]>();
    for (const d of deltas) {
      const list = byProvider.get(d.provider);
      if (list === undefined) byProvider.set(d.provider, [d]);
      else list.push(d);
    }
    const batch = emptyBatch();
    let items = 0;
    for (const [provider, list] of byProvider) {
      const [rec] = await db.providers(provider);
      const p =
        rec === undefined
          ? Profile.fresh(provider, now, 3_600_000, "merged", limits)
          : new Profile(rec, await db.items(provider), limits);
      const nodes = new Set(p.rec.nodes === "" ? [] : p.rec.nodes.split(","));
      let firstSeen = Infinity;
      for (const d of list) {
        if (d.node !== "") nodes.add(d.node);
        for (const it of d.items) {
          const facet = facetFromProto(it.facet) as FacetName;
          const first = msOf(it.firstSeen) ?? now;
          const last = msOf(it.lastSeen) ?? first;
          firstSeen = Math.min(firstSeen, first);
          p.merge(facet, it.tool, it.value, it.qualifier, Number(it.count), first, last, d.full);
          items++;
        }
      }
      p.rec.nodes = [...nodes].sort().join(",");
      if (rec === undefined && Number.isFinite(firstSeen)) p.rec.learningStarted = firstSeen;
      // The agents' states: given, or the summaries the deltas carry (the latest per node).
      const carried = new Map<string, hangar.BaselineSummary>();
      for (const d of list) if (d.summary !== undefined) carried.set(d.node, d.summary);
      const states = options.states?.filter((s) => s.provider === provider) ?? [...carried.values()];
      applyStates(p.rec, states, now);
      p.collapse();
      p.publish();
      batch.providers.push({ ...p.rec });
      batch.rewrite.push(provider);
      batch.items.push(...p.itemRecords());
    }
    batch.checkpoint = true;
    await db.write(batch);
    return { providers: [...byProvider.keys()], items };
  } finally {
    db.close();
  }
}

function applyStates(rec: ProviderRecord, states: readonly hangar.BaselineSummary[], now: number): void {
  if (states.length === 0) return;
  const done = states.every(
    (s) =>
      s.state === hangar.BaselineState.ENFORCING ||
      s.state === hangar.BaselineState.FROZEN ||
      s.state === hangar.BaselineState.CAPPED,
  );
  const started = Math.min(...states.map((s) => msOf(s.learningStarted) ?? Infinity));
  if (Number.isFinite(started)) rec.learningStarted = Math.min(rec.learningStarted ?? started, started);
  if (states.some((s) => s.state === hangar.BaselineState.PARTIAL)) {
    rec.partial = true;
    rec.partialReason = "an agent began learning on running pods";
  }
  if (done && rec.state === "learning") {
    rec.state = "enforcing";
    rec.enforcingSince = Math.max(...states.map((s) => msOf(s.enforcingSince) ?? now));
    rec.endReason = "merged";
  }
}

/** The item key of a proto item, for tests and the hub. */
export function deltaItemKey(it: hangar.BaselineItem): string {
  return itemKey(facetFromProto(it.facet) as FacetName, it.tool, it.qualifier, it.value);
}

const STATE_OF_RECORD = (r: ProviderRecord): hangar.BaselineState => {
  if (r.state === "learning" && r.partial) return hangar.BaselineState.PARTIAL;
  if (r.state === "enforcing" && r.capped) return hangar.BaselineState.CAPPED;
  return STATE_TO_PROTO[r.state];
};

/**
 * The merged baselines in the controller's file (every provider, or one), as the hub sends
 * them to agents: every item with its cluster-wide count, the nodes that contributed, the
 * controller's version. No file yet (no agent has sent a delta): none.
 */
export async function mergedBaselines(path: string, provider?: string): Promise<hangar.MergedBaseline[]> {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the baseline database file the operator names
  if (!existsSync(path)) return [];
  const db = await BaselineDb.open(path, { readOnly: true, waitMs: 10_000 });
  try {
    const [providers, items] = await Promise.all([db.providers(provider), db.items(provider)]);
    const byProvider = new Map<string, hangar.BaselineItem[]>();
    for (const it of items) {
      let list = byProvider.get(it.provider);
      if (list === undefined) byProvider.set(it.provider, (list = []));
      list.push(
        create(hangar.BaselineItemSchema, {
          facet: FACET_TO_PROTO[it.facet],
          value: it.value,
          tool: it.tool,
          count: BigInt(it.count),
          firstSeen: stamp(it.first),
          lastSeen: stamp(it.last),
          qualifier: it.qualifier,
        }),
      );
    }
    const now = Date.now();
    return providers.map((r) =>
      create(hangar.MergedBaselineSchema, {
        provider: r.provider,
        version: BigInt(r.version),
        state: STATE_OF_RECORD(r),
        items: byProvider.get(r.provider) ?? [],
        nodes: r.nodes === "" ? [] : r.nodes.split(","),
        time: stamp(now),
      }),
    );
  } finally {
    db.close();
  }
}
