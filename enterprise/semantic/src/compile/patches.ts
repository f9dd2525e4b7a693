/** Exceptions (`except <name> where …`) and patches: a patch, in any file loaded together, adds exceptions to a rule by id, disables it or changes its severity. */
import type { Exception, RuleItem } from "../ast.js";
import type { BaselineProbe, CompiledException, CompiledRule } from "../program.js";
import { kindNameOf, type KindName } from "../schema.js";
import { text } from "../text.js";
import type { Context } from "./context.js";
import { lowerCond } from "./lower.js";
import { checkSeverity } from "./meta.js";
import { checkCond, scopeOf, type Scope, type StepInfo } from "./types.js";

/**
 * One exception, checked in `scope`; `names` holds the rule's exception names so far. Its
 * diagnostics and its place name the file that declared it (a patch's, for a patched rule).
 */
export function compileException(
  cx: Context,
  exc: Exception,
  scope: Scope,
  names: Set<string>,
  probes: BaselineProbe[],
): CompiledException | undefined {
  return cx.inFile(exc.file === "" ? cx.file : exc.file, () => {
    if (names.has(exc.name))
      return cx.err(exc.loc, "HANGAR_ERR_RULE_DUPLICATE", `exception "${exc.name}" is defined twice`);
    names.add(exc.name);
    const c = checkCond(cx, exc.where, scope);
    if (c === undefined) return undefined;
    return { name: exc.name, file: cx.file, loc: exc.loc, pred: lowerCond(c, probes) };
  });
}

/** Applies a patch's items to a compiled rule. */
export function applyPatch(cx: Context, rule: CompiledRule, items: RuleItem[]): void {
  const scope = ruleScope(rule);
  // A patch's exceptions are not among the rule's baseline probes (its explanations list the rule's own).
  const probes: BaselineProbe[] = [];
  const names = new Set(rule.exceptions.map((e) => e.name));
  for (const ri of items) {
    if (ri.t === "except") {
      const e = compileException(cx, ri.exc, scope, names, probes);
      if (e !== undefined) rule.exceptions.push(e);
    } else if (ri.t === "enabled") rule.enabled = ri.v;
    else if (ri.t === "meta" && ri.key === "severity") {
      const s = checkSeverity(cx, text(ri.value), ri.valueLoc);
      if (s !== undefined) rule.meta.severity = s;
    }
  }
}

/** The names a patch's exceptions see: the rule's event kind, or a sequence's steps (by their first slot). */
function ruleScope(rule: CompiledRule): Scope {
  const kinds: KindName[] = rule.t === "sequence" ? [] : [rule.slotNames[0] as KindName];
  const steps = new Map<string, StepInfo>();
  if (rule.t === "sequence")
    rule.slotNames.forEach((n, i) => {
      const kind = rule.positives[i]?.kind;
      if (!steps.has(n))
        steps.set(n, { slot: i, kind: (kind === undefined ? "exec" : kindNameOf(kind)) as KindName });
    });
  return scopeOf(kinds, steps, 0);
}
