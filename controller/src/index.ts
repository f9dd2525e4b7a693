// Public API of @hangar/controller.
export { ctl, usage } from "./ctl/ctl.js";
export { UsageError, type CtlCommand, type CtlIO } from "./ctl/command.js";
// The MCP proxy (issue 5): Streamable HTTP per provider, call traces as a subscribable feed.
export * from "./proxy/index.js";
// Enforcement (issue 6): policy engine, NetworkPolicy generation, apply/audit/revert, Lease.
export {
  Enforcer,
  FIELD_MANAGER,
  isManaged,
  recordId,
  type EnforcementEventJson,
  type EnforcerOptions,
} from "./enforce/engine.js";
export {
  KubeClient,
  type KubeObject,
  type KubeRequest,
  type KubeResponse,
  type PolicyKind,
} from "./enforce/kube.js";
export { LeaseElector, type LeaseOptions } from "./enforce/leader.js";
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
export { generate, parseEndpoint, policyName, type Endpoint } from "./enforce/generate.js";
export {
  MemoryBaselineView,
  NoBaselineView,
  behavioralBaselineView,
  type BaselineViewPort,
  type ProviderBaseline,
  type ProviderSummary,
} from "./enforce/baseline-view.js";
export { ControllerError, ControllerErrorCodes, type ControllerErrorCode } from "./enforce/errors.js";
// REST API and agent hub.
export { buildApp, type AppOptions } from "./api/app.js";
export { startApi, type RunningApi } from "./api/server.js";
export { AlertStore } from "./api/alerts.js";
export {
  Authenticator,
  loadStaticTokens,
  parseTokenSecret,
  type Role,
  type StaticToken,
} from "./api/auth.js";
export { AgentHub, hubServiceDefinition, type HubHandlers, type HubOptions } from "./hub/hub.js";
export { toProtoEvent } from "./enforce/event.js";
