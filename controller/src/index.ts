// Public API of @hangar/controller.
// The controller assembled (serve and the local stack of @hangar/stack use it).
export {
  createController,
  type ApiPartOptions,
  type ControllerOptions,
  type ProxyPartOptions,
  type ReadyCheck,
  type RunningController,
} from "./assembly/controller.js";
export { type HubPartOptions } from "./assembly/hub.js";
export { jsonLinesLog, type ControllerLog, type LogLevel } from "./assembly/log.js";
export { runServeCli, SERVE_USAGE, type ServeIO } from "./cli/serve.js";
// hangar-ctl.
export { ctl, usage } from "./ctl/ctl.js";
export { usageError, isUsageError, type CtlCommand, type CtlIO } from "./ctl/command.js";
export { runAlerts } from "./ctl/commands/alerts.js";
// The MCP proxy (issue 5): Streamable HTTP per provider, call traces as a subscribable feed.
export * from "./proxy/index.js";
// Enforcement (issue 6): policy engine, NetworkPolicy generation, apply/audit/revert.
export {
  Enforcer,
  FIELD_MANAGER,
  isManaged,
  recordId,
  type EnforcementEventJson,
  type EnforcerOptions,
} from "./enforce/engine.js";
export {
  DEFAULT_CONFIG,
  parseConfig,
  decide,
  type Action,
  type EnforcementConfig,
  type Mode,
} from "./enforce/policy.js";
export {
  ConfigMapStore,
  MemoryStore,
  type EnforcementInput,
  type EnforcementRecord,
  type EnforcementStore,
} from "./enforce/store.js";
export { generate, parseEndpoint, policyName, type Endpoint, type PolicyKind } from "./enforce/generate.js";
export { toProtoEvent } from "./enforce/event.js";
// The ground the subsystems share: errors, the Kubernetes client, leader election, baselines, plugins.
export { ControllerError, ControllerErrorCodes, type ControllerErrorCode } from "./errors.js";
export {
  KubeClient,
  kubeError,
  type KubeApi,
  type KubeObject,
  type KubeRequest,
  type KubeResponse,
} from "./kube/kube.js";
export { LeaseElector, PodRoleLabel, ROLE_LABEL, type LeaseOptions } from "./leader/leader.js";
export {
  MemoryBaselineView,
  NoBaselineView,
  behavioralBaselineMerge,
  behavioralBaselineView,
  type BaselineMergePort,
  type BaselineViewPort,
  type ProviderBaseline,
  type ProviderSummary,
} from "./baselines/baselines.js";
export { loadBehavioral, loadEnterprise, loadSemantic } from "./bootstrap/plugins.js";
// REST API and agent hub.
export { buildApp, type AppOptions } from "./api/app.js";
export { startApi, type RunningApi } from "./api/server.js";
export { AlertStore, RecentIds, type AlertStoreLimits } from "./api/alerts.js";
export {
  Authenticator,
  loadStaticTokens,
  parseTokenSecret,
  type Role,
  type StaticToken,
} from "./api/auth.js";
export {
  AgentHub,
  certificateNodes,
  type AgentIdentity,
  type HubHandlers,
  type HubOptions,
  type HubTls,
} from "./hub/hub.js";
export { MergedBaselineFanout, type MergedBaselineFanoutOptions } from "./hub/baselines.js";
export { routeCallTraces } from "./hub/traces.js";
export { readRules, watchRules } from "./hub/rules.js";
// The bundled sample MCP server (hangar-controller sample-server; the local stack's provider).
export {
  startSampleServer,
  EXFIL,
  SA_TOKEN,
  WEATHER_API,
  type Effect,
  type Proc,
  type RunningSampleServer,
  type SampleServerOptions,
} from "./sample/sample-server.js";
