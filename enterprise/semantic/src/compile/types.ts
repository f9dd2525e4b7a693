/**
 * The type checker: it resolves the names in conditions, values and message templates
 * (lists, macros with parameters substituted as syntax, fields per event kind, references to
 * earlier steps, functions), gives every value a type, reports each problem with its place
 * and returns typed trees for `lower.ts`, never evaluating user text as code.
 */
import type { CmpOp, Expr, ListItem, Loc, Name, Value } from "../ast.js";
import type { RE2JS } from "re2js";
import { CidrSet, compileGlob, compileRegex } from "../match.js";
import {
  FACETS,
  FIELDS,
  KIND_NAMES,
  kindOf,
  lookupField,
  type Facet,
  type FieldDef,
  type FieldType,
  type KindName,
} from "../schema.js";
import { FALCO_FIELDS, SYNONYMS } from "../falco.js";
import { closest, type Context } from "./context.js";
import { FUNCTIONS, type FunctionDef } from "./functions.js";

// ── typed trees ───────────────────────────────────────────────────────────────
interface ValueType {
  type: FieldType;
  /** For lists: the type of the items. */
  elem?: "string" | "number";
  /** Reads earlier steps of a sequence. */
  refs: boolean;
  /** Source text, for explanations and messages. */
  text: string;
}

/** A checked value: a constant, a field of the current event or of an earlier step, or a function of a value. */
export type TValue = ValueType &
  (
    | { t: "const"; value: unknown }
    | { t: "field"; def: FieldDef }
    | { t: "step"; def: FieldDef; slot: number }
    | { t: "call"; fn: FunctionDef; arg: TValue }
  );

/** How `contains`, `startswith`, `endswith`, `glob`, `regex` and `cidr` match, with literal patterns already parsed. */
export type Pattern =
  | { t: "glob"; res: RE2JS[] }
  /** One RE2JS program per pattern: each keeps its own literal prefilter (a joined alternation loses it). */
  | { t: "regex"; res: RE2JS[] }
  | { t: "cidr"; set: CidrSet }
  /** `fold`: case-insensitive (icontains, istartswith, iendswith); the patterns are already lowercase. */
  | { t: "affix"; op: AffixOp; pats: string[]; fold: boolean }
  /** The right side is a field: patterns are known only per event. */
  | { t: "dynamic"; op: AffixOp; fold: boolean };
export type AffixOp = "contains" | "startswith" | "endswith";

/** The case-insensitive operators and the operator each folds. */
const FOLDED: Readonly<Record<string, AffixOp>> = {
  icontains: "contains",
  istartswith: "startswith",
  iendswith: "endswith",
};

/** A checked condition. */
export type TCond = { refs: boolean } & (
  | { t: "and" | "or"; l: TCond; r: TCond }
  | { t: "not"; e: TCond }
  | { t: "cmp"; op: CmpOp; l: TValue; r: TValue }
  | { t: "in"; neg: boolean; l: TValue; r: TValue }
  /** `contains` on a list field: membership. */
  | { t: "member"; l: TValue; r: TValue }
  | { t: "match"; l: TValue; r: TValue; pattern: Pattern }
  | { t: "exists"; v: TValue }
  | { t: "baseline"; facet: Facet; neg: boolean; v: TValue; slot: number }
  /** A bool field alone. */
  | { t: "truthy"; v: TValue }
  | { t: "const"; value: boolean }
);

/** A checked message template: text, values with the slot of the event they read, and the count of a threshold. */
export type TTemplate = (string | { value: TValue; slot: number } | { count: true })[];

// ── scopes ────────────────────────────────────────────────────────────────────
export interface StepInfo {
  slot: number;
  kind: KindName;
}

/** What names mean where a condition or value is written. */
export interface Scope {
  /** Kinds the current event can be; empty when there is no current event (sequence-level parts). */
  kinds: readonly KindName[];
  steps: ReadonlyMap<string, StepInfo>;
  /** A macro's parameters: the argument written at the use, its scope and the file it is written in. */
  params: ReadonlyMap<string, { expr: Expr; scope: Scope; file: string }> | undefined;
  macroStack: readonly string[];
  /** Slot of the current event (baseline probes name it). */
  slot: number;
  /** Macro and parameter expansions left for this rule or step; shared by every scope made from it. */
  budget: { left: number; reported: boolean };
}

