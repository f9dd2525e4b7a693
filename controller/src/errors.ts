/**
 * The error class of the controller's enforcement, REST API, agent hub and plugin loading
 * (`HANGAR_ERR_ENFORCE_*`, `HANGAR_ERR_API_*`, `HANGAR_ERR_HUB_*`),
 * made by core's error factory, so it also raises the core codes (`HANGAR_ERR_CONFIG_INVALID`
 * for a bad flag, as hangar-ctl's usage errors are). The MCP proxy has its own class
 * (`proxy/errors.ts`). Every code is listed in `docs/reference/errors.md`; a test keeps them
 * in step.
 */
import { createErrorClass, type CoreErrorCode, type HangarError } from "@hangar/core";

export const ControllerErrorCodes = {
  HANGAR_ERR_ENFORCE_CONFIG: "the enforcement policy configuration is invalid",
  HANGAR_ERR_ENFORCE_REQUEST: "an enforcement request is invalid",
  HANGAR_ERR_ENFORCE_KUBE: "a Kubernetes API call of the enforcer failed",
  HANGAR_ERR_ENFORCE_UNMANAGED:
    "an object with the policy's name exists and is not managed by hangar-controller",
  HANGAR_ERR_ENFORCE_CONFLICT:
    "the object changed since the enforcer read it, or a newer enforcement sits on it",
  HANGAR_ERR_ENFORCE_NOT_FOUND: "no enforcement with that id",
  HANGAR_ERR_API_CONFIG: "the REST API configuration (tokens, listen address) is invalid",
  HANGAR_ERR_API_REQUEST: "a REST API request is invalid (query, path or body)",
  HANGAR_ERR_API_UNAUTHENTICATED: "a REST API request has no or an unknown bearer token",
  HANGAR_ERR_API_FORBIDDEN: "a REST API token's role does not allow the request",
  HANGAR_ERR_API_NOT_FOUND: "no such REST API route or object",
  HANGAR_ERR_API_INTERNAL: "the REST API failed unexpectedly",
  HANGAR_ERR_API_TOO_LARGE: "a REST API request body or its header fields are larger than allowed",
  HANGAR_ERR_API_MEDIA_TYPE: "a REST API request body is not application/json",
  HANGAR_ERR_HUB_CONFIG: "the agent hub configuration (listen address, TLS files) is invalid",
  HANGAR_ERR_HUB_AUTH: "an agent could not be authenticated by the hub",
  HANGAR_ERR_HUB_STREAM: "the agent hub stream failed",
  HANGAR_ERR_ADMISSION_INPUT: "a manifest given to `hangar-ctl admission check` cannot be read",
  HANGAR_ERR_HUB_NODE_DENIED: "an agent said hello as a node its certificate or token is not bound to",
  HANGAR_ERR_HUB_PROTOCOL:
    "an agent broke the hub protocol (no hello first, a second hello, an empty node name) or speaks another major version of it",
  HANGAR_ERR_HUB_SEQ: "an agent message carried an impossible sequence number",
} as const;

export type ControllerErrorCode = keyof typeof ControllerErrorCodes | CoreErrorCode;
export const ControllerError = createErrorClass("ControllerError", ControllerErrorCodes);
export type ControllerError = HangarError<ControllerErrorCode>;
