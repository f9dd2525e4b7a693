/**
 * The export package's error codes (`ExportError`, made by core's error factory; it raises
 * the core codes such as `HANGAR_ERR_CONFIG_INVALID` for a bad `--siem` URL too). Every code
 * is listed in `docs/reference/errors.md`; a test keeps the two in step.
 */
import { createErrorClass, type CoreErrorCode, type HangarError } from "@hangar/core";

export const ExportErrorCodes = {
  HANGAR_ERR_SIEM_SEND: "a SIEM destination could not be reached or refused a write",
  HANGAR_ERR_METRICS: "the OTLP metrics exporter or the Prometheus endpoint could not start",
} as const;

export type ExportErrorCode = keyof typeof ExportErrorCodes | CoreErrorCode;
export const ExportError = createErrorClass("ExportError", ExportErrorCodes);
export type ExportError = HangarError<ExportErrorCode>;
