/** One rule to its executable form (`CompiledRule`): metadata, its one condition (event, threshold or sequence), message, and the rule-level parts (exceptions, actions, learning, cooldown, tests) in the order written. */
import type { hangar } from "@hangar/proto";
import { flat } from "../build.js";
import type { Condition, Expr, Loc, RuleItem } from "../ast.js";
import type { BaselineProbe, CompiledRule, Conjunct, Pred, RuleMeta, StepWhy } from "../program.js";
import { kindOf, type KindName } from "../schema.js";
import { compileAction } from "./actions.js";
import type { Context } from "./context.js";
import { conjunct } from "./conjunct.js";
import { andAll, lowerCond, lowerTemplate, lowerValue } from "./lower.js";
import { learningPolicy, ruleMeta } from "./meta.js";
import { compileException } from "./patches.js";
import { compileSequence } from "./sequence.js";
import { checkTests } from "./tests.js";
import { checkCond, checkKeys, checkKind, checkTemplate, checkValue, scopeOf, type Scope } from "./types.js";

/** The rule, or undefined when it has an error (every error is in `cx.diagnostics`). */
export function compileRule(cx: Context, id: string, items: RuleItem[], loc: Loc): CompiledRule | undefined {
  const before = cx.mark();
  const { meta, enabled, message } = ruleMeta(cx, id, items, loc);
  const conds = items.filter((i): i is Extract<RuleItem, { t: "cond" }> => i.t === "cond");
  if (conds.length === 0)
    return cx.err(
      loc,
      "HANGAR_ERR_RULE_MISSING",
      `rule ${id} has no condition (event, sequence, count or distinct)`,
    );
  if (conds.length > 1)
    return cx.err(conds[1]?.loc, "HANGAR_ERR_RULE_DUPLICATE", `rule ${id} has more than one condition`);
  const cond = (conds[0] as Extract<RuleItem, { t: "cond" }>).cond;
  const probes: BaselineProbe[] = [];
  const c = compileCondition(cx, cond, probes);
  if (c === undefined) return undefined;
  const { rule, outer } = c;
  rule.keyNames =
    cond.t === "sequence"
      ? [...cond.by, ...(cond.steps[0]?.by ?? [])].map((n) => n.name)
      : cond.t === "threshold"
        ? cond.by.map((n) => n.name)
        : [];
  // In a sequence, a probe's text names the step it reads (`conn.destination.ip`).
  if (rule.t === "sequence")
    for (const p of probes) {
      const step = rule.slotNames[p.slot];
      if (step !== undefined && !p.text.startsWith(`${step}.`)) p.text = `${step}.${p.text}`;
    }
  rule.probes = probes;
  rule.meta = meta;
  rule.enabled = enabled;
  const template =
    message === undefined ? undefined : checkTemplate(cx, message, outer, rule.t === "threshold");
  rule.message = template === undefined ? () => `${id} matched` : lowerTemplate(template);
  ruleParts(cx, rule, items, outer);
  checkTests(cx, rule, loc);
  if (!items.some((i) => i.t === "learning") && probes.length > 0) rule.learning = { mode: "skip" };
  return cx.errorsSince(before) ? undefined : rule;
}

/** The condition, with the scope the rule-level parts are written in. */
function compileCondition(
  cx: Context,
  cond: Condition,
  probes: BaselineProbe[],
): { rule: CompiledRule; outer: Scope } | undefined {
  if (cond.t === "sequence") {
    const r = compileSequence(cx, cond, probes);
    if (r === undefined) return undefined;
    const { outer, slotNames, why, ...seq } = r;
    return { rule: { t: "sequence", ...seq, ...common(), slotNames, why }, outer };
  }
  const kind = checkKind(cx, cond.kind);
  if (kind === undefined) return undefined;
  const outer = scopeOf([kind], new Map(), 0);
  const where = cond.where === undefined ? undefined : checkConjuncts(cx, cond.where, outer, probes);
  const k = kindOf(kind) as hangar.EventKind;
  const why: StepWhy[] = [{ step: kind, kind: k, slot: 0, conjuncts: where?.conjuncts ?? [] }];
  if (cond.t === "event") {
    if (cond.where !== undefined && where === undefined) return undefined;
    return {
      rule: { t: "event", kind: k, where: where?.pred ?? (() => true), ...common([kind]), why },
      outer,
    };
  }
  const rule = compileThreshold(cx, cond, kind, outer);
  if (rule === undefined || (cond.where !== undefined && where === undefined)) return undefined;
  rule.where = where?.pred;
  rule.why = why;
  return { rule, outer };
}

