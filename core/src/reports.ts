/**
 * The reports hangar-ctl shows, stated once: the baseline engine (`@hangar/behavioral`)
 * produces the baseline reports and the rule engine (`@hangar/semantic`) the rule-tooling
 * reports, both typed against these; the controller's REST API and hangar-ctl read them
 * without importing enterprise code.
 */
import type { BaselineFacetName } from "./ports.js";

/** One item of a baseline facet, as `hangar-ctl baseline show` lists it. */
export interface ReportItem {
  value: string;
  /** Argument shape (binary) or operation (file). */
  qualifier: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** Tools whose calls touched it. */
  tools: string[];
  collapsed: boolean;
  origin: string;
}

/** One provider's baseline in a line (`hangar-ctl providers`). */
export interface ProviderSummaryReport {
  provider: string;
  state: string;
  partial: boolean;
  capped: boolean;
  /** 0..1; null while learning for the whole recording. */
  progress: number | null;
  learningWindow: string;
  windowSource: string;
  learningStarted: string | null;
  enforcingSince: string | null;
  endReason: string;
  lastNewItem: string | null;
  lastEvent: string | null;
  events: number;
  version: string;
  items: Record<BaselineFacetName, number>;
  deviations: number;
}

/** A learned rate (per minute): median, median absolute deviation, and the alert threshold. */
export interface RateReport {
  median: number;
  mad: number;
  minutes: number;
  alertAbove: number;
}

/** A deviation the baseline recorded recently. */
export interface DeviationReport {
  kind: string;
  value: string;
  qualifier: string;
  tool: string;
  state: string;
  count: number;
  alerts: number;
  firstSeen: string;
  lastSeen: string;
}

/** One provider's whole baseline (`hangar-ctl baseline show`). */
export interface BaselineReport extends ProviderSummaryReport {
  partialReason: string;
  overflow: number;
  nodes: string[];
  facets: Record<BaselineFacetName, ReportItem[]>;
  rates: Record<string, RateReport | null>;
  recentDeviations: DeviationReport[];
}

/** Operator actions on a baseline file. */
export type BaselineAction = "freeze" | "reset" | "allow";

/** What `hangar-ctl baseline freeze|reset|allow` did. */
export interface ActionResult {
  provider: string;
  action: BaselineAction;
  state: string;
  version: string;
  /** For people: what happened and when a running agent sees it. */
  message: string;
}

/** What hangar-ctl calls on the baseline engine for a node's file (`--db FILE`). */
export interface BaselineFileTooling {
  listProviders(path: string): Promise<ProviderSummaryReport[]>;
  showBaseline(path: string, provider: string): Promise<BaselineReport>;
  applyToFile(
    path: string,
    provider: string,
    action: BaselineAction,
    args?: { facet?: string; value?: string; qualifier?: string },
  ): Promise<ActionResult>;
  exportParquet(path: string, dir: string): Promise<string[]>;
}

/** A problem in a rule file, at `file:line:col`. */
export interface RuleDiagnostic {
  file: string;
  line: number;
  col: number;
  code: string;
  message: string;
  severity: "error" | "warning";
}

/** `hangar-ctl rules lint`. */
export interface LintReport {
  files: string[];
  /** Rules that compiled. */
  rules: number;
  /** Ids of rules that are defined but did not compile (their errors are among the diagnostics). */
  uncompiled: string[];
  /** Files with a syntax error: their rules are not known by id. */
  unparsed: string[];
  diagnostics: RuleDiagnostic[];
  errors: number;
  warnings: number;
  /** Each diagnostic as `path:line:col: code: message`, with the source line and a caret. */
  text: string[];
}

/** One test written next to a rule, run. */
export interface RuleTestResult {
  ruleId: string;
  test: string;
  file: string;
  loc: { line: number; col: number };
  pass: boolean;
  /** Why it failed (empty when it passed). */
  failures: string[];
}

/** `hangar-ctl rules test`. */
export interface TestReport {
  lint: LintReport;
  results: RuleTestResult[];
  passed: number;
  failed: number;
}

/** What hangar-ctl calls on the rule engine. */
export interface RuleTooling {
  lint(paths: readonly string[]): Promise<LintReport>;
  test(paths: readonly string[], ruleId?: string): Promise<TestReport>;
  explain(paths: readonly string[], ruleId: string): Promise<string | undefined>;
}