/** Macros may use macros this deep (each level is a few stack frames in the checker). */
export const MAX_MACRO_DEPTH = 64;
/**
 * Expansions of macros and macro parameters per rule or sequence step: `macro e1(x) = e0(x) or e0(x)`
 * doubles at every level, so 40 levels would check 2^40 copies (a lint that never ends).
 */
export const MAX_MACRO_EXPANSIONS = 10_000;

export function scopeOf(
  kinds: readonly KindName[],
  steps: ReadonlyMap<string, StepInfo>,
  slot: number,
): Scope {
  return {
    kinds,
    steps,
    params: undefined,
    macroStack: [],
    slot,
    budget: { left: MAX_MACRO_EXPANSIONS, reported: false },
  };
}

// ── names ─────────────────────────────────────────────────────────────────────
/** An event kind by name. */
export function checkKind(cx: Context, n: Name): KindName | undefined {
  if (kindOf(n.name) !== undefined) return n.name as KindName;
  const hint = closest(n.name, KIND_NAMES);
  return cx.err(
    n.loc,
    "HANGAR_ERR_RULE_UNKNOWN_KIND",
    `unknown event kind "${n.name}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}; kinds: ${KIND_NAMES.join(", ")}`,
  );
}

/** Join or cooldown keys: single-valued fields. */
export function checkKeys(cx: Context, names: Name[], scope: Scope): TValue[] | undefined {
  const out: TValue[] = [];
  let ok = true;
  for (const n of names) {
    const v = checkValue(cx, { t: "path", name: n.name, loc: n.loc }, scope);
    if (v === undefined) {
      ok = false;
      continue;
    }
    if (v.type === "list" || v.t === "const") {
      cx.err(n.loc, "HANGAR_ERR_RULE_KEY", `${n.name} cannot be a key: keys must be single-valued fields`);
      ok = false;
      continue;
    }
    out.push(v);
  }
  return ok ? out : undefined;
}

// ── conditions ────────────────────────────────────────────────────────────────
export function checkCond(cx: Context, e: Expr, scope: Scope): TCond | undefined {
  switch (e.t) {
    case "and":
    case "or": {
      const l = checkCond(cx, e.l, scope);
      const r = checkCond(cx, e.r, scope);
      if (l === undefined || r === undefined) return undefined;
      return { t: e.t, l, r, refs: l.refs || r.refs };
    }
    case "not": {
      const x = checkCond(cx, e.e, scope);
      return x === undefined ? undefined : { t: "not", e: x, refs: x.refs };
    }
    case "cmp":
      return checkCmp(cx, e, scope);
    case "in":
      return checkIn(cx, e, scope);
    case "strop":
      return checkStrop(cx, e, scope);
    case "exists": {
      const v = checkValue(cx, e.v, scope);
      if (v === undefined) return undefined;
      if (v.t === "const") return cx.err(e.loc, "HANGAR_ERR_RULE_TYPE", "exists applies to a field");
      return { t: "exists", v, refs: v.refs };
    }
    case "baseline":
      return checkBaseline(cx, e, scope);
    case "path": {
      const m = macroRef(cx, e.name, [], e.loc, scope);
      if (m !== null) return m;
      const v = checkValue(cx, e, scope);
      if (v === undefined) return undefined;
      if (v.type !== "bool")
        return cx.err(
          e.loc,
          "HANGAR_ERR_RULE_TYPE",
          `${e.name} is a ${v.type}, not a condition; compare it (e.g. ${e.name} = …)`,
        );
      return { t: "truthy", v, refs: v.refs };
    }
    case "call": {
      const m = macroRef(cx, e.name, e.args, e.loc, scope);
      if (m !== null) return m;
      const v = checkValue(cx, e, scope);
      if (v === undefined) return undefined;
      return cx.err(e.loc, "HANGAR_ERR_RULE_TYPE", `${e.name}(…) gives a ${v.type}, not a condition`);
    }
    case "bool":
      return { t: "const", value: e.v, refs: false };
    default:
      return cx.err(e.loc, "HANGAR_ERR_RULE_TYPE", `a ${describe(e)} is not a condition`);
  }
}

