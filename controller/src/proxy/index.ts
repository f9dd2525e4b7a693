/** The MCP proxy (see README "MCP proxy"). */
import "./sdk-globals.js";
export { McpProxy, type ProviderConfig, type ProxyOptions } from "./proxy.js";
export { TraceFeed, type SubscribeOptions } from "./feed.js";
// Named for the proxy: the REST API has its own Authenticator (static tokens).
export {
  Authenticator as ProxyAuthenticator,
  type AuthConfig as ProxyAuthConfig,
  type Identity as CallerIdentity,
  type JwtAuthConfig,
  type TokenReviewAuthConfig,
} from "./auth.js";
export {
  EndpointDirectory,
  endpointsFromSlices,
  watchEndpointSlices,
  type PodEndpoint,
  type ProviderService,
  type SliceWatch,
} from "./endpoints.js";
export { ToolPolicy, type PolicyDecision, type PolicyMode, type ToolPolicyConfig } from "./policy.js";
export { Redactor, DEFAULT_REDACT_KEYS, DEFAULT_REDACT_PATTERNS, type RedactionConfig } from "./redact.js";
export { ProxyError, ProxyErrorCodes, RpcCode, type ProxyErrorCode } from "./errors.js";
export { ProxyStats } from "./stats.js";
export { type ProviderTlsConfig } from "./tls.js";
export { type ResumeOptions } from "./downstream.js";
export { childContext, formatTraceparent, parseTraceparent, type TraceContext } from "./traceparent.js";
export {
  parseProxyConfig,
  startProxy,
  staticPodEndpoints,
  type ProxyConfig,
  type RunningProxy,
  type StartProxyOptions,
  type StaticEndpoint,
} from "./serve.js";
// The JSON-RPC edge checks, for the fuzz suite (bench/src/fuzz).
export { checkBody, messageProblem, MAX_BATCH, type ParsedBody } from "./jsonrpc.js";
export { readEnvelope } from "./envelope.js";
