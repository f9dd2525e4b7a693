/**
 * `hangar-ctl rules lint|test|explain`: the rule-language tooling. The rule
 * engine is enterprise code (BSL); the controller loads it
 * only through `loadSemantic()` and states here the shape it needs.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadSemantic } from "../../bootstrap/plugins.js";
import { UsageError, type CtlCommand, type CtlIO } from "../command.js";

/** What hangar-ctl uses of the rule engine's module. */
interface Diagnostic {
  file: string;
  line: number;
  col: number;
  code: string;
  message: string;
  severity: "error" | "warning";
}
interface LintReport {
  files: string[];
  rules: number;
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
  text: string[];
}
interface TestResult {
  ruleId: string;
  test: string;
  file: string;
  loc: { line: number; col: number };
  pass: boolean;
  failures: string[];
}
interface TestReport {
  lint: LintReport;
  results: TestResult[];
  passed: number;
  failed: number;
}
interface SemanticTooling {
  lint(paths: readonly string[]): Promise<LintReport>;
  test(paths: readonly string[], ruleId?: string): Promise<TestReport>;
  explain(paths: readonly string[], ruleId: string): Promise<string | undefined>;
}

export const RULES_HELP = `Usage: hangar-ctl rules <subcommand> [options]

Tooling for the Hangar rule language (rule files: *.rules; reference: rules/README.md).

Subcommands:
  lint <path>...          parse, type-check and compile rule files or directories; every
                          problem as path:line:col: code: message, with the line and a caret
  test <path>...          lint, then run the tests written next to each rule: PASS or FAIL per
                          rule, each failing test with its place and why
  explain <rule-id>       the rule in words: condition, keys, windows, baseline use, exceptions
                          (and the file that added each), actions, tests, and its source

Options:
  -o, --output FMT        lint, test: text (default) or json
  --strict                lint, test: warnings fail too
  --rule ID               test: only this rule's tests
  --rules PATH            explain: where to look (repeatable; default: $HANGAR_RULES_DIR or the
                          repository's rules/ directory)
  -v, --verbose           test: also list each test that passed

Exit codes: 0 clean (lint) / all tests passed (test) / found (explain);
            1 errors, failed tests, or no such rule; 2 usage error.
Needs the enterprise rule engine in this build.
`;

const OPTIONS = {
  output: { type: "string", short: "o" },
  strict: { type: "boolean" },
  rule: { type: "string" },
  rules: { type: "string", multiple: true },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** Where `explain` looks by default: $HANGAR_RULES_DIR, else the repository's rules/. */
export function defaultRulesDir(): string {
  return process.env.HANGAR_RULES_DIR ?? fileURLToPath(new URL("../../../../../rules/", import.meta.url));
}

function tooling(): Promise<SemanticTooling> {
  return loadSemantic<SemanticTooling>(["lint", "test", "explain"]);
}

function summary(l: LintReport): string {
  const n = (x: number, w: string): string => `${x} ${w}${x === 1 ? "" : "s"}`;
  return `${n(l.files.length, "file")}, ${n(l.rules, "rule")}: ${n(l.errors, "error")}, ${n(l.warnings, "warning")}`;
}

export const rulesCommand: CtlCommand = {
  name: "rules",
  summary: "lint, test and explain rule files (the Hangar rule language)",
  async run(args: string[], io: CtlIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const v = parsed.values;
    const [sub, ...rest] = parsed.positionals;
    if (v.help === true || sub === "help") {
      io.stdout(RULES_HELP);
      return 0;
    }
    const output = v.output ?? "text";
    if (output !== "text" && output !== "json")
      throw new UsageError(`-o must be text or json, got "${output}"`);
    switch (sub) {
      case "lint": {
        if (rest.length === 0) throw new UsageError("lint needs at least one rule file or directory");
        const report = await (await tooling()).lint(rest);
        const failed = report.errors > 0 || (v.strict === true && report.warnings > 0);
        if (output === "json") io.stdout(`${JSON.stringify({ ...report, text: undefined, ok: !failed })}\n`);
        else {
          for (const t of report.text) io.stdout(`${t}\n`);
          io.stdout(`${summary(report)}\n`);
        }
        return failed ? 1 : 0;
      }
      case "test": {
        if (rest.length === 0) throw new UsageError("test needs at least one rule file or directory");
        const report = await (await tooling()).test(rest, v.rule);
        const lintFailed = report.lint.errors > 0 || (v.strict === true && report.lint.warnings > 0);
        if (v.rule !== undefined && report.results.length === 0 && !lintFailed) {
          io.stderr(`hangar-ctl rules: no tests for rule "${v.rule}" in ${rest.join(", ")}\n`);
          return 1;
        }
        if (output === "json") {
          io.stdout(
            `${JSON.stringify({ lint: { ...report.lint, text: undefined }, results: report.results, passed: report.passed, failed: report.failed })}\n`,
          );
        } else {
          for (const t of report.lint.text) io.stdout(`${t}\n`);
          // One line per rule, PASS or FAIL; the failing tests under it with their place and why.
          const byRule = new Map<string, TestResult[]>();
          for (const r of report.results) byRule.set(r.ruleId, [...(byRule.get(r.ruleId) ?? []), r]);
          let failedRules = 0;
          for (const [id, results] of byRule) {
            const bad = results.filter((r) => !r.pass);
            if (bad.length > 0) failedRules++;
            io.stdout(
              bad.length === 0
                ? `PASS ${id} (${results.length} test${results.length === 1 ? "" : "s"})\n`
                : `FAIL ${id} (${bad.length} of ${results.length} tests failed)\n`,
            );
            for (const r of results) {
              if (r.pass) {
                if (v.verbose === true) io.stdout(`  ok   "${r.test}"\n`);
                continue;
              }
              io.stdout(`  FAIL "${r.test}" (${r.file}:${r.loc.line}:${r.loc.col})\n`);
              for (const f of r.failures) io.stdout(`       ${f}\n`);
            }
          }
          io.stdout(
            `${summary(report.lint)}\n${report.passed} of ${report.results.length} tests passed; ${byRule.size - failedRules} of ${byRule.size} rules pass\n`,
          );
        }
        return lintFailed || report.failed > 0 ? 1 : 0;
      }
      case "explain": {
        if (rest.length !== 1) throw new UsageError("explain takes one rule id");
        const id = rest[0] as string;
        const paths = v.rules ?? [defaultRulesDir()];
        const text = await (await tooling()).explain(paths, id);
        if (text === undefined) {
          io.stderr(`hangar-ctl rules: no rule "${id}" in ${paths.join(", ")}\n`);
          return 1;
        }
        io.stdout(text);
        return 0;
      }
      case undefined:
        throw new UsageError("a subcommand is needed: lint, test or explain");
      default:
        throw new UsageError(`unknown subcommand "${sub}": use lint, test or explain`);
    }
  },
};
