// Public API of @hangar/agent: the pipeline stages, ports, sources, simulator and replay.
export { AgentError, AgentErrorCodes, type AgentErrorCode } from "./errors.js";
export { createPipeline, type Pipeline, type PipelineOptions, type RunOptions } from "./pipeline/pipeline.js";
export { merge } from "./pipeline/merge.js";
export { NormalizeStage } from "./normalize/stage.js";
export { traceEvent } from "./normalize/traces.js";
export { DetectStage, type DetectionSink, type DetectStageOptions } from "./detect/detect.js";
export { ExplainStage, type ExplainStageOptions } from "./explain/explain.js";
export { OutputStage, type OutputStageOptions } from "./outputs/outputs.js";
export {
  TetragonNormalizer,
  hookDetail,
  type DropReason,
  type NormalizeResult,
} from "./normalize/tetragon.js";
export { HubbleNormalizer, parseLabels } from "./normalize/hubble.js";
export { WorkloadResolver, type PodInfo } from "./resolve/workloads.js";
export { watchNodePods, podInfo, type PodWatch } from "./resolve/pod-watch.js";
export { Correlator } from "./correlate/correlator.js";
export { explainAlert, chainText, effectText, valueJson, type CallLookup } from "./explain/explain.js";
export { holdRuntime, type HoldOptions } from "./hold/hold.js";
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
export { replay, defaultRulesDir, type ReplayOptions, type ReplaySummary } from "./replay/replay.js";
export {
  compileRuleSources,
  loadBaselineStore,
  loadRuleEngine,
  type BaselineOptions,
  type RuleEngineOptions,
} from "./bootstrap/plugins.js";
export { parseLine, readRecording, mergeByTime, type Malformed } from "./replay/recording.js";
export {
  probeSource,
  startAgentProbe,
  findLoader,
  probePrerequisites,
  defaultLoaderPaths,
  DEFAULT_PROBE_PREFIXES,
  type ProbeSourceOptions,
  type AgentProbeOptions,
  type ProbeSyncInfo,
} from "./sources/probe/source.js";
export { ProbeNormalizer } from "./normalize/probe.js";
export {
  decodeProbeEvent,
  decodeProbeMeta,
  PROBE_RECORD_SIZE,
  PROBE_EVENT_LAYOUT,
  PROBE_ABI,
  ProbeKind,
  type ProbeEvent,
  type ProbeMeta,
} from "./sources/probe/records.js";
export { McpPodTracker } from "./resolve/mcp-pods.js";
export {
  CgroupResolver,
  detectHierarchy,
  findHierarchy,
  loaderMode,
  parseCgroupPath,
  type CgroupHierarchy,
  type CgroupIdentity,
  type McpPods,
} from "./sources/probe/cgroups.js";
export {
  createTestPod,
  runProbeScenario,
  testPodPrerequisites,
  type PeerConnection,
  type PodProcess,
  type TestPod,
  type TestPodOptions,
} from "./selftest/probe.js";
export { HubClient, HubRefusal, type HubClientOptions, type DeadLetter } from "./hub/client.js";
export { HubInbox, type HubInboxTargets } from "./hub/inbox.js";
export {
  RuleUpdates,
  SwappableDetector,
  type RuleCompiler,
  type RuleUpdateOutcome,
  type RuleUpdatesOptions,
} from "./detect/rule-updates.js";
export {
  LearningWindows,
  parseLearningWindow,
  LEARNING_WINDOW_ANNOTATION,
} from "./resolve/learning-window.js";
export {
  DiskOutbox,
  MemoryOutbox,
  type DiskOutboxOptions,
  type HubOutbox,
  type OutboxDropHandler,
} from "./hub/outbox.js";
