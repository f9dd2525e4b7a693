/**
 * One provider's baseline in memory: its lifecycle record, its items, and the
 * published view the hot path matches against. No I/O here: the store (agent),
 * the operator commands (hangar-ctl --db) and the controller merge all change a
 * baseline through these methods, so they agree on what freeze, reset, allow
 * and collapse mean.
 */
import {
  CAP_THRESHOLDS,
  DEFAULT_THRESHOLDS,
  collapseItems,
  itemKey,
  type CollapseThresholds,
  type Item,
  type ItemOrigin,
} from "./collapse.js";
import type { DeviationRecord, ItemRecord, LifecycleState, ProviderRecord } from "./db.js";
import type { FacetName, Observation } from "./facets.js";
import { RateTracker, type RateStats } from "./rates.js";
import { BaselineView } from "./view.js";
import type { RateMetric } from "./facets.js";

export interface ProfileLimits {
  /** Items per facet (provider-wide and per-tool together) before collapse is forced (default 50 000). */
  maxItemsPerFacet: number;
  thresholds: CollapseThresholds;
}

export const DEFAULT_LIMITS: ProfileLimits = { maxItemsPerFacet: 50_000, thresholds: DEFAULT_THRESHOLDS };

/** At most this many new items between collapses while learning. */
const COLLAPSE_EVERY = 1024;

/** Learning windows: "whole recording" is stored as -1. */
export const WHOLE_RECORDING = -1;

/** A deviation as kept in memory: its stored record plus what is not yet written. */
export interface DeviationState {
  rec: DeviationRecord;
  /** Count and alerts since the last sync. */
  pendingCount: number;
  pendingAlerts: number;
}

export class Profile {
  readonly rec: ProviderRecord;
  readonly items = new Map<string, Item>();
  readonly facetCounts = new Map<FacetName, number>();
  /** Keys of items changed since the last sync. */
  readonly dirty = new Set<string>();
  /** The stored items must be replaced wholesale at the next sync (collapse, reset). */
  rewrite = false;
  clearDeviations = false;
  recDirty = true;
  view: BaselineView;
  /**
   * Entries made by collapse, so that learning and merges count into them.
   * Built on first use after a collapse; dropped when learning ends (the
   * published view covers enforcing), so an enforcing baseline holds one view.
   */
  #coverView: BaselineView | undefined;
  #coverStale = false;
  #newSinceCollapse = 0;
  readonly rates = new RateTracker();
  readonly deviations = new Map<string, DeviationState>();
  /** Per item key, the count already sent to the controller in a delta. */
  readonly sent = new Map<string, number>();
  readonly limits: ProfileLimits;

  constructor(rec: ProviderRecord, items: Iterable<Item>, limits: ProfileLimits = DEFAULT_LIMITS) {
    this.rec = rec;
    this.limits = limits;
    for (const it of items) this.#put(it);
    try {
      const rates = JSON.parse(rec.rates) as Partial<Record<RateMetric, RateStats>>;
      this.rates.learned = rates;
    } catch {
      this.rates.learned = {};
    }
    this.view = new BaselineView(this.versionString(), this.items.values());
    this.#coverStale = true;
  }

