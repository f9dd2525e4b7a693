/**
 * The outputs stage: every alert to every sink (stdout, the controller's hub, SIEM
 * destinations), every enforcement request to the controller, each counted. Sinks never
 * block: they queue and deliver on their own (see the `AlertSink` port). What leaves is bounded
 * first (core/src/bound.ts): a field over the size limits is cut with a visible marker and
 * counted, so one huge event cannot make a message the hub or a SIEM refuses.
 */
import { hangar } from "@hangar/proto";
import {
  boundAlert,
  boundEnforcement,
  type Alert,
  type AlertSink,
  type Counters,
  type EnforcementRequest,
} from "@hangar/core";
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
    const b = boundAlert(alert);
    if (b.truncated.length > 0) {
      this.#counters.inc("alerts_truncated", { rule: alert.ruleId });
      this.#counters.inc("alert_fields_truncated", undefined, b.truncated.length);
    }
    for (const sink of this.#sinks) sink.write(b.alert);
  }

  enforcement(request: EnforcementRequest): void {
    this.#counters.inc("enforcement_requests");
    const b = boundEnforcement(request);
    if (b.truncated.length > 0) {
      this.#counters.inc("alerts_truncated", { rule: request.ruleId });
      this.#counters.inc("alert_fields_truncated", undefined, b.truncated.length);
    }
    this.#onEnforcement?.(b.request);
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