/** Expands a macro or a macro parameter (null when `name` is neither). */
function macroRef(cx: Context, name: string, args: Expr[], loc: Loc, scope: Scope): TCond | undefined | null {
  const param = scope.params?.get(name);
  if (param !== undefined && args.length === 0) {
    if (!spend(cx, scope, name, loc)) return undefined;
    return cx.inFile(param.file, () => checkCond(cx, param.expr, param.scope));
  }
  const m = cx.macros.get(name);
  if (m === undefined) return null;
  m.used = true;
  if (!spend(cx, scope, name, loc)) return undefined;
  if (scope.macroStack.length >= MAX_MACRO_DEPTH)
    return cx.err(
      loc,
      "HANGAR_ERR_RULE_LIMIT",
      `macros nested deeper than ${MAX_MACRO_DEPTH} levels: ${chain([...scope.macroStack, name])}`,
    );
  if (scope.macroStack.includes(name))
    return cx.err(
      loc,
      "HANGAR_ERR_RULE_MACRO",
      `macro "${name}" uses itself (${[...scope.macroStack, name].join(" → ")})`,
    );
  if (args.length !== m.params.length)
    return cx.err(
      loc,
      "HANGAR_ERR_RULE_MACRO",
      `macro "${name}" takes ${m.params.length} argument(s), got ${args.length}`,
    );
  const params = new Map<string, { expr: Expr; scope: Scope; file: string }>();
  const here = cx.file;
  m.params.forEach((p, i) => params.set(p.name, { expr: args[i] as Expr, scope, file: here }));
  const inner: Scope = { ...scope, params, macroStack: [...scope.macroStack, name] };
  const before = cx.mark();
  // Problems inside the body are reported where the body is written.
  const r = cx.inFile(m.file, () => checkCond(cx, m.body, inner));
  // Errors inside a macro body also point at the use.
  if (cx.diagnostics.length > before && m.file !== cx.file) {
    cx.err(
      loc,
      "HANGAR_ERR_RULE_MACRO",
      `in macro "${name}" used here (defined at ${m.file}:${m.loc.line}:${m.loc.col})`,
    );
  }
  return r;
}

/** Counts one expansion against the condition's budget; false (reported once) when it is spent. */
function spend(cx: Context, scope: Scope, name: string, loc: Loc): boolean {
  const b = scope.budget;
  if (--b.left >= 0) return true;
  if (!b.reported) {
    b.reported = true;
    cx.err(
      loc,
      "HANGAR_ERR_RULE_LIMIT",
      `the rule expands to more than ${MAX_MACRO_EXPANSIONS.toLocaleString("en-US")} macro and parameter uses (here: ${chain([...scope.macroStack, name])}); a macro that uses another more than once per level doubles at every level`,
    );
  }
  return false;
}

/** A macro chain for a message: the first and last few names when it is long. */
function chain(names: readonly string[]): string {
  const shown = names.length > 8 ? [...names.slice(0, 4), "…", ...names.slice(-3)] : names;
  return shown.join(" → ");
}

function checkCmp(cx: Context, e: Extract<Expr, { t: "cmp" }>, scope: Scope): TCond | undefined {
  const l = checkValue(cx, e.l, scope);
  const r = checkValue(cx, e.r, scope);
  if (l === undefined || r === undefined) return undefined;
  if (l.type === "list" || r.type === "list")
    return cx.err(
      e.loc,
      "HANGAR_ERR_RULE_TYPE",
      `${e.op} compares single values; for lists use in or contains`,
    );
  if (l.type !== r.type)
    return cx.err(
      e.loc,
      "HANGAR_ERR_RULE_TYPE",
      `cannot compare ${l.text} (${l.type}) with ${r.text} (${r.type})`,
    );
  if (l.type === "bool" && e.op !== "=" && e.op !== "!=")
    return cx.err(e.loc, "HANGAR_ERR_RULE_TYPE", `${e.op} does not apply to booleans`);
  return { t: "cmp", op: e.op, l, r, refs: l.refs || r.refs };
}

