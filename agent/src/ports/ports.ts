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
  /** Called once at the end of a stream (replay) or on shutdown; emits pending results (e.g. expired sequences). */
  flush?(): Detection | undefined;
  close?(): Promise<void>;
}

/** Facets a baseline records per provider. */
export type BaselineFacetName = "egress" | "dns" | "binary" | "file" | "tool";

/** The answer of a baseline lookup. */
export type BaselineVerdict = "known" | "new" | "learning" | "none";

/**
 * The behavioral baseline of each provider. Lookups are on the hot path and must
 * be answered from memory (no SQL per event).
 */
export interface BaselineStore {
  /** Learns from an event (during learning) and records deviations (when enforcing). */
  observe(event: RuntimeEvent): void;
  /** Whether `value` is part of the provider's baseline for `facet`. */
  lookup(provider: string, facet: BaselineFacetName, value: string): BaselineVerdict;
  /** The version stamp of the in-memory view a lookup answered from. */
  version(provider: string): string;
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
