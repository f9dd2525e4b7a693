/**
 * The agent pipeline: source → normalize → resolve → correlate → detect → outputs.
 *
 * Each stage is a small class with a synchronous `process` method (testable and
 * benchmarkable alone); `runPipeline` pulls records from the merged sources (the
 * only asynchronous boundary, behind bounded queues) and pushes each record
 * through the stages in one step, so an event costs no promise per stage.
 */
import { hangar } from "@hangar/proto";
import type { Correlator } from "../correlate/correlator.js";
import type { DetectStage } from "../detect/detect.js";
import { EventKind, Sensor, newEvent, newPod, type RuntimeEvent } from "../normalize/event.js";
import { HubbleNormalizer } from "../normalize/hubble.js";
import { ProbeNormalizer } from "../normalize/probe.js";
import { TetragonNormalizer, type NormalizeResult } from "../normalize/tetragon.js";
import type { WorkloadResolver } from "../resolve/workloads.js";
import type { SensorRecord } from "../sources/records.js";
import type { Counters } from "./counters.js";

/** A call trace as a tool_call runtime event (sensor: proxy). */
export function traceEvent(trace: hangar.CallTrace): RuntimeEvent {
  const ev = newEvent(EventKind.TOOL_CALL, Sensor.PROXY, {
    case: "toolCall",
    value: { $typeName: "hangar.v1.ToolCallDetail", trace },
  });
  ev.id = `call:${trace.traceId}:${trace.spanId}`;
  ev.provider = trace.provider;
  ev.node = trace.node;
  if (trace.startTime !== undefined) ev.time = trace.startTime;
  if (trace.podName !== "" || trace.podNamespace !== "") {
    const pod = newPod(trace.podNamespace, trace.podName, {});
    pod.uid = trace.podUid;
    ev.pod = pod;
  }
  return ev;
}

/** The normalize stage: any SensorRecord → at most one RuntimeEvent. */
export class NormalizeStage {
  readonly #tetragon: TetragonNormalizer;
  readonly #hubble: HubbleNormalizer;
  readonly #probe: ProbeNormalizer;
  readonly #counters: Counters;

  /** `probe`: the eBPF probe's normalizer (node name, cgroup resolver); a bare one by default. */
  constructor(counters: Counters, options: { probe?: ProbeNormalizer } = {}) {
    this.#counters = counters;
    this.#tetragon = new TetragonNormalizer(counters);
    this.#hubble = new HubbleNormalizer(counters);
    this.#probe = options.probe ?? new ProbeNormalizer({ counters });
  }

  process(rec: SensorRecord): NormalizeResult {
    let r: NormalizeResult;
    switch (rec.sensor) {
      case "tetragon":
        r = this.#tetragon.normalize(rec.msg);
        break;
      case "hubble":
        r = this.#hubble.normalize(rec.msg);
        break;
      case "proxy":
        r = { event: traceEvent(rec.trace) };
        break;
      case "probe":
        r = this.#probe.normalize(rec.msg);
        break;
    }
    if (r.event !== undefined)
      this.#counters.inc("events", {
        sensor: rec.sensor,
        kind: hangar.EventKind[r.event.kind]?.toLowerCase() ?? "unspecified",
      });
    return r;
  }
}

export interface PipelineStages {
  normalize: NormalizeStage;
  resolver: WorkloadResolver;
  correlator: Correlator;
  detect: DetectStage;
  counters: Counters;
  /** Called with every kept event after detection (e.g. to print it). */
  onEvent?: (ev: RuntimeEvent) => void;
}

/** Pushes one record through every stage. Returns the kept event, if any. */
export function processRecord(stages: PipelineStages, rec: SensorRecord): RuntimeEvent | undefined {
  const { event } = stages.normalize.process(rec);
  if (event === undefined) return undefined;
  if (!stages.resolver.resolve(event)) return undefined;
  if (!stages.correlator.process(event)) {
    stages.counters.inc("dropped", { reason: "call_end" });
    return undefined;
  }
  stages.detect.process(event);
  stages.counters.inc("kept");
  stages.onEvent?.(event);
  return event;
}

/** Runs the pipeline until the records end (replay) or the sources stop (abort). */
export async function runPipeline(
  stages: PipelineStages,
  records: AsyncIterable<SensorRecord>,
): Promise<void> {
  for await (const rec of records) processRecord(stages, rec);
  stages.detect.flush();
}

/**
 * Merges several async iterables into one, in arrival order. Ends when all end;
 * an error in one ends the merge with that error.
 */
export async function* merge<T>(sources: readonly AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const pull = (i: number): void => {
    const it = iterators[i];
    if (it !== undefined)
      pending.set(
        i,
        it.next().then((r) => ({ i, r })),
      );
  };
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done === true) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield r.value;
    }
  } finally {
    // Every source still in `pending` has a next() in flight. An async generator
    // handles return() only after that next() settles, which for an idle live
    // source may be never: awaiting it here would hang the merge instead of
    // ending it. Close them without waiting, and ignore what the next() brings.
    for (const [i, p] of pending) {
      p.catch(() => undefined);
      iterators[i]?.return?.()?.catch(() => undefined);
    }
  }
}