function checkIn(cx: Context, e: Extract<Expr, { t: "in" }>, scope: Scope): TCond | undefined {
  const l = checkValue(cx, e.l, scope);
  const r = checkValue(cx, e.r, scope);
  if (l === undefined || r === undefined) return undefined;
  if (r.type !== "list")
    return cx.err(e.r.loc, "HANGAR_ERR_RULE_TYPE", `in needs a list on the right, got ${r.text} (${r.type})`);
  const lt = l.type === "list" ? (l.elem ?? "string") : l.type;
  if (lt === "bool") return cx.err(e.loc, "HANGAR_ERR_RULE_TYPE", "in does not apply to booleans");
  if (r.t === "const" && (r.value as unknown[]).length > 0 && r.elem !== lt)
    return cx.err(
      e.loc,
      "HANGAR_ERR_RULE_TYPE",
      `${l.text} is a ${lt} but the list holds ${r.elem ?? "?"} values`,
    );
  return { t: "in", neg: e.neg, l, r, refs: l.refs || r.refs };
}

function checkStrop(cx: Context, e: Extract<Expr, { t: "strop" }>, scope: Scope): TCond | undefined {
  const l = checkValue(cx, e.l, scope);
  const r = checkValue(cx, e.r, scope);
  if (l === undefined || r === undefined) return undefined;
  const refs = l.refs || r.refs;
  if (e.op === "contains" && l.type === "list") {
    if (r.type === "list")
      return cx.err(
        e.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${l.text} contains a list: use ${l.text} in ${r.text} (true when any element is in the list)`,
      );
    return { t: "member", l, r, refs };
  }
  if (l.type !== "string" && l.type !== "list")
    return cx.err(e.loc, "HANGAR_ERR_RULE_TYPE", `${e.op} applies to strings; ${l.text} is a ${l.type}`);
  const rIsList = r.type === "list";
  if (!rIsList && r.type !== "string")
    return cx.err(
      e.r.loc,
      "HANGAR_ERR_RULE_TYPE",
      `${e.op} needs a string or a list of strings, got ${r.type}`,
    );
  if (rIsList && r.t === "const" && r.elem !== "string" && (r.value as unknown[]).length > 0)
    return cx.err(e.r.loc, "HANGAR_ERR_RULE_TYPE", `${e.op} needs strings, the list holds ${r.elem ?? "?"}`);
  const folded = FOLDED[e.op];
  const raw = r.t === "const" ? ((rIsList ? r.value : [r.value]) as string[]) : undefined;
  const pats = folded === undefined ? raw : raw?.map((p) => p.toLowerCase());
  let pattern: Pattern | undefined;
  if (folded !== undefined)
    pattern =
      pats === undefined
        ? { t: "dynamic", op: folded, fold: true }
        : { t: "affix", op: folded, pats, fold: true };
  else if (e.op === "glob" || e.op === "regex" || e.op === "cidr") {
    if (pats === undefined)
      return cx.err(
        e.r.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${e.op} needs a literal pattern (a string or a list), not a field`,
      );
    pattern = parsePattern(cx, e.op, pats, e.r.loc);
    if (pattern === undefined) return undefined;
  } else {
    const op = e.op as AffixOp;
    pattern = pats === undefined ? { t: "dynamic", op, fold: false } : { t: "affix", op, pats, fold: false };
  }
  return { t: "match", l, r, pattern, refs };
}

