/**
 * One error class for every hangar package, in the manner of fastify's `createError`:
 * `HangarError` carries a code from a closed table, a message that names the place, an
 * optional `cause` and details a person can act on. Each package declares its table once
 * and gets a named class for it from `createErrorClass` (`AgentError`, `ControllerError`, …),
 * so `instanceof` still tells the packages apart and `instanceof HangarError` catches them
 * all. Every table is listed in `docs/reference/errors.md`; tests keep them in step.
 */

/**
 * Codes every package's class may raise besides its own: the shared pieces in this
 * package (flags, spools) and configuration errors anywhere.
 */
export const CoreErrorCodes = {
  HANGAR_ERR_CONFIG_INVALID: "invalid configuration or command-line option",
  HANGAR_ERR_SPOOL: "a disk spool (a SIEM destination's or the hub outbox's) could not be opened or written",
  HANGAR_ERR_PLUGIN_LOAD:
    "an enterprise module (the rule engine, the baseline engine) could not be loaded, or the rules it was given do not compile",
  HANGAR_ERR_LICENSE_INVALID:
    "a license file is not a valid hangar-license/v1 document: malformed, changed after signing, or signed by a key this build does not trust",
  HANGAR_ERR_LICENSE_REQUIRED:
    "an enterprise module is off: no valid license covers it and the BSL Additional Use Grant does not apply",
} as const;
export type CoreErrorCode = keyof typeof CoreErrorCodes;

export interface HangarErrorOptions {
  readonly cause?: unknown;
  readonly details?: Record<string, unknown>;
}

export class HangarError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: C, message: string, options: HangarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}
Object.defineProperty(HangarError.prototype, "name", {
  value: "HangarError",
  writable: true,
  configurable: true,
});

/**
 * The class `createErrorClass` returns: constructible with the package's own codes (`Own`)
 * and the core ones, with its own code table and `from`.
 */
export interface HangarErrorClass<Own extends string> {
  new (
    code: Own | CoreErrorCode,
    message: string,
    options?: HangarErrorOptions,
  ): HangarError<Own | CoreErrorCode>;
  /** The package's own code table: code → what it means. */
  readonly codes: Readonly<Record<Own, string>>;
  /** Anything thrown as an error of this class (kept as it is when it already is one), with `context` before its message. */
  from(err: unknown, code: Own | CoreErrorCode, context: string): HangarError<Own | CoreErrorCode>;
  readonly prototype: HangarError<Own | CoreErrorCode>;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A named error class for one package's code table, e.g.
 * `export const AgentError = createErrorClass("AgentError", AgentErrorCodes)`.
 * It raises the package's own codes and the core ones (`CoreErrorCodes`); `codes` is the
 * package's own table, the one its section of `docs/reference/errors.md` lists.
 */
export function createErrorClass<const T extends Record<string, string>>(
  name: string,
  codes: T,
): HangarErrorClass<keyof T & string> {
  type C = (keyof T & string) | CoreErrorCode;
  const cls = class extends HangarError<C> {
    static readonly codes: Readonly<Record<keyof T & string, string>> = codes;
    static from(err: unknown, code: C, context: string): HangarError<C> {
      if (err instanceof cls) return err;
      return new cls(code, `${context}: ${errorMessage(err)}`, { cause: err });
    }
  };
  Object.defineProperty(cls, "name", { value: name });
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true });
  return cls;
}

export const CoreError = createErrorClass("CoreError", CoreErrorCodes);
export type CoreError = HangarError<CoreErrorCode>;
