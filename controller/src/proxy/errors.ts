/**
 * The proxy's error class (configuration and startup), and the JSON-RPC error
 * codes it answers MCP clients with. Both lists are documented in
 * `controller/README.md`; a test keeps them in step. `ProxyError` is made by core's error
 * factory (it raises the core codes too).
 */
import { createErrorClass, type CoreErrorCode, type HangarError } from "@hangar/core";

/** Errors of the proxy's configuration and startup (`HANGAR_ERR_PROXY_*`). */
export const ProxyErrorCodes = {
  HANGAR_ERR_PROXY_CONFIG: "the proxy configuration is invalid",
  HANGAR_ERR_PROXY_LISTEN: "the proxy could not listen on its address",
  HANGAR_ERR_PROXY_DISCOVERY: "the EndpointSlice watch of a provider failed",
  HANGAR_ERR_PROXY_AUTH_SETUP: "the caller authentication could not be set up",
} as const;

export type ProxyErrorCode = keyof typeof ProxyErrorCodes | CoreErrorCode;
export const ProxyError = createErrorClass("ProxyError", ProxyErrorCodes);
export type ProxyError = HangarError<ProxyErrorCode>;

/**
 * JSON-RPC error codes the proxy answers with. The standard ones keep their
 * meaning; the proxy's own sit in the implementation-defined server range
 * (-32000 .. -32099), next to the SDK's -32000 (connection closed) and -32001
 * (session not found / request timeout).
 */
export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  /**
   * A Streamable HTTP rule was broken (the SDK's code for it): Accept,
   * Content-Type, protocol version, a second GET stream, a Last-Event-ID that
   * names no resumable stream.
   */
  TRANSPORT: -32000,
  /** Mcp-Session-Id unknown (never issued, or expired). */
  SESSION_NOT_FOUND: -32001,
  /** No or invalid bearer token (HTTP 401). */
  UNAUTHENTICATED: -32010,
  /** The token is valid but does not own the session (HTTP 403). */
  FORBIDDEN: -32011,
  /** tools/call refused by the provider's tool policy (enforce mode). */
  TOOL_DENIED: -32012,
  /** No provider of that name (HTTP 404). */
  UNKNOWN_PROVIDER: -32013,
  /** The provider has no ready pod (HTTP 503). */
  NO_READY_POD: -32014,
  /** The pod did not answer the request in time. */
  UPSTREAM_TIMEOUT: -32015,
  /** The pod could not be reached or answered with something that is not MCP. */
  UPSTREAM_UNAVAILABLE: -32016,
  /** The pod serving the session went away; the session is over. */
  SESSION_ENDED: -32017,
  /** The request body is larger than the configured limit (HTTP 413). */
  BODY_TOO_LARGE: -32018,
  /** The Host or Origin header is not served (DNS-rebinding protection, HTTP 403). */
  ORIGIN_NOT_ALLOWED: -32019,
  /** The caller holds as many sessions as one caller may (HTTP 429). */
  TOO_MANY_SESSIONS: -32020,
} as const;

export type RpcCodeName = keyof typeof RpcCode;
