/**
 * The agent pipeline, assembled in one place: sources → hold → normalize → resolve →
 * correlate → detect (baseline, rules) → explain → outputs. `hangar-agent run` (through
 * `startAgent`), `hangar-agent replay`, the benchmarks and the tests all build it with
 * `createPipeline`.
 *
 * Each stage is a small class with a synchronous method, testable and benchmarkable
 * alone. The pipeline pulls records from its sources (the only asynchronous boundary,
 * behind bounded queues in each source) and pushes each record through every stage in
 * one step, so an event costs no promise per stage.
 */
import {
  Counters,
  NoDetector,
  type AlertSink,
  type BaselineLearner,
  type Detector,
  type EnforcementRequest,
  type RuntimeEvent,
} from "@hangar/core";
import { Correlator, type CorrelatorOptions } from "../correlate/correlator.js";
import { DetectStage } from "../detect/detect.js";
import { ExplainStage } from "../explain/explain.js";
import { holdRuntime, type HoldOptions } from "../hold/hold.js";
import { ProbeNormalizer } from "../normalize/probe.js";
import { NormalizeStage } from "../normalize/stage.js";
import { OutputStage } from "../outputs/outputs.js";
import { DnsNames } from "../resolve/names.js";
import { WorkloadResolver } from "../resolve/workloads.js";
import type { CgroupResolver } from "../sources/probe/cgroups.js";
import type { SensorRecord, SourceRecord } from "../sources/records.js";
import { decodeTetragonBytes } from "../sources/tetragon.js";
import { merge } from "./merge.js";

export interface PipelineOptions {
  /** Counters every stage counts into (default: new ones). */
  counters?: Counters;
  /** The rule engine (default: none, `NoDetector`). */
  detector?: Detector;
  /** The baseline engine: learns and raises deviation alerts. */
  baseline?: Pick<BaselineLearner, "observe">;
  /** Where alerts go (default: nowhere). */
  sinks?: readonly AlertSink[];
  /** Where the detector's enforcement requests go (the controller's hub). */
  onEnforcement?: (request: EnforcementRequest) => void;
  /** Called with every kept event after detection (e.g. to print it). */
  onEvent?: (ev: RuntimeEvent) => void;
  /** The workload resolver (default: a new one; the live agent passes the one its pod watch fills). */
  resolver?: WorkloadResolver;
  /** The eBPF probe's node name and cgroup resolver, for its normalizer. */
  probe?: { node: string; cgroups: CgroupResolver };
  /** Correlation settings (grace after a call, reorder window, lineage bound). */
  correlate?: Omit<CorrelatorOptions, "counters">;
  /** Call traces the explain stage remembers (default 16 384). */
  maxTraces?: number;
  /**
   * Told of each source message that cannot be decoded (counted as dropped{reason=undecodable}
   * and skipped), e.g. to log it.
   */
  onUndecodable?: (sensor: "tetragon", err: unknown) => void;
}

/** How `run` reads its sources. */
export interface RunOptions {
  /**
   * Live call traces: runtime records wait `holdMs` for the trace of the call that caused
   * them (see hold/hold.ts). Replay merges by event time and needs no hold.
   */
  hold?: Omit<HoldOptions, "counters">;
  /** Ends the hold's wait when aborted. */
  signal?: AbortSignal;
}

export interface Pipeline {
  readonly counters: Counters;
  readonly resolver: WorkloadResolver;
  /** The stages, for tests and benchmarks that look at one of them. */
  readonly stages: {
    readonly normalize: NormalizeStage;
    readonly resolve: WorkloadResolver;
    readonly names: DnsNames;
    readonly correlate: Correlator;
    readonly detect: DetectStage;
    readonly explain: ExplainStage;
    readonly outputs: OutputStage;
  };
  /**
   * Pushes one record through every stage (Tetragon bytes are decoded first; bytes that cannot
   * be are counted dropped{reason=undecodable} and reported to `onUndecodable`). Returns the
   * kept event, if any.
   */
  process(rec: SourceRecord): RuntimeEvent | undefined;
  /**
   * Runs until the sources end (replay) or stop (abort), then flushes the detector.
   * Several sources are merged in arrival order.
   */
  run(
    sources: AsyncIterable<SourceRecord> | readonly AsyncIterable<SourceRecord>[],
    options?: RunOptions,
  ): Promise<void>;
  /** Live pipelines call this on a timer: moves the detector's clock on when no event arrives. */
  tick(now?: number): void;
  /** End of stream: lets the detector emit what it still holds. */
  flush(): void;
}

export function createPipeline(options: PipelineOptions = {}): Pipeline {
  const counters = options.counters ?? new Counters();
  const resolver = options.resolver ?? new WorkloadResolver(counters);
  const normalize = new NormalizeStage(
    counters,
    options.probe === undefined
      ? {}
      : {
          probe: new ProbeNormalizer({ counters, node: options.probe.node, cgroups: options.probe.cgroups }),
        },
  );
  const names = new DnsNames(counters);
  const correlate = new Correlator({ ...options.correlate, counters });
  const outputs = new OutputStage({
    sinks: options.sinks ?? [],
    counters,
    ...(options.onEnforcement === undefined ? {} : { onEnforcement: options.onEnforcement }),
  });
  const explain = new ExplainStage({
    next: outputs,
    ...(options.maxTraces === undefined ? {} : { maxTraces: options.maxTraces }),
  });
  const detect = new DetectStage({
    detector: options.detector ?? new NoDetector(),
    ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
    counters,
    next: explain,
  });
  const onEvent = options.onEvent;
  // Counted for (nearly) every event: resolved once (see Counters.handle).
  const kept = counters.handle("kept");
  const callEnds = counters.handle("dropped", { reason: "call_end" });
  const undecodable = counters.handle("dropped", { reason: "undecodable" });

  const process = (rec: SourceRecord): RuntimeEvent | undefined => {
    if (rec.sensor === "tetragon-bytes") {
      // Decoded here, after the hold, so that what is held is bytes (see TetragonBytesRecord).
      let decoded: SensorRecord;
      try {
        decoded = decodeTetragonBytes(rec);
      } catch (err) {
        undecodable.inc();
        options.onUndecodable?.("tetragon", err);
        return undefined;
      }
      return processRecord(decoded);
    }
    return processRecord(rec);
  };
  const processRecord = (rec: SensorRecord): RuntimeEvent | undefined => {
    const { event } = normalize.process(rec);
    if (event === undefined) return undefined;
    if (!resolver.resolve(event)) return undefined;
    names.process(event);
    // Every call trace, its end too, before the correlator holds the end back.
    explain.record(event);
    if (!correlate.process(event)) {
      callEnds.inc();
      return undefined;
    }
    detect.process(event);
    kept.inc();
    onEvent?.(event);
    return event;
  };

  return {
    counters,
    resolver,
    stages: { normalize, resolve: resolver, names, correlate, detect, explain, outputs },
    process,
    async run(sources, runOptions = {}) {
      const list: readonly AsyncIterable<SourceRecord>[] = Array.isArray(sources)
        ? sources
        : [sources as AsyncIterable<SourceRecord>];
      const merged = list.length === 1 ? (list[0] as AsyncIterable<SourceRecord>) : merge(list);
      const records =
        runOptions.hold === undefined
          ? merged
          : holdRuntime(
              merged,
              { ...runOptions.hold, counters },
              runOptions.signal ?? new AbortController().signal,
            );
      for await (const rec of records) process(rec);
      detect.flush();
    },
    tick(now) {
      detect.tick(now);
    },
    flush() {
      detect.flush();
    },
  };
}
