/**
 * The detect stage: the baseline observes each event (learning it, or raising
 * deviation alerts when the provider enforces), then the detector (the rule
 * engine, when enabled) decides. Alerts go to the sinks; detection never
 * waits on them.
 */
import type {
  AlertSink,
  BaselineStore,
  Detection,
  Detector,
  EnforcementRequest,
  RuntimeEvent,
  Alert,
} from "../ports/ports.js";
import type { Counters } from "../pipeline/counters.js";
import { hangar } from "@hangar/proto";

export interface DetectStageOptions {
  detector: Detector;
  baseline?: BaselineStore;
  sinks: readonly AlertSink[];
  counters: Counters;
  /** Completes every alert before the sinks see it (the correlator adds the attribution chain). */
  explain?: (alert: Alert) => void;
  /** Where the detector's enforcement requests go (the controller's hub); counted either way. */
  enforce?: (request: EnforcementRequest) => void;
}

/** How many recent deviation events are remembered for folding. */
export const FOLD_MEMORY = 4096;

export class DetectStage {
  readonly #detector: Detector;
  readonly #baseline: BaselineStore | undefined;
  readonly #sinks: readonly AlertSink[];
  readonly #counters: Counters;
  readonly #explain: ((alert: Alert) => void) | undefined;
  readonly #enforce: ((request: EnforcementRequest) => void) | undefined;

  constructor(options: DetectStageOptions) {
    this.#explain = options.explain;
    this.#enforce = options.enforce;
    this.#detector = options.detector;
    this.#baseline = options.baseline;
    this.#sinks = options.sinks;
    this.#counters = options.counters;
  }

  /** Event id → highest severity of the deviations it raised (insertion order = age). */
  readonly #deviated = new Map<string, hangar.Severity>();

  /** Events seen; `tick` compares it, so the hot path reads no clock. */
  #seen = 0;
  #seenAtTick = 0;
  /** Wall time (ms) since which no event arrived, as far as `tick` has seen. */
  #quietSince = Date.now();

  process(ev: RuntimeEvent): void {
    this.#seen++;
    // Baseline deviations first (they carry the baseline version), then the rules.
    const deviations = this.#baseline?.observe(ev);
    if (deviations !== undefined) {
      if (ev.id !== "" && deviations.alerts.length > 0) this.#remember(ev.id, deviations.alerts);
      this.#emit(deviations);
    }
    this.#emit(this.#detector.process(ev));
  }

  /**
   * Live pipelines call this on a timer: when no event has arrived for at least
   * `minIdleMs`, the detector's event clock moves on by the quiet time (see
   * `Detector.advance`).
   */
  tick(now = Date.now(), minIdleMs = 500): void {
    if (this.#seen !== this.#seenAtTick) {
      // Events arrived since the last tick: the quiet time starts now.
      this.#seenAtTick = this.#seen;
      this.#quietSince = now;
      return;
    }
    const idle = now - this.#quietSince;
    if (idle < minIdleMs || this.#detector.advance === undefined) return;
    this.#quietSince = now;
    this.#emit(this.#detector.advance(idle));
  }

  /** End of stream: lets the detector emit what it still holds. */
  flush(): void {
    this.#emit(this.#detector.flush?.());
  }

  #emit(d: Detection | undefined): void {
    if (d === undefined) return;
    for (const alert of d.alerts) this.#alert(alert);
    if (d.enforcement !== undefined && d.enforcement.length > 0) {
      this.#counters.inc("enforcement_requests", undefined, d.enforcement.length);
      if (this.#enforce !== undefined) for (const r of d.enforcement) this.#enforce(r);
    }
  }

  #remember(id: string, alerts: readonly Alert[]): void {
    let severity = this.#deviated.get(id) ?? hangar.Severity.UNSPECIFIED;
    for (const a of alerts) if (a.severity > severity) severity = a.severity;
    this.#deviated.delete(id);
    this.#deviated.set(id, severity);
    if (this.#deviated.size > FOLD_MEMORY) {
      const oldest = this.#deviated.keys().next().value;
      if (oldest !== undefined) this.#deviated.delete(oldest);
    }
  }

  /** A single-event rule alert that repeats a deviation already sent for its event (see the top). */
  #folds(alert: Alert): boolean {
    if (
      alert.source !== hangar.AlertSource.RULE ||
      alert.baselineVersion === "" ||
      alert.evidence.length !== 1
    )
      return false;
    const severity = this.#deviated.get(alert.evidence[0]!.id);
    return severity !== undefined && alert.severity <= severity;
  }

  #alert(alert: Alert): void {
    if (this.#deviated.size > 0 && this.#folds(alert)) {
      this.#counters.inc("alerts_folded", { rule: alert.ruleId });
      return;
    }
    this.#explain?.(alert);
    this.#counters.inc("alerts", {
      rule: alert.ruleId,
      severity: (hangar.Severity[alert.severity] ?? "UNSPECIFIED").toLowerCase(),
    });
    for (const sink of this.#sinks) sink.write(alert);
  }
}
