/**
 * The detect stage: the baseline observes each event, then the detector (the
 * rule engine, when enabled) decides. Alerts go to the sinks; detection never
 * waits on them.
 */
import type { AlertSink, BaselineStore, Detection, Detector, RuntimeEvent, Alert } from "../ports/ports.js";
import type { Counters } from "../pipeline/counters.js";
import { hangar } from "@hangar/proto";

export interface DetectStageOptions {
  detector: Detector;
  baseline?: BaselineStore;
  sinks: readonly AlertSink[];
  counters: Counters;
}

export class DetectStage {
  readonly #detector: Detector;
  readonly #baseline: BaselineStore | undefined;
  readonly #sinks: readonly AlertSink[];
  readonly #counters: Counters;

  constructor(options: DetectStageOptions) {
    this.#detector = options.detector;
    this.#baseline = options.baseline;
    this.#sinks = options.sinks;
    this.#counters = options.counters;
  }

  process(ev: RuntimeEvent): void {
    this.#baseline?.observe(ev);
    this.#emit(this.#detector.process(ev));
  }

  /** End of stream: lets the detector emit what it still holds. */
  flush(): void {
    this.#emit(this.#detector.flush?.());
  }

  #emit(d: Detection | undefined): void {
    if (d === undefined) return;
    for (const alert of d.alerts) this.#alert(alert);
    if (d.enforcement !== undefined)
      this.#counters.inc("enforcement_requests", undefined, d.enforcement.length);
  }

  #alert(alert: Alert): void {
    this.#counters.inc("alerts", {
      rule: alert.ruleId,
      severity: (hangar.Severity[alert.severity] ?? "UNSPECIFIED").toLowerCase(),
    });
    for (const sink of this.#sinks) sink.write(alert);
  }
}