/** Parses literal glob, regex (RE2 syntax, linear-time) and CIDR patterns, reporting the first that is invalid. */
function parsePattern(
  cx: Context,
  op: "glob" | "regex" | "cidr",
  pats: string[],
  loc: Loc,
): Pattern | undefined {
  try {
    if (op === "glob") return { t: "glob", res: pats.map(compileGlob) };
    if (op === "cidr") return { t: "cidr", set: new CidrSet(pats) };
    const res: RE2JS[] = [];
    for (const p of pats) {
      try {
        res.push(compileRegex(p));
      } catch (err) {
        return cx.err(loc, "HANGAR_ERR_RULE_REGEX", `regex ${JSON.stringify(p)}: ${(err as Error).message}`);
      }
    }
    return { t: "regex", res };
  } catch (err) {
    return cx.err(
      loc,
      op === "regex" ? "HANGAR_ERR_RULE_REGEX" : "HANGAR_ERR_RULE_VALUE",
      `${op}: ${(err as Error).message}`,
    );
  }
}

function checkBaseline(cx: Context, e: Extract<Expr, { t: "baseline" }>, scope: Scope): TCond | undefined {
  if (!(FACETS as readonly string[]).includes(e.facet))
    return cx.err(
      e.facetLoc,
      "HANGAR_ERR_RULE_UNKNOWN_NAME",
      `unknown baseline facet "${e.facet}"; facets: ${FACETS.join(", ")}`,
    );
  const v = checkValue(cx, e.v, scope);
  if (v === undefined) return undefined;
  if (v.type !== "string" && v.type !== "number")
    return cx.err(
      e.loc,
      "HANGAR_ERR_RULE_TYPE",
      `baseline lookups take a string or number, ${v.text} is a ${v.type}`,
    );
  return { t: "baseline", facet: e.facet as Facet, neg: e.neg, v, slot: scope.slot, refs: v.refs };
}

// ── values ────────────────────────────────────────────────────────────────────
export function checkValue(cx: Context, v: Value | Expr, scope: Scope): TValue | undefined {
  switch (v.t) {
    case "str":
      return { t: "const", type: "string", value: v.v, refs: false, text: JSON.stringify(v.v) };
    case "num":
    case "dur":
      return {
        t: "const",
        type: "number",
        value: v.v,
        refs: false,
        text: v.t === "dur" ? v.text : String(v.v),
      };
    case "bool":
      return { t: "const", type: "bool", value: v.v, refs: false, text: String(v.v) };
    case "list":
      return listValue(cx, v.items, "[…]");
    case "listref": {
      const l = cx.lists.get(v.name);
      if (l === undefined) {
        const hint = closest(v.name, cx.lists.keys());
        return cx.err(
          v.loc,
          "HANGAR_ERR_RULE_UNKNOWN_NAME",
          `unknown list @${v.name}${hint === undefined ? "" : ` (did you mean @${hint}?)`}`,
        );
      }
      l.used = true;
      return listValue(cx, l.items, `@${v.name}`, [v.name]);
    }
    case "path":
      return checkPath(cx, v.name, v.loc, scope);
    case "call":
      return checkCall(cx, v, scope);
    default:
      return cx.err(v.loc, "HANGAR_ERR_RULE_TYPE", `a ${describe(v)} is not a value`);
  }
}

/**
 * A list's values, with the lists it names (`[@shells, "nc"]`) expanded in place, in order.
 * `stack`: the lists being expanded, to refuse a list that contains itself.
 */