  get #cover(): BaselineView | undefined {
    if (this.#coverStale) {
      this.#coverStale = false;
      const collapsed = [...this.items.values()].filter((i) => i.collapsed && i.tool === "");
      this.#coverView = collapsed.length === 0 ? undefined : new BaselineView("cover", collapsed);
    }
    return this.#coverView;
  }

  static fresh(
    provider: string,
    startMs: number,
    windowMs: number,
    windowSource: string,
    limits: ProfileLimits = DEFAULT_LIMITS,
  ): Profile {
    return new Profile(
      {
        provider,
        state: "learning",
        partial: false,
        partialReason: "",
        capped: false,
        learningWindowMs: windowMs,
        windowSource,
        learningStarted: startMs,
        enforcingSince: undefined,
        endReason: "",
        lastNewItem: undefined,
        lastEvent: undefined,
        events: 0,
        overflow: 0,
        version: 0,
        rates: "{}",
        nodes: "",
      },
      [],
      limits,
    );
  }

  get provider(): string {
    return this.rec.provider;
  }

  get learning(): boolean {
    return this.rec.state === "learning";
  }

  /**
   * The controller's merged-baseline version last adopted into this profile (0: none). It is
   * part of the version string stamped on alerts (`v7+m3`: local version 7, merged version 3).
   */
  mergedVersion = 0;

  versionString(): string {
    return this.mergedVersion > 0 ? `v${this.rec.version}+m${this.mergedVersion}` : `v${this.rec.version}`;
  }

  #put(it: Item): void {
    const key = itemKey(it.facet, it.tool, it.qualifier, it.value);
    if (!this.items.has(key)) this.facetCounts.set(it.facet, (this.facetCounts.get(it.facet) ?? 0) + 1);
    this.items.set(key, it);
  }

  itemRecords(): ItemRecord[] {
    return [...this.items.values()].map((it) => ({ ...it, provider: this.provider }));
  }

  touch(t: number): void {
    this.rec.events++;
    if (this.rec.lastEvent === undefined || t > this.rec.lastEvent) this.rec.lastEvent = t;
    this.recDirty = true;
  }

  /**
   * Learns one observation (provider-wide, and per tool when `tool` is set).
   * Returns "new" for an item not seen before, "overflow" when the facet is at
   * its cap even after collapse.
   */
  learn(o: Observation, tool: string, t: number): "new" | "seen" | "overflow" {
    const r = this.#upsert(o.facet, "", o.value, o.qualifier, t, "learned");
    if (tool !== "" && o.facet !== "tool" && r !== "overflow") {
      // Per-tool items point at the provider-wide entry they fall under.
      const entry = this.#cover?.match(o.facet, o.value, o.qualifier)?.entry ?? o.value;
      this.#upsert(o.facet, tool, entry, o.facet === "binary" ? "" : o.qualifier, t, "learned");
    }
    return r;
  }

  #upsert(
    facet: FacetName,
    tool: string,
    value: string,
    qualifier: string,
    t: number,
    origin: ItemOrigin,
  ): "new" | "seen" | "overflow" {
    let key = itemKey(facet, tool, qualifier, value);
    let it = this.items.get(key);
    if (it === undefined && this.#cover !== undefined && tool === "") {
      const m = this.#cover.match(facet, value, qualifier);
      if (m !== undefined) {
        key = itemKey(facet, tool, m.qualifier, m.entry);
        it = this.items.get(key);
      }
    }
    if (it !== undefined) {
      it.count++;
      if (t < it.first) it.first = t;
      if (t > it.last) it.last = t;
      this.dirty.add(key);
      return "seen";
    }
    if ((this.facetCounts.get(facet) ?? 0) >= this.limits.maxItemsPerFacet) {
      this.collapse(CAP_THRESHOLDS, facet);
      this.rec.capped = true;
      if ((this.facetCounts.get(facet) ?? 0) >= this.limits.maxItemsPerFacet) {
        this.rec.overflow++;
        this.recDirty = true;
        return "overflow";
      }
      return this.#upsert(facet, tool, value, qualifier, t, origin);
    }
    const fresh: Item = {
      facet,
      tool,
      value,
      qualifier,
      count: 1,
      first: t,
      last: t,
      collapsed: false,
      origin,
    };
    this.#put(fresh);
    this.dirty.add(key);
    if (tool === "") {
      this.rec.lastNewItem = t;
      this.recDirty = true;
    }
    // Collapse as learning goes, not only at its end: memory and the file stay small while a
    // provider learns many paths or addresses. Amortized: after 128 new items, then after new
    // items as many as half the items held (at most 1024), so the O(n) pass stays O(1) per item.
    if (++this.#newSinceCollapse >= Math.min(COLLAPSE_EVERY, Math.max(128, this.items.size >> 1))) {
      this.#newSinceCollapse = 0;
      this.collapse();
    }
    return "new";
  }

  /** Adds counts from another agent (controller merge): sums counts, widens first/last seen. */
  merge(
    facet: FacetName,
    tool: string,
    value: string,
    qualifier: string,
    count: number,
    first: number,
    last: number,
    /** `count` is a node's cumulative count (a full delta): keep the larger, do not add. */
    cumulative = false,
  ): void {
    let key = itemKey(facet, tool, qualifier, value);
    let it = this.items.get(key);
    if (it === undefined && tool === "" && this.#cover !== undefined) {
      const m = this.#cover.match(facet, value, qualifier);
      if (m !== undefined) {
        key = itemKey(facet, tool, m.qualifier, m.entry);
        it = this.items.get(key);
      }
    }
    if (it === undefined) {
      this.#put({ facet, tool, value, qualifier, count, first, last, collapsed: false, origin: "merged" });
      if (tool === "" && (this.rec.lastNewItem === undefined || first > this.rec.lastNewItem))
        this.rec.lastNewItem = first;
    } else {
      it.count = cumulative ? Math.max(it.count, count) : it.count + count;
      it.first = Math.min(it.first, first);
      it.last = Math.max(it.last, last);
    }
    this.dirty.add(key);
    this.recDirty = true;
  }

  /** Takes an item from the merged baseline if this profile lacks it (nothing covers it). */
  adopt(
    facet: FacetName,
    tool: string,
    value: string,
    qualifier: string,
    first: number,
    last: number,
  ): boolean {
    const key = itemKey(facet, tool, qualifier, value);
    if (this.items.has(key)) return false;
    // Wildcards and CIDRs ("*.x", "dir/**", "10.0.0.0/24:443/tcp") came from collapse somewhere.
    const collapsed = /\*|\/\d+[:\]]/.test(value);
    this.#put({ facet, tool, value, qualifier, count: 0, first, last, collapsed, origin: "merged" });
    this.dirty.add(key);
    // Not echoed back to the controller in the next delta: it came from there.
    this.sent.set(key, 0);
    this.#rebuildCover();
    return true;
  }

  /** Counts a match against the published view (enforcing): keeps counts and last-seen current. */
  bump(facet: FacetName, tool: string, qualifier: string, entry: string, t: number): boolean {
    const key = itemKey(facet, tool, qualifier, entry);
    const it = this.items.get(key);
    if (it === undefined) return false;
    it.count++;
    if (t > it.last) it.last = t;
    this.dirty.add(key);
    return true;
  }

  /** Collapses items (all facets, or one) and rebuilds what learning counts into. */
  collapse(thresholds: CollapseThresholds = this.limits.thresholds, facet?: FacetName): number {
    const before = [...this.items.values()];
    const { items, absorbed } = collapseItems(before, thresholds, facet);
    if (absorbed === 0) return 0;
    const sentBefore = new Map(this.sent);
    this.items.clear();
    this.facetCounts.clear();
    this.sent.clear();
    for (const it of items) this.#put(it);
    this.#rebuildCover();
    this.#remapToolItems();
    // What was already sent to the controller now lives in the collapsed entries.
    for (const old of before) {
      const key = itemKey(old.facet, old.tool, old.qualifier, old.value);
      const n = sentBefore.get(key);
      if (n === undefined) continue;
      const target = this.items.has(key)
        ? key
        : (() => {
            const m = this.#cover?.match(old.facet, old.value, old.qualifier);
            return m === undefined ? undefined : itemKey(old.facet, old.tool, m.qualifier, m.entry);
          })();
      if (target !== undefined) this.sent.set(target, (this.sent.get(target) ?? 0) + n);
    }
    // The next sync rewrites every item of this provider: nothing is dirty one by one.
    this.dirty.clear();
    this.rewrite = true;
    this.recDirty = true;
    return absorbed;
  }

  /** Per-tool items follow the provider-wide entries they now fall under. */
  #remapToolItems(): void {
    const cover = this.#cover;
    if (cover === undefined) return;
    for (const [key, it] of [...this.items]) {
      if (it.tool === "") continue;
      const m = cover.match(it.facet, it.value, it.qualifier);
      if (m === undefined || m.entry === it.value) continue;
      this.items.delete(key);
      this.facetCounts.set(it.facet, (this.facetCounts.get(it.facet) ?? 1) - 1);
      const target = this.items.get(itemKey(it.facet, it.tool, it.qualifier, m.entry));
      if (target === undefined) this.#put({ ...it, value: m.entry, collapsed: true });
      else {
        target.count += it.count;
        target.first = Math.min(target.first, it.first);
        target.last = Math.max(target.last, it.last);
      }
    }
  }

  #rebuildCover(): void {
    this.#coverView = undefined;
    this.#coverStale = true;
  }

  /** Publishes a new view (new version) from the current items: swapped in whole. */
  publish(): void {
    this.rec.version++;
    this.recDirty = true;
    this.view = new BaselineView(this.versionString(), this.items.values());
  }

  /** Ends learning: collapse, freeze the rate statistics, publish, and enforce. */
  finishLearning(t: number, reason: string, state: LifecycleState = "enforcing"): void {
    this.collapse();
    this.rates.freeze();
    this.rec.rates = JSON.stringify(this.rates.learned);
    this.rec.state = state;
    this.rec.enforcingSince = t;
    this.rec.endReason = reason;
    this.publish();
    this.#rebuildCover(); // built again only if a merge or a reset needs it
  }

  /** Operator freeze: stop learning now (or pin an enforcing baseline as frozen). */
  freeze(t: number): void {
    if (this.learning) this.finishLearning(t, "operator", "frozen");
    else {
      this.rec.state = "frozen";
      this.rec.endReason = this.rec.endReason === "" ? "operator" : this.rec.endReason;
      this.recDirty = true;
    }
  }

  /** Operator reset: forget everything learned; learning starts again with the next event. */
  reset(): void {
    this.items.clear();
    this.facetCounts.clear();
    this.sent.clear();
    this.dirty.clear();
    this.deviations.clear();
    this.#rebuildCover();
    this.rates.reset();
    Object.assign(this.rec, {
      state: "learning",
      partial: false,
      partialReason: "",
      capped: false,
      // Learning starts again with the provider's next event (event time, so replay works too).
      learningStarted: undefined,
      enforcingSince: undefined,
      endReason: "",
      lastNewItem: undefined,
      events: 0,
      overflow: 0,
      rates: "{}",
    } satisfies Partial<ProviderRecord>);
    this.rewrite = true;
    this.clearDeviations = true;
    this.publish();
  }

  /** Operator allow: add an item (kept exact, never collapsed away) and publish. */
  allow(facet: FacetName, value: string, qualifier: string, t: number): void {
    const key = itemKey(facet, "", qualifier, value);
    const it = this.items.get(key);
    if (it !== undefined) it.origin = "operator";
    else
      this.#put({
        facet,
        tool: "",
        value,
        qualifier,
        count: 0,
        first: t,
        last: t,
        collapsed: false,
        origin: "operator",
      });
    this.dirty.add(key);
    // An allowed item ends its deviation's alerts.
    for (const [k, d] of this.deviations)
      if (d.rec.facet === facet && d.rec.value === value) this.deviations.delete(k);
    this.publish();
  }
}
