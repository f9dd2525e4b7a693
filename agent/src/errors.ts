/**
 * The agent's one error class, with a closed set of codes. Every code is listed in
 * `docs/reference/errors.md`; a test keeps the two in step.
 */
export const AgentErrorCodes = {
  HANGAR_ERR_CONFIG_INVALID: "invalid configuration or command-line option",
  HANGAR_ERR_INTAKE_CONNECT: "could not connect to a sensor's gRPC endpoint",
  HANGAR_ERR_INTAKE_STREAM: "a sensor stream failed",
  HANGAR_ERR_RECORDING_READ: "a recording file could not be read",
  HANGAR_ERR_RECORDING_LINE: "a line of a recording is malformed",
  HANGAR_ERR_RESOLVER_WATCH: "the Kubernetes pod watch failed",
  HANGAR_ERR_PLUGIN_LOAD: "an enterprise module could not be loaded",
  HANGAR_ERR_SIMULATOR: "the sensor simulator failed",
  HANGAR_ERR_SIEM_SPOOL: "a SIEM destination's spool directory could not be opened or written",
  HANGAR_ERR_SIEM_SEND: "a SIEM destination could not be reached or refused a write",
  HANGAR_ERR_METRICS: "the OTLP metrics exporter or the Prometheus endpoint could not start",
  HANGAR_ERR_PROBE_UNAVAILABLE:
    "the eBPF probe cannot run here: loader not built, missing privileges or kernel support",
  HANGAR_ERR_PROBE_PROTOCOL:
    "the eBPF probe loader sent a record the agent cannot decode (ABI or size mismatch)",
  HANGAR_ERR_PROBE_SELFTEST: "hangar-agent probe --selftest did not see the expected events",
} as const;

export type AgentErrorCode = keyof typeof AgentErrorCodes;

export class AgentError extends Error {
  override readonly name = "AgentError";
  readonly code: AgentErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: AgentErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** Normalizes anything thrown into an AgentError, keeping the original as `cause`. */
  static from(err: unknown, code: AgentErrorCode, context: string): AgentError {
    if (err instanceof AgentError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new AgentError(code, `${context}: ${msg}`, { cause: err });
  }
}
