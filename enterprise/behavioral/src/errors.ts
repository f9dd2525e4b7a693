/**
 * The baseline engine's error class, made by core's error factory (code, cause, details a
 * person can act on; it raises the core codes too) from this package's closed code table.
 * `docs/reference/errors.md` lists the codes; a test keeps the two in step.
 */
import { createErrorClass, type CoreErrorCode, type HangarError } from "@hangar/core";

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
export const BehavioralError = createErrorClass("BehavioralError", BehavioralErrorCodes);
export type BehavioralError = HangarError<BehavioralErrorCode | CoreErrorCode>;
