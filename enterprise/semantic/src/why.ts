/**
 * Why a rule's test did not match: the first step no test event satisfies, the event that came
 * closest (most conjuncts true), and the conjunct that was false there with the values it read.
 * Runs only when a test fails; it re-evaluates the step conditions the compiler kept per conjunct.
 */
import type { BaselineLookup } from "@hangar/core";
import type { hangar } from "@hangar/proto";
import type { TestEvent } from "./ast.js";
import type { CompiledRule, Env } from "./program.js";
import { kindNameOf } from "./schema.js";
import { text } from "./text.js";

type RuntimeEvent = hangar.RuntimeEvent;

function shown(v: unknown): string {
  if (v === undefined) return "unset";
  const s = Array.isArray(v) || typeof v === "string" ? JSON.stringify(v) : text(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

function where(t: TestEvent | undefined, i: number): string {
  return t === undefined ? `event ${i + 1}` : `line ${t.loc.line} (${t.kind.name} at ${t.atMs / 1000}s)`;
}

/**
 * Why `events` (the test's, built) raised no alert: the first positive step that none of them
 * satisfies, with the closest event and its first false conjunct; or, when every step matched
 * some event, what else keeps them apart.
 */
export function explainMiss(
  rule: CompiledRule,
  events: readonly RuntimeEvent[],
  written: readonly TestEvent[],
  baseline: BaselineLookup | undefined,
): string {
  const bound: (RuntimeEvent | undefined)[] = [];
  const env: Env = { steps: bound, learning: false, baseline };
  const placed: string[] = [];
  for (const step of rule.why) {
    const kind = kindNameOf(step.kind);
    const label = rule.t === "sequence" ? `step "${step.step}" (${kind})` : `the ${kind} condition`;
    const candidates = events.map((ev, i) => ({ ev, i })).filter((c) => c.ev.kind === step.kind);
    if (candidates.length === 0) return `${label}: the test has no ${kind} event`;
    let best: { i: number; ev: RuntimeEvent; trues: number; falseAt: number } | undefined;
    let matched: number | undefined;
    for (const { ev, i } of candidates) {
      env.learning = false;
      let trues = 0;
      let falseAt = -1;
      step.conjuncts.forEach((c, k) => {
        if (c.pred(ev, env)) trues++;
        else if (falseAt < 0) falseAt = k;
      });
      if (falseAt < 0) {
        matched = i;
        bound[step.slot] = ev;
        break;
      }
      if (best === undefined || trues > best.trues) best = { i, ev, trues, falseAt };
    }
    if (matched !== undefined) {
      placed.push(`${step.step} → ${where(written[matched], matched)}`);
      continue;
    }
    if (best === undefined) return `${label} matched no event`;
    const c = step.conjuncts[best.falseAt];
    if (c === undefined) return `${label} matched no event`;
    const values = c
      .values(best.ev, env)
      .map(([name, v]) => `${name} is ${shown(v)}`)
      .join(", ");
    return (
      `${label} matched none of the ${candidates.length} ${kind} event${candidates.length === 1 ? "" : "s"}; ` +
      `closest is ${where(written[best.i], best.i)}, where ${c.text()} is false` +
      (values === "" ? "" : ` (${values})`)
    );
  }
  if (rule.t === "sequence")
    return (
      `every step matched an event on its own (${placed.join(", ")}) but they did not join into one match: ` +
      `check the keys (by ${rule.keyNames.join(", ") || "nothing"}), that the steps come in order, ` +
      `maxspan ${rule.maxspanMs / 1000}s, the negative steps and until`
    );
  if (rule.t === "threshold") {
    const step = rule.why[0];
    const n = events.filter(
      (ev) => ev.kind === step?.kind && (step?.conjuncts ?? []).every((c) => c.pred(ev, env)),
    ).length;
    return `${n} event${n === 1 ? "" : "s"} satisfied the condition, but the rule needs ${rule.needed} ${rule.fn === "count" ? "events" : "distinct values"} within ${rule.windowMs / 1000}s for one key (by ${rule.keyNames.join(", ") || "nothing"})`;
  }
  return `the condition held (${placed.join(", ")}) but no alert was raised: a learning policy (skip while the baseline learns) or a cooldown held it back`;
}
