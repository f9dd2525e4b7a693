// Public API of @hangar/agent: the pipeline stages, ports, sources, simulator and replay.
export { AgentError, AgentErrorCodes, type AgentErrorCode } from "./errors.js";
export { Counters } from "./pipeline/counters.js";
export { BoundedQueue } from "./pipeline/queue.js";
export {
  NormalizeStage,
  processRecord,
  runPipeline,
  merge,
  traceEvent,
  type PipelineStages,
} from "./pipeline/pipeline.js";
export {
  TetragonNormalizer,
  hookDetail,
  type DropReason,
  type NormalizeResult,
} from "./normalize/tetragon.js";
export { HubbleNormalizer, parseLabels } from "./normalize/hubble.js";
export { PROVIDER_LABEL, eventTimeMs, kindName, timeMs } from "./normalize/event.js";
export { WorkloadResolver, type PodInfo } from "./resolve/workloads.js";
export { watchNodePods, podInfo, type PodWatch } from "./resolve/pod-watch.js";
export { Correlator } from "./correlate/correlator.js";
export { DetectStage } from "./detect/detect.js";
export {
  NoDetector,
  FunctionDetector,
  MemoryAlertSink,
  MemoryBaselineStore,
  MemoryTraceSource,
} from "./ports/memory.js";
export type {
  Alert,
  AlertSink,
  BaselineFacetName,
  BaselineStore,
  BaselineVerdict,
  CallTrace,
  Detection,
  Detector,
  EnforcementRequest,
  RuntimeEvent,
  TraceSource,
} from "./ports/ports.js";
export { tetragonSource, tetragonRequest, TETRAGON_DEFAULT_ADDRESS } from "./sources/tetragon.js";
export { hubbleSource, hubbleRequest, HUBBLE_DEFAULT_ADDRESS } from "./sources/hubble.js";
export { grpcTarget, type GrpcEndpointOptions, type TlsOptions } from "./sources/grpc.js";
export type { SensorRecord, Source } from "./sources/records.js";
export {
  startSimulator,
  type RunningSimulator,
  type SimulatorOptions,
  type StreamBehaviour,
} from "./simulator/simulator.js";
export { buildScenario, type Scenario, type ScenarioOptions } from "./simulator/scenario.js";
export { startAgent, type AgentOptions, type RunningAgent } from "./agent.js";
export { replay, type ReplayOptions, type ReplaySummary } from "./replay/replay.js";
export { parseLine, readRecording, mergeByTime, type Malformed } from "./replay/recording.js";
export { describeEvent } from "./outputs/describe.js";
export { JsonLinesAlertSink, alertJson, eventJson } from "./outputs/json-lines.js";
