/**
 * The agent's baseline store (core's `BaselineStore` port): learns per provider
 * while `learning`, raises deviations while `enforcing`/`frozen`, and answers
 * lookups from the published in-memory view. The DuckDB file is written by a
 * periodic sync (never per event); operator actions written to the file by
 * `hangar-ctl --db` are picked up at the next sync.
 */
import {
  errorMessage,
  type Alert,
  type BaselineFacetName,
  type BaselineStore,
  type BaselineSync,
  type BaselineVerdict,
  type Detection,
  type RuntimeEvent,
} from "@hangar/core";
import { deviationAlert, type DeviationInfo } from "./alerts.js";
import type { CollapseThresholds } from "./collapse.js";
import { DEFAULT_THRESHOLDS } from "./collapse.js";
import { BaselineDb, emptyBatch, type ActionRecord, type DeviationKind, type WriteBatch } from "./db.js";
import { BehavioralError } from "./errors.js";
import {
  argumentShape,
  facetFromProto,
  observe as observeFacets,
  type FacetName,
  type Observation,
} from "./facets.js";
import {
  DEFAULT_LIMITS,
  Profile,
  WHOLE_RECORDING,
  type DeviationState,
  type ProfileLimits,
} from "./profile.js";
import { DEFAULT_RATE_OPTIONS, type RateExcess, type RateOptions } from "./rates.js";
import { applyAction } from "./actions.js";
import { emptyDelta, summaryOf, takeDelta, validateDelta } from "./merge.js";
import { hangar } from "@hangar/proto";

/** Pod label (Tetragon and Hubble carry labels) or annotation that sets a provider's learning window. */
export const LEARNING_WINDOW_KEY = "mcp-hangar.io/learning-window";

export interface BaselineStoreOptions {
  /** The DuckDB file. */
  db: string;
  /** Replay --learn: every provider learns for the whole recording; `finishLearning()` freezes them. */
  learn: boolean;
  /** Default learning window, ms (default 1 h). */
  learningWindowMs?: number;
  /** End learning early when no new item appeared for this long, ms (default: off). */
  stableMs?: number;
  /** Fewest events before stability may end learning (default 100). */
  minEvents?: number;
  /** Items per facet before collapse is forced (default 50 000). */
  maxItemsPerFacet?: number;
  thresholds?: Partial<CollapseThresholds>;
  /** One alert per (provider, deviation, value) per cooldown, ms (default 1 h). */
  cooldownMs?: number;
  /** Rate deviations: one alert per (provider, metric) per cooldown, ms (default 10 min). */
  rateCooldownMs?: number;
  rate?: Partial<RateOptions>;
  /** At most this many alerts per (provider, kind) per cooldown window; the rest are recorded (default 20). */
  maxAlertsPerKind?: number;
  /** How often to write to the file, ms (default 5000; 0: only at close). */
  syncIntervalMs?: number;
  /** A process that started this long before learning began makes the baseline `partial` (default 30 s). */
  partialSlackMs?: number;
  /** This node's name (alerts, deltas). */
  node?: string;
  /**
   * Raise deviation alerts (default true). With false, deviations are only
   * recorded and rules ask the baseline themselves (`… not in baseline(egress)`),
   * so one event does not alert twice.
   */
  deviationAlerts?: boolean;
  /** Told about a corrupt file moved aside, a failed sync, a locked file. */
  onWarning?: (message: string) => void;
}

const HOUR = 3_600_000;

/** "90m", "1h30m", "2h", "45s", "1d" → ms; undefined when not a duration. */
export function parseDuration(s: string): number | undefined {
  // eslint-disable-next-line security/detect-unsafe-regex -- linear: each optional group ends in its own unit letter, anchored
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
  if (m === null || s.trim() === "") return undefined;
  const [, d, h, min, sec] = m;
  const total =
    Number(d ?? 0) * 86_400_000 + Number(h ?? 0) * HOUR + Number(min ?? 0) * 60_000 + Number(sec ?? 0) * 1000;
  return total > 0 ? total : undefined;
}

