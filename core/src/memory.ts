/** In-memory implementations of the core ports, for tests and for the local stack. */
import type {
  Alert,
  AlertSink,
  BaselineFacetName,
  BaselineStore,
  BaselineVerdict,
  CallTrace,
  Detection,
  Detector,
  RuntimeEvent,
  TraceSource,
} from "./ports.js";

/** A detector that never alerts: the detect stage when no rule engine is enabled. */
export class NoDetector implements Detector {
  readonly name = "none";
  process(_event: RuntimeEvent): Detection | undefined {
    return undefined;
  }
}

/** A detector from a plain function, for tests. */
export class FunctionDetector implements Detector {
  readonly name: string;
  readonly #fn: (event: RuntimeEvent) => Alert[] | undefined;
  constructor(name: string, fn: (event: RuntimeEvent) => Alert[] | undefined) {
    this.name = name;
    this.#fn = fn;
  }
  process(event: RuntimeEvent): Detection | undefined {
    const alerts = this.#fn(event);
    return alerts === undefined || alerts.length === 0 ? undefined : { alerts };
  }
}

/** A baseline held in sets; `learning` providers answer "learning". */
export class MemoryBaselineStore implements BaselineStore {
  readonly #items = new Map<string, Set<string>>();
  readonly #learning = new Set<string>();
  #version = 0;

  allow(provider: string, facet: BaselineFacetName, value: string): void {
    const key = `${provider}\u0000${facet}`;
    let set = this.#items.get(key);
    if (set === undefined) {
      set = new Set();
      this.#items.set(key, set);
    }
    set.add(value);
    this.#version++;
  }

  setLearning(provider: string, learning: boolean): void {
    if (learning) this.#learning.add(provider);
    else this.#learning.delete(provider);
  }

  observe(_event: RuntimeEvent): void {
    // The in-memory store learns only through allow(); enterprise/behavioral learns from events.
  }

  /** Every provider still learning starts enforcing. */
  finishLearning(_reason?: string): void {
    this.#learning.clear();
  }

  /** The window of each provider as configured (this store has no clock: it only keeps it). */
  readonly learningWindows = new Map<string, number>();
  configureProvider(provider: string, settings: { learningWindowMs: number }): void {
    this.learningWindows.set(provider, settings.learningWindowMs);
  }

  lookup(provider: string, facet: BaselineFacetName, value: string): BaselineVerdict {
    if (this.#learning.has(provider)) return "learning";
    const set = this.#items.get(`${provider}\u0000${facet}`);
    if (set === undefined) return "none";
    return set.has(value) ? "known" : "new";
  }

  version(_provider: string): string {
    return `mem-${this.#version}`;
  }
}

/** Collects alerts in an array. */
export class MemoryAlertSink implements AlertSink {
  readonly alerts: Alert[] = [];
  write(alert: Alert): void {
    this.alerts.push(alert);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Serves a fixed list of call traces. */
export class MemoryTraceSource implements TraceSource {
  readonly #traces: readonly CallTrace[];
  constructor(traces: readonly CallTrace[]) {
    this.#traces = traces;
  }
  async *traces(signal: AbortSignal): AsyncIterable<CallTrace> {
    for (const t of this.#traces) {
      if (signal.aborted) return;
      yield await Promise.resolve(t);
    }
  }
}
