/**
 * The agent's error codes (`AgentError`, made by core's error factory; it raises the core
 * codes such as `HANGAR_ERR_CONFIG_INVALID` too). Every code is listed in
 * `docs/reference/errors.md`; a test keeps the two in step.
 */
import { createErrorClass, type CoreErrorCode, type HangarError } from "@hangar/core";

export const AgentErrorCodes = {
  HANGAR_ERR_INTAKE_CONNECT: "could not connect to a sensor's gRPC endpoint",
  HANGAR_ERR_INTAKE_STREAM: "a sensor stream failed",
  HANGAR_ERR_RECORDING_READ: "a recording file could not be read",
  HANGAR_ERR_RECORDING_LINE: "a line of a recording is malformed",
  HANGAR_ERR_RESOLVER_WATCH: "the Kubernetes pod watch failed",
  HANGAR_ERR_SIMULATOR: "the sensor simulator failed",
  HANGAR_ERR_PROBE_UNAVAILABLE:
    "the eBPF probe cannot run here: loader not built, missing privileges or kernel support",
  HANGAR_ERR_PROBE_PROTOCOL:
    "the eBPF probe loader sent a record the agent cannot decode (ABI or size mismatch)",
  HANGAR_ERR_PROBE_SELFTEST: "hangar-agent probe --selftest did not see the expected events",
} as const;

export type AgentErrorCode = keyof typeof AgentErrorCodes | CoreErrorCode;
export const AgentError = createErrorClass("AgentError", AgentErrorCodes);
export type AgentError = HangarError<AgentErrorCode>;