function listValue(cx: Context, items: ListItem[], text: string, stack: string[] = []): TValue | undefined {
  let elem: "string" | "number" | undefined;
  const out: unknown[] = [];
  const add = (t: "string" | "number", v: unknown, loc: Loc): boolean => {
    if (elem !== undefined && elem !== t) {
      cx.err(loc, "HANGAR_ERR_RULE_TYPE", `a list mixes ${elem} and ${t} values`);
      return false;
    }
    elem = t;
    out.push(v);
    return true;
  };
  for (const it of items) {
    if (it.t === "listref") {
      if (stack.includes(it.name))
        return cx.err(
          it.loc,
          "HANGAR_ERR_RULE_VALUE",
          `list @${it.name} contains itself (${[...stack, it.name].map((n) => `@${n}`).join(" → ")})`,
        );
      const inner = cx.lists.get(it.name);
      if (inner === undefined) {
        const hint = closest(it.name, cx.lists.keys());
        return cx.err(
          it.loc,
          "HANGAR_ERR_RULE_UNKNOWN_NAME",
          `unknown list @${it.name}${hint === undefined ? "" : ` (did you mean @${hint}?)`}`,
        );
      }
      inner.used = true;
      const v = listValue(cx, inner.items, `@${it.name}`, [...stack, it.name]);
      if (v === undefined || v.t !== "const") return undefined;
      for (const x of v.value as unknown[]) if (!add(v.elem ?? "string", x, it.loc)) return undefined;
      continue;
    }
    const t = it.t === "str" ? "string" : it.t === "bool" ? "bool" : "number";
    if (t === "bool") return cx.err(it.loc, "HANGAR_ERR_RULE_TYPE", "lists hold strings or numbers");
    if (!add(t, it.v, it.loc)) return undefined;
  }
  return { t: "const", type: "list", elem: elem ?? "string", value: out, refs: false, text };
}

/** A name used as a value: a macro parameter, a field of an earlier step (`step.field`) or of the current event. */
function checkPath(cx: Context, name: string, loc: Loc, scope: Scope): TValue | undefined {
  const param = scope.params?.get(name);
  if (param !== undefined) {
    const p = param.expr;
    if (!isValue(p))
      return cx.err(
        p.loc,
        "HANGAR_ERR_RULE_TYPE",
        `macro argument ${name} is a condition, used here as a value`,
      );
    return cx.inFile(param.file, () => checkValue(cx, p, param.scope));
  }
  if (cx.macros.has(name))
    return cx.err(loc, "HANGAR_ERR_RULE_TYPE", `macro ${name} is a condition, used here as a value`);
  const dot = name.indexOf(".");
  const head = dot > 0 ? name.slice(0, dot) : name;
  const step = scope.steps.get(head);
  if (step !== undefined && dot > 0) {
    const fieldName = name.slice(dot + 1);
    const def = lookupField(fieldName);
    if (def === undefined) return unknownField(cx, fieldName, loc, step.kind);
    if (def.kinds !== undefined && !def.kinds.includes(step.kind))
      return cx.err(
        loc,
        "HANGAR_ERR_RULE_UNKNOWN_FIELD",
        `${fieldName} is not a field of ${step.kind} events (step ${head}); it is on ${def.kinds.join(", ")}`,
      );
    return { t: "step", type: def.type, def, slot: step.slot, refs: true, text: name };
  }
  if (scope.kinds.length === 0) {
    const steps = [...scope.steps.keys()];
    return cx.err(
      loc,
      "HANGAR_ERR_RULE_UNKNOWN_FIELD",
      `${name}: in a sequence, name the step the field comes from (${steps
        .map((s) => `${s}.${name}`)
        .slice(0, 3)
        .join(", ")})`,
    );
  }
  const def = lookupField(name);
  if (def === undefined) return unknownField(cx, name, loc, scope.kinds[0]);
  for (const k of scope.kinds)
    if (def.kinds !== undefined && !def.kinds.includes(k))
      return cx.err(
        loc,
        "HANGAR_ERR_RULE_UNKNOWN_FIELD",
        `${name} is not a field of ${k} events; it is on ${def.kinds.join(", ")}`,
      );
  return { t: "field", type: def.type, def, refs: false, text: name };
}

function unknownField(cx: Context, name: string, loc: Loc, kind: KindName | undefined): undefined {
  return cx.err(loc, "HANGAR_ERR_RULE_UNKNOWN_FIELD", `unknown field "${name}"${suggestField(name, kind)}`);
}

/**
 * What to suggest for an unknown field: by meaning first (Falco's field names, common
 * synonyms), then by spelling among the fields of the kind. Empty when nothing fits.
 */
