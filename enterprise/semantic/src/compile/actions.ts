/** Enforcement actions (`action alert, block_egress(destination, ttl), quarantine(ttl)`): their arguments checked, and what the detector asks the controller to do. */
import type { Expr, Loc } from "../ast.js";
import type { CompiledAction } from "../program.js";
import type { Context } from "./context.js";
import { lowerValue } from "./lower.js";
import { checkValue, isValue, type Scope } from "./types.js";

export function compileAction(
  cx: Context,
  name: string,
  args: Expr[],
  loc: Loc,
  scope: Scope,
): CompiledAction | undefined {
  switch (name) {
    case "alert":
      if (args.length > 0) return cx.err(loc, "HANGAR_ERR_RULE_TYPE", "alert takes no arguments");
      return { type: "alert" };
    case "block_egress":
      return blockEgress(cx, args, loc, scope);
    case "quarantine": {
      if (args.length !== 1) return cx.err(loc, "HANGAR_ERR_RULE_TYPE", "quarantine(ttl) takes 1 argument");
      const t = ttl(cx, args[0], loc, "quarantine");
      return t === undefined ? undefined : { type: "quarantine", ttlMs: t };
    }
    default:
      return cx.err(
        loc,
        "HANGAR_ERR_RULE_UNKNOWN_NAME",
        `unknown action "${name}"; actions: alert, block_egress(destination, ttl), quarantine(ttl)`,
      );
  }
}

/** `block_egress(destination, ttl)`: the destination a string field (or a string). */
function blockEgress(cx: Context, args: Expr[], loc: Loc, scope: Scope): CompiledAction | undefined {
  if (args.length !== 2)
    return cx.err(loc, "HANGAR_ERR_RULE_TYPE", "block_egress(destination, ttl) takes 2 arguments");
  const d = args[0] as Expr;
  if (!isValue(d))
    return cx.err(d.loc, "HANGAR_ERR_RULE_TYPE", "the destination must be a field or a string");
  const v = checkValue(cx, d, scope);
  if (v === undefined) return undefined;
  if (v.type !== "string")
    return cx.err(d.loc, "HANGAR_ERR_RULE_TYPE", `the destination must be a string, got ${v.type}`);
  const t = ttl(cx, args[1], loc, "block_egress");
  return t === undefined
    ? undefined
    : { type: "block_egress", dest: lowerValue(v), destText: v.text, ttlMs: t };
}

/** The time an enforcement stays in place: a duration, the action's last argument. */
function ttl(cx: Context, e: Expr | undefined, loc: Loc, what: string): number | undefined {
  if (e === undefined || e.t !== "dur" || !(e.v > 0))
    return cx.err(
      e?.loc ?? loc,
      "HANGAR_ERR_RULE_VALUE",
      `${what} needs a ttl duration (e.g. 10m) as its last argument`,
    );
  return e.v;
}
