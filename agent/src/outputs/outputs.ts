/**
 * The outputs stage: every alert to every sink (stdout, the controller's hub, SIEM
 * destinations), every enforcement request to the controller, each counted. Sinks never
 * block: they queue and deliver on their own (see the `AlertSink` port).
 */
import { hangar } from "@hangar/proto";
import type { Alert, AlertSink, Counters, EnforcementRequest } from "@hangar/core";
import type { DetectionSink } from "../detect/detect.js";

export interface OutputStageOptions {
  sinks: readonly AlertSink[];
  counters: Counters;
  /** Where the detector's enforcement requests go (the controller's hub); counted either way. */
  onEnforcement?: (request: EnforcementRequest) => void;
}

export class OutputStage implements DetectionSink {
  readonly #sinks: readonly AlertSink[];
  readonly #counters: Counters;
  readonly #onEnforcement: ((request: EnforcementRequest) => void) | undefined;

  constructor(options: OutputStageOptions) {
    this.#sinks = options.sinks;
    this.#counters = options.counters;
    this.#onEnforcement = options.onEnforcement;
  }

  alert(alert: Alert): void {
    this.#counters.inc("alerts", {
      rule: alert.ruleId,
      severity: (hangar.Severity[alert.severity] ?? "UNSPECIFIED").toLowerCase(),
    });
    for (const sink of this.#sinks) sink.write(alert);
  }

  enforcement(request: EnforcementRequest): void {
    this.#counters.inc("enforcement_requests");
    this.#onEnforcement?.(request);
  }

  /** Resolves when everything written so far is delivered or spooled. */
  async flush(): Promise<void> {
    for (const sink of this.#sinks) await sink.flush();
  }

  /** Flushes once and releases every sink. */
  async shutdown(): Promise<void> {
    for (const sink of this.#sinks) await sink.shutdown();
  }
}
