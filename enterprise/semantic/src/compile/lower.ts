/**
 * Lowering: it turns the type checker's trees into the closures the engine runs (conditions,
 * values, join keys, message templates) and records the baseline lookups a rule makes; it
 * cannot fail, since the type checker reported every problem.
 */
import type { hangar } from "@hangar/proto";
import type { BaselineProbe, Env, Fn, Pred, Template } from "../program.js";
import { text } from "../text.js";
import type { AffixOp, Pattern, TCond, TTemplate, TValue } from "./types.js";

type RuntimeEvent = hangar.RuntimeEvent;

// The closures are the hot path: constants, sets, regexes and CIDR tables are built here once,
// never per event.

/** A condition as a predicate; its baseline lookups are appended to `probes`, in the order they are written. */
export function lowerCond(c: TCond, probes: BaselineProbe[]): Pred {
  switch (c.t) {
    case "and":
    case "or": {
      const lf = lowerCond(c.l, probes);
      const rf = lowerCond(c.r, probes);
      return c.t === "and"
        ? (ev, env) => lf(ev, env) && rf(ev, env)
        : (ev, env) => lf(ev, env) || rf(ev, env);
    }
    case "not": {
      const f = lowerCond(c.e, probes);
      return (ev, env) => !f(ev, env);
    }
    case "cmp":
      return lowerCmp(c);
    case "in":
      return lowerIn(c);
    case "member": {
      const lf = lowerValue(c.l);
      const rf = lowerValue(c.r);
      return (ev, env) => (lf(ev, env) as unknown[]).includes(rf(ev, env));
    }
    case "match":
      return lowerMatch(c);
    case "exists": {
      const f = lowerValue(c.v);
      return (ev, env) => !isEmpty(f(ev, env));
    }
    case "baseline":
      return lowerBaseline(c, probes);
    case "truthy": {
      const f = lowerValue(c.v);
      return (ev, env) => f(ev, env) === true;
    }
    case "const":
      return c.value ? () => true : () => false;
  }
}

