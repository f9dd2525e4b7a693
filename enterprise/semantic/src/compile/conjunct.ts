/** A conjunct of a step's condition as the explanation of a failing test reads it: its text and the values it reads. */
import type { hangar } from "@hangar/proto";
import type { Conjunct, Env, Pred } from "../program.js";
import { lowerValue } from "./lower.js";
import type { TCond, TValue } from "./types.js";

/** A checked condition back as rule text. */
export function condText(c: TCond): string {
  const inner = (x: TCond): string => (x.t === "and" || x.t === "or" ? `(${condText(x)})` : condText(x));
  switch (c.t) {
    case "and":
    case "or":
      return `${inner(c.l)} ${c.t} ${inner(c.r)}`;
    case "not":
      return `not ${inner(c.e)}`;
    case "cmp":
      return `${c.l.text} ${c.op} ${c.r.text}`;
    case "in":
      return `${c.l.text} ${c.neg ? "not in" : "in"} ${c.r.text}`;
    case "member":
      return `${c.l.text} contains ${c.r.text}`;
    case "match": {
      const p = c.pattern;
      const op = p.t === "affix" || p.t === "dynamic" ? `${p.fold ? "i" : ""}${p.op}` : p.t;
      return `${c.l.text} ${op} ${c.r.text}`;
    }
    case "exists":
      return `${c.v.text} exists`;
    case "baseline":
      return `${c.v.text} ${c.neg ? "not in" : "in"} baseline(${c.facet})`;
    case "truthy":
      return c.v.text;
    case "const":
      return String(c.value);
  }
}

/** The fields a condition reads (not constants), once each. */
function fieldsOf(c: TCond, out: TValue[] = []): TValue[] {
  const add = (v: TValue): void => {
    if (v.t === "call") add(v.arg);
    else if (v.t !== "const" && !out.some((o) => o.text === v.text)) out.push(v);
  };
  switch (c.t) {
    case "and":
    case "or":
      fieldsOf(c.l, out);
      fieldsOf(c.r, out);
      break;
    case "not":
      fieldsOf(c.e, out);
      break;
    case "cmp":
    case "in":
    case "member":
    case "match":
      add(c.l);
      add(c.r);
      break;
    case "exists":
    case "baseline":
    case "truthy":
      add(c.v);
      break;
    case "const":
      break;
  }
  return out;
}

/** The conjunct `c` (lowered to `pred`), with its text and its values computed only when asked. */
export function conjunct(c: TCond, pred: Pred): Conjunct {
  return {
    pred,
    text: () => condText(c),
    values: (ev: hangar.RuntimeEvent, env: Env) => fieldsOf(c).map((v) => [v.text, lowerValue(v)(ev, env)]),
  };
}
