/**
 * Helpers the grammar's postprocessors call to build the syntax tree from
 * tokens (kept out of grammar.ne so that the grammar stays readable).
 */
import type { Cons, Literal, Loc, Name, Token } from "./ast.js";

export function loc(t: Token): Loc {
  return { line: t.line, col: t.col, offset: t.offset };
}

export function name(t: Token): Name {
  return { name: t.value, loc: loc(t) };
}

/** The value of a string token: double-quoted with escapes, or single-quoted raw. */
export function str(t: Token): string {
  const raw = t.value;
  if (t.type === "rawstring") return raw.slice(1, -1);
  return raw.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => {
    switch (c) {
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "r":
        return "\r";
      case "0":
        return "\0";
      default:
        return c;
    }
  });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(t: Token): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(t.value);
  if (m === null) return NaN;
  return Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? NaN);
}

export function literal(t: Token): Literal {
  switch (t.type) {
    case "string":
    case "rawstring":
      return { t: "str", v: str(t), loc: loc(t) };
    case "number":
      return { t: "num", v: Number(t.value), loc: loc(t) };
    case "duration":
      return { t: "dur", v: durationMs(t), text: t.value, loc: loc(t) };
    default:
      return { t: "bool", v: t.value === "true", loc: loc(t) };
  }
}

/**
 * Extends a comma list in place. Copying it at every element would make long
 * lists quadratic. In place is safe only for lists whose elements are complete
 * once, at their last token (a name, a literal, `name: literal`): shorter
 * derivations sharing the array then die at the next token, so only the full
 * list survives. Lists of elements that also complete at a prefix of
 * themselves (`a` before `a = 1`, `f` before `f(x)`) use `cons` instead.
 */
export function append<T>(list: T[], item: T): T[] {
  list.push(item);
  return list;
}

export function cons<T>(prev: Cons<T> | null, item: T): Cons<T> {
  return { prev, item };
}

export function flat<T>(c: Cons<T>): T[] {
  const out: T[] = [];
  for (let x: Cons<T> | null = c; x !== null; x = x.prev) out.push(x.item);
  return out.reverse();
}