function eventMs(ev: RuntimeEvent): number | undefined {
  const t = ev.time;
  return t === undefined ? undefined : Number(t.seconds) * 1000 + t.nanos / 1e6;
}

interface KindWindow {
  start: number;
  alerts: number;
  suppressed: number;
}

export class DuckDbBaselineStore implements BaselineStore, BaselineSync {
  /** This store exchanges deltas and merged baselines with the controller itself. */
  get sync(): BaselineSync {
    return this;
  }

  readonly path: string;
  readonly #o: Required<Omit<BaselineStoreOptions, "stableMs" | "onWarning" | "thresholds" | "rate">> & {
    stableMs: number | undefined;
  };
  readonly #limits: ProfileLimits;
  readonly #rate: RateOptions;
  readonly #warn: (m: string) => void;
  readonly #profiles = new Map<string, Profile>();
  readonly #windows = new Map<string, number>();
  /** New baselines whose first process event is still to come (partial check). */
  readonly #unchecked = new Set<string>();
  readonly #kindWindows = new Map<string, KindWindow>();
  /** provider → the state its last delta reported to the controller. */
  readonly #reportedState = new Map<string, hangar.BaselineState>();
  readonly #obs: Observation[] = [];
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #pendingApplied: number[] = [];
  #closed = false;
  /** Syncs skipped because another process held the file. */
  skippedSyncs = 0;
  syncs = 0;

  private constructor(options: BaselineStoreOptions) {
    this.path = options.db;
    this.#o = {
      db: options.db,
      learn: options.learn,
      learningWindowMs: options.learningWindowMs ?? HOUR,
      stableMs: options.stableMs,
      minEvents: options.minEvents ?? 100,
      maxItemsPerFacet: options.maxItemsPerFacet ?? DEFAULT_LIMITS.maxItemsPerFacet,
      cooldownMs: options.cooldownMs ?? HOUR,
      rateCooldownMs: options.rateCooldownMs ?? 600_000,
      maxAlertsPerKind: options.maxAlertsPerKind ?? 20,
      syncIntervalMs: options.syncIntervalMs ?? 5000,
      partialSlackMs: options.partialSlackMs ?? 30_000,
      node: options.node ?? "",
      deviationAlerts: options.deviationAlerts ?? true,
    };
    this.#limits = {
      maxItemsPerFacet: this.#o.maxItemsPerFacet,
      thresholds: { ...DEFAULT_THRESHOLDS, ...options.thresholds },
    };
    this.#rate = { ...DEFAULT_RATE_OPTIONS, ...options.rate };
    this.#warn = options.onWarning ?? (() => undefined);
  }

  /** Opens (creating or repairing) the file, loads every provider, and starts the periodic sync. */
  static async open(options: BaselineStoreOptions): Promise<DuckDbBaselineStore> {
    for (const [name, v] of [
      ["learningWindowMs", options.learningWindowMs],
      ["maxItemsPerFacet", options.maxItemsPerFacet],
      ["cooldownMs", options.cooldownMs],
    ] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v > 0))
        throw new BehavioralError("HANGAR_ERR_BASELINE_VALUE", `${name} must be a positive number, got ${v}`);
    }
    const store = new DuckDbBaselineStore(options);
    const db = await BaselineDb.open(options.db, { onWarning: store.#warn });
    try {
      const [providers, items, deviations, pending] = await Promise.all([
        db.providers(),
        db.items(),
        db.deviations(),
        db.pendingActions(),
      ]);
      const byProvider = new Map<string, typeof items>();
      for (const it of items) {
        const list = byProvider.get(it.provider);
        if (list === undefined) byProvider.set(it.provider, [it]);
        else list.push(it);
      }
      for (const rec of providers) {
        const p = new Profile(rec, byProvider.get(rec.provider) ?? [], store.#limits);
        p.recDirty = false;
        if (store.#o.learn && !p.learning) {
          // replay --learn continues learning into an existing baseline.
          p.rec.state = "learning";
          p.rec.learningWindowMs = WHOLE_RECORDING;
          p.rec.windowSource = "replay";
          p.recDirty = true;
        }
        store.#profiles.set(rec.provider, p);
      }
      for (const d of deviations) {
        const p = store.#profiles.get(d.provider);
        if (p === undefined) continue;
        p.deviations.set(devKey(d.kind, d.tool, d.qualifier, d.value), {
          rec: d,
          pendingCount: 0,
          pendingAlerts: 0,
        });
      }
      // Actions written while no agent ran are already in the tables.
      store.#pendingApplied = pending.map((a) => a.id);
    } finally {
      db.close();
    }
    if (store.#o.syncIntervalMs > 0) {
      store.#timer = setInterval(() => {
        store.persist().catch((err: unknown) => store.#warn(`baseline sync failed: ${errorMessage(err)}`));
      }, store.#o.syncIntervalMs);
      store.#timer.unref();
    }
    return store;
  }

  /** Sets a provider's learning window (from the pod annotation, via the pod watch, or config). */
  configureProvider(provider: string, settings: { learningWindowMs: number; source?: string }): void {
    this.#windows.set(provider, settings.learningWindowMs);
    const p = this.#profiles.get(provider);
    if (p !== undefined && p.learning && p.rec.learningWindowMs !== WHOLE_RECORDING) {
      p.rec.learningWindowMs = settings.learningWindowMs;
      p.rec.windowSource = settings.source ?? "annotation";
      p.recDirty = true;
    }
  }

  profile(provider: string): Profile | undefined {
    return this.#profiles.get(provider);
  }

  providers(): string[] {
    return [...this.#profiles.keys()];
  }

  #create(provider: string, ev: RuntimeEvent, t: number): Profile {
    let windowMs = this.#o.learningWindowMs;
    let source = "default";
    const configured = this.#windows.get(provider);
    const label = ev.pod?.labels[LEARNING_WINDOW_KEY];
    if (this.#o.learn) {
      windowMs = WHOLE_RECORDING;
      source = "replay";
    } else if (configured !== undefined) {
      windowMs = configured;
      source = "annotation";
    } else if (label !== undefined) {
      const parsed = parseDuration(label);
      if (parsed === undefined)
        this.#warn(
          `provider ${provider}: pod label ${LEARNING_WINDOW_KEY}="${label}" is not a duration (e.g. 90m, 2h); using the default window`,
        );
      else {
        windowMs = parsed;
        source = "label";
      }
    }
    const p = Profile.fresh(provider, t, windowMs, source, this.#limits);
    this.#profiles.set(provider, p);
    this.#unchecked.add(provider);
    return p;
  }

  /** Learning that starts on a process that was already running sees only part of the provider's life. */
  #checkPartial(p: Profile, ev: RuntimeEvent, t: number): void {
    const proc = ev.process;
    if (proc === undefined) return;
    const flags = ev.detail.case === "exec" ? ev.detail.value.flags : [];
    const started = proc.startTime === undefined ? undefined : Number(proc.startTime.seconds) * 1000;
    if (flags.includes("procFS")) {
      p.rec.partial = true;
      p.rec.partialReason = `learning began on a running pod: ${proc.binary} was found in /proc, not seen starting`;
    } else if (started !== undefined && started > 0 && t - started > this.#o.partialSlackMs) {
      p.rec.partial = true;
      p.rec.partialReason = `learning began on a running pod: ${proc.binary} (pid ${proc.pid}) started ${fmtDuration(t - started)} before the first event; restart the pod for a complete baseline`;
    }
  }

  observe(ev: RuntimeEvent): Detection | undefined {
    const provider = ev.provider;
    if (provider === "" || this.#closed) return undefined;
    const t = eventMs(ev) ?? Date.now();
    const p = this.#profiles.get(provider) ?? this.#create(provider, ev, t);
    if (p.rec.learningStarted === undefined) p.rec.learningStarted = t;
    p.touch(t);
    if (ev.process !== undefined && this.#unchecked.has(provider)) {
      // The first event of a new baseline that names a process tells whether the pod predates learning.
      this.#unchecked.delete(provider);
      if (p.learning) this.#checkPartial(p, ev, p.rec.learningStarted ?? t);
    }
    if (p.learning && !this.#o.learn) this.#maybeEndLearning(p, t);
    const obs = this.#obs;
    obs.length = 0;
    const metric = observeFacets(ev, obs);
    const tool = ev.attributions[0]?.tool ?? "";
    let alerts: Alert[] | undefined;
    if (metric !== undefined) {
      const excess = p.rates.count(metric, t, p.learning, this.#rate);
      if (excess !== undefined) alerts = this.#rateDeviation(p, excess, ev, t, alerts);
    }
    for (const o of obs) {
      if (p.learning) p.learn(o, tool, t);
      else alerts = this.#check(p, o, tool, ev, t, alerts);
    }
    return alerts === undefined ? undefined : { alerts };
  }

  #maybeEndLearning(p: Profile, t: number): void {
    const started = p.rec.learningStarted ?? t;
    const window = p.rec.learningWindowMs;
    if (window !== WHOLE_RECORDING && t - started >= window) {
      p.finishLearning(t, "window");
      return;
    }
    const stable = this.#o.stableMs;
    if (
      stable !== undefined &&
      p.rec.events >= this.#o.minEvents &&
      t - started >= stable &&
      t - (p.rec.lastNewItem ?? started) >= stable
    ) {
      p.finishLearning(t, "stable");
    }
  }

  #check(
    p: Profile,
    o: Observation,
    tool: string,
    ev: RuntimeEvent,
    t: number,
    alerts: Alert[] | undefined,
  ): Alert[] | undefined {
    const m = p.view.match(o.facet, o.value, o.qualifier);
    if (m === undefined) {
      const kind: DeviationKind =
        o.facet === "file" && p.view.fileKnownAnyOp(o.value) ? "new-file-op" : `new-${o.facet}`;
      return this.#deviation(
        p,
        { kind, facet: o.facet, value: o.value, qualifier: o.qualifier, tool },
        ev,
        t,
        alerts,
      );
    }
    p.bump(o.facet, "", m.qualifier, m.entry, t);
    if (o.facet === "binary" && !p.view.shapeKnown(o.value, o.qualifier)) {
      alerts = this.#deviation(
        p,
        { kind: "new-args", facet: o.facet, value: o.value, qualifier: o.qualifier, tool },
        ev,
        t,
        alerts,
      );
    }
    if (tool !== "" && o.facet !== "tool" && p.view.match("tool", tool) !== undefined) {
      const q = o.facet === "binary" ? "" : m.qualifier;
      if (p.view.toolKnows(tool, o.facet, m.entry)) p.bump(o.facet, tool, q, m.entry, t);
      else
        alerts = this.#deviation(
          p,
          {
            kind: `tool-new-${o.facet}` as DeviationKind,
            facet: o.facet,
            value: m.entry,
            qualifier: q,
            tool,
          },
          ev,
          t,
          alerts,
        );
    }
    return alerts;
  }

  #rateDeviation(
    p: Profile,
    x: RateExcess,
    ev: RuntimeEvent,
    t: number,
    alerts: Alert[] | undefined,
  ): Alert[] | undefined {
    return this.#deviation(
      p,
      {
        kind: `rate-${x.metric}`,
        facet: "rate",
        value: x.metric,
        qualifier: "",
        tool: "",
        rate: { count: x.count, threshold: x.threshold, median: x.stats.median, mad: x.stats.mad },
      },
      ev,
      t,
      alerts,
    );
  }

  /** Records a deviation; alerts when enforcing, outside its cooldown and under the per-kind budget. */
  #deviation(
    p: Profile,
    d: Omit<DeviationInfo, "suppressed">,
    ev: RuntimeEvent,
    t: number,
    alerts: Alert[] | undefined,
  ): Alert[] | undefined {
    const key = devKey(d.kind, d.tool, d.qualifier, d.value);
    let s: DeviationState | undefined = p.deviations.get(key);
    if (s === undefined) {
      s = {
        rec: {
          provider: p.provider,
          kind: d.kind,
          facet: d.facet,
          tool: d.tool,
          value: d.value,
          qualifier: d.qualifier,
          state: p.rec.state,
          count: 0,
          first: t,
          last: t,
          alerts: 0,
          lastAlert: undefined,
          baselineVersion: p.view.version,
          evidence: "",
        },
        pendingCount: 0,
        pendingAlerts: 0,
      };
      if (p.deviations.size >= 10_000) evictSynced(p.deviations);
      p.deviations.set(key, s);
    }
    s.rec.count++;
    s.pendingCount++;
    if (t > s.rec.last) s.rec.last = t;
    if (p.learning || !this.#o.deviationAlerts) return alerts; // recorded, not alerted
    const cooldown = d.rate !== undefined ? this.#o.rateCooldownMs : this.#o.cooldownMs;
    if (s.rec.lastAlert !== undefined && t - s.rec.lastAlert < cooldown) return alerts;
    const wk = `${p.provider}\u0000${d.kind}`;
    let w = this.#kindWindows.get(wk);
    if (w === undefined || t - w.start >= cooldown) {
      const carried = w?.suppressed ?? 0;
      w = { start: t, alerts: 0, suppressed: carried };
      this.#kindWindows.set(wk, w);
    }
    if (w.alerts >= this.#o.maxAlertsPerKind) {
      w.suppressed++;
      return alerts;
    }
    w.alerts++;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    s.rec.lastAlert = t;
    s.rec.alerts++;
    s.pendingAlerts++;
    s.rec.baselineVersion = p.view.version;
    const alert = deviationAlert(p, { ...d, suppressed }, ev, this.path, this.#o.node);
    s.rec.evidence = alert.message;
    (alerts ??= []).push(alert);
    return alerts;
  }

  lookup(provider: string, facet: BaselineFacetName, value: string): BaselineVerdict {
    const p = this.#profiles.get(provider);
    if (p === undefined) return "none";
    if (p.learning) return "learning";
    return p.view.covers(facet, value) ? "known" : "new";
  }

  version(provider: string): string {
    return this.#profiles.get(provider)?.view.version ?? "";
  }

  /** End of a replay --learn: every provider still learning is frozen into enforcing. */
  finishLearning(reason = "end of recording"): void {
    for (const p of this.#profiles.values()) {
      if (p.learning) p.finishLearning(p.rec.lastEvent ?? Date.now(), reason);
    }
  }

  /**
   * What every provider learned since the last call, as `hangar.v1.BaselineDelta`
   * for the controller (counts since the last delta, each with this agent's summary
   * of the provider; a provider whose state changed gets a delta even with no new
   * items), and every provider's summary. The agent sends them to the hub periodically.
   */
  /** Providers whose baseline this process has sent in full once (later deltas are increments). */
  readonly #fullSent = new Set<string>();

  deltas(now: number = Date.now()): { deltas: hangar.BaselineDelta[]; summaries: hangar.BaselineSummary[] } {
    const deltas: hangar.BaselineDelta[] = [];
    const summaries: hangar.BaselineSummary[] = [];
    for (const p of this.#profiles.values()) {
      const summary = summaryOf(p);
      summaries.push(summary);
      // Each delta carries this agent's summary; a changed state goes out even without new items.
      const full = !this.#fullSent.has(p.provider);
      const d =
        takeDelta(p, this.#o.node, now, full) ??
        (this.#reportedState.get(p.provider) !== summary.state
          ? emptyDelta(p, this.#o.node, now)
          : undefined);
      if (d === undefined) continue;
      d.summary = summary;
      this.#reportedState.set(p.provider, summary.state);
      this.#fullSent.add(p.provider);
      deltas.push(d);
    }
    return { deltas, summaries };
  }

  /** Each provider's summary (state, progress, counts), without taking a delta. */
  summaries(): hangar.BaselineSummary[] {
    return [...this.#profiles.values()].map((p) => summaryOf(p));
  }

  /**
   * Every provider's whole baseline as full deltas (cumulative counts), for a controller
   * that asked (it restarted, or another replica took over, with no baseline of this node).
   */
  fullDeltas(now: number = Date.now()): {
    deltas: hangar.BaselineDelta[];
    summaries: hangar.BaselineSummary[];
  } {
    this.#fullSent.clear();
    this.#reportedState.clear();
    return this.deltas(now);
  }

  /**
   * Adopts the controller's merged baseline of a provider this node hosts: items other
   * nodes learned become part of this node's view, so a destination one node learned
   * does not raise a deviation on another. Adopted items are added with count 0 (local
   * counts stay local, and they are not echoed back in the next delta); the published
   * view is rebuilt and swapped in whole, and its version names the merged version
   * (`v8+m3`), which is stamped on alerts. A provider this node has not seen yet gets a
   * baseline holding the merged items: it learns (the merged items included) unless the
   * merged baseline already enforces, then it enforces from the start. Returns the
   * number of items added. Throws HANGAR_ERR_BASELINE_DELTA naming the field when the
   * message is invalid.
   */
  adoptMerged(merged: hangar.MergedBaseline): number {
    validateDelta(merged, "merged");
    if (this.#closed) return 0;
    const provider = merged.provider;
    let p = this.#profiles.get(provider);
    const now = Date.now();
    if (p === undefined) {
      const configured = this.#windows.get(provider);
      p = Profile.fresh(
        provider,
        now,
        this.#o.learn ? WHOLE_RECORDING : (configured ?? this.#o.learningWindowMs),
        this.#o.learn ? "replay" : configured !== undefined ? "annotation" : "default",
        this.#limits,
      );
      p.rec.learningStarted = undefined; // starts with the provider's first event here
      this.#profiles.set(provider, p);
      this.#unchecked.add(provider);
    }
    let added = 0;
    for (const it of merged.items) {
      const facet = facetFromProto(it.facet) as FacetName;
      const first = it.firstSeen === undefined ? now : Number(it.firstSeen.seconds) * 1000;
      const last = it.lastSeen === undefined ? first : Number(it.lastSeen.seconds) * 1000;
      if (p.adopt(facet, it.tool, it.value, it.qualifier, first, last)) added++;
    }
    const version = Number(merged.version);
    if (added === 0 && version === p.mergedVersion) return 0;
    p.mergedVersion = version;
    const enforcing =
      merged.state === hangar.BaselineState.ENFORCING ||
      merged.state === hangar.BaselineState.FROZEN ||
      merged.state === hangar.BaselineState.CAPPED;
    if (p.learning && p.rec.events === 0 && enforcing && !this.#o.learn)
      p.finishLearning(now, "merged"); // publishes
    else if (!p.learning) p.publish(); // learning: lookups answer "learning"; the items count when it ends
    return added;
  }

  /** Applies one operator action to memory (also used when reading actions from the file). */
  apply(a: Omit<ActionRecord, "id">): void {
    let p = this.#profiles.get(a.provider);
    if (p === undefined) {
      p = Profile.fresh(a.provider, a.requestedAt, this.#o.learningWindowMs, "default", this.#limits);
      p.rec.learningStarted = undefined; // starts with the provider's first event
      this.#profiles.set(a.provider, p);
    }
    applyAction(p, a);
    if (a.action === "reset") {
      this.#unchecked.add(a.provider);
      if (p.rec.learningWindowMs === WHOLE_RECORDING && !this.#o.learn) {
        // A baseline learned by replay --learn relearns live with the usual window.
        p.rec.learningWindowMs = this.#windows.get(a.provider) ?? this.#o.learningWindowMs;
        p.rec.windowSource = this.#windows.has(a.provider) ? "annotation" : "default";
      }
    }
  }

  /** Writes what changed since the last write (and applies operator actions found in the file). */
  persist(final = false): Promise<void> {
    if (this.#syncing !== undefined) {
      return final ? this.#syncing.then(() => this.persist(true)) : this.#syncing;
    }
    this.#syncing = this.#doSync(final).finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #doSync(final: boolean): Promise<void> {
    let db: BaselineDb;
    try {
      db = await BaselineDb.open(this.path, { waitMs: final ? 15_000 : 250, onWarning: this.#warn });
    } catch (err) {
      if (!final && err instanceof BehavioralError && err.code === "HANGAR_ERR_BASELINE_DB_LOCKED") {
        this.skippedSyncs++;
        return;
      }
      throw err;
    }
    let batch: WriteBatch | undefined;
    try {
      if (db.created) for (const p of this.#profiles.values()) this.#markAll(p);
      const actions = await db.pendingActions();
      const known = new Set(this.#pendingApplied);
      for (const a of actions) if (!known.has(a.id)) this.apply(a);
      batch = this.#snapshot();
      batch.applied = actions.map((a) => a.id);
      batch.checkpoint = final;
      await db.write(batch);
      this.#pendingApplied = [];
      this.syncs++;
    } catch (err) {
      if (batch !== undefined) this.#restore(batch);
      throw err;
    } finally {
      db.close();
    }
  }

  #markAll(p: Profile): void {
    p.rewrite = true;
    p.recDirty = true;
    for (const d of p.deviations.values()) {
      d.pendingCount = d.rec.count;
      d.pendingAlerts = d.rec.alerts;
    }
  }

  #snapshot(): WriteBatch {
    const b = emptyBatch();
    for (const p of this.#profiles.values()) {
      if (p.recDirty) {
        b.providers.push({ ...p.rec });
        p.recDirty = false;
      }
      if (p.clearDeviations) {
        b.clearDeviations.push(p.provider);
        p.clearDeviations = false;
      }
      if (p.rewrite) {
        b.rewrite.push(p.provider);
        for (const it of p.items.values()) b.items.push({ ...it, provider: p.provider });
        p.rewrite = false;
      } else {
        for (const key of p.dirty) {
          const it = p.items.get(key);
          if (it !== undefined) b.items.push({ ...it, provider: p.provider });
        }
      }
      p.dirty.clear();
      for (const d of p.deviations.values()) {
        if (d.pendingCount === 0 && d.pendingAlerts === 0) continue;
        b.deviations.push({ ...d.rec, count: d.pendingCount, alerts: d.pendingAlerts });
        d.pendingCount = 0;
        d.pendingAlerts = 0;
      }
    }
    return b;
  }

  /** A failed write: everything in the batch is pending again, nothing is lost. */
  #restore(b: WriteBatch): void {
    for (const rec of b.providers) {
      const p = this.#profiles.get(rec.provider);
      if (p !== undefined) p.recDirty = true;
    }
    for (const name of b.rewrite) {
      const p = this.#profiles.get(name);
      if (p !== undefined) p.rewrite = true;
    }
    for (const name of b.clearDeviations) {
      const p = this.#profiles.get(name);
      if (p !== undefined) p.clearDeviations = true;
    }
    for (const it of b.items) {
      const p = this.#profiles.get(it.provider);
      if (p !== undefined) p.dirty.add(`${it.facet}\u0000${it.tool}\u0000${it.qualifier}\u0000${it.value}`);
    }
    for (const d of b.deviations) {
      const s = this.#profiles.get(d.provider)?.deviations.get(devKey(d.kind, d.tool, d.qualifier, d.value));
      if (s !== undefined) {
        s.pendingCount += d.count;
        s.pendingAlerts += d.alerts;
      }
    }
  }

  /** Stops the periodic write and writes everything (waiting for readers to let go of the file). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.persist(true);
  }
}

function devKey(kind: string, tool: string, qualifier: string, value: string): string {
  return `${kind}\u0000${tool}\u0000${qualifier}\u0000${value}`;
}

function evictSynced(m: Map<string, DeviationState>): void {
  // Keeps memory bounded under a flood of novel values: forget written, long-quiet deviations first.
  const synced = [...m.entries()].filter(([, d]) => d.pendingCount === 0 && d.pendingAlerts === 0);
  synced.sort((a, b) => a[1].rec.last - b[1].rec.last);
  for (const [k] of synced.slice(0, Math.ceil(m.size / 10))) m.delete(k);
}

export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 === 0 ? "" : `${s % 60}s`}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 === 0 ? "" : `${m % 60}m`}`;
  return `${Math.floor(h / 24)}d${h % 24 === 0 ? "" : `${h % 24}h`}`;
}

/** `argumentShape` re-exported for tools that build `--args` values. */
export { argumentShape };
export type { FacetName };
