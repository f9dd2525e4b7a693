/**
 * The baseline engine's one error class, with a closed set of codes. The codes
 * are listed in this package's README; a test keeps the two in step.
 */
export const BehavioralErrorCodes = {
  HANGAR_ERR_BASELINE_DB_OPEN: "the baseline database could not be opened or created",
  HANGAR_ERR_BASELINE_DB_LOCKED: "another process holds the baseline database",
  HANGAR_ERR_BASELINE_DB_SCHEMA: "the baseline database has a schema this build cannot use",
  HANGAR_ERR_BASELINE_DB_WRITE: "writing to the baseline database failed",
  HANGAR_ERR_BASELINE_PROVIDER: "the provider has no baseline in this database",
  HANGAR_ERR_BASELINE_VALUE: "an invalid facet, value or option",
  HANGAR_ERR_BASELINE_DELTA: "a baseline delta is invalid",
} as const;

export type BehavioralErrorCode = keyof typeof BehavioralErrorCodes;

export class BehavioralError extends Error {
  override readonly name = "BehavioralError";
  readonly code: BehavioralErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: BehavioralErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
