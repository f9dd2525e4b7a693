/** A rule's metadata and the plain values rules state (severity, maturity, MITRE ids, version, engine requirement, learning policy), each checked against what the engine accepts. */
import type { Item, Loc, Name, RuleItem } from "../ast.js";
import { MATURITIES, SEVERITIES, type LearningPolicy, type RuleMeta, type SeverityName } from "../program.js";
import { text } from "../text.js";
import type { Context } from "./context.js";

export const ENGINE_VERSION = "1.0.0";

/** MITRE ATT&CK technique (T1059, T1059.004) or tactic (TA0003) ids. */
// eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, optional groups separated by literal dots
const MITRE_ID = /^(T\d{4}(\.\d{3})?|TA\d{4})$/;

/** Whether this engine satisfies `>=MAJOR.MINOR[.PATCH]` or `MAJOR.MINOR` (undefined: not a range). */
function engineSatisfies(range: string): boolean | undefined {
  // eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, optional groups separated by literal dots
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

/** A file's `requires engine "…"`. */
export function checkRequires(cx: Context, it: Extract<Item, { t: "requires" }>): void {
  const ok = engineSatisfies(it.range);
  if (ok === undefined)
    cx.err(
      it.valueLoc,
      "HANGAR_ERR_RULE_VALUE",
      `engine requirement "${it.range}" is not ">=MAJOR.MINOR" or "MAJOR.MINOR"`,
    );
  else if (!ok)
    cx.err(
      it.valueLoc,
      "HANGAR_ERR_RULE_ENGINE",
      `this file needs engine ${it.range}; this engine is ${ENGINE_VERSION}`,
    );
}

/** A severity name, or an error naming the ones there are. */
export function checkSeverity(cx: Context, v: string, loc: Loc): SeverityName | undefined {
  if ((SEVERITIES as readonly string[]).includes(v)) return v as SeverityName;
  return cx.err(loc, "HANGAR_ERR_RULE_VALUE", `severity "${v}" is not one of ${SEVERITIES.join(", ")}`);
}

/** What a rule says about itself, and whether it is enabled; reports parts given twice, invalid or missing. */
export function ruleMeta(
  cx: Context,
  id: string,
  items: RuleItem[],
  loc: Loc,
): { meta: RuleMeta; enabled: boolean; message: { text: string; loc: Loc } | undefined } {
  const meta: RuleMeta = {
    id,
    file: cx.file,
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
  let message: { text: string; loc: Loc } | undefined;
  for (const ri of items) {
    if (ri.t !== "meta") continue;
    if (seen.has(ri.key))
      cx.err(ri.loc, "HANGAR_ERR_RULE_DUPLICATE", `"${ri.key}" is given twice in rule ${id}`);
    seen.add(ri.key);
    if (ri.key === "message") message = { text: text(ri.value), loc: ri.valueLoc };
    else if (ri.key === "severity") {
      const s = checkSeverity(cx, text(ri.value), ri.valueLoc);
      if (s !== undefined) {
        meta.severity = s;
        hasSeverity = true;
      }
    } else metaValue(cx, meta, ri);
  }
  let enabled = true;
  for (const ri of items) if (ri.t === "enabled") enabled = ri.v;
  if (meta.description === "") cx.err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no description`);
  if (!hasSeverity && !seen.has("severity"))
    cx.err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no severity`);
  if (!seen.has("mitre")) cx.err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no mitre tags`);
  if (meta.maturity === "" && !seen.has("maturity"))
    cx.err(loc, "HANGAR_ERR_RULE_MISSING", `rule ${id} has no maturity (stable, incubating or sandbox)`);
  return { meta, enabled, message };
}

/** The other metadata keys: description, maturity, version, mitre, engine. */
function metaValue(cx: Context, meta: RuleMeta, ri: Extract<RuleItem, { t: "meta" }>): void {
  const v = ri.value;
  switch (ri.key) {
    case "description":
      meta.description = text(v);
      break;
    case "maturity":
      if ((MATURITIES as readonly string[]).includes(text(v))) meta.maturity = text(v);
      else
        cx.err(
          ri.valueLoc,
          "HANGAR_ERR_RULE_VALUE",
          `maturity "${text(v)}" is not one of ${MATURITIES.join(", ")}`,
        );
      break;
    case "version": {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1)
        cx.err(ri.valueLoc, "HANGAR_ERR_RULE_VALUE", `version must be a whole number ≥ 1, got ${text(v)}`);
      else meta.version = n;
      break;
    }
    case "mitre":
      for (const t of v as Name[]) {
        if (MITRE_ID.test(t.name)) meta.mitre.push(t.name);
        else
          cx.err(
            t.loc,
            "HANGAR_ERR_RULE_VALUE",
            `"${t.name}" is not a MITRE ATT&CK id: a technique (T1234, T1234.001) or a tactic (TA0003)`,
          );
      }
      break;
    case "engine": {
      meta.engine = text(v);
      const ok = engineSatisfies(text(v));
      if (ok === undefined)
        cx.err(
          ri.valueLoc,
          "HANGAR_ERR_RULE_VALUE",
          `engine requirement "${text(v)}" is not ">=MAJOR.MINOR"`,
        );
      else if (!ok)
        cx.err(
          ri.valueLoc,
          "HANGAR_ERR_RULE_ENGINE",
          `rule ${meta.id} needs engine ${text(v)}; this engine is ${ENGINE_VERSION}`,
        );
      break;
    }
  }
}

/** `learning skip | alert | severity <level>`. */
export function learningPolicy(cx: Context, mode: string, loc: Loc): LearningPolicy | undefined {
  if (mode === "skip") return { mode: "skip" };
  if (mode === "alert") return { mode: "alert" };
  if (mode.startsWith("severity:")) {
    const s = checkSeverity(cx, mode.slice("severity:".length), loc);
    return s === undefined ? undefined : { mode: "severity", severity: s };
  }
  return cx.err(
    loc,
    "HANGAR_ERR_RULE_VALUE",
    `learning "${mode}": use learning skip, learning alert or learning severity <level>`,
  );
}
