/**
 * Runs the tests written next to each rule: the test's events go through a
 * fresh detector holding only that rule (a MemoryBaselineStore set up by the
 * test's `baseline` lines), and the expectations are checked against the
 * alerts and suppressions that come out.
 */
import { MemoryBaselineStore } from "@hangar/core";
import type { hangar } from "@hangar/proto";
import type { Loc, TestCase } from "./ast.js";
import { HangarDetector } from "./detector.js";
import type { LoadedRules } from "./load.js";
import type { CompiledRule } from "./program.js";
import type { Facet } from "./schema.js";
import { TEST_PROVIDER, literalValue, testEvent, type TestValue } from "./testevents.js";
import { explainMiss } from "./why.js";

export interface TestResult {
  ruleId: string;
  test: string;
  file: string;
  loc: Loc;
  pass: boolean;
  /** Why it failed (empty when it passed). */
  failures: string[];
  alerts: hangar.Alert[];
}

export function runTest(rule: CompiledRule, t: TestCase): TestResult {
  const result: TestResult = {
    ruleId: rule.meta.id,
    test: t.name,
    file: rule.meta.file,
    loc: t.loc,
    pass: false,
    failures: [],
    alerts: [],
  };
  const baseline = new MemoryBaselineStore();
  for (const b of t.baseline)
    for (const v of b.values) baseline.allow(TEST_PROVIDER, b.facet.name as Facet, String(v.v));
  if (t.learning) baseline.setLearning(TEST_PROVIDER, true);
  // A test without baseline lines runs against an empty baseline that is already enforcing (every
  // value is "new"), unless it says `baseline learning`.
  const store = t.baseline.length === 0 && !t.learning ? emptyEnforcing(baseline) : baseline;
  const det = new HangarDetector({ rules: [rule], baseline: store, latenessMs: 0 });
  const alerts: hangar.Alert[] = [];
  const built: hangar.RuntimeEvent[] = [];
  try {
    t.events.forEach((e, i) => {
      const fields = new Map<string, TestValue>(e.fields.map((f) => [f.name, literalValue(f.value)]));
      const ev = testEvent(e.kind.name, e.atMs, i, fields);
      // The explanation of a miss reads the events as the rule saw them, before the engine keeps them.
      built.push(testEvent(e.kind.name, e.atMs, i, fields));
      alerts.push(...(det.process(ev)?.alerts ?? []));
    });
    alerts.push(...(det.flush()?.alerts ?? []));
  } catch (err) {
    result.failures.push(`events could not be built: ${(err as Error).message}`);
    return result;
  }
  result.alerts = alerts;
  const suppressed = det.suppressed;
  for (const x of t.expects) {
    switch (x.t) {
      case "match": {
        if (alerts.length === 0) {
          const why =
            suppressed.length > 0
              ? ` (suppressed by exception ${suppressed.map((s) => s.exception).join(", ")})`
              : `: ${explainMiss(rule, built, t.events, store)}`;
          result.failures.push(`line ${x.loc.line}: expected a match, got none${why}`);
          break;
        }
        if (x.steps !== undefined) {
          const want = x.steps.map((s) => s.name);
          const got = alerts.map((a) => collapse(a.evidence.map((_e, i) => rule.slotNames[i] ?? "")));
          const gotFull = alerts.map((a) => stepsOf(rule, a));
          if (!got.some((g) => same(g, want)) && !gotFull.some((g) => same(g, want)))
            result.failures.push(
              `line ${x.loc.line}: expected a match of steps [${want.join(", ")}], got ${gotFull.map((g) => `[${g.join(", ")}]`).join(" ")}`,
            );
        }
        break;
      }
      case "nomatch":
        if (alerts.length > 0)
          result.failures.push(
            `line ${x.loc.line}: expected no match, got ${alerts.length}: ${alerts.map((a) => a.message).join("; ")}`,
          );
        break;
      case "suppressed":
        if (!suppressed.some((s) => s.exception === x.exception.name))
          result.failures.push(
            `line ${x.loc.line}: expected a match suppressed by ${x.exception.name}; ${suppressed.length === 0 ? "nothing was suppressed" : `suppressed by ${suppressed.map((s) => s.exception).join(", ")}`}`,
          );
        if (alerts.length > 0)
          result.failures.push(`line ${x.loc.line}: expected no alert, got ${alerts.length}`);
        break;
    }
  }
  result.pass = result.failures.length === 0;
  return result;
}

function stepsOf(rule: CompiledRule, a: hangar.Alert): string[] {
  return a.evidence.map((_e, i) => rule.slotNames[i] ?? "");
}
function collapse(xs: string[]): string[] {
  return xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
}
function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A baseline that knows nothing yet enforces: every lookup is "new". */
function emptyEnforcing(_m: MemoryBaselineStore): MemoryBaselineStore {
  const s = new MemoryBaselineStore();
  const lookup = s.lookup.bind(s);
  s.lookup = (provider, facet, value) => {
    const v = lookup(provider, facet, value);
    return v === "none" ? "new" : v;
  };
  return s;
}

export function runTests(loaded: LoadedRules, filter?: (rule: CompiledRule) => boolean): TestResult[] {
  const out: TestResult[] = [];
  for (const r of loaded.rules) {
    if (filter !== undefined && !filter(r)) continue;
    for (const t of r.tests) out.push(runTest(r, t));
  }
  return out;
}