export function suggestField(name: string, kind: KindName | undefined): string {
  const falco = FALCO_FIELDS[name];
  if (falco !== undefined) {
    const usable = falco.field !== undefined && lookupField(falco.field) !== undefined;
    return usable
      ? ` (Falco's ${name} is ${falco.field ?? ""} here${falco.note === undefined ? "" : `: ${falco.note}`})`
      : ` (Falco's ${name}: ${falco.note ?? "no equivalent"})`;
  }
  const synonym = Object.hasOwn(SYNONYMS, name) ? SYNONYMS[name] : undefined;
  if (synonym !== undefined) return ` (did you mean "${synonym}"?)`;
  const candidates = FIELDS.filter(
    (d) => d.kinds === undefined || kind === undefined || d.kinds.includes(kind),
  ).map((d) => d.name);
  const hint = closest(name, candidates);
  return hint === undefined ? "" : ` (did you mean "${hint}"?)`;
}

function checkCall(cx: Context, v: Extract<Value, { t: "call" }>, scope: Scope): TValue | undefined {
  const fn = Object.hasOwn(FUNCTIONS, v.name) ? FUNCTIONS[v.name] : undefined;
  if (fn === undefined) {
    if (cx.macros.has(v.name))
      return cx.err(v.loc, "HANGAR_ERR_RULE_TYPE", `macro ${v.name} is a condition, used here as a value`);
    return cx.err(
      v.loc,
      "HANGAR_ERR_RULE_UNKNOWN_NAME",
      `unknown function or macro "${v.name}"; functions: ${Object.keys(FUNCTIONS).join(", ")}`,
    );
  }
  if (v.args.length !== 1) return cx.err(v.loc, "HANGAR_ERR_RULE_TYPE", `${v.name}() takes one argument`);
  const a = v.args[0] as Expr;
  if (!isValue(a)) return cx.err(a.loc, "HANGAR_ERR_RULE_TYPE", `${v.name}() takes a value, not a condition`);
  const x = checkValue(cx, a, scope);
  if (x === undefined) return undefined;
  if (!fn.accepts.includes(x.type))
    return cx.err(
      a.loc,
      "HANGAR_ERR_RULE_TYPE",
      `${v.name}() takes ${fn.accepts.join(" or ")}, got ${x.type}`,
    );
  return { t: "call", type: fn.returns, fn, arg: x, refs: x.refs, text: `${v.name}(${x.text})` };
}

// ── message templates ─────────────────────────────────────────────────────────
/** `"…{field}…"`: each placeholder a field of the event (or `{step.field}`, or `{count}` for thresholds). */
export function checkTemplate(
  cx: Context,
  src: { text: string; loc: Loc },
  scope: Scope,
  threshold: boolean,
): TTemplate | undefined {
  const parts: TTemplate = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  let ok = true;
  for (const m of src.text.matchAll(re)) {
    parts.push(src.text.slice(last, m.index));
    last = m.index + m[0].length;
    const name = (m[1] ?? "").trim();
    const loc = {
      line: src.loc.line,
      col: src.loc.col + 1 + m.index,
      offset: src.loc.offset + 1 + m.index,
    };
    if (name === "count" && threshold) {
      parts.push({ count: true });
      continue;
    }
    const value = checkValue(cx, { t: "path", name, loc }, scope);
    if (value === undefined) {
      ok = false;
      continue;
    }
    const dot = name.indexOf(".");
    const step = dot > 0 ? scope.steps.get(name.slice(0, dot)) : undefined;
    parts.push({ value, slot: step?.slot ?? 0 });
  }
  parts.push(src.text.slice(last));
  return ok ? parts : undefined;
}

// ── syntax helpers ────────────────────────────────────────────────────────────
export function isValue(e: Expr): e is Value {
  return ["str", "num", "dur", "bool", "path", "list", "listref", "call"].includes(e.t);
}

function describe(e: Expr): string {
  switch (e.t) {
    case "str":
      return "string";
    case "num":
    case "dur":
      return "number";
    case "list":
    case "listref":
      return "list";
    default:
      return e.t;
  }
}
