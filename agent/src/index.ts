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
export { formatIPv6 } from "./normalize/ipv6.js";
export { WorkloadResolver, type PodInfo } from "./resolve/workloads.js";
export { watchNodePods, podInfo, type PodWatch } from "./resolve/pod-watch.js";
export { Correlator } from "./correlate/correlator.js";
export { explainAlert, chainText, effectText, valueJson, type CallLookup } from "./correlate/explain.js";
export { holdRuntime, type HoldOptions } from "./correlate/hold.js";
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
export { replay, defaultRulesDir, type ReplayOptions, type ReplaySummary } from "./replay/replay.js";
export {
  compileRuleSources,
  loadBaselineStore,
  loadRuleEngine,
  type BaselineOptions,
  type RuleEngineOptions,
} from "./bootstrap/plugins.js";
export { parseLine, readRecording, mergeByTime, type Malformed } from "./replay/recording.js";
export { describeEvent } from "./outputs/describe.js";
export { JsonLinesAlertSink, alertJson, eventJson } from "./outputs/json-lines.js";
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
} from "./sources/probe.js";
export {
  ProbeNormalizer,
  decodeProbeEvent,
  decodeProbeMeta,
  PROBE_RECORD_SIZE,
  PROBE_ABI,
  ProbeKind,
  type ProbeEvent,
  type ProbeMeta,
} from "./normalize/probe.js";
export {
  CgroupResolver,
  McpPodTracker,
  detectHierarchy,
  findHierarchy,
  parseCgroupPath,
  type CgroupHierarchy,
  type CgroupIdentity,
  type McpPods,
} from "./resolve/cgroups.js";
export { createTestPod, runProbeScenario, testPodPrerequisites, type TestPod } from "./cli/probe.js";
export { HubClient, type HubClientOptions } from "./hub/client.js";
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
// SIEM export (CEF, LEEF, JSON lines over syslog/file/stdout, with a disk spool) and metrics.
export {
  cefHeader,
  cefValue,
  encodeCef,
  DEFAULT_PRODUCT as CEF_DEFAULT_PRODUCT,
  DEFAULT_VENDOR as CEF_DEFAULT_VENDOR,
  type CefOptions,
} from "./outputs/siem/cef.js";
export { encodeLeef, leefTime, LEEF_TIME_FORMAT, type LeefOptions } from "./outputs/siem/leef.js";
export { encodeJson } from "./outputs/siem/json.js";
export {
  alertRecord,
  enforcementRecord,
  externalId,
  signatureId,
  severityScore,
  CS_LABELS,
  type CustomString,
  type EnforcementEvent,
  type SiemRecord,
} from "./outputs/siem/record.js";
export {
  syslogLine,
  syslogSeverity,
  frame,
  FACILITIES,
  type Framing,
  type SyslogHeaderOptions,
} from "./outputs/siem/syslog.js";
export {
  StreamTransport,
  UdpTransport,
  FileTransport,
  WritableTransport,
  type Transport,
  type StreamTransportOptions,
} from "./outputs/siem/transport.js";
export {
  DiskSpool,
  type OverflowPolicy,
  type SpoolOptions,
  type SpoolPosition,
} from "./outputs/siem/spool.js";
export { Destination, type DestinationOptions } from "./outputs/siem/destination.js";
export {
  SiemSink,
  recordEncoder,
  facilityNumber,
  type SiemDestinationConfig,
  type SiemFormat,
  type SiemSinkOptions,
  type SiemTransportKind,
} from "./outputs/siem/sink.js";
export { parseSiemUrl } from "./outputs/siem/config.js";
export { CefLinesAlertSink } from "./outputs/siem/lines.js";
export {
  startMetrics,
  parseCounterKey,
  COUNTER_MAPPINGS,
  HANGAR_ATTR,
  MCP_ATTR,
  MCP_DURATION_BUCKETS,
  type AgentMetrics,
  type MetricsOptions,
  type OtlpOptions,
} from "./metrics/metrics.js";
