/**
 * Type checking and compilation in one pass: resolves lists, macros (with
 * parameters, substituted as syntax), fields per event kind and references to
 * earlier steps; reports every problem with its place; and turns each
 * condition into closures. User text is never evaluated as code.
 */
import { hangar } from "@hangar/proto";
import type { Expr, Item, Literal, Loc, Name, RuleItem, Step, TestCase, Value } from "./ast.js";
import { flat } from "./build.js";
import { diag, type Diagnostic, type DiagnosticCode } from "./diagnostics.js";
import { CidrSet, globToRegExp, regexProblem } from "./match.js";
import {
  MATURITIES,
  SEVERITIES,
  type BaselineProbe,
  type CompiledAction,
  type CompiledException,
  type CompiledRule,
  type Env,
  type Fn,
  type LearningPolicy,
  type Pred,
  type RuleMeta,
  type SeqStep,
  type SeverityName,
  type Template,
} from "./program.js";
import {
  FACETS,
  FIELDS,
  KIND_NAMES,
  entropy,
  kindOf,
  lookupField,
  type Facet,
  type FieldType,
  type KindName,
} from "./schema.js";
import { text } from "./text.js";

type RuntimeEvent = hangar.RuntimeEvent;

export const ENGINE_VERSION = "1.0.0";

/** A parsed file. */
export interface SourceFile {
  file: string;
  items: Item[];
}

export interface CompileResult {
  rules: CompiledRule[];
  diagnostics: Diagnostic[];
}

interface ValueC {
  type: FieldType;
  /** For lists: the type of the items. */
  elem?: "string" | "number";
  fn: Fn;
  isConst: boolean;
  konst?: unknown;
  refs: boolean;
  /** Source text, for explanations. */
  text: string;
}

interface BoolC {
  fn: Pred;
  refs: boolean;
}

interface StepInfo {
  slot: number;
  kind: KindName;
}

interface Scope {
  /** Kinds the current event can be; empty when there is no current event (sequence-level parts). */
  kinds: readonly KindName[];
  steps: ReadonlyMap<string, StepInfo>;
  params: ReadonlyMap<string, { expr: Expr; scope: Scope }> | undefined;
  macroStack: readonly string[];
  /** Slot of the current event (for baseline probes). */
  slot: number;
  /** Collects baseline probes of the rule being compiled. */
  probes: BaselineProbe[];
}

interface MacroDef {
  name: string;
  params: Name[];
  body: Expr;
  file: string;
  loc: Loc;
}

const MITRE_ID = /^T\d{4}(\.\d{3})?$/;

function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagPrev = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (prev[j - 1] ?? 0) + 1,
        diagPrev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diagPrev = tmp;
    }
  }
  return prev[b.length] ?? 0;
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

function engineSatisfies(range: string): boolean | undefined {
  const m = /^\s*(>=)?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(range);
  if (m === null) return undefined;
  const want = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
  const have = ENGINE_VERSION.split(".").map(Number);
  if (m[1] === undefined) return want[0] === have[0] && (want[1] ?? 0) <= (have[1] ?? 0);
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) > (want[i] ?? 0)) return true;
    if ((have[i] ?? 0) < (want[i] ?? 0)) return false;
  }
  return true;
}

export class Compiler {
  readonly diagnostics: Diagnostic[] = [];
  readonly #lists = new Map<string, { items: Literal[]; file: string; loc: Loc; used: boolean }>();
  readonly #macros = new Map<string, MacroDef & { used: boolean }>();
  #file = "";

