/**
 * The rule compiler's orchestration: for files parsed together, it declares the names they
 * share (lists, macros), compiles each rule (`rule.ts`, with the type checker in `types.ts`
 * and lowering to closures in `lower.ts`), applies patches (`patches.ts`) and reports the
 * names no rule uses.
 */
import type { Item, Loc } from "../ast.js";
import type { Diagnostic } from "../diagnostics.js";
import type { CompiledRule } from "../program.js";
import { lookupField } from "../schema.js";
import { Context } from "./context.js";
import { checkRequires } from "./meta.js";
import { applyPatch } from "./patches.js";
import { compileRule } from "./rule.js";

export { ENGINE_VERSION } from "./meta.js";
export { FUNCTIONS, type FunctionDef } from "./functions.js";

/** A parsed file. */
export interface SourceFile {
  file: string;
  items: Item[];
}

export interface CompileResult {
  rules: CompiledRule[];
  diagnostics: Diagnostic[];
  /** Rules the files define that did not compile (their errors are in `diagnostics`). */
  uncompiled: string[];
}

type Defined = Map<string, { rule: CompiledRule | undefined; file: string; loc: Loc }>;

/** Compiles files loaded together: lists, macros and patches work across them. */
export function compileFiles(files: readonly SourceFile[]): CompileResult {
  const cx = new Context();
  declareNames(cx, files);
  const { rules, defined } = compileRules(cx, files);
  applyPatches(cx, files, defined);
  reportUnused(cx);
  const uncompiled = [...defined].filter(([, d]) => d.rule === undefined).map(([id]) => id);
  return { rules, diagnostics: cx.diagnostics, uncompiled };
}

/** Pass 1: lists and macros (visible to every file), and each file's engine requirement. */
function declareNames(cx: Context, files: readonly SourceFile[]): void {
  for (const { file, items } of files) {
    cx.file = file;
    for (const it of items) {
      if (it.t === "list") {
        if (cx.lists.has(it.name))
          cx.err(it.loc, "HANGAR_ERR_RULE_DUPLICATE", `list "${it.name}" is defined twice`);
        else cx.lists.set(it.name, { items: it.items, file, loc: it.loc, used: false });
      } else if (it.t === "macro") {
        if (cx.macros.has(it.name))
          cx.err(it.loc, "HANGAR_ERR_RULE_DUPLICATE", `macro "${it.name}" is defined twice`);
        else if (lookupField(it.name) !== undefined)
          cx.err(it.loc, "HANGAR_ERR_RULE_DUPLICATE", `macro "${it.name}" has the name of a field`);
        else
          cx.macros.set(it.name, {
            name: it.name,
            params: it.params,
            body: it.body,
            file,
            loc: it.loc,
            used: false,
          });
      } else if (it.t === "requires") checkRequires(cx, it);
    }
  }
}

/** Pass 2: every rule, refusing a second definition of an id and warning about rules with the same condition. */
function compileRules(
  cx: Context,
  files: readonly SourceFile[],
): { rules: CompiledRule[]; defined: Defined } {
  const rules: CompiledRule[] = [];
  const defined: Defined = new Map();
  const conditions = new Map<string, { id: string; file: string; loc: Loc }>();
  for (const { file, items } of files) {
    cx.file = file;
    for (const it of items) {
      if (it.t !== "rule") continue;
      const prev = defined.get(it.id);
      if (prev !== undefined) {
        cx.err(
          it.loc,
          "HANGAR_ERR_RULE_DUPLICATE",
          `rule "${it.id}" is already defined at ${prev.file}:${prev.loc.line}:${prev.loc.col}`,
        );
        continue;
      }
      const r = compileRule(cx, it.id, it.items, it.loc);
      defined.set(it.id, { rule: r, file, loc: it.loc });
      const cond = it.items.find((i) => i.t === "cond");
      if (cond !== undefined) {
        // The condition's shape without places: the same condition however it is spaced.
        const shape = JSON.stringify(cond.cond, (k, v: unknown) =>
          k === "loc" || k === "opLoc" || k === "facetLoc" ? undefined : v,
        );
        const twin = conditions.get(shape);
        if (twin !== undefined)
          cx.report(
            file,
            it.loc,
            "HANGAR_WARN_RULE_SHADOWED",
            `rule ${it.id} has the same condition as rule ${twin.id} (${twin.file}:${twin.loc.line}:${twin.loc.col}): both fire on the same events`,
          );
        else conditions.set(shape, { id: it.id, file, loc: it.loc });
      }
      if (r !== undefined) rules.push(r);
    }
  }
  return { rules, defined };
}

/** Pass 3: patches, after every rule, whichever file defines it. */
function applyPatches(cx: Context, files: readonly SourceFile[], defined: Defined): void {
  for (const { file, items } of files) {
    cx.file = file;
    for (const it of items) {
      if (it.t !== "patch") continue;
      const target = defined.get(it.id);
      if (target === undefined) {
        cx.err(it.loc, "HANGAR_ERR_RULE_PATCH", `patch for rule "${it.id}", which no loaded file defines`);
        continue;
      }
      if (target.rule !== undefined) applyPatch(cx, target.rule, it.items);
    }
  }
}

function reportUnused(cx: Context): void {
  for (const [name, l] of cx.lists)
    if (!l.used) cx.report(l.file, l.loc, "HANGAR_WARN_RULE_UNUSED", `list "${name}" is not used`);
  for (const [name, m] of cx.macros)
    if (!m.used) cx.report(m.file, m.loc, "HANGAR_WARN_RULE_UNUSED", `macro "${name}" is not used`);
}
