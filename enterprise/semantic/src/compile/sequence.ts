/** Sequence conditions (EQL semantics): a bounded window, positive and negative steps in order with their join keys, repetition, references to earlier steps and `until`. */
import type { hangar } from "@hangar/proto";
import type { Condition, Expr, Name, Step } from "../ast.js";
import type { BaselineProbe, CompiledRule, Conjunct, Pred, SeqStep, StepWhy } from "../program.js";
import { kindOf } from "../schema.js";
import type { Context } from "./context.js";
import { conjunct } from "./conjunct.js";
import { andAll, lowerCond, lowerValue } from "./lower.js";
import { checkCond, checkKeys, checkKind, scopeOf, type Scope, type StepInfo } from "./types.js";

type SequenceRule = Extract<CompiledRule, { t: "sequence" }>;

export interface CompiledSequence {
  /** Scope of the rule-level parts (message, exceptions, actions, cooldown): every positive step, no current event. */
  outer: Scope;
  slotNames: string[];
  maxspanMs: number;
  positives: SeqStep[];
  negatives: SeqStep[];
  until: SequenceRule["until"];
  why: StepWhy[];
}

export function compileSequence(
  cx: Context,
  cond: Extract<Condition, { t: "sequence" }>,
  probes: BaselineProbe[],
): CompiledSequence | undefined {
  const before = cx.mark();
  if (cond.maxspan === undefined)
    cx.err(
      cond.loc,
      "HANGAR_ERR_RULE_WINDOW",
      "a sequence needs maxspan (state must expire; see rules/README.md)",
    );
  else if (!(cond.maxspan.ms > 0))
    cx.err(cond.maxspan.loc, "HANGAR_ERR_RULE_WINDOW", "maxspan must be longer than 0");
  const steps = cond.steps;
  if (steps.length === 0 || steps[0]?.negated === true)
    cx.err(steps[0]?.loc ?? cond.loc, "HANGAR_ERR_RULE_WINDOW", "a sequence must start with a positive step");
  if (!steps.some((s) => !s.negated))
    return cx.err(cond.loc, "HANGAR_ERR_RULE_MISSING", "a sequence needs a positive step");
  const perStep = steps[0]?.by.length ?? 0;
  const visible = new Map<string, StepInfo>();
  const out = {
    positives: [] as SeqStep[],
    negatives: [] as SeqStep[],
    slotNames: [] as string[],
    why: [] as StepWhy[],
  };
  const names = new Set<string>();
  for (const s of steps) {
    if (names.has(s.name)) cx.err(s.loc, "HANGAR_ERR_RULE_DUPLICATE", `step "${s.name}" is defined twice`);
    names.add(s.name);
    if (s.by.length !== perStep)
      cx.err(
        s.by[0]?.loc ?? s.loc,
        "HANGAR_ERR_RULE_KEY",
        `step ${s.name} has ${s.by.length} per-step keys; the first step has ${perStep}: every step joins on the same number of keys`,
      );
    addStep(cx, s, cond.by, visible, out, probes);
  }
  const until = compileUntil(cx, cond, perStep, visible, probes);
  if (cx.errorsSince(before)) return undefined;
  return { outer: scopeOf([], visible, -1), maxspanMs: cond.maxspan?.ms ?? 0, until, ...out };
}