  #err(loc: Loc | undefined, code: DiagnosticCode, message: string): undefined {
    this.diagnostics.push(diag(this.#file, loc, code, message));
    return undefined;
  }

  compile(files: readonly SourceFile[]): CompileResult {
    // Pass 1: names (lists and macros are visible to every file loaded together).
    for (const { file, items } of files) {
      this.#file = file;
      for (const it of items) {
        if (it.t === "list") {
          if (this.#lists.has(it.name))
            this.#err(it.loc, "HANGAR_ERR_RULE_DUPLICATE", `list "${it.name}" is defined twice`);
          else this.#lists.set(it.name, { items: it.items, file, loc: it.loc, used: false });
        } else if (it.t === "macro") {
          if (this.#macros.has(it.name))
            this.#err(it.loc, "HANGAR_ERR_RULE_DUPLICATE", `macro "${it.name}" is defined twice`);
          else if (lookupField(it.name) !== undefined)
            this.#err(it.loc, "HANGAR_ERR_RULE_DUPLICATE", `macro "${it.name}" has the name of a field`);
          else
            this.#macros.set(it.name, {
              name: it.name,
              params: it.params,
              body: it.body,
              file,
              loc: it.loc,
              used: false,
            });
        } else if (it.t === "requires") {
          const ok = engineSatisfies(it.range);
          if (ok === undefined)
            this.#err(
              it.valueLoc,
              "HANGAR_ERR_RULE_VALUE",
              `engine requirement "${it.range}" is not ">=MAJOR.MINOR" or "MAJOR.MINOR"`,
            );
          else if (!ok)
            this.#err(
              it.valueLoc,
              "HANGAR_ERR_RULE_ENGINE",
              `this file needs engine ${it.range}; this engine is ${ENGINE_VERSION}`,
            );
        }
      }
    }
    // Pass 2: rules, then patches.
    const rules: CompiledRule[] = [];
    const byId = new Map<string, { rule: CompiledRule | undefined; file: string; loc: Loc }>();
    const conditions = new Map<string, { id: string; file: string; loc: Loc }>();
    for (const { file, items } of files) {
      this.#file = file;
      for (const it of items) {
        if (it.t !== "rule") continue;
        const prev = byId.get(it.id);
        if (prev !== undefined) {
          this.#err(
            it.loc,
            "HANGAR_ERR_RULE_DUPLICATE",
            `rule "${it.id}" is already defined at ${prev.file}:${prev.loc.line}:${prev.loc.col}`,
          );
          continue;
        }
        const r = this.#rule(it.id, it.items, it.loc);
        byId.set(it.id, { rule: r, file, loc: it.loc });
        const cond = it.items.find((i) => i.t === "cond");
        if (cond !== undefined) {
          const shape = JSON.stringify(cond.cond, (k, v: unknown) =>
            k === "loc" || k === "opLoc" || k === "facetLoc" ? undefined : v,
          );
          const twin = conditions.get(shape);
          if (twin !== undefined)
            this.diagnostics.push(
              diag(
                file,
                it.loc,
                "HANGAR_WARN_RULE_SHADOWED",
                `rule ${it.id} has the same condition as rule ${twin.id} (${twin.file}:${twin.loc.line}:${twin.loc.col}): both fire on the same events`,
              ),
            );
          else conditions.set(shape, { id: it.id, file, loc: it.loc });
        }
        if (r !== undefined) rules.push(r);
      }
    }
    for (const { file, items } of files) {
      this.#file = file;
      for (const it of items) {
        if (it.t !== "patch") continue;
        const target = byId.get(it.id);
        if (target === undefined) {
          this.#err(
            it.loc,
            "HANGAR_ERR_RULE_PATCH",
            `patch for rule "${it.id}", which no loaded file defines`,
          );
          continue;
        }
        if (target.rule !== undefined) this.#patch(target.rule, it.items);
      }
    }
    // Unused names (warnings).
    for (const [name, l] of this.#lists)
      if (!l.used)
        this.diagnostics.push(diag(l.file, l.loc, "HANGAR_WARN_RULE_UNUSED", `list "${name}" is not used`));
    for (const [name, m] of this.#macros)
      if (!m.used)
        this.diagnostics.push(diag(m.file, m.loc, "HANGAR_WARN_RULE_UNUSED", `macro "${name}" is not used`));
    return { rules, diagnostics: this.diagnostics };
  }

  // ── rules ─────────────────────────────────────────────────────────────────
  #rule(id: string, items: RuleItem[], loc: Loc): CompiledRule | undefined {
    const before = this.diagnostics.length;
    const meta: RuleMeta = {
      id,
      file: this.#file,
      loc,
      description: "",
      severity: "medium",
      mitre: [],
      maturity: "",
      version: 1,
      engine: undefined,
    };
    const seen = new Set<string>();
    let hasSeverity = false;
    let messageSrc: { text: string; loc: Loc } | undefined;
    let enabled = true;
    for (const ri of items) {
      if (ri.t !== "meta") continue;
      if (seen.has(ri.key))
        this.#err(ri.loc, "HANGAR_ERR_RULE_DUPLICATE", `"${ri.key}" is given twice in rule ${id}`);
      seen.add(ri.key);
      const v = ri.value;
      switch (ri.key) {
        case "description":
          meta.description = text(v);
          break;
        case "message":
          messageSrc = { text: text(v), loc: ri.valueLoc };
          break;
        case "severity":
          if ((SEVERITIES as readonly string[]).includes(text(v))) {
            meta.severity = v as SeverityName;
            hasSeverity = true;
          } else
            this.#err(
              ri.valueLoc,
              "HANGAR_ERR_RULE_VALUE",
              `severity "${text(v)}" is not one of ${SEVERITIES.join(", ")}`,
            );
          break;
        case "maturity":
          if ((MATURITIES as readonly string[]).includes(text(v))) meta.maturity = text(v);
          else
            this.#err(
              ri.valueLoc,
              "HANGAR_ERR_RULE_VALUE",
              `maturity "${text(v)}" is not one of ${MATURITIES.join(", ")}`,
            );
          break;
        case "version": {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1)
            this.#err(
              ri.valueLoc,
              "HANGAR_ERR_RULE_VALUE",
              `version must be a whole number ≥ 1, got ${text(v)}`,
            );
          else meta.version = n;
          break;
        }
        case "mitre":
          for (const t of v as Name[]) {
            if (MITRE_ID.test(t.name)) meta.mitre.push(t.name);
            else
              this.#err(
                t.loc,
                "HANGAR_ERR_RULE_VALUE",
                `"${t.name}" is not a MITRE ATT&CK technique id (T1234 or T1234.001)`,
              );
          }
          break;
        case "engine": {
          meta.engine = text(v);
          const ok = engineSatisfies(text(v));
          if (ok === undefined)
            this.#err(
              ri.valueLoc,
              "HANGAR_ERR_RULE_VALUE",
              `engine requirement "${text(v)}" is not ">=MAJOR.MINOR"`,
            );
          else if (!ok)
            this.#err(
              ri.valueLoc,
              "HANGAR_ERR_RULE_ENGINE",
              `rule ${id} needs engine ${text(v)}; this engine is ${ENGINE_VERSION}`,
            );
          break;
        }
      }
    }
    for (const ri of items) if (ri.t === "enabled") enabled = ri.v;
    if (meta.description === "") this.#err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no description`);
    if (!hasSeverity && !seen.has("severity"))
      this.#err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no severity`);
    if (!seen.has("mitre")) this.#err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no mitre tags`);
    if (meta.maturity === "" && !seen.has("maturity"))
      this.#err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no maturity (stable, incubating or sandbox)`);

    const conds = items.filter((i): i is Extract<RuleItem, { t: "cond" }> => i.t === "cond");
    if (conds.length === 0)
      return this.#err(
        loc,
        "HANGAR_ERR_RULE_MISSING",
        `rule ${id} has no condition (event, sequence, count or distinct)`,
      );
    if (conds.length > 1)
      return this.#err(conds[1]?.loc, "HANGAR_ERR_RULE_DUPLICATE", `rule ${id} has more than one condition`);
    const cond = (conds[0] as Extract<RuleItem, { t: "cond" }>).cond;
    const probes: BaselineProbe[] = [];
    const empty = new Map<string, StepInfo>();
    const base = (kinds: KindName[], steps: ReadonlyMap<string, StepInfo>, slot: number): Scope => ({
      kinds,
      steps,
      params: undefined,
      macroStack: [],
      slot,
      probes,
    });

    let rule: CompiledRule | undefined;
    // Scope of the rule-level parts (message, exceptions, actions, cooldown).
    let outer: Scope;
    let slotNames: string[];
    if (cond.t === "event") {
      const kind = this.#kind(cond.kind);
      if (kind === undefined) return undefined;
      outer = base([kind], empty, 0);
      slotNames = [kind];
      const where = cond.where === undefined ? undefined : this.#bool(cond.where, outer);
      if (cond.where !== undefined && where === undefined) return undefined;
      rule = {
        t: "event",
        kind: kindOf(kind) as hangar.EventKind,
        where: where?.fn ?? (() => true),
        ...this.#common(),
      };
    } else if (cond.t === "threshold") {
      const kind = this.#kind(cond.kind);
      if (kind === undefined) return undefined;
      outer = base([kind], empty, 0);
      slotNames = [kind];
      const where = cond.where === undefined ? undefined : this.#bool(cond.where, outer);
      const key = this.#keys(cond.by, outer);
      let field: ValueC | undefined;
      if (cond.field !== undefined) {
        field = this.#value({ t: "path", name: cond.field.name, loc: cond.field.loc }, outer);
        if (field !== undefined && field.type === "list")
          this.#err(
            cond.field.loc,
            "HANGAR_ERR_RULE_TYPE",
            `distinct needs a single-valued field; ${cond.field.name} is a list`,
          );
      }
      if (!(cond.windowMs > 0))
        this.#err(cond.loc, "HANGAR_ERR_RULE_WINDOW", "the window (over …) must be longer than 0");
      if (!Number.isInteger(cond.limit) || cond.limit < 0)
        this.#err(
          cond.opLoc,
          "HANGAR_ERR_RULE_VALUE",
          `the threshold must be a whole number ≥ 0, got ${cond.limit}`,
        );
      const needed = cond.op === ">" ? cond.limit + 1 : cond.limit;
      if (needed > 100_000)
        this.#err(cond.opLoc, "HANGAR_ERR_RULE_VALUE", "thresholds above 100000 are not supported");
      if (!(cond.op === ">=" || cond.op === ">"))
        this.#err(
          cond.opLoc,
          "HANGAR_ERR_RULE_VALUE",
          `a threshold compares with >= or >, not ${String(cond.op)}`,
        );
      if (key === undefined || (cond.where !== undefined && where === undefined)) return undefined;
      rule = {
        t: "threshold",
        fn: cond.fn,
        kind: kindOf(kind) as hangar.EventKind,
        where: where?.fn,
        key,
        field: field?.fn,
        windowMs: cond.windowMs,
        needed: Math.max(1, needed),
        ...this.#common(),
      };
    } else {
      const r = this.#sequence(cond, base);
      if (r === undefined) return undefined;
      outer = r.outer;
      slotNames = r.slotNames;
      rule = {
        t: "sequence",
        maxspanMs: r.maxspanMs,
        positives: r.positives,
        negatives: r.negatives,
        until: r.until,
        ...this.#common(),
      };
    }
    rule.slotNames = slotNames;
    rule.keyNames =
      cond.t === "sequence"
        ? [...cond.by, ...(cond.steps[0]?.by ?? [])].map((n) => n.name)
        : cond.t === "threshold"
          ? cond.by.map((n) => n.name)
          : [];
    if (rule.t === "sequence")
      for (const p of probes) {
        const step = slotNames[p.slot];
        if (step !== undefined && !p.text.startsWith(`${step}.`)) p.text = `${step}.${p.text}`;
      }
    rule.probes = probes;
    rule.meta = meta;
    rule.enabled = enabled;
    rule.message = this.#template(messageSrc, outer, rule.t === "threshold", id) ?? (() => `${id} matched`);
    // Exceptions, actions, learning, cooldown, tests.
    const excNames = new Set<string>();
    for (const ri of items) {
      switch (ri.t) {
        case "except": {
          const e = this.#exception(ri.exc, outer, excNames);
          if (e !== undefined) rule.exceptions.push(e);
          break;
        }
        case "action":
          for (const a of flat(ri.actions)) {
            const c = this.#action(a.name, a.args, a.loc, outer);
            if (c !== undefined) rule.actions.push(c);
          }
          break;
        case "learning": {
          const l = this.#learning(ri.mode, ri.loc);
          if (l !== undefined) rule.learning = l;
          break;
        }
        case "cooldown": {
          const key = this.#keys(ri.by, outer);
          if (key !== undefined) rule.cooldown = { ms: ri.ms, key };
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
    const testNames = new Set<string>();
    for (const t of rule.tests) {
      if (testNames.has(t.name))
        this.#err(t.loc, "HANGAR_ERR_RULE_DUPLICATE", `test "${t.name}" is defined twice in rule ${id}`);
      testNames.add(t.name);
      this.#checkTest(t, rule);
    }
    if (rule.tests.length === 0)
      this.diagnostics.push(diag(this.#file, loc, "HANGAR_WARN_RULE_NO_TEST", `rule ${id} has no test`));
    if (!items.some((i) => i.t === "learning") && probes.length > 0) rule.learning = { mode: "skip" };
    return this.diagnostics.slice(before).some((d) => d.severity === "error") ? undefined : rule;
  }

  #common(): Omit<Extract<CompiledRule, { t: "event" }>, "t" | "kind" | "where"> {
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
      slotNames: [],
      keyNames: [],
    };
  }

  #kind(n: Name): KindName | undefined {
    if (kindOf(n.name) !== undefined) return n.name as KindName;
    const hint = closest(n.name, KIND_NAMES);
    return this.#err(
      n.loc,
      "HANGAR_ERR_RULE_UNKNOWN_KIND",
      `unknown event kind "${n.name}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}; kinds: ${KIND_NAMES.join(", ")}`,
    );
  }

  #keys(names: Name[], scope: Scope): Fn[] | undefined {
    const out: Fn[] = [];
    let ok = true;
    for (const n of names) {
      const v = this.#value({ t: "path", name: n.name, loc: n.loc }, scope);
      if (v === undefined) {
        ok = false;
        continue;
      }
      if (v.type === "list" || v.isConst) {
        this.#err(
          n.loc,
          "HANGAR_ERR_RULE_KEY",
          `${n.name} cannot be a key: keys must be single-valued fields`,
        );
        ok = false;
        continue;
      }
      out.push(v.fn);
    }
    return ok ? out : undefined;
  }

  #sequence(
    cond: Extract<import("./ast.js").Condition, { t: "sequence" }>,
    base: (kinds: KindName[], steps: ReadonlyMap<string, StepInfo>, slot: number) => Scope,
  ):
    | {
        outer: Scope;
        slotNames: string[];
        maxspanMs: number;
        positives: SeqStep[];
        negatives: SeqStep[];
        until: Extract<CompiledRule, { t: "sequence" }>["until"];
      }
    | undefined {
    const before = this.diagnostics.length;
    if (cond.maxspan === undefined)
      this.#err(
        cond.loc,
        "HANGAR_ERR_RULE_WINDOW",
        "a sequence needs maxspan (state must expire; see rules/README.md)",
      );
    else if (!(cond.maxspan.ms > 0))
      this.#err(cond.maxspan.loc, "HANGAR_ERR_RULE_WINDOW", "maxspan must be longer than 0");
    const maxspanMs = cond.maxspan?.ms ?? 0;
    const steps = cond.steps;
    if (steps.length === 0 || steps[0]?.negated === true)
      this.#err(
        steps[0]?.loc ?? cond.loc,
        "HANGAR_ERR_RULE_WINDOW",
        "a sequence must start with a positive step",
      );
    if (!steps.some((s) => !s.negated))
      return this.#err(cond.loc, "HANGAR_ERR_RULE_MISSING", "a sequence needs a positive step");
    const perStep = steps[0]?.by.length ?? 0;
    const visible = new Map<string, StepInfo>();
    const names = new Set<string>();
    const positives: SeqStep[] = [];
    const negatives: SeqStep[] = [];
    const slotNames: string[] = [];
    const global = this.#keysFor(
      cond.by,
      steps.map((s) => s.kind),
    );
    for (const s of steps) {
      if (names.has(s.name))
        this.#err(s.loc, "HANGAR_ERR_RULE_DUPLICATE", `step "${s.name}" is defined twice`);
      names.add(s.name);
      if (s.by.length !== perStep)
        this.#err(
          s.by[0]?.loc ?? s.loc,
          "HANGAR_ERR_RULE_KEY",
          `step ${s.name} has ${s.by.length} per-step keys; the first step has ${perStep}: every step joins on the same number of keys`,
        );
      const kind = this.#kind(s.kind);
      if (kind === undefined) continue;
      const slot = positives.length;
      const scope = base([kind], new Map(visible), slot);
      const c = this.#step(s, scope, cond.by);
      if (c === undefined) continue;
      if (s.negated) {
        if (s.runs !== undefined)
          this.#err(s.runs.loc, "HANGAR_ERR_RULE_VALUE", "a negative step cannot repeat (runs)");
        if (s.within !== undefined && !(s.within.ms > 0))
          this.#err(s.within.loc, "HANGAR_ERR_RULE_WINDOW", "within must be longer than 0");
        negatives.push({ ...c, negated: true, slot, withinMs: s.within?.ms });
      } else {
        if (s.within !== undefined)
          this.#err(
            s.within.loc,
            "HANGAR_ERR_RULE_WINDOW",
            "within applies to negative steps only (use maxspan)",
          );
        const runs = s.runs?.n ?? 1;
        if (!Number.isInteger(runs) || runs < 1 || runs > 100)
          this.#err(
            s.runs?.loc,
            "HANGAR_ERR_RULE_VALUE",
            `runs must be a whole number from 1 to 100, got ${runs}`,
          );
        visible.set(s.name, { slot, kind });
        for (let r = 0; r < Math.min(Math.max(runs, 1), 100); r++) {
          positives.push({ ...c, negated: false, slot: positives.length, withinMs: undefined });
          slotNames.push(s.name);
        }
      }
    }
    let until: Extract<CompiledRule, { t: "sequence" }>["until"];
    if (cond.until !== undefined) {
      const u = cond.until;
      const kind = this.#kind(u.kind);
      if (kind !== undefined) {
        if (u.by.length !== perStep)
          this.#err(
            u.by[0]?.loc ?? u.loc,
            "HANGAR_ERR_RULE_KEY",
            `until has ${u.by.length} per-step keys; the steps have ${perStep}`,
          );
        const scope = base([kind], new Map(visible), -1);
        const c = this.#step(
          {
            name: "until",
            loc: u.loc,
            negated: false,
            kind: u.kind,
            ...(u.where === undefined ? {} : { where: u.where }),
            by: u.by,
          },
          scope,
          cond.by,
        );
        if (c !== undefined) until = { kind: c.kind, local: c.local, ref: c.ref, key: c.key };
      }
    }
    void global;
    if (this.diagnostics.slice(before).some((d) => d.severity === "error")) return undefined;
    return { outer: base([], visible, -1), slotNames, maxspanMs, positives, negatives, until };
  }

  /** Checks that the sequence-level `by` fields exist on every step kind (reported once per field). */
  #keysFor(by: Name[], kinds: Name[]): void {
    void by;
    void kinds;
  }

  #step(s: Step, scope: Scope, globalBy: Name[]): Omit<SeqStep, "negated" | "slot" | "withinMs"> | undefined {
    const key = this.#keys([...globalBy, ...s.by], scope);
    let local: Pred | undefined;
    let ref: Pred | undefined;
    let ok = key !== undefined;
    if (s.where !== undefined) {
      const conj: Expr[] = [];
      const flat = (e: Expr): void => {
        if (e.t === "and") {
          flat(e.l);
          flat(e.r);
        } else conj.push(e);
      };
      flat(s.where);
      const locals: Pred[] = [];
      const refs: Pred[] = [];
      for (const e of conj) {
        const c = this.#bool(e, scope);
        if (c === undefined) {
          ok = false;
          continue;
        }
        (c.refs ? refs : locals).push(c.fn);
      }
      local = andAll(locals);
      ref = andAll(refs);
    }
    if (!ok || key === undefined) return undefined;
    return { name: s.name, kind: kindOf(scope.kinds[0] ?? "") as hangar.EventKind, local, ref, key };
  }

  #exception(
    exc: { name: string; where: Expr; loc: Loc; file: string },
    scope: Scope,
    names: Set<string>,
  ): CompiledException | undefined {
    const saved = this.#file;
    this.#file = exc.file === "" ? saved : exc.file;
    try {
      if (names.has(exc.name))
        return this.#err(exc.loc, "HANGAR_ERR_RULE_DUPLICATE", `exception "${exc.name}" is defined twice`);
      names.add(exc.name);
      const c = this.#bool(exc.where, scope);
      if (c === undefined) return undefined;
      return { name: exc.name, file: this.#file, loc: exc.loc, pred: c.fn };
    } finally {
      this.#file = saved;
    }
  }

  #action(name: string, args: Expr[], loc: Loc, scope: Scope): CompiledAction | undefined {
    const ttl = (e: Expr | undefined, what: string): number | undefined => {
      if (e === undefined || e.t !== "dur" || !(e.v > 0))
        return this.#err(
          e?.loc ?? loc,
          "HANGAR_ERR_RULE_VALUE",
          `${what} needs a ttl duration (e.g. 10m) as its last argument`,
        );
      return e.v;
    };
    switch (name) {
      case "alert":
        if (args.length > 0) return this.#err(loc, "HANGAR_ERR_RULE_TYPE", "alert takes no arguments");
        return { type: "alert" };
      case "block_egress": {
        if (args.length !== 2)
          return this.#err(loc, "HANGAR_ERR_RULE_TYPE", "block_egress(destination, ttl) takes 2 arguments");
        const d = args[0] as Expr;
        const v = isValue(d) ? this.#value(d, scope) : undefined;
        if (v === undefined)
          return isValue(d)
            ? undefined
            : this.#err(d.loc, "HANGAR_ERR_RULE_TYPE", "the destination must be a field or a string");
        if (v.type !== "string")
          return this.#err(d.loc, "HANGAR_ERR_RULE_TYPE", `the destination must be a string, got ${v.type}`);
        const t = ttl(args[1], "block_egress");
        return t === undefined ? undefined : { type: "block_egress", dest: v.fn, destText: v.text, ttlMs: t };
      }
      case "quarantine": {
        if (args.length !== 1)
          return this.#err(loc, "HANGAR_ERR_RULE_TYPE", "quarantine(ttl) takes 1 argument");
        const t = ttl(args[0], "quarantine");
        return t === undefined ? undefined : { type: "quarantine", ttlMs: t };
      }
      default:
        return this.#err(
          loc,
          "HANGAR_ERR_RULE_UNKNOWN_NAME",
          `unknown action "${name}"; actions: alert, block_egress(destination, ttl), quarantine(ttl)`,
        );
    }
  }

  #learning(mode: string, loc: Loc): LearningPolicy | undefined {
    if (mode === "skip") return { mode: "skip" };
    if (mode === "alert") return { mode: "alert" };
    if (mode.startsWith("severity:")) {
      const s = mode.slice("severity:".length);
      if ((SEVERITIES as readonly string[]).includes(s))
        return { mode: "severity", severity: s as SeverityName };
      return this.#err(
        loc,
        "HANGAR_ERR_RULE_VALUE",
        `severity "${s}" is not one of ${SEVERITIES.join(", ")}`,
      );
    }
    return this.#err(
      loc,
      "HANGAR_ERR_RULE_VALUE",
      `learning "${mode}": use learning skip, learning alert or learning severity <level>`,
    );
  }

  #template(
    src: { text: string; loc: Loc } | undefined,
    scope: Scope,
    threshold: boolean,
    id: string,
  ): Template | undefined {
    if (src === undefined) return undefined;
    const parts: (string | { fn: Fn; slot: number } | { count: true })[] = [];
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
      const v = this.#value({ t: "path", name, loc }, scope);
      if (v === undefined) {
        ok = false;
        continue;
      }
      const dot = name.indexOf(".");
      const step = dot > 0 ? scope.steps.get(name.slice(0, dot)) : undefined;
      parts.push({ fn: v.fn, slot: step?.slot ?? 0 });
    }
    parts.push(src.text.slice(last));
    if (!ok) return undefined;
    void id;
    const env: Env = { steps: [], learning: false, baseline: undefined };
    return (events, count) => {
      let out = "";
      const e: Env = { ...env, steps: events };
      for (const p of parts) {
        if (typeof p === "string") out += p;
        else if ("count" in p) out += String(count);
        else {
          const ev = events[p.slot] ?? events[events.length - 1];
          out += ev === undefined ? "" : text(p.fn(ev, e));
        }
      }
      return out;
    };
  }

  #patch(rule: CompiledRule, items: RuleItem[]): void {
    const scopeKinds: KindName[] = rule.t === "sequence" ? [] : [rule.slotNames[0] as KindName];
    const steps = new Map<string, StepInfo>();
    if (rule.t === "sequence")
      rule.slotNames.forEach((n, i) => {
        if (!steps.has(n)) steps.set(n, { slot: i, kind: kindNameOfStep(rule, i) });
      });
    const scope: Scope = { kinds: scopeKinds, steps, params: undefined, macroStack: [], slot: 0, probes: [] };
    const names = new Set(rule.exceptions.map((e) => e.name));
    for (const ri of items) {
      if (ri.t === "except") {
        const e = this.#exception(ri.exc, scope, names);
        if (e !== undefined) rule.exceptions.push(e);
      } else if (ri.t === "enabled") rule.enabled = ri.v;
      else if (ri.t === "meta" && ri.key === "severity") {
        const v = text(ri.value);
        if ((SEVERITIES as readonly string[]).includes(v)) rule.meta.severity = v as SeverityName;
        else
          this.#err(
            ri.valueLoc,
            "HANGAR_ERR_RULE_VALUE",
            `severity "${v}" is not one of ${SEVERITIES.join(", ")}`,
          );
      }
    }
  }

  #checkTest(t: TestCase, rule: CompiledRule): void {
    for (const ev of t.events) {
      const kind = kindOf(ev.kind.name);
      if (kind === undefined) {
        this.#err(
          ev.kind.loc,
          "HANGAR_ERR_RULE_TEST",
          `unknown event kind "${ev.kind.name}" in test "${t.name}"`,
        );
        continue;
      }
      for (const f of ev.fields) {
        const def = lookupField(f.name);
        if (def === undefined) {
          const hint = closest(
            f.name,
            FIELDS.map((d) => d.name),
          );
          this.#err(
            f.loc,
            "HANGAR_ERR_RULE_TEST",
            `unknown field "${f.name}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}`,
          );
        } else if (def.kinds !== undefined && !def.kinds.includes(ev.kind.name as KindName))
          this.#err(f.loc, "HANGAR_ERR_RULE_TEST", `${f.name} is not a field of ${ev.kind.name} events`);
        else if (!TEST_SETTABLE.has(def.name) && !def.name.startsWith("tool.args."))
          this.#err(
            f.loc,
            "HANGAR_ERR_RULE_TEST",
            `${f.name} is derived and cannot be set in a test; set the field it comes from`,
          );
      }
    }
    for (const b of t.baseline)
      if (!(FACETS as readonly string[]).includes(b.facet.name))
        this.#err(
          b.facet.loc,
          "HANGAR_ERR_RULE_UNKNOWN_NAME",
          `unknown baseline facet "${b.facet.name}"; facets: ${FACETS.join(", ")}`,
        );
    if (t.expects.length === 0) this.#err(t.loc, "HANGAR_ERR_RULE_TEST", `test "${t.name}" has no expect`);
    for (const x of t.expects) {
      if (x.t === "match" && x.steps !== undefined) {
        const names = new Set(rule.slotNames);
        for (const s of x.steps)
          if (!names.has(s.name))
            this.#err(
              s.loc,
              "HANGAR_ERR_RULE_TEST",
              `"${s.name}" is not a step of rule ${rule.meta.id}; steps: ${[...names].join(", ")}`,
            );
      }
      if (x.t === "suppressed" && !rule.exceptions.some((e) => e.name === x.exception.name))
        this.#err(
          x.exception.loc,
          "HANGAR_ERR_RULE_TEST",
          `rule ${rule.meta.id} has no exception "${x.exception.name}"`,
        );
    }
  }

  // ── expressions ───────────────────────────────────────────────────────────
  #bool(e: Expr, scope: Scope): BoolC | undefined {
    switch (e.t) {
      case "and":
      case "or": {
        const l = this.#bool(e.l, scope);
        const r = this.#bool(e.r, scope);
        if (l === undefined || r === undefined) return undefined;
        const lf = l.fn;
        const rf = r.fn;
        return {
          fn:
            e.t === "and" ? (ev, env) => lf(ev, env) && rf(ev, env) : (ev, env) => lf(ev, env) || rf(ev, env),
          refs: l.refs || r.refs,
        };
      }
      case "not": {
        const x = this.#bool(e.e, scope);
        if (x === undefined) return undefined;
        const f = x.fn;
        return { fn: (ev, env) => !f(ev, env), refs: x.refs };
      }
      case "cmp":
        return this.#cmp(e, scope);
      case "in":
        return this.#in(e, scope);
      case "strop":
        return this.#strop(e, scope);
      case "exists": {
        const v = this.#value(e.v, scope);
        if (v === undefined) return undefined;
        if (v.isConst) return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", "exists applies to a field");
        const f = v.fn;
        return { fn: (ev, env) => !isEmpty(f(ev, env)), refs: v.refs };
      }
      case "baseline":
        return this.#baseline(e, scope);
      case "path": {
        const m = this.#macroRef(e.name, [], e.loc, scope);
        if (m !== null) return m;
        const v = this.#value(e, scope);
        if (v === undefined) return undefined;
        if (v.type !== "bool")
          return this.#err(
            e.loc,
            "HANGAR_ERR_RULE_TYPE",
            `${e.name} is a ${v.type}, not a condition; compare it (e.g. ${e.name} = …)`,
          );
        const f = v.fn;
        return { fn: (ev, env) => f(ev, env) === true, refs: v.refs };
      }
      case "call": {
        const m = this.#macroRef(e.name, e.args, e.loc, scope);
        if (m !== null) return m;
        const v = this.#value(e, scope);
        if (v === undefined) return undefined;
        return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", `${e.name}(…) gives a ${v.type}, not a condition`);
      }
      case "bool":
        return { fn: e.v ? () => true : () => false, refs: false };
      default:
        return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", `a ${describe(e)} is not a condition`);
    }
  }

  /** Expands a macro (null when `name` is not a macro). */
  #macroRef(name: string, args: Expr[], loc: Loc, scope: Scope): BoolC | undefined | null {
    const param = scope.params?.get(name);
    if (param !== undefined && args.length === 0) return this.#bool(param.expr, param.scope);
    const m = this.#macros.get(name);
    if (m === undefined) return null;
    m.used = true;
    if (scope.macroStack.includes(name))
      return this.#err(
        loc,
        "HANGAR_ERR_RULE_MACRO",
        `macro "${name}" uses itself (${[...scope.macroStack, name].join(" → ")})`,
      );
    if (args.length !== m.params.length)
      return this.#err(
        loc,
        "HANGAR_ERR_RULE_MACRO",
        `macro "${name}" takes ${m.params.length} argument(s), got ${args.length}`,
      );
    const params = new Map<string, { expr: Expr; scope: Scope }>();
    m.params.forEach((p, i) => params.set(p.name, { expr: args[i] as Expr, scope }));
    const inner: Scope = { ...scope, params, macroStack: [...scope.macroStack, name] };
    const before = this.diagnostics.length;
    const r = this.#bool(m.body, inner);
    // Errors inside a macro body also point at the use.
    if (this.diagnostics.length > before && m.file !== this.#file) {
      this.#err(
        loc,
        "HANGAR_ERR_RULE_MACRO",
        `in macro "${name}" used here (defined at ${m.file}:${m.loc.line}:${m.loc.col})`,
      );
    }
    return r;
  }

  #cmp(e: Extract<Expr, { t: "cmp" }>, scope: Scope): BoolC | undefined {
    const l = this.#value(e.l, scope);
    const r = this.#value(e.r, scope);
    if (l === undefined || r === undefined) return undefined;
    if (l.type === "list" || r.type === "list")
      return this.#err(
        e.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${e.op} compares single values; for lists use in or contains`,
      );
    if (l.type !== r.type)
      return this.#err(
        e.loc,
        "HANGAR_ERR_RULE_TYPE",
        `cannot compare ${l.text} (${l.type}) with ${r.text} (${r.type})`,
      );
    if (l.type === "bool" && e.op !== "=" && e.op !== "!=")
      return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", `${e.op} does not apply to booleans`);
    const lf = l.fn;
    const refs = l.refs || r.refs;
    if (r.isConst) {
      const k = r.konst;
      switch (e.op) {
        case "=":
          return { fn: (ev, env) => lf(ev, env) === k, refs };
        case "!=":
          return { fn: (ev, env) => lf(ev, env) !== k, refs };
        case "<":
          return { fn: (ev, env) => (lf(ev, env) as number) < (k as number), refs };
        case "<=":
          return { fn: (ev, env) => (lf(ev, env) as number) <= (k as number), refs };
        case ">":
          return { fn: (ev, env) => (lf(ev, env) as number) > (k as number), refs };
        case ">=":
          return { fn: (ev, env) => (lf(ev, env) as number) >= (k as number), refs };
      }
    }
    const rf = r.fn;
    switch (e.op) {
      case "=":
        return { fn: (ev, env) => lf(ev, env) === rf(ev, env), refs };
      case "!=":
        return { fn: (ev, env) => lf(ev, env) !== rf(ev, env), refs };
      case "<":
        return { fn: (ev, env) => (lf(ev, env) as number) < (rf(ev, env) as number), refs };
      case "<=":
        return { fn: (ev, env) => (lf(ev, env) as number) <= (rf(ev, env) as number), refs };
      case ">":
        return { fn: (ev, env) => (lf(ev, env) as number) > (rf(ev, env) as number), refs };
      case ">=":
        return { fn: (ev, env) => (lf(ev, env) as number) >= (rf(ev, env) as number), refs };
    }
  }

  #in(e: Extract<Expr, { t: "in" }>, scope: Scope): BoolC | undefined {
    const l = this.#value(e.l, scope);
    const r = this.#value(e.r, scope);
    if (l === undefined || r === undefined) return undefined;
    if (r.type !== "list")
      return this.#err(
        e.r.loc,
        "HANGAR_ERR_RULE_TYPE",
        `in needs a list on the right, got ${r.text} (${r.type})`,
      );
    const lt = l.type === "list" ? (l.elem ?? "string") : l.type;
    if (lt === "bool") return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", "in does not apply to booleans");
    if (r.isConst && (r.konst as unknown[]).length > 0 && r.elem !== lt)
      return this.#err(
        e.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${l.text} is a ${lt} but the list holds ${r.elem ?? "?"} values`,
      );
    const neg = e.neg;
    const lf = l.fn;
    const refs = l.refs || r.refs;
    let has: (ev: RuntimeEvent, env: Env) => (x: unknown) => boolean;
    if (r.isConst) {
      const set = new Set(r.konst as unknown[]);
      const test = (x: unknown): boolean => set.has(x);
      has = () => test;
    } else {
      const rf = r.fn;
      has = (ev, env) => {
        const list = rf(ev, env) as unknown[];
        return (x) => list.includes(x);
      };
    }
    const fn: Pred =
      l.type === "list"
        ? (ev, env) => {
            const h = has(ev, env);
            return (lf(ev, env) as unknown[]).some(h) !== neg;
          }
        : (ev, env) => has(ev, env)(lf(ev, env)) !== neg;
    return { fn, refs };
  }

  #strop(e: Extract<Expr, { t: "strop" }>, scope: Scope): BoolC | undefined {
    const l = this.#value(e.l, scope);
    const r = this.#value(e.r, scope);
    if (l === undefined || r === undefined) return undefined;
    const refs = l.refs || r.refs;
    const lf = l.fn;
    // contains on a list: membership.
    if (e.op === "contains" && l.type === "list") {
      if (r.type === "list")
        return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", "list contains list: use in (any element) instead");
      const rf = r.fn;
      return { fn: (ev, env) => (lf(ev, env) as unknown[]).includes(rf(ev, env)), refs };
    }
    if (l.type !== "string" && l.type !== "list")
      return this.#err(e.loc, "HANGAR_ERR_RULE_TYPE", `${e.op} applies to strings; ${l.text} is a ${l.type}`);
    const rIsList = r.type === "list";
    if (!rIsList && r.type !== "string")
      return this.#err(
        e.r.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${e.op} needs a string or a list of strings, got ${r.type}`,
      );
    if (rIsList && r.isConst && r.elem !== "string" && (r.konst as unknown[]).length > 0)
      return this.#err(
        e.r.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${e.op} needs strings, the list holds ${r.elem ?? "?"}`,
      );
    let test: ((s: string) => boolean) | undefined;
    if (e.op === "glob" || e.op === "regex" || e.op === "cidr") {
      if (!r.isConst)
        return this.#err(
          e.r.loc,
          "HANGAR_ERR_RULE_TYPE",
          `${e.op} needs a literal pattern (a string or a list), not a field`,
        );
      const pats = (rIsList ? r.konst : [r.konst]) as string[];
      try {
        if (e.op === "glob") {
          const res = pats.map(globToRegExp);
          test = (s) => res.some((x) => x.test(s));
        } else if (e.op === "regex") {
          for (const p of pats) {
            const problem = regexProblem(p);
            if (problem !== undefined)
              return this.#err(e.r.loc, "HANGAR_ERR_RULE_REGEX", `regex ${JSON.stringify(p)}: ${problem}`);
          }
          const re = new RegExp(pats.map((p) => `(?:${p})`).join("|"));
          test = (s) => s.length <= 65_536 && re.test(s);
        } else {
          const set = new CidrSet(pats);
          test = (s) => set.has(s);
        }
      } catch (err) {
        return this.#err(
          e.r.loc,
          e.op === "regex" ? "HANGAR_ERR_RULE_REGEX" : "HANGAR_ERR_RULE_VALUE",
          `${e.op}: ${(err as Error).message}`,
        );
      }
    } else if (r.isConst) {
      const pats = (rIsList ? r.konst : [r.konst]) as string[];
      if (e.op === "contains")
        test =
          pats.length === 1
            ? (
                (p) => (s: string) =>
                  s.includes(p)
              )(pats[0] as string)
            : (s) => pats.some((p) => s.includes(p));
      else if (e.op === "startswith")
        test =
          pats.length === 1
            ? (
                (p) => (s: string) =>
                  s.startsWith(p)
              )(pats[0] as string)
            : (s) => pats.some((p) => s.startsWith(p));
      else
        test =
          pats.length === 1
            ? (
                (p) => (s: string) =>
                  s.endsWith(p)
              )(pats[0] as string)
            : (s) => pats.some((p) => s.endsWith(p));
    }
    if (test !== undefined) {
      const t = test;
      return l.type === "list"
        ? { fn: (ev, env) => (lf(ev, env) as string[]).some(t), refs }
        : { fn: (ev, env) => t(lf(ev, env) as string), refs };
    }
    // Dynamic right side (a field).
    const rf = r.fn;
    const op = e.op;
    const one = (s: string, p: string): boolean =>
      p !== "" && (op === "contains" ? s.includes(p) : op === "startswith" ? s.startsWith(p) : s.endsWith(p));
    const fn: Pred = (ev, env) => {
      const rv = rf(ev, env);
      const ps = Array.isArray(rv) ? (rv as string[]) : [rv as string];
      const lv = lf(ev, env);
      const ls = Array.isArray(lv) ? (lv as string[]) : [lv as string];
      return ls.some((s) => ps.some((p) => one(s, p)));
    };
    return { fn, refs };
  }

  #baseline(e: Extract<Expr, { t: "baseline" }>, scope: Scope): BoolC | undefined {
    if (!(FACETS as readonly string[]).includes(e.facet))
      return this.#err(
        e.facetLoc,
        "HANGAR_ERR_RULE_UNKNOWN_NAME",
        `unknown baseline facet "${e.facet}"; facets: ${FACETS.join(", ")}`,
      );
    const v = this.#value(e.v, scope);
    if (v === undefined) return undefined;
    if (v.type !== "string" && v.type !== "number")
      return this.#err(
        e.loc,
        "HANGAR_ERR_RULE_TYPE",
        `baseline lookups take a string or number, ${v.text} is a ${v.type}`,
      );
    const facet = e.facet as Facet;
    const vf = v.fn;
    const neg = e.neg;
    scope.probes.push({ facet, negated: neg, slot: scope.slot, text: v.text, value: vf });
    const fn: Pred = (ev, env) => {
      const x = vf(ev, env);
      if (x === "" || x === undefined) return false;
      const b = env.baseline;
      // Without a baseline store nothing can be judged: baseline predicates never hold.
      if (b === undefined) return false;
      const verdict = b.lookup(ev.provider, facet, typeof x === "string" ? x : text(x));
      if (verdict === "known") return !neg;
      if (verdict === "new") return neg;
      // learning / none: the value cannot be judged yet; `not in` holds provisionally.
      env.learning = true;
      return neg;
    };
    return { fn, refs: v.refs };
  }

  #value(v: Value | Expr, scope: Scope): ValueC | undefined {
    switch (v.t) {
      case "str":
        return {
          type: "string",
          fn: constFn(v.v),
          isConst: true,
          konst: v.v,
          refs: false,
          text: JSON.stringify(v.v),
        };
      case "num":
      case "dur":
        return {
          type: "number",
          fn: constFn(v.v),
          isConst: true,
          konst: v.v,
          refs: false,
          text: v.t === "dur" ? v.text : String(v.v),
        };
      case "bool":
        return { type: "bool", fn: constFn(v.v), isConst: true, konst: v.v, refs: false, text: String(v.v) };
      case "list":
        return this.#listValue(v.items, v.loc, "[…]");
      case "listref": {
        const l = this.#lists.get(v.name);
        if (l === undefined) {
          const hint = closest(v.name, this.#lists.keys());
          return this.#err(
            v.loc,
            "HANGAR_ERR_RULE_UNKNOWN_NAME",
            `unknown list @${v.name}${hint === undefined ? "" : ` (did you mean @${hint}?)`}`,
          );
        }
        l.used = true;
        return this.#listValue(l.items, v.loc, `@${v.name}`);
      }
      case "path":
        return this.#path(v.name, v.loc, scope);
      case "call":
        return this.#call(v, scope);
      default:
        return this.#err(v.loc, "HANGAR_ERR_RULE_TYPE", `a ${describe(v)} is not a value`);
    }
  }

  #listValue(items: Literal[], loc: Loc, text: string): ValueC | undefined {
    let elem: "string" | "number" | undefined;
    const out: unknown[] = [];
    for (const it of items) {
      const t = it.t === "str" ? "string" : it.t === "bool" ? "bool" : "number";
      if (t === "bool") return this.#err(it.loc, "HANGAR_ERR_RULE_TYPE", "lists hold strings or numbers");
      if (elem !== undefined && elem !== t)
        return this.#err(it.loc, "HANGAR_ERR_RULE_TYPE", `a list mixes ${elem} and ${t} values`);
      elem = t;
      out.push(it.v);
    }
    void loc;
    return {
      type: "list",
      elem: elem ?? "string",
      fn: constFn(out),
      isConst: true,
      konst: out,
      refs: false,
      text,
    };
  }

  #path(name: string, loc: Loc, scope: Scope): ValueC | undefined {
    const param = scope.params?.get(name);
    if (param !== undefined) {
      const p = param.expr;
      if (!isValue(p))
        return this.#err(
          p.loc,
          "HANGAR_ERR_RULE_TYPE",
          `macro argument ${name} is a condition, used here as a value`,
        );
      return this.#value(p, param.scope);
    }
    if (this.#macros.has(name))
      return this.#err(loc, "HANGAR_ERR_RULE_TYPE", `macro ${name} is a condition, used here as a value`);
    const dot = name.indexOf(".");
    const head = dot > 0 ? name.slice(0, dot) : name;
    const step = scope.steps.get(head);
    if (step !== undefined && dot > 0) {
      const fieldName = name.slice(dot + 1);
      const def = lookupField(fieldName);
      if (def === undefined) return this.#unknownField(fieldName, loc, step.kind);
      if (def.kinds !== undefined && !def.kinds.includes(step.kind))
        return this.#err(
          loc,
          "HANGAR_ERR_RULE_UNKNOWN_FIELD",
          `${fieldName} is not a field of ${step.kind} events (step ${head}); it is on ${def.kinds.join(", ")}`,
        );
      const get = def.get.bind(def);
      const slot = step.slot;
      const fn: Fn = (_ev, env) => {
        const e = env.steps[slot];
        return e === undefined ? undefined : get(e);
      };
      return { type: def.type, fn, isConst: false, refs: true, text: name };
    }
    if (scope.kinds.length === 0) {
      const steps = [...scope.steps.keys()];
      return this.#err(
        loc,
        "HANGAR_ERR_RULE_UNKNOWN_FIELD",
        `${name}: in a sequence, name the step the field comes from (${steps
          .map((s) => `${s}.${name}`)
          .slice(0, 3)
          .join(", ")})`,
      );
    }
    const def = lookupField(name);
    if (def === undefined) return this.#unknownField(name, loc, scope.kinds[0]);
    for (const k of scope.kinds)
      if (def.kinds !== undefined && !def.kinds.includes(k))
        return this.#err(
          loc,
          "HANGAR_ERR_RULE_UNKNOWN_FIELD",
          `${name} is not a field of ${k} events; it is on ${def.kinds.join(", ")}`,
        );
    const get = def.get.bind(def);
    return { type: def.type, fn: (ev) => get(ev), isConst: false, refs: false, text: name };
  }

  #unknownField(name: string, loc: Loc, kind: KindName | undefined): undefined {
    const candidates = FIELDS.filter(
      (d) => d.kinds === undefined || kind === undefined || d.kinds.includes(kind),
    ).map((d) => d.name);
    const hint = closest(name, candidates);
    return this.#err(
      loc,
      "HANGAR_ERR_RULE_UNKNOWN_FIELD",
      `unknown field "${name}"${hint === undefined ? "" : ` (did you mean "${hint}"?)`}`,
    );
  }

  #call(v: Extract<Value, { t: "call" }>, scope: Scope): ValueC | undefined {
    const fnDef = FUNCTIONS[v.name];
    if (fnDef === undefined) {
      if (this.#macros.has(v.name))
        return this.#err(
          v.loc,
          "HANGAR_ERR_RULE_TYPE",
          `macro ${v.name} is a condition, used here as a value`,
        );
      return this.#err(
        v.loc,
        "HANGAR_ERR_RULE_UNKNOWN_NAME",
        `unknown function or macro "${v.name}"; functions: ${Object.keys(FUNCTIONS).join(", ")}`,
      );
    }
    if (v.args.length !== 1)
      return this.#err(v.loc, "HANGAR_ERR_RULE_TYPE", `${v.name}() takes one argument`);
    const a = v.args[0] as Expr;
    if (!isValue(a))
      return this.#err(a.loc, "HANGAR_ERR_RULE_TYPE", `${v.name}() takes a value, not a condition`);
    const x = this.#value(a, scope);
    if (x === undefined) return undefined;
    if (!fnDef.accepts.includes(x.type))
      return this.#err(
        a.loc,
        "HANGAR_ERR_RULE_TYPE",
        `${v.name}() takes ${fnDef.accepts.join(" or ")}, got ${x.type}`,
      );
    const xf = x.fn;
    const impl = fnDef.impl;
    return {
      type: fnDef.returns,
      fn: (ev, env) => impl(xf(ev, env)),
      isConst: false,
      refs: x.refs,
      text: `${v.name}(${x.text})`,
    };
  }
}

