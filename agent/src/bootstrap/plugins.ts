/**
 * The one place core loads enterprise implementations, by package name, only when
 * they are asked for. Nothing else in core may import `enterprise/` (a check in
 * `npm test` enforces it). The packages are BSL 1.1 (see enterprise/LICENSE.BSL).
 */
import { AgentError } from "../errors.js";
import type { BaselineLookup, BaselineStore, Detector } from "@hangar/core";

export const SEMANTIC_PACKAGE = "@hangar/semantic";
export const BEHAVIORAL_PACKAGE = "@hangar/behavioral";

export interface RuleEngineOptions {
  /** Rule files or directories. */
  paths: readonly string[];
}

export interface BaselineOptions {
  /** DuckDB file. */
  db: string;
  /** Learn from the events (replay --learn). */
  learn: boolean;
  /** Told about recoverable trouble (a corrupt file moved aside, a failed sync). */
  onWarning?: (message: string) => void;
}

interface SemanticModule {
  createDetector(options: RuleEngineOptions & { baseline?: BaselineLookup }): Promise<Detector>;
}
interface SemanticSourcesModule {
  createDetectorFromSources(options: {
    sources: ReadonlyMap<string, string>;
    baseline?: BaselineLookup;
  }): Promise<Detector>;
}
interface BehavioralModule {
  createBaselineStore(options: BaselineOptions): Promise<BaselineStore>;
}

async function load<T>(pkg: string, exportName: string, what: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (err) {
    throw AgentError.from(err, "HANGAR_ERR_PLUGIN_LOAD", `${what} (${pkg}) could not be loaded`);
  }
  if (typeof mod[exportName] !== "function") {
    throw new AgentError(
      "HANGAR_ERR_PLUGIN_LOAD",
      `${what} (${pkg}) is not available in this build: it does not export ${exportName}()`,
    );
  }
  return mod as T;
}

export async function loadRuleEngine(
  options: RuleEngineOptions & { baseline?: BaselineLookup },
): Promise<Detector> {
  const mod = await load<SemanticModule>(SEMANTIC_PACKAGE, "createDetector", "the rule engine");
  return mod.createDetector(options);
}

/**
 * A rule-engine detector from rule sources given as text (file name → contents), e.g. the
 * packs the controller sends; rejects with every `file:line:col` diagnostic when they do
 * not compile, or HANGAR_ERR_PLUGIN_LOAD when the build has no rule engine.
 */
export async function compileRuleSources(options: {
  sources: ReadonlyMap<string, string>;
  baseline?: BaselineLookup;
}): Promise<Detector> {
  const mod = await load<SemanticSourcesModule>(
    SEMANTIC_PACKAGE,
    "createDetectorFromSources",
    "the rule engine",
  );
  return mod.createDetectorFromSources(options);
}

export async function loadBaselineStore(options: BaselineOptions): Promise<BaselineStore> {
  const mod = await load<BehavioralModule>(BEHAVIORAL_PACKAGE, "createBaselineStore", "the baseline engine");
  return mod.createBaselineStore(options);
}