/** A step: a negative one cancels (or, at the end, awaits) a window; a positive one takes `runs` slots. */
function addStep(
  cx: Context,
  s: Step,
  globalBy: Name[],
  visible: Map<string, StepInfo>,
  out: { positives: SeqStep[]; negatives: SeqStep[]; slotNames: string[]; why: StepWhy[] },
  probes: BaselineProbe[],
): void {
  const kind = checkKind(cx, s.kind);
  if (kind === undefined) return;
  const slot = out.positives.length;
  const c = compileStep(cx, s, scopeOf([kind], new Map(visible), slot), globalBy, probes);
  if (c === undefined) return;
  if (s.negated) {
    if (s.runs !== undefined)
      cx.err(s.runs.loc, "HANGAR_ERR_RULE_VALUE", "a negative step cannot repeat (runs)");
    if (s.within !== undefined && !(s.within.ms > 0))
      cx.err(s.within.loc, "HANGAR_ERR_RULE_WINDOW", "within must be longer than 0");
    const { conjuncts: _negated, ...step } = c;
    out.negatives.push({ ...step, negated: true, slot, withinMs: s.within?.ms });
    return;
  }
  if (s.within !== undefined)
    cx.err(s.within.loc, "HANGAR_ERR_RULE_WINDOW", "within applies to negative steps only (use maxspan)");
  const runs = s.runs?.n ?? 1;
  if (!Number.isInteger(runs) || runs < 1 || runs > 100)
    cx.err(s.runs?.loc, "HANGAR_ERR_RULE_VALUE", `runs must be a whole number from 1 to 100, got ${runs}`);
  visible.set(s.name, { slot, kind });
  out.why.push({ step: s.name, kind: c.kind, slot, conjuncts: c.conjuncts });
  for (let r = 0; r < Math.min(Math.max(runs, 1), 100); r++) {
    const { conjuncts: _why, ...step } = c;
    out.positives.push({ ...step, negated: false, slot: out.positives.length, withinMs: undefined });
    out.slotNames.push(s.name);
  }
}

function compileUntil(
  cx: Context,
  cond: Extract<Condition, { t: "sequence" }>,
  perStep: number,
  visible: ReadonlyMap<string, StepInfo>,
  probes: BaselineProbe[],
): SequenceRule["until"] {
  const u = cond.until;
  if (u === undefined) return undefined;
  const kind = checkKind(cx, u.kind);
  if (kind === undefined) return undefined;
  if (u.by.length !== perStep)
    cx.err(
      u.by[0]?.loc ?? u.loc,
      "HANGAR_ERR_RULE_KEY",
      `until has ${u.by.length} per-step keys; the steps have ${perStep}`,
    );
  const step: Step = {
    name: "until",
    loc: u.loc,
    negated: false,
    kind: u.kind,
    ...(u.where === undefined ? {} : { where: u.where }),
    by: u.by,
  };
  const c = compileStep(cx, step, scopeOf([kind], new Map(visible), -1), cond.by, probes);
  return c === undefined ? undefined : { kind: c.kind, local: c.local, ref: c.ref, key: c.key };
}

/**
 * A step's join key (the sequence's `by`, then its own) and condition, split by conjunct into
 * the part that reads only this event (`local`) and the part that reads earlier steps (`ref`).
 */
function compileStep(
  cx: Context,
  s: Step,
  scope: Scope,
  globalBy: Name[],
  probes: BaselineProbe[],
): (Omit<SeqStep, "negated" | "slot" | "withinMs"> & { conjuncts: Conjunct[] }) | undefined {
  const keys = checkKeys(cx, [...globalBy, ...s.by], scope);
  let local: Pred | undefined;
  let ref: Pred | undefined;
  let ok = keys !== undefined;
  const all: Conjunct[] = [];
  if (s.where !== undefined) {
    const locals: Pred[] = [];
    const refs: Pred[] = [];
    for (const e of conjuncts(s.where)) {
      const c = checkCond(cx, e, scope);
      if (c === undefined) {
        ok = false;
        continue;
      }
      const pred = lowerCond(c, probes);
      (c.refs ? refs : locals).push(pred);
      all.push(conjunct(c, pred));
    }
    local = andAll(locals);
    ref = andAll(refs);
  }
  if (!ok || keys === undefined) return undefined;
  return {
    name: s.name,
    kind: kindOf(scope.kinds[0] ?? "") as hangar.EventKind,
    local,
    ref,
    key: keys.map(lowerValue),
    conjuncts: all,
  };
}

function conjuncts(e: Expr, out: Expr[] = []): Expr[] {
  if (e.t === "and") {
    conjuncts(e.l, out);
    conjuncts(e.r, out);
  } else out.push(e);
  return out;
}