interface FunctionDef {
  accepts: FieldType[];
  returns: FieldType;
  impl: (x: unknown) => unknown;
}

export const FUNCTIONS: Record<string, FunctionDef> = {
  len: {
    accepts: ["string", "list"],
    returns: "number",
    impl: (x) => (x as string | unknown[] | undefined)?.length ?? 0,
  },
  lower: { accepts: ["string"], returns: "string", impl: (x) => text(x).toLowerCase() },
  upper: { accepts: ["string"], returns: "string", impl: (x) => text(x).toUpperCase() },
  basename: {
    accepts: ["string"],
    returns: "string",
    impl: (x) => {
      const s = text(x);
      return s.slice(s.lastIndexOf("/") + 1);
    },
  },
  entropy: { accepts: ["string"], returns: "number", impl: (x) => entropy(text(x)) },
};

/** Fields a test event can set (derived fields such as process.name are computed from these). */
export const TEST_SETTABLE = new Set(
  FIELDS.filter(
    (d) =>
      ![
        "event.kind",
        "process.name",
        "parent.name",
        "file.name",
        "file.dir",
        "dns.labels",
        "dns.longest_label",
        "dns.entropy",
        "tool.args",
        "tool.arg_values",
        "tool.duration_ms",
        "call.attributed",
      ].includes(d.name),
  ).map((d) => d.name),
);

function constFn(v: unknown): Fn {
  return () => v;
}

function andAll(ps: Pred[]): Pred | undefined {
  if (ps.length === 0) return undefined;
  if (ps.length === 1) return ps[0];
  if (ps.length === 2) {
    const [a, b] = ps as [Pred, Pred];
    return (ev, env) => a(ev, env) && b(ev, env);
  }
  return (ev, env) => {
    for (const p of ps) if (!p(ev, env)) return false;
    return true;
  };
}

function isValue(e: Expr): e is Value {
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

function kindNameOfStep(rule: Extract<CompiledRule, { t: "sequence" }>, slot: number): KindName {
  const k = rule.positives[slot]?.kind;
  for (const n of KIND_NAMES) if (kindOf(n) === k) return n;
  return "exec";
}

export function severityEnum(s: SeverityName): hangar.Severity {
  switch (s) {
    case "info":
      return hangar.Severity.INFO;
    case "low":
      return hangar.Severity.LOW;
    case "medium":
      return hangar.Severity.MEDIUM;
    case "high":
      return hangar.Severity.HIGH;
    case "critical":
      return hangar.Severity.CRITICAL;
  }
}