/** `count <kind> … by … over <window> >= N`, `distinct <field> of <kind> …`. */
function compileThreshold(
  cx: Context,
  cond: Extract<Condition, { t: "threshold" }>,
  kind: KindName,
  scope: Scope,
): Extract<CompiledRule, { t: "threshold" }> | undefined {
  const keys = checkKeys(cx, cond.by, scope);
  const field =
    cond.field === undefined
      ? undefined
      : checkValue(cx, { t: "path", name: cond.field.name, loc: cond.field.loc }, scope);
  if (cond.field !== undefined && field !== undefined && field.type === "list")
    cx.err(
      cond.field.loc,
      "HANGAR_ERR_RULE_TYPE",
      `distinct needs a single-valued field; ${cond.field.name} is a list`,
    );
  if (!(cond.windowMs > 0))
    cx.err(cond.loc, "HANGAR_ERR_RULE_WINDOW", "the window (over …) must be longer than 0");
  if (!Number.isInteger(cond.limit) || cond.limit < 0)
    cx.err(
      cond.opLoc,
      "HANGAR_ERR_RULE_VALUE",
      `the threshold must be a whole number ≥ 0, got ${cond.limit}`,
    );
  const needed = cond.op === ">" ? cond.limit + 1 : cond.limit;
  if (needed > 100_000)
    cx.err(cond.opLoc, "HANGAR_ERR_RULE_VALUE", "thresholds above 100000 are not supported");
  if (!(cond.op === ">=" || cond.op === ">"))
    cx.err(cond.opLoc, "HANGAR_ERR_RULE_VALUE", `a threshold compares with >= or >, not ${String(cond.op)}`);
  if (keys === undefined) return undefined;
  return {
    t: "threshold",
    fn: cond.fn,
    kind: kindOf(kind) as hangar.EventKind,
    where: undefined,
    key: keys.map(lowerValue),
    field: field === undefined ? undefined : lowerValue(field),
    windowMs: cond.windowMs,
    needed: Math.max(1, needed),
    ...common([kind]),
  };
}

/** Exceptions, actions, learning, cooldown and tests, in the order written; `alert` when no action is. */
function ruleParts(cx: Context, rule: CompiledRule, items: RuleItem[], outer: Scope): void {
  const excNames = new Set<string>();
  for (const ri of items) {
    switch (ri.t) {
      case "except": {
        const e = compileException(cx, ri.exc, outer, excNames, rule.probes);
        if (e !== undefined) rule.exceptions.push(e);
        break;
      }
      case "action":
        for (const a of flat(ri.actions)) {
          const c = compileAction(cx, a.name, a.args, a.loc, outer);
          if (c !== undefined) rule.actions.push(c);
        }
        break;
      case "learning": {
        const l = learningPolicy(cx, ri.mode, ri.loc);
        if (l !== undefined) rule.learning = l;
        break;
      }
      case "cooldown": {
        const keys = checkKeys(cx, ri.by, outer);
        if (keys !== undefined) rule.cooldown = { ms: ri.ms, key: keys.map(lowerValue) };
        break;
      }
      case "test":
        rule.tests.push(ri.test);
        break;
      default:
        break;
    }
  }
  if (rule.actions.length === 0) rule.actions.push({ type: "alert" });
}

/** The parts every kind of rule has, before the rule-level items fill them in. */
function common(
  slotNames: string[] = [],
): Omit<Extract<CompiledRule, { t: "event" }>, "t" | "kind" | "where"> {
  return {
    meta: undefined as unknown as RuleMeta,
    exceptions: [],
    actions: [],
    learning: { mode: "alert" },
    cooldown: undefined,
    message: () => "",
    probes: [],
    enabled: true,
    tests: [],
    slotNames,
    keyNames: [],
    why: [],
  };
}

/** A condition checked conjunct by conjunct (`a and b and c`): the same predicate, and each part for explanations. */
function checkConjuncts(
  cx: Context,
  where: Expr,
  scope: Scope,
  probes: BaselineProbe[],
): { pred: Pred; conjuncts: Conjunct[] } | undefined {
  const conjuncts: Conjunct[] = [];
  let ok = true;
  for (const e of splitAnd(where)) {
    const c = checkCond(cx, e, scope);
    if (c === undefined) {
      ok = false;
      continue;
    }
    conjuncts.push(conjunct(c, lowerCond(c, probes)));
  }
  if (!ok) return undefined;
  return { pred: andAll(conjuncts.map((c) => c.pred)) ?? (() => true), conjuncts };
}

export function splitAnd(e: Expr, out: Expr[] = []): Expr[] {
  if (e.t === "and") {
    splitAnd(e.l, out);
    splitAnd(e.r, out);
  } else out.push(e);
  return out;
}
