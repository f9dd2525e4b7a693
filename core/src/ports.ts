/**
 * The ports core defines and enterprise implements. Core never imports an
 * implementation from `enterprise/`; the bootstrap (`bootstrap/plugins.ts`) loads
 * them by package name when they are enabled. Each port has an in-memory
 * implementation in `ports/memory.ts` for tests.
 */
import type { hangar } from "@hangar/proto";

export type RuntimeEvent = hangar.RuntimeEvent;
export type Alert = hangar.Alert;
export type CallTrace = hangar.CallTrace;
export type EnforcementRequest = hangar.EnforcementRequest;

/** What a detector returns for one event: alerts, and optionally enforcement requests. */
export interface Detection {
  readonly alerts: readonly Alert[];
  readonly enforcement?: readonly EnforcementRequest[];
}

/**
 * A detector sees every kept, correlated event in time order. It must not block:
 * `process` is synchronous so that detection never waits on I/O.
 */
export interface Detector {
  readonly name: string;
  process(event: RuntimeEvent): Detection | undefined;
  /**
   * Live streams only: no event has arrived for `idleMs` of wall time since the last
   * event or the last call. Event time moves on by that much, so that events held for
   * reordering are released and timers (negative steps, windows) fire on a quiet node.
   */
  advance?(idleMs: number): Detection | undefined;
  /** Called once at the end of a stream (replay) or on shutdown; emits pending results (e.g. expired sequences). */
  flush?(): Detection | undefined;
  close?(): Promise<void>;
}

/**
 * Facets a baseline records per provider. Values as given to `lookup` (the
 * canonical forms, also used by `hangar-ctl baseline`):
 * - egress: `203.0.113.7:443/tcp`, `[2001:db8::1]:53/udp`, or a bare address
 *   (`203.0.113.7`: known when any port of it is); protocol `any` when unknown;
 * - dns: the name, lowercase, without the trailing dot;
 * - binary: the absolute path;
 * - file: the absolute path (known under any operation);
 * - tool: the tool name.
 */
export type BaselineFacetName = (typeof BASELINE_FACETS)[number];

/**
 * The answer of a baseline lookup: `known` (covered, exactly or by a collapsed
 * entry such as a CIDR, `*.example.com` or `/tmp/work/**`), `new` (the provider
 * enforces and nothing covers it), `learning` (the provider is still learning:
 * rules must not treat this as new), `none` (no baseline for the provider).
 */
export type BaselineVerdict = "known" | "new" | "learning" | "none";

/**
 * The facets, in the order hangar-ctl shows them and the baseline reports list them.
 * `BaselineFacetName` is derived from it.
 */
export const BASELINE_FACETS = ["egress", "dns", "binary", "file", "tool"] as const;

/**
 * The read side of a provider's baseline: what rules (`in_baseline`) and the enforcer's
 * baseline view ask. Lookups are on the hot path and must be answered from memory (no
 * SQL per event).
 */
export interface BaselineLookup {
  /** Whether `value` is part of the provider's baseline for `facet`. */
  lookup(provider: string, facet: BaselineFacetName, value: string): BaselineVerdict;
  /** The version stamp of the in-memory view a lookup answered from. */
  version(provider: string): string;
}

/** The learning side: events in, deviation alerts out, and the learning lifecycle. */
export interface BaselineLearner {
  /**
   * Learns from an event (during learning) and checks it (when enforcing).
   * May return a Detection: deviation alerts (new destination, binary, file, …;
   * rate bursts), each stamped with `version(provider)`. The detect stage sends
   * them to the sinks like rule alerts. Returning nothing is fine.
   */
  observe(event: RuntimeEvent): Detection | undefined | void;
  /** End of a `replay --learn`: every provider still learning is frozen into enforcing. */
  finishLearning(reason?: string): void;
  /** Sets a provider's learning window (e.g. from the pod annotation `mcp-hangar.io/learning-window`). */
  configureProvider(provider: string, settings: { learningWindowMs: number; source?: string }): void;
}

/** The exchange with the controller over the agent⇄controller stream. */
export interface BaselineSync {
  /** What each provider learned since the last call (counts since then) and each provider's summary. */
  deltas(now?: number): { deltas: hangar.BaselineDelta[]; summaries: hangar.BaselineSummary[] };
  /**
   * Every provider's whole baseline as `full` deltas (cumulative counts), for a controller
   * that holds none of this node's (its hello says `resync_baselines`).
   */
  fullDeltas(now?: number): { deltas: hangar.BaselineDelta[]; summaries: hangar.BaselineSummary[] };
  /** Each provider's summary (state, progress, counts), without taking a delta. */
  summaries(): hangar.BaselineSummary[];
  /**
   * Takes the controller's merged baseline of a provider (what every node hosting it
   * learned) into this agent's view: merged items become known, the view is swapped in
   * whole with a new version (stamped on alerts). Returns the number of items added;
   * throws on an invalid message, naming the field.
   */
  adoptMerged(merged: hangar.MergedBaseline): number;
}

/**
 * The behavioral baseline of each provider, as the agent loads it: lookup and learning,
 * and the controller exchange when the implementation has one (`sync`).
 */
export interface BaselineStore extends BaselineLookup, BaselineLearner {
  /** The exchange with the controller; absent in stores that keep nothing to exchange (tests). */
  readonly sync?: BaselineSync;
  close?(): Promise<void>;
}

/** Where alerts go (stdout, the controller, a SIEM). Writes never block the pipeline. */
export interface AlertSink {
  write(alert: Alert): void;
  /** Resolves when everything written so far is delivered (or spooled). */
  flush(): Promise<void>;
  /** Flushes once and releases resources. */
  shutdown(): Promise<void>;
}

/** Call traces from the controller's MCP proxy (or a recording). */
export interface TraceSource {
  traces(signal: AbortSignal): AsyncIterable<CallTrace>;
}