/** The conjunction of `ps` (undefined when there are none). */
export function andAll(ps: Pred[]): Pred | undefined {
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

function lowerCmp(c: Extract<TCond, { t: "cmp" }>): Pred {
  const lf = lowerValue(c.l);
  if (c.r.t === "const") {
    const k = c.r.value;
    switch (c.op) {
      case "=":
        return (ev, env) => lf(ev, env) === k;
      case "!=":
        return (ev, env) => lf(ev, env) !== k;
      case "<":
        return (ev, env) => (lf(ev, env) as number) < (k as number);
      case "<=":
        return (ev, env) => (lf(ev, env) as number) <= (k as number);
      case ">":
        return (ev, env) => (lf(ev, env) as number) > (k as number);
      case ">=":
        return (ev, env) => (lf(ev, env) as number) >= (k as number);
    }
  }
  const rf = lowerValue(c.r);
  switch (c.op) {
    case "=":
      return (ev, env) => lf(ev, env) === rf(ev, env);
    case "!=":
      return (ev, env) => lf(ev, env) !== rf(ev, env);
    case "<":
      return (ev, env) => (lf(ev, env) as number) < (rf(ev, env) as number);
    case "<=":
      return (ev, env) => (lf(ev, env) as number) <= (rf(ev, env) as number);
    case ">":
      return (ev, env) => (lf(ev, env) as number) > (rf(ev, env) as number);
    case ">=":
      return (ev, env) => (lf(ev, env) as number) >= (rf(ev, env) as number);
  }
}

function lowerIn(c: Extract<TCond, { t: "in" }>): Pred {
  const neg = c.neg;
  const lf = lowerValue(c.l);
  let has: (ev: RuntimeEvent, env: Env) => (x: unknown) => boolean;
  if (c.r.t === "const") {
    const set = new Set(c.r.value as unknown[]);
    const test = (x: unknown): boolean => set.has(x);
    has = () => test;
  } else {
    const rf = lowerValue(c.r);
    has = (ev, env) => {
      const list = rf(ev, env) as unknown[];
      return (x) => list.includes(x);
    };
  }
  return c.l.type === "list"
    ? (ev, env) => {
        const h = has(ev, env);
        return (lf(ev, env) as unknown[]).some(h) !== neg;
      }
    : (ev, env) => has(ev, env)(lf(ev, env)) !== neg;
}

/** String operators: any element of a list field may match; any pattern of a list may match. */
function lowerMatch(c: Extract<TCond, { t: "match" }>): Pred {
  const lf = lowerValue(c.l);
  const p = c.pattern;
  if (p.t === "dynamic") {
    const rf = lowerValue(c.r);
    const op = p.op;
    const fold = p.fold;
    const one = (s: string, pat: string): boolean =>
      pat !== "" &&
      (op === "contains" ? s.includes(pat) : op === "startswith" ? s.startsWith(pat) : s.endsWith(pat));
    return (ev, env) => {
      const rv = rf(ev, env);
      let ps = Array.isArray(rv) ? (rv as string[]) : [rv as string];
      const lv = lf(ev, env);
      let ls = Array.isArray(lv) ? (lv as string[]) : [lv as string];
      if (fold) {
        ps = ps.map((x) => x.toLowerCase());
        ls = ls.map((x) => x.toLowerCase());
      }
      return ls.some((s) => ps.some((pat) => one(s, pat)));
    };
  }
  const base = patternTest(p);
  // Case-insensitive operators compare the lowercase text with lowercase patterns.
  const t = p.t === "affix" && p.fold ? (s: string) => base(s.toLowerCase()) : base;
  return c.l.type === "list"
    ? (ev, env) => (lf(ev, env) as string[]).some(t)
    : (ev, env) => t(lf(ev, env) as string);
}

function patternTest(p: Exclude<Pattern, { t: "dynamic" }>): (s: string) => boolean {
  switch (p.t) {
    case "glob": {
      const res = p.res;
      return (s) => res.some((x) => x.test(s));
    }
    case "regex": {
      // RE2JS is linear in the input: no length cap (one used to let a padded argument skip
      // every regex rule); the cost is bounded by the size of the field.
      const [one] = p.res;
      const res = p.res;
      if (res.length === 1 && one !== undefined) return (s) => one.test(s);
      return (s) => res.some((x) => x.test(s));
    }
    case "cidr": {
      const set = p.set;
      return (s) => set.has(s);
    }
    case "affix":
      return affixTest(p.op, p.pats);
  }
}

function affixTest(op: AffixOp, pats: string[]): (s: string) => boolean {
  // One pattern (the common case) gets a closure of its own: no loop per event.
  const [one] = pats;
  if (pats.length === 1 && one !== undefined) {
    if (op === "contains") return (s) => s.includes(one);
    if (op === "startswith") return (s) => s.startsWith(one);
    return (s) => s.endsWith(one);
  }
  if (op === "contains") return (s) => pats.some((pat) => s.includes(pat));
  if (op === "startswith") return (s) => pats.some((pat) => s.startsWith(pat));
  return (s) => pats.some((pat) => s.endsWith(pat));
}

function lowerBaseline(c: Extract<TCond, { t: "baseline" }>, probes: BaselineProbe[]): Pred {
  const vf = lowerValue(c.v);
  const { facet, neg } = c;
  probes.push({ facet, negated: neg, slot: c.slot, text: c.v.text, value: vf });
  return (ev, env) => {
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
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

/** A value as a function of the event (and of the events bound to earlier steps). */
export function lowerValue(v: TValue): Fn {
  switch (v.t) {
    case "const": {
      const k = v.value;
      return () => k;
    }
    case "field": {
      const get = v.def.get.bind(v.def);
      return (ev) => get(ev);
    }
    case "step": {
      const get = v.def.get.bind(v.def);
      const slot = v.slot;
      return (_ev, env) => {
        const e = env.steps[slot];
        return e === undefined ? undefined : get(e);
      };
    }
    case "call": {
      const xf = lowerValue(v.arg);
      const impl = v.fn.impl;
      return (ev, env) => impl(xf(ev, env));
    }
  }
}

// Markers the renderer puts around values, then removes: EMPTY stands for a value that rendered
// empty, OPEN/CLOSE wrap one that did not. They are private-use characters; values lose any they
// carry (and their parentheses are set aside while groups are found, so only the template's count).
const EMPTY = "\ue000";
const OPEN = "\ue001";
const CLOSE = "\ue002";
const LPAREN = "\ue003";
const RPAREN = "\ue004";
const GROUP = /( ?)\(([^()]*)\)/g;
const MARKERS = /[\ue000-\ue002]/g;
const VALUE_CHARS = /[()\ue000-\ue004]/g;
const HELD_PARENS = /[\ue003\ue004]/g;
const hold = (v: string): string =>
  v.replace(VALUE_CHARS, (c) => (c === "(" ? LPAREN : c === ")" ? RPAREN : ""));
const restore = (v: string): string => v.replace(HELD_PARENS, (c) => (c === LPAREN ? "(" : ")"));

/**
 * Drops the parts of a message that only a missing value would fill: in a parenthesized group,
 * a comma-separated clause whose values are all empty ("session {session.id}" without a session),
 * and the whole group when none of its clauses is left ("(tool {call.tool})" without a tool call).
 */
export function tidy(rendered: string): string {
  if (!rendered.includes(EMPTY)) return restore(rendered.replace(MARKERS, ""));
  return restore(
    rendered
      .replace(GROUP, (whole: string, space: string, inner: string) => {
        if (!inner.includes(EMPTY)) return whole;
        const kept = inner
          .split(", ")
          .filter((clause) => !(clause.includes(EMPTY) && !clause.includes(OPEN)));
        return kept.length === 0 ? "" : `${space}(${kept.join(", ")})`;
      })
      .replace(MARKERS, ""),
  );
}

/** A message template: renders from the events bound to each slot (and the count, for thresholds). */
export function lowerTemplate(t: TTemplate): Template {
  const parts = t.map((p) =>
    typeof p === "string" || "count" in p ? p : { fn: lowerValue(p.value), slot: p.slot },
  );
  const env: Env = { steps: [], learning: false, baseline: undefined };
  return (events, count) => {
    let out = "";
    const e: Env = { ...env, steps: events };
    for (const p of parts) {
      if (typeof p === "string") out += p;
      else if ("count" in p) out += String(count);
      else {
        const ev = events[p.slot] ?? events[events.length - 1];
        const v = ev === undefined ? "" : text(p.fn(ev, e));
        out += v === "" ? EMPTY : `${OPEN}${hold(v)}${CLOSE}`;
      }
    }
    return tidy(out);
  };
}
