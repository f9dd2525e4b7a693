/**
 * Diagnostics of rule files: `path:line:col: code: message`, with the source
 * line and a caret under the column. The codes are a closed set; rules/README.md
 * lists them and a test keeps the two in step. `SemanticError` carries them out of
 * `createDetector` when a pack does not load.
 */
import { createErrorClass } from "@hangar/core";
import type { Loc } from "./ast.js";

export const DiagnosticCodes = {
  HANGAR_ERR_RULE_READ: "a rule file or directory could not be read",
  HANGAR_ERR_RULE_SYNTAX: "the text does not follow the grammar",
  HANGAR_ERR_RULE_AMBIGUOUS: "the text parses in more than one way (a grammar bug: please report it)",
  HANGAR_ERR_RULE_UNKNOWN_FIELD: "a field that events of this kind do not have",
  HANGAR_ERR_RULE_UNKNOWN_KIND: "an event kind that does not exist",
  HANGAR_ERR_RULE_UNKNOWN_NAME: "a list, macro, function, step, facet or action that is not defined",
  HANGAR_ERR_RULE_TYPE: "an operator or function used with values of the wrong type",
  HANGAR_ERR_RULE_VALUE:
    "an invalid literal: CIDR, duration, severity, maturity, MITRE id, version, template",
  HANGAR_ERR_RULE_REGEX:
    "a regular expression that is not RE2 syntax, or needs backtracking (back-references, lookaround)",
  HANGAR_ERR_RULE_DUPLICATE: "a rule id, list, macro, step, exception or test defined twice",
  HANGAR_ERR_RULE_MACRO: "a macro called with the wrong number of arguments, or recursively",
  HANGAR_ERR_RULE_LIMIT:
    "a condition beyond the engine's limits: macros nested deeper than 64, or more than 10,000 macro and parameter expansions in one rule or sequence step",
  HANGAR_ERR_RULE_WINDOW: "a sequence or negative step without a bounded window",
  HANGAR_ERR_RULE_KEY: "join keys that differ in number between steps, or are not single-valued",
  HANGAR_ERR_RULE_MISSING: "a rule without a required part (condition, severity, description, mitre, test)",
  HANGAR_ERR_RULE_ENGINE: "a pack or rule that needs a newer engine than this one",
  HANGAR_ERR_RULE_PATCH: "a patch for a rule id that no loaded file defines",
  HANGAR_ERR_RULE_TEST: "a test event or expectation that does not fit the rule",
  HANGAR_WARN_RULE_UNUSED: "a list or macro that no rule uses (warning)",
  HANGAR_WARN_RULE_NO_TEST: "a rule without a test (warning)",
  HANGAR_WARN_RULE_SHADOWED:
    "a rule whose condition is the same as an earlier rule's: both fire on the same events (warning)",
} as const;

export type DiagnosticCode = keyof typeof DiagnosticCodes;

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  code: DiagnosticCode;
  message: string;
  severity: "error" | "warning";
}

/** Source texts by file, for printing the line under a diagnostic. */
export type Sources = ReadonlyMap<string, string>;

export function diag(file: string, loc: Loc | undefined, code: DiagnosticCode, message: string): Diagnostic {
  return {
    file,
    line: loc?.line ?? 1,
    col: loc?.col ?? 1,
    code,
    message,
    severity: code.startsWith("HANGAR_WARN_") ? "warning" : "error",
  };
}

/** `path:line:col: code: message`, then the source line and a caret, when the source is known. */
export function formatDiagnostic(d: Diagnostic, sources?: Sources): string {
  return formatDiagnostics([d], sources)[0] ?? "";
}

/**
 * `formatDiagnostic` for many diagnostics: each file's line starts are found once (splitting
 * a 2 MB file once per diagnostic made a lint of 10,000 rules quadratic: 5 s of 21).
 */
export function formatDiagnostics(list: readonly Diagnostic[], sources?: Sources): string[] {
  const starts = new Map<string, number[]>();
  return list.map((d) => {
    const head = `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`;
    const text = sources?.get(d.file);
    if (text === undefined) return head;
    let index = starts.get(d.file);
    if (index === undefined) starts.set(d.file, (index = lineStarts(text)));
    const start = index[d.line - 1];
    if (start === undefined) return head;
    const end = text.indexOf("\n", start);
    const shown = text.slice(start, end < 0 ? text.length : end).replace(/\t/g, " ");
    return `${head}\n  ${shown}\n  ${" ".repeat(Math.max(0, d.col - 1))}^`;
  });
}

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) out.push(i + 1);
  return out;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/**
 * SemanticError's own code table: empty. It raises core's HANGAR_ERR_PLUGIN_LOAD, which the
 * agent's and hangar-ctl's bootstraps raise too for an enterprise module that does not load;
 * they tell a rule pack with errors from a build without the engine by `diagnostics`.
 */
export const SemanticErrorCodes = {} as const;

/**
 * What createDetector and createDetectorFromSources throw when rule files do not load: core's
 * error class (code, details, cause) with the diagnostics in `details.diagnostics`, and the
 * first 20 errors, formatted, in the message.
 */
export class SemanticError extends createErrorClass("SemanticError", SemanticErrorCodes) {
  constructor(message: string, diagnostics: readonly Diagnostic[], sources?: Sources) {
    const shown = formatDiagnostics(diagnostics.filter((d) => d.severity === "error").slice(0, 20), sources);
    super("HANGAR_ERR_PLUGIN_LOAD", `${message}\n${shown.join("\n")}`, { details: { diagnostics } });
  }

  /** The diagnostics (`details.diagnostics`): the agent tells rule errors from a missing engine by them. */
  get diagnostics(): readonly Diagnostic[] {
    return this.details["diagnostics"] as readonly Diagnostic[];
  }
}
