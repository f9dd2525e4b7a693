/** Checks of the tests written next to a rule: their events set fields that exist on their kind and can be set, their baselines name facets, and their expectations name the rule's steps and exceptions. */
import type { Loc, TestCase } from "../ast.js";
import type { CompiledRule } from "../program.js";
import { FACETS, kindOf, lookupField, type KindName } from "../schema.js";
import type { Context } from "./context.js";
import { suggestField } from "./types.js";

/** Every test of `rule` (declared at `loc`); a rule without one is a warning. */
export function checkTests(cx: Context, rule: CompiledRule, loc: Loc): void {
  const names = new Set<string>();
  for (const t of rule.tests) {
    if (names.has(t.name))
      cx.err(t.loc, "HANGAR_ERR_RULE_DUPLICATE", `test "${t.name}" is defined twice in rule ${rule.meta.id}`);
    names.add(t.name);
    checkEvents(cx, t);
    checkExpectations(cx, t, rule);
  }
  if (rule.tests.length === 0) cx.err(loc, "HANGAR_WARN_RULE_NO_TEST", `rule ${rule.meta.id} has no test`);
}

function checkEvents(cx: Context, t: TestCase): void {
  for (const ev of t.events) {
    if (kindOf(ev.kind.name) === undefined) {
      cx.err(ev.kind.loc, "HANGAR_ERR_RULE_TEST", `unknown event kind "${ev.kind.name}" in test "${t.name}"`);
      continue;
    }
    for (const f of ev.fields) {
      const def = lookupField(f.name);
      if (def === undefined) {
        cx.err(
          f.loc,
          "HANGAR_ERR_RULE_TEST",
          `unknown field "${f.name}"${suggestField(f.name, ev.kind.name as KindName)}`,
        );
      } else if (def.kinds !== undefined && !def.kinds.includes(ev.kind.name as KindName))
        cx.err(f.loc, "HANGAR_ERR_RULE_TEST", `${f.name} is not a field of ${ev.kind.name} events`);
      else if (def.set === undefined)
        cx.err(
          f.loc,
          "HANGAR_ERR_RULE_TEST",
          `${f.name} is derived and cannot be set in a test; set the field it comes from`,
        );
    }
  }
}

function checkExpectations(cx: Context, t: TestCase, rule: CompiledRule): void {
  for (const b of t.baseline)
    if (!(FACETS as readonly string[]).includes(b.facet.name))
      cx.err(
        b.facet.loc,
        "HANGAR_ERR_RULE_UNKNOWN_NAME",
        `unknown baseline facet "${b.facet.name}"; facets: ${FACETS.join(", ")}`,
      );
  if (t.expects.length === 0) cx.err(t.loc, "HANGAR_ERR_RULE_TEST", `test "${t.name}" has no expect`);
  for (const x of t.expects) {
    if (x.t === "match" && x.steps !== undefined) {
      const steps = new Set(rule.slotNames);
      for (const s of x.steps)
        if (!steps.has(s.name))
          cx.err(
            s.loc,
            "HANGAR_ERR_RULE_TEST",
            `"${s.name}" is not a step of rule ${rule.meta.id}; steps: ${[...steps].join(", ")}`,
          );
    }
    if (x.t === "suppressed" && !rule.exceptions.some((e) => e.name === x.exception.name))
      cx.err(
        x.exception.loc,
        "HANGAR_ERR_RULE_TEST",
        `rule ${rule.meta.id} has no exception "${x.exception.name}"`,
      );
  }
}
