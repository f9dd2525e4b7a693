/**
 * The detect stage: the baseline observes each event (learning it, or raising
 * deviation alerts when the provider enforces), then the detector (the rule
 * engine, when enabled) decides. Alerts and enforcement requests go on to the
 * next stage (explain, then outputs); detection never waits on an output.
 */
import type {
  Alert,
  BaselineLearner,
  Counters,
  Detection,
  Detector,
  EnforcementRequest,
  RuntimeEvent,
} from "@hangar/core";
import { hangar } from "@hangar/proto";

/** What the stages after detection take: alerts, and the detector's enforcement requests. */
export interface DetectionSink {
  alert(alert: Alert): void;
  enforcement(request: EnforcementRequest): void;
}

export interface DetectStageOptions {
  detector: Detector;
  /** The baseline engine's learning side (deviation alerts come from `observe`). */
  baseline?: Pick<BaselineLearner, "observe">;
  counters: Counters;
  /** The next stage. */
  next: DetectionSink;
}

/** How many recent deviation events are remembered for folding. */
export const FOLD_MEMORY = 4096;

export class DetectStage {
  readonly #detector: Detector;
  readonly #baseline: Pick<BaselineLearner, "observe"> | undefined;
  readonly #counters: Counters;
  readonly #next: DetectionSink;

  constructor(options: DetectStageOptions) {
    this.#detector = options.detector;
    this.#baseline = options.baseline;
    this.#counters = options.counters;
    this.#next = options.next;
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
    if (d.enforcement !== undefined) for (const r of d.enforcement) this.#next.enforcement(r);
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
    this.#next.alert(alert);
  }
}
