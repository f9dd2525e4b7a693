/**
 * The live agent: sensor sources → pipeline → outputs, with health endpoints and
 * a graceful shutdown that stops intake, drains the queues and flushes outputs.
 */
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Correlator } from "./correlate/correlator.js";
import { DetectStage } from "./detect/detect.js";
import { startHealthServer, type HealthServer } from "./health.js";
import type { RuntimeEvent } from "./normalize/event.js";
import { Counters } from "./pipeline/counters.js";
import { NormalizeStage, merge, runPipeline } from "./pipeline/pipeline.js";
import { NoDetector } from "./ports/memory.js";
import type { AlertSink, BaselineStore, Detector, TraceSource } from "./ports/ports.js";
import { traceRecords } from "./sources/traces.js";
import { watchNodePods, type PodWatch } from "./resolve/pod-watch.js";
import { WorkloadResolver } from "./resolve/workloads.js";
import { grpcTarget, type TlsOptions } from "./sources/grpc.js";
import type { BackoffOptions } from "./sources/backoff.js";
import { hubbleSource } from "./sources/hubble.js";
import type { SensorRecord } from "./sources/records.js";
import { tetragonSource } from "./sources/tetragon.js";

export interface SensorEndpoint {
  address: string;
  tls?: TlsOptions;
  maxReceiveMessageBytes?: number;
  backoff?: BackoffOptions;
}

export interface AgentOptions {
  node: string;
  tetragon?: SensorEndpoint;
  hubble?: SensorEndpoint;
  namespaces: readonly string[];
  /** Call traces of the MCP proxy (the controller stream; a recording in the local stack). */
  traceSource?: TraceSource;
  /** Watch this node's pods through the Kubernetes API (default: when running in a cluster). */
  kubeConfig?: k8s.KubeConfig;
  healthPort?: number;
  detector?: Detector;
  baseline?: BaselineStore;
  sinks: readonly AlertSink[];
  onEvent?: (ev: RuntimeEvent) => void;
  logger: Logger;
  counters?: Counters;
  queueCapacity?: number;
  graceMs?: number;
}

export interface RunningAgent {
  readonly counters: Counters;
  readonly health?: HealthServer;
  /** Resolves when the pipeline has drained after `stop()` (or the sources ended). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const counters = opts.counters ?? new Counters();
  const { logger } = opts;
  // Bad addresses are configuration errors: report them before anything starts.
  if (opts.tetragon !== undefined) grpcTarget(opts.tetragon.address);
  if (opts.hubble !== undefined) grpcTarget(opts.hubble.address);
  const controller = new AbortController();
  const signal = controller.signal;
  const resolver = new WorkloadResolver(counters);
  const sources: AsyncIterable<SensorRecord>[] = [];
  const base = {
    counters,
    logger,
    namespaces: opts.namespaces,
    ...(opts.queueCapacity === undefined ? {} : { queueCapacity: opts.queueCapacity }),
  };
  if (opts.tetragon !== undefined) sources.push(tetragonSource({ ...base, ...opts.tetragon }, signal));
  if (opts.hubble !== undefined) sources.push(hubbleSource({ ...base, ...opts.hubble }, signal));
  if (opts.traceSource !== undefined) sources.push(traceRecords(opts.traceSource, signal));
  let podWatch: PodWatch | undefined;
  if (opts.kubeConfig !== undefined) {
    podWatch = watchNodePods({
      kubeConfig: opts.kubeConfig,
      nodeName: opts.node,
      resolver,
      counters,
      logger,
    });
  }
  const detector: Detector = opts.detector ?? new NoDetector();
  const detect = new DetectStage({
    detector,
    ...(opts.baseline === undefined ? {} : { baseline: opts.baseline }),
    sinks: opts.sinks,
    counters,
  });
  const health =
    opts.healthPort === undefined
      ? undefined
      : await startHealthServer({
          port: opts.healthPort,
          counters,
          notReady: () => {
            if (
              opts.tetragon !== undefined &&
              counters.get("sensor_connects", { sensor: "tetragon" }) === 0
            ) {
              return "tetragon stream not connected yet";
            }
            if (opts.hubble !== undefined && counters.get("sensor_connects", { sensor: "hubble" }) === 0) {
              return "hubble stream not connected yet";
            }
            if (podWatch !== undefined && !podWatch.isSynced()) return "pod watch not synced yet";
            if (signal.aborted) return "shutting down";
            return undefined;
          },
        });
  const records = sources.length === 1 ? (sources[0] as AsyncIterable<SensorRecord>) : merge(sources);
  const done = runPipeline(
    {
      normalize: new NormalizeStage(counters),
      resolver,
      correlator: new Correlator({
        counters,
        ...(opts.graceMs === undefined ? {} : { graceMs: opts.graceMs }),
      }),
      detect,
      counters,
      ...(opts.onEvent === undefined ? {} : { onEvent: opts.onEvent }),
    },
    records,
  );
  let stopping: Promise<void> | undefined;
  return {
    counters,
    ...(health === undefined ? {} : { health }),
    done,
    stop() {
      stopping ??= (async () => {
        logger.info("stopping: closing sensor streams and draining the pipeline");
        controller.abort();
        await done.catch((err: unknown) => logger.error({ err }, "pipeline ended with an error"));
        await podWatch?.stop();
        for (const sink of opts.sinks) await sink.shutdown();
        await detector.close?.();
        await opts.baseline?.close?.();
        await health?.close();
        logger.info({ counters: counters.snapshot() }, "stopped");
      })();
      return stopping;
    },
  };
}
