/**
 * Per-provider learning windows from the pod annotation
 * `mcp-hangar.io/learning-window` ("30m", "2h", "1h30m", "1d"): the pod watch
 * hands every pod here, and the baseline store is told the window of the
 * provider the pod belongs to (`BaselineStore.configureProvider`). A value that
 * is not a duration is reported once per pod and value, naming both, and the
 * provider keeps the window it has. When pods of one provider disagree, the
 * last one seen wins and the change is logged.
 */
import type { Logger } from "pino";
import { PROVIDER_LABEL, type Counters, type BaselineStore } from "@hangar/core";
import type { PodInfo } from "./workloads.js";

export const LEARNING_WINDOW_ANNOTATION = "mcp-hangar.io/learning-window";

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** "30m", "2h", "1h30m", "45s", "1d" → ms; undefined when not a positive duration. */
export function parseLearningWindow(text: string): number | undefined {
  const s = text.trim();
  // eslint-disable-next-line security/detect-unsafe-regex -- linear: each optional group ends in its own unit letter, anchored
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s);
  if (m === null || s === "") return undefined;
  const total = ["d", "h", "m", "s"].reduce(
    (sum, unit, i) => sum + Number(m[i + 1] ?? 0) * (UNIT_MS[unit] as number),
    0,
  );
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

export interface LearningWindowsOptions {
  baseline: Pick<BaselineStore, "configureProvider">;
  logger: Logger;
  counters: Counters;
}

export class LearningWindows {
  readonly #o: LearningWindowsOptions;
  /** provider → annotation value applied last. */
  readonly #applied = new Map<string, string>();
  /** `uid\0value` of bad values already reported. */
  readonly #warned = new Set<string>();

  constructor(options: LearningWindowsOptions) {
    this.#o = options;
  }

  /** Looks at one pod (added or updated). */
  pod(pod: PodInfo): void {
    const provider = pod.labels[PROVIDER_LABEL];
    const value = pod.annotations?.[LEARNING_WINDOW_ANNOTATION];
    if (provider === undefined || provider === "" || value === undefined) return;
    if (this.#applied.get(provider) === value) return;
    const ms = parseLearningWindow(value);
    const where = `pod ${pod.namespace}/${pod.name}`;
    if (ms === undefined) {
      const key = `${pod.uid}\u0000${value}`;
      if (this.#warned.has(key)) return;
      if (this.#warned.size > 10_000) this.#warned.clear();
      this.#warned.add(key);
      this.#o.counters.inc("config_warnings", { reason: "learning_window" });
      this.#o.logger.warn(
        { pod: `${pod.namespace}/${pod.name}`, provider, annotation: LEARNING_WINDOW_ANNOTATION, value },
        `${where}: annotation ${LEARNING_WINDOW_ANNOTATION}=${JSON.stringify(value)} is not a duration (e.g. 30m, 2h, 1h30m); provider ${provider} keeps its learning window`,
      );
      return;
    }
    const before = this.#applied.get(provider);
    this.#applied.set(provider, value);
    this.#o.baseline.configureProvider(provider, { learningWindowMs: ms, source: "annotation" });
    this.#o.logger.info(
      { pod: `${pod.namespace}/${pod.name}`, provider, learningWindow: value, ...(before ? { before } : {}) },
      `provider ${provider}: learning window ${value} (from ${where})`,
    );
  }
}
