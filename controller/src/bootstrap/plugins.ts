/**
 * The controller's one place that loads enterprise implementations, by package
 * name, only when a command or feature asks for them (the agent has its own,
 * `agent/src/bootstrap/plugins.ts`). Nothing else in the controller may import
 * `enterprise/`; `npm test` checks this. The packages are BSL 1.1.
 */
import { ControllerError } from "../errors.js";

export const SEMANTIC_PACKAGE = "@hangar/semantic";
export const BEHAVIORAL_PACKAGE = "@hangar/behavioral";

/**
 * Imports `pkg` and checks that it exports every function in `exports`. The
 * caller states the module's shape as `T` (the controller cannot import the
 * enterprise types).
 */
export async function loadEnterprise<T>(pkg: string, exports: readonly string[], what: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (err) {
    throw ControllerError.from(err, "HANGAR_ERR_PLUGIN_LOAD", `${what} (${pkg}) could not be loaded`);
  }
  const missing = exports.filter((name) => typeof mod[name] !== "function");
  if (missing.length > 0) {
    throw new ControllerError(
      "HANGAR_ERR_PLUGIN_LOAD",
      `${what} (${pkg}) is not available in this build: it does not export ${missing.map((m) => `${m}()`).join(", ")}`,
    );
  }
  return mod as T;
}

/** The rule engine's tooling (`hangar-ctl rules …`). */
export function loadSemantic<T>(exports: readonly string[]): Promise<T> {
  return loadEnterprise<T>(SEMANTIC_PACKAGE, exports, "the rule engine");
}

/** The baseline engine (`hangar-ctl baseline …`, the controller's baseline merge). */
export function loadBehavioral<T>(exports: readonly string[]): Promise<T> {
  return loadEnterprise<T>(BEHAVIORAL_PACKAGE, exports, "the baseline engine");
}
