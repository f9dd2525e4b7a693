/**
 * The live agent: the sensor sources, the pod watch and the pipeline (`createPipeline`),
 * with health endpoints and a graceful shutdown that stops intake, drains the queues and
 * flushes outputs.
 */
import type * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  Counters,
  type AlertSink,
  type BaselineStore,
  type Detector,
  type EnforcementRequest,
  type RuntimeEvent,
  type TraceSource,
  type BackoffOptions,
} from "@hangar/core";
import { AgentError } from "./errors.js";
import { startHealthServer, type HealthServer } from "./health.js";
import { createPipeline } from "./pipeline/pipeline.js";
import { LearningWindows } from "./resolve/learning-window.js";
import { McpPodTracker } from "./resolve/mcp-pods.js";
import type { PodWatch } from "./resolve/pod-watch.js";
import { WorkloadResolver, type PodInfo } from "./resolve/workloads.js";
import { grpcTarget, type TlsOptions } from "./sources/grpc.js";
import { hubbleSource } from "./sources/hubble.js";
import { startAgentProbe, type AgentProbeOptions } from "./sources/probe/source.js";
import type { SourceRecord } from "./sources/records.js";
import { tetragonSource } from "./sources/tetragon.js";
import { traceRecords } from "./sources/traces.js";

/** The pod annotation `mcp-hangar.io/learning-window` sets the provider's learning window. */
function learningWindows(
  baseline: BaselineStore,
  logger: Logger,
  counters: Counters,
): (pod: PodInfo) => void {
  const lw = new LearningWindows({ baseline, logger, counters });
  return (pod) => lw.pod(pod);
}

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
  /**
   * The own eBPF probe (bpf/probe). When it is not built or not permitted the agent runs
   * without it and logs why (unless `probe.required`).
   */
  probe?: AgentProbeOptions;
  /** The workload resolver (default: a new one); tests pass one that already holds pods. */
  resolver?: WorkloadResolver;
  namespaces: readonly string[];
  /** Call traces of the MCP proxy (the controller stream; a recording in the local stack). */
  traceSource?: TraceSource;
  /** Watch this node's pods through the Kubernetes API (default: when running in a cluster). */
  kubeConfig?: k8s.KubeConfig;
  healthPort?: number;
  /** What /healthz reports as degraded (e.g. "spool full: …"), or undefined when all is well. */
  degraded?: () => string | undefined;
  detector?: Detector;
  baseline?: BaselineStore;
  sinks: readonly AlertSink[];
  onEvent?: (ev: RuntimeEvent) => void;
  logger: Logger;
  counters?: Counters;
  queueCapacity?: number;
  graceMs?: number;
  /** Where the detector's enforcement requests go (the controller's hub). */
  onEnforcement?: (request: EnforcementRequest) => void;
  /** With a traceSource: how long runtime events wait for late call traces (default 250 ms; see correlate/hold.ts). */
  traceHoldMs?: number;
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
  const resolver =
    opts.resolver ??
    (opts.probe !== undefined ? new McpPodTracker(counters) : new WorkloadResolver(counters));
  const sources: AsyncIterable<SourceRecord>[] = [];
  const base = {
    counters,
    logger,
    namespaces: opts.namespaces,
    ...(opts.queueCapacity === undefined ? {} : { queueCapacity: opts.queueCapacity }),
  };
  if (opts.tetragon !== undefined) sources.push(tetragonSource({ ...base, ...opts.tetragon }, signal));
  if (opts.hubble !== undefined) sources.push(hubbleSource({ ...base, ...opts.hubble }, signal));
  if (opts.traceSource !== undefined) sources.push(traceRecords(opts.traceSource, signal));
  let probe: ReturnType<typeof startAgentProbe>;
  if (opts.probe !== undefined) {
    if (!(resolver instanceof McpPodTracker))
      throw new AgentError("HANGAR_ERR_CONFIG_INVALID", "the probe needs an McpPodTracker as the resolver");
    probe = startAgentProbe(opts.probe, { node: opts.node, pods: resolver, counters, logger }, signal);
    if (probe !== undefined) sources.push(probe.records);
  }
  let podWatch: PodWatch | undefined;
  if (opts.kubeConfig !== undefined) {
    // Loaded only when used: the Kubernetes client is ~15 MiB of heap a node without a
    // kubeconfig (replay, the local stack, identity from event labels) never needs.
    const { watchNodePods } = await import("./resolve/pod-watch.js");
    podWatch = watchNodePods({
      kubeConfig: opts.kubeConfig,
      nodeName: opts.node,
      resolver,
      counters,
      logger,
      ...(opts.baseline !== undefined ? { onPod: learningWindows(opts.baseline, logger, counters) } : {}),
    });
  }
  const pipeline = createPipeline({
    counters,
    resolver,
    ...(opts.detector === undefined ? {} : { detector: opts.detector }),
    ...(opts.baseline === undefined ? {} : { baseline: opts.baseline }),
    sinks: opts.sinks,
    ...(opts.onEnforcement === undefined ? {} : { onEnforcement: opts.onEnforcement }),
    ...(opts.onEvent === undefined ? {} : { onEvent: opts.onEvent }),
    ...(probe === undefined ? {} : { probe: { node: opts.node, cgroups: probe.cgroups } }),
    ...(opts.graceMs === undefined ? {} : { correlate: { graceMs: opts.graceMs } }),
    onUndecodable: (sensor, err) => logger.warn({ err }, `${sensor}: undecodable message skipped`),
  });
  // A quiet node still moves the detector's clock on (held events, expiring sequences).
  const clock = setInterval(() => pipeline.tick(), 500);
  clock.unref();
  const health =
    opts.healthPort === undefined
      ? undefined
      : await startHealthServer({
          port: opts.healthPort,
          counters,
          ...(opts.degraded === undefined ? {} : { degraded: opts.degraded }),
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
  // With live call traces, runtime records wait a little for the trace of the call that caused them.
  const done = pipeline.run(sources, {
    signal,
    ...(opts.traceSource === undefined
      ? {}
      : { hold: opts.traceHoldMs === undefined ? {} : { holdMs: opts.traceHoldMs } }),
  });
  let stopping: Promise<void> | undefined;
  return {
    counters,
    ...(health === undefined ? {} : { health }),
    done,
    stop() {
      stopping ??= (async () => {
        logger.info("stopping: closing sensor streams and draining the pipeline");
        controller.abort();
        clearInterval(clock);
        await done.catch((err: unknown) => logger.error({ err }, "pipeline ended with an error"));
        await podWatch?.stop();
        await pipeline.stages.outputs.shutdown();
        await opts.detector?.close?.();
        await opts.baseline?.close?.();
        await health?.close();
        logger.info({ counters: counters.snapshot() }, "stopped");
      })();
      return stopping;
    },
  };
}
