/**
 * @hangar/semantic — the Hangar rule language (BSL 1.1). The agent loads it by
 * package name through `createDetector`; hangar-ctl uses `lint`, `test` and
 * `explain`.
 */
import type { BaselineLookup, Detector, LintReport, TestReport } from "@hangar/core";
import { HangarDetector } from "./detector.js";
import { formatDiagnostics, SemanticError } from "./diagnostics.js";
import { compileSources, loadRules } from "./load.js";
import { runTests } from "./testing.js";
import { explainRule } from "./explain.js";

export { ENGINE_VERSION, FUNCTIONS } from "./compile/index.js";
export {
  DiagnosticCodes,
  SemanticError,
  formatDiagnostic,
  formatDiagnostics,
  type Diagnostic,
  type DiagnosticCode,
} from "./diagnostics.js";
export { Engine, type EngineOptions, type EngineStats, type Match } from "./engine.js";
export { HangarDetector, type DetectorOptions, type DetectorStats, type Suppression } from "./detector.js";
export { compileSources, loadRules, ruleFiles, RULE_FILE_EXTENSION, type LoadedRules } from "./load.js";
export { parseSource } from "./parse.js";
export { FIELDS, KIND_NAMES, FACETS, lookupField } from "./schema.js";
export { runTests, runTest, type TestResult } from "./testing.js";
export { testEvent, TEST_EPOCH_MS, TEST_PROVIDER } from "./testevents.js";
export { explainRule } from "./explain.js";
export type { CompiledRule } from "./program.js";
export type { LintReport, TestReport } from "@hangar/core";

export interface CreateDetectorOptions {
  /** Rule files or directories. */
  paths: readonly string[];
  baseline?: BaselineLookup;
  /** Allowed lateness for sequences and thresholds, ms (default 2 000). */
  latenessMs?: number;
  /** Partial matches kept per rule (default 100 000). */
  maxKeysPerRule?: number;
}

/** The Detector port implementation the agent's bootstrap loads. Throws SemanticError on any rule error. */
export function createDetector(options: CreateDetectorOptions): Promise<Detector> {
  const loaded = loadRules(options.paths);
  if (!loaded.ok) {
    return Promise.reject(
      new SemanticError(
        `rule files in ${options.paths.join(", ")} do not load`,
        loaded.diagnostics,
        loaded.sources,
      ),
    );
  }
  return Promise.resolve(
    new HangarDetector({
      rules: loaded.rules,
      ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
      ...(options.latenessMs === undefined ? {} : { latenessMs: options.latenessMs }),
      ...(options.maxKeysPerRule === undefined ? {} : { maxKeysPerRule: options.maxKeysPerRule }),
    }),
  );
}

/**
 * The same detector from rule sources given as text (file name → contents): the rule packs
 * the controller sends to running agents. Throws SemanticError (every `file:line:col`
 * diagnostic in its message) when they do not compile.
 */
export function createDetectorFromSources(
  options: Omit<CreateDetectorOptions, "paths"> & { sources: ReadonlyMap<string, string> },
): Promise<Detector> {
  const loaded = compileSources(options.sources);
  if (!loaded.ok) {
    return Promise.reject(
      new SemanticError(
        `rule files ${[...options.sources.keys()].join(", ")} do not compile`,
        loaded.diagnostics,
        loaded.sources,
      ),
    );
  }
  return Promise.resolve(
    new HangarDetector({
      rules: loaded.rules,
      ...(options.baseline === undefined ? {} : { baseline: options.baseline }),
      ...(options.latenessMs === undefined ? {} : { latenessMs: options.latenessMs }),
      ...(options.maxKeysPerRule === undefined ? {} : { maxKeysPerRule: options.maxKeysPerRule }),
    }),
  );
}

/** `hangar-ctl rules lint`: parse, type-check and compile; every problem with its place. */
export function lint(paths: readonly string[]): Promise<LintReport> {
  const loaded = loadRules(paths);
  const errors = loaded.diagnostics.filter((d) => d.severity === "error").length;
  return Promise.resolve({
    files: loaded.files,
    rules: loaded.rules.length,
    uncompiled: loaded.uncompiled,
    unparsed: loaded.unparsed,
    diagnostics: loaded.diagnostics,
    errors,
    warnings: loaded.diagnostics.length - errors,
    text: formatDiagnostics(loaded.diagnostics, loaded.sources),
  });
}

/** `hangar-ctl rules test`: lint, then run every rule's tests. */
export async function test(paths: readonly string[], ruleId?: string): Promise<TestReport> {
  const report = await lint(paths);
  const loaded = loadRules(paths);
  const results = runTests(loaded, ruleId === undefined ? undefined : (r) => r.meta.id === ruleId);
  const passed = results.filter((r) => r.pass).length;
  return { lint: report, results, passed, failed: results.length - passed };
}

/** `hangar-ctl rules explain <id>`: the rule in words; undefined when no loaded file defines it. */
export function explain(paths: readonly string[], ruleId: string): Promise<string | undefined> {
  const loaded = loadRules(paths);
  return Promise.resolve(explainRule(loaded, ruleId));
}
