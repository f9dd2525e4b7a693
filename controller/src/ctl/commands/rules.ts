/**
 * `hangar-ctl rules lint|test|explain`: the rule-language tooling. The rule
 * engine is enterprise code (BSL); the controller loads it only through `loadSemantic()`,
 * typed by the report shapes of @hangar/core that the engine implements.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { LintReport, RuleTestResult, RuleTooling } from "@hangar/core";
import { loadSemantic } from "../../bootstrap/plugins.js";
import { usageError, type CtlCommand, type CtlIO } from "../command.js";

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

function tooling(): Promise<RuleTooling> {
  return loadSemantic<RuleTooling>(["lint", "test", "explain"]);
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
      throw usageError((err as Error).message);
    }
    const v = parsed.values;
    const [sub, ...rest] = parsed.positionals;
    if (v.help === true || sub === "help") {
      io.stdout(RULES_HELP);
      return 0;
    }
    const output = v.output ?? "text";
    if (output !== "text" && output !== "json") throw usageError(`-o must be text or json, got "${output}"`);
    switch (sub) {
      case "lint": {
        if (rest.length === 0) throw usageError("lint needs at least one rule file or directory");
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
        if (rest.length === 0) throw usageError("test needs at least one rule file or directory");
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
          const byRule = new Map<string, RuleTestResult[]>();
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
          // Rules that did not compile have no test results: they fail too, and the count says so.
          const uncompiled = report.lint.uncompiled.filter((id) => v.rule === undefined || id === v.rule);
          for (const id of uncompiled) io.stdout(`FAIL ${id} (did not compile: see the errors above)\n`);
          const total = byRule.size + uncompiled.length;
          const notes = [
            uncompiled.length > 0 ? `${uncompiled.length} did not compile` : "",
            report.lint.unparsed.length > 0
              ? `${report.lint.unparsed.length} file${report.lint.unparsed.length === 1 ? "" : "s"} did not parse: ${report.lint.unparsed.join(", ")}`
              : "",
          ].filter((x) => x !== "");
          io.stdout(
            `${summary(report.lint)}\n${report.passed} of ${report.results.length} tests passed; ${byRule.size - failedRules} of ${total} rules pass${notes.length === 0 ? "" : ` (${notes.join("; ")})`}\n`,
          );
        }
        return lintFailed || report.failed > 0 ? 1 : 0;
      }
      case "explain": {
        if (rest.length !== 1) throw usageError("explain takes one rule id");
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
        throw usageError("a subcommand is needed: lint, test or explain");
      default:
        throw usageError(`unknown subcommand "${sub}": use lint, test or explain`);
    }
  },
};
