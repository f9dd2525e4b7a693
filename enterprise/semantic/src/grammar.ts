/* eslint-disable */
// Generated from grammar.ne by scripts/generate-grammar.mjs (nearleyc); do not edit.
// nearleyc's TypeScript output is not written for strict mode: type checks and lint are off here.
// @ts-nocheck
// Generated automatically by nearley, version 2.20.1
// http://github.com/Hardmath123/nearley
// Bypasses TS6133. Allow declared but unused functions.
// @ts-ignore
function id(d: any[]): any {
  return d[0];
}
declare var kw_requires: any;
declare var kw_engine: any;
declare var kw_list: any;
declare var path: any;
declare var kw_macro: any;
declare var kw_rule: any;
declare var kw_patch: any;
declare var kw_severity: any;
declare var kw_enabled: any;
declare var kw_disabled: any;
declare var kw_description: any;
declare var kw_message: any;
declare var kw_maturity: any;
declare var kw_version: any;
declare var number: any;
declare var kw_mitre: any;
declare var kw_event: any;
declare var kw_sequence: any;
declare var kw_count: any;
declare var kw_over: any;
declare var duration: any;
declare var kw_distinct: any;
declare var kw_of: any;
declare var kw_where: any;
declare var kw_by: any;
declare var kw_maxspan: any;
declare var kw_not: any;
declare var kw_runs: any;
declare var kw_within: any;
declare var kw_until: any;
declare var kw_except: any;
declare var kw_action: any;
declare var kw_cooldown: any;
declare var kw_learning: any;
declare var kw_test: any;
declare var kw_at: any;
declare var kw_expect: any;
declare var kw_baseline: any;
declare var kw_match: any;
declare var kw_no: any;
declare var kw_suppressed: any;
declare var kw_or: any;
declare var kw_and: any;
declare var kw_in: any;
declare var kw_exists: any;
declare var kw_contains: any;
declare var kw_startswith: any;
declare var kw_endswith: any;
declare var kw_glob: any;
declare var kw_regex: any;
declare var kw_cidr: any;
declare var kw_icontains: any;
declare var kw_istartswith: any;
declare var kw_iendswith: any;
declare var listref: any;
declare var kw_true: any;
declare var kw_false: any;
declare var string: any;
declare var rawstring: any;

import { lexer } from "./lexer.js";
import { append, cons, durationMs, flat, literal, loc, name, str } from "./build.js";

interface NearleyToken {
  value: any;
  [key: string]: any;
}

interface NearleyLexer {
  reset: (chunk: string, info: any) => void;
  next: () => NearleyToken | undefined;
  save: () => any;
  formatError: (token: never) => string;
  has: (tokenType: string) => boolean;
}

interface NearleyRule {
  name: string;
  symbols: NearleySymbol[];
  postprocess?: (d: any[], loc?: number, reject?: {}) => any;
}

type NearleySymbol = string | { literal: any } | { test: (token: any) => boolean };

interface Grammar {
  Lexer: NearleyLexer | undefined;
  ParserRules: NearleyRule[];
  ParserStart: string;
}

const grammar: Grammar = {
  Lexer: lexer,
  ParserRules: [
    { name: "File$ebnf$1", symbols: [] },
    { name: "File$ebnf$1", symbols: ["File$ebnf$1", "Item"], postprocess: (d) => d[0].concat([d[1]]) },
    { name: "File", symbols: ["File$ebnf$1"], postprocess: (d) => d[0] },
    { name: "Item", symbols: ["Requires"], postprocess: id },
    { name: "Item", symbols: ["ListDef"], postprocess: id },
    { name: "Item", symbols: ["MacroDef"], postprocess: id },
    { name: "Item", symbols: ["Rule"], postprocess: id },
    { name: "Item", symbols: ["Patch"], postprocess: id },
    {
      name: "Requires",
      symbols: [
        lexer.has("kw_requires") ? { type: "kw_requires" } : kw_requires,
        lexer.has("kw_engine") ? { type: "kw_engine" } : kw_engine,
        "String",
      ],
      postprocess: (d) => ({ t: "requires", range: str(d[2]), loc: loc(d[0]), valueLoc: loc(d[2]) }),
    },
    {
      name: "ListDef",
      symbols: [
        lexer.has("kw_list") ? { type: "kw_list" } : kw_list,
        lexer.has("path") ? { type: "path" } : path,
        { literal: "=" },
        "ListLit",
      ],
      postprocess: (d) => ({ t: "list", name: d[1].value, items: d[3].items, loc: loc(d[0]) }),
    },
    { name: "MacroDef$ebnf$1", symbols: ["Params"], postprocess: id },
    { name: "MacroDef$ebnf$1", symbols: [], postprocess: () => null },
    {
      name: "MacroDef",
      symbols: [
        lexer.has("kw_macro") ? { type: "kw_macro" } : kw_macro,
        lexer.has("path") ? { type: "path" } : path,
        "MacroDef$ebnf$1",
        { literal: "=" },
        "Expr",
      ],
      postprocess: (d) => ({ t: "macro", name: d[1].value, params: d[2] ?? [], body: d[4], loc: loc(d[1]) }),
    },
    { name: "Params", symbols: [{ literal: "(" }, "Names", { literal: ")" }], postprocess: (d) => d[1] },
    {
      name: "Names",
      symbols: [lexer.has("path") ? { type: "path" } : path],
      postprocess: (d) => [name(d[0])],
    },
    {
      name: "Names",
      symbols: ["Names", { literal: "," }, lexer.has("path") ? { type: "path" } : path],
      postprocess: (d) => append(d[0], name(d[2])),
    },
    { name: "Rule$ebnf$1", symbols: [] },
    { name: "Rule$ebnf$1", symbols: ["Rule$ebnf$1", "RuleItem"], postprocess: (d) => d[0].concat([d[1]]) },
    {
      name: "Rule",
      symbols: [
        lexer.has("kw_rule") ? { type: "kw_rule" } : kw_rule,
        lexer.has("path") ? { type: "path" } : path,
        { literal: "{" },
        "Rule$ebnf$1",
        { literal: "}" },
      ],
      postprocess: (d) => ({ t: "rule", id: d[1].value, items: d[3], loc: loc(d[1]) }),
    },
    { name: "Patch$ebnf$1", symbols: [] },
    { name: "Patch$ebnf$1", symbols: ["Patch$ebnf$1", "PatchItem"], postprocess: (d) => d[0].concat([d[1]]) },
    {
      name: "Patch",
      symbols: [
        lexer.has("kw_patch") ? { type: "kw_patch" } : kw_patch,
        lexer.has("path") ? { type: "path" } : path,
        { literal: "{" },
        "Patch$ebnf$1",
        { literal: "}" },
      ],
      postprocess: (d) => ({ t: "patch", id: d[1].value, items: d[3], loc: loc(d[1]) }),
    },
    { name: "RuleItem", symbols: ["Meta"], postprocess: id },
    {
      name: "RuleItem",
      symbols: ["Condition"],
      postprocess: (d) => ({ t: "cond", cond: d[0], loc: d[0].loc }),
    },
    { name: "RuleItem", symbols: ["Except"], postprocess: id },
    { name: "RuleItem", symbols: ["Action"], postprocess: id },
    { name: "RuleItem", symbols: ["Cooldown"], postprocess: id },
    { name: "RuleItem", symbols: ["Learning"], postprocess: id },
    { name: "RuleItem", symbols: ["Test"], postprocess: (d) => ({ t: "test", test: d[0], loc: d[0].loc }) },
    { name: "RuleItem", symbols: ["Enabled"], postprocess: id },
    { name: "PatchItem", symbols: ["Except"], postprocess: id },
    { name: "PatchItem", symbols: ["Enabled"], postprocess: id },
    {
      name: "PatchItem",
      symbols: [
        lexer.has("kw_severity") ? { type: "kw_severity" } : kw_severity,
        lexer.has("path") ? { type: "path" } : path,
      ],
      postprocess: (d) => ({
        t: "meta",
        key: "severity",
        value: d[1].value,
        loc: loc(d[0]),
        valueLoc: loc(d[1]),
      }),
    },
    {
      name: "Enabled",
      symbols: [lexer.has("kw_enabled") ? { type: "kw_enabled" } : kw_enabled],
      postprocess: (d) => ({ t: "enabled", v: true, loc: loc(d[0]) }),
    },
    {
      name: "Enabled",
      symbols: [lexer.has("kw_disabled") ? { type: "kw_disabled" } : kw_disabled],
      postprocess: (d) => ({ t: "enabled", v: false, loc: loc(d[0]) }),
    },
    {
      name: "Meta",
      symbols: [lexer.has("kw_description") ? { type: "kw_description" } : kw_description, "String"],
      postprocess: (d) => ({
        t: "meta",
        key: "description",
        value: str(d[1]).replace(/\s*\n\s*/g, " "),
        loc: loc(d[0]),
        valueLoc: loc(d[1]),
      }),
    },
    {
      name: "Meta",
      symbols: [lexer.has("kw_message") ? { type: "kw_message" } : kw_message, "String"],
      postprocess: (d) => ({
        t: "meta",
        key: "message",
        value: str(d[1]),
        loc: loc(d[0]),
        valueLoc: loc(d[1]),
      }),
    },
    {
      name: "Meta",
      symbols: [
        lexer.has("kw_severity") ? { type: "kw_severity" } : kw_severity,
        lexer.has("path") ? { type: "path" } : path,
      ],
      postprocess: (d) => ({
        t: "meta",
        key: "severity",
        value: d[1].value,
        loc: loc(d[0]),
        valueLoc: loc(d[1]),
      }),
    },
    {
      name: "Meta",
      symbols: [
        lexer.has("kw_maturity") ? { type: "kw_maturity" } : kw_maturity,
        lexer.has("path") ? { type: "path" } : path,
      ],
      postprocess: (d) => ({
        t: "meta",
        key: "maturity",
        value: d[1].value,
        loc: loc(d[0]),
        valueLoc: loc(d[1]),
      }),
    },
    {
      name: "Meta",
      symbols: [
        lexer.has("kw_version") ? { type: "kw_version" } : kw_version,
        lexer.has("number") ? { type: "number" } : number,
      ],
      postprocess: (d) => ({
        t: "meta",
        key: "version",
        value: d[1].value,
        loc: loc(d[0]),
        valueLoc: loc(d[1]),
      }),
    },
    {
      name: "Meta",
      symbols: [lexer.has("kw_mitre") ? { type: "kw_mitre" } : kw_mitre, "Names"],
      postprocess: (d) => ({ t: "meta", key: "mitre", value: d[1], loc: loc(d[0]), valueLoc: d[1][0].loc }),
    },
    {
      name: "Meta",
      symbols: [
        lexer.has("kw_requires") ? { type: "kw_requires" } : kw_requires,
        lexer.has("kw_engine") ? { type: "kw_engine" } : kw_engine,
        "String",
      ],
      postprocess: (d) => ({
        t: "meta",
        key: "engine",
        value: str(d[2]),
        loc: loc(d[0]),
        valueLoc: loc(d[2]),
      }),
    },
    { name: "Condition$ebnf$1", symbols: ["Where"], postprocess: id },
    { name: "Condition$ebnf$1", symbols: [], postprocess: () => null },
    {
      name: "Condition",
      symbols: [
        lexer.has("kw_event") ? { type: "kw_event" } : kw_event,
        lexer.has("path") ? { type: "path" } : path,
        "Condition$ebnf$1",
      ],
      postprocess: (d) => ({
        t: "event",
        kind: name(d[1]),
        ...(d[2] ? { where: d[2] } : {}),
        loc: loc(d[0]),
      }),
    },
    { name: "Condition$ebnf$2", symbols: ["By"], postprocess: id },
    { name: "Condition$ebnf$2", symbols: [], postprocess: () => null },
    { name: "Condition$ebnf$3", symbols: ["Maxspan"], postprocess: id },
    { name: "Condition$ebnf$3", symbols: [], postprocess: () => null },
    { name: "Condition$ebnf$4", symbols: ["Step"] },
    {
      name: "Condition$ebnf$4",
      symbols: ["Condition$ebnf$4", "Step"],
      postprocess: (d) => d[0].concat([d[1]]),
    },
    { name: "Condition$ebnf$5", symbols: ["Until"], postprocess: id },
    { name: "Condition$ebnf$5", symbols: [], postprocess: () => null },
    {
      name: "Condition",
      symbols: [
        lexer.has("kw_sequence") ? { type: "kw_sequence" } : kw_sequence,
        "Condition$ebnf$2",
        "Condition$ebnf$3",
        { literal: "{" },
        "Condition$ebnf$4",
        { literal: "}" },
        "Condition$ebnf$5",
      ],
      postprocess: (d) => ({
        t: "sequence",
        by: d[1] ?? [],
        ...(d[2] ? { maxspan: d[2] } : {}),
        steps: d[4],
        ...(d[6] ? { until: d[6] } : {}),
        loc: loc(d[0]),
      }),
    },
    { name: "Condition$ebnf$6", symbols: ["Where"], postprocess: id },
    { name: "Condition$ebnf$6", symbols: [], postprocess: () => null },
    { name: "Condition$ebnf$7", symbols: ["By"], postprocess: id },
    { name: "Condition$ebnf$7", symbols: [], postprocess: () => null },
    {
      name: "Condition",
      symbols: [
        lexer.has("kw_count") ? { type: "kw_count" } : kw_count,
        lexer.has("path") ? { type: "path" } : path,
        "Condition$ebnf$6",
        "Condition$ebnf$7",
        lexer.has("kw_over") ? { type: "kw_over" } : kw_over,
        lexer.has("duration") ? { type: "duration" } : duration,
        "CmpOp",
        lexer.has("number") ? { type: "number" } : number,
      ],
      postprocess: (d) => ({
        t: "threshold",
        fn: "count",
        kind: name(d[1]),
        ...(d[2] ? { where: d[2] } : {}),
        by: d[3] ?? [],
        windowMs: durationMs(d[5]),
        op: d[6].value,
        opLoc: loc(d[6]),
        limit: Number(d[7].value),
        loc: loc(d[0]),
      }),
    },
    { name: "Condition$ebnf$8", symbols: ["Where"], postprocess: id },
    { name: "Condition$ebnf$8", symbols: [], postprocess: () => null },
    { name: "Condition$ebnf$9", symbols: ["By"], postprocess: id },
    { name: "Condition$ebnf$9", symbols: [], postprocess: () => null },
    {
      name: "Condition",
      symbols: [
        lexer.has("kw_distinct") ? { type: "kw_distinct" } : kw_distinct,
        lexer.has("path") ? { type: "path" } : path,
        lexer.has("kw_of") ? { type: "kw_of" } : kw_of,
        lexer.has("path") ? { type: "path" } : path,
        "Condition$ebnf$8",
        "Condition$ebnf$9",
        lexer.has("kw_over") ? { type: "kw_over" } : kw_over,
        lexer.has("duration") ? { type: "duration" } : duration,
        "CmpOp",
        lexer.has("number") ? { type: "number" } : number,
      ],
      postprocess: (d) => ({
        t: "threshold",
        fn: "distinct",
        field: name(d[1]),
        kind: name(d[3]),
        ...(d[4] ? { where: d[4] } : {}),
        by: d[5] ?? [],
        windowMs: durationMs(d[7]),
        op: d[8].value,
        opLoc: loc(d[8]),
        limit: Number(d[9].value),
        loc: loc(d[0]),
      }),
    },
    {
      name: "Where",
      symbols: [lexer.has("kw_where") ? { type: "kw_where" } : kw_where, "Expr"],
      postprocess: (d) => d[1],
    },
    {
      name: "By",
      symbols: [lexer.has("kw_by") ? { type: "kw_by" } : kw_by, "Names"],
      postprocess: (d) => d[1],
    },
    {
      name: "Maxspan",
      symbols: [
        lexer.has("kw_maxspan") ? { type: "kw_maxspan" } : kw_maxspan,
        lexer.has("duration") ? { type: "duration" } : duration,
      ],
      postprocess: (d) => ({ ms: durationMs(d[1]), loc: loc(d[1]) }),
    },
    { name: "Step$ebnf$1", symbols: [lexer.has("kw_not") ? { type: "kw_not" } : kw_not], postprocess: id },
    { name: "Step$ebnf$1", symbols: [], postprocess: () => null },
    { name: "Step$ebnf$2", symbols: ["Where"], postprocess: id },
    { name: "Step$ebnf$2", symbols: [], postprocess: () => null },
    { name: "Step$ebnf$3", symbols: ["By"], postprocess: id },
    { name: "Step$ebnf$3", symbols: [], postprocess: () => null },
    { name: "Step$ebnf$4", symbols: ["Runs"], postprocess: id },
    { name: "Step$ebnf$4", symbols: [], postprocess: () => null },
    { name: "Step$ebnf$5", symbols: ["Within"], postprocess: id },
    { name: "Step$ebnf$5", symbols: [], postprocess: () => null },
    {
      name: "Step",
      symbols: [
        lexer.has("path") ? { type: "path" } : path,
        { literal: ":" },
        "Step$ebnf$1",
        lexer.has("path") ? { type: "path" } : path,
        "Step$ebnf$2",
        "Step$ebnf$3",
        "Step$ebnf$4",
        "Step$ebnf$5",
      ],
      postprocess: (d) => ({
        name: d[0].value,
        loc: loc(d[0]),
        negated: d[2] !== null,
        kind: name(d[3]),
        ...(d[4] ? { where: d[4] } : {}),
        by: d[5] ?? [],
        ...(d[6] ? { runs: d[6] } : {}),
        ...(d[7] ? { within: d[7] } : {}),
      }),
    },
    {
      name: "Runs",
      symbols: [
        lexer.has("kw_runs") ? { type: "kw_runs" } : kw_runs,
        lexer.has("number") ? { type: "number" } : number,
      ],
      postprocess: (d) => ({ n: Number(d[1].value), loc: loc(d[1]) }),
    },
    {
      name: "Within",
      symbols: [
        lexer.has("kw_within") ? { type: "kw_within" } : kw_within,
        lexer.has("duration") ? { type: "duration" } : duration,
      ],
      postprocess: (d) => ({ ms: durationMs(d[1]), loc: loc(d[1]) }),
    },
    { name: "Until$ebnf$1", symbols: ["Where"], postprocess: id },
    { name: "Until$ebnf$1", symbols: [], postprocess: () => null },
    { name: "Until$ebnf$2", symbols: ["By"], postprocess: id },
    { name: "Until$ebnf$2", symbols: [], postprocess: () => null },
    {
      name: "Until",
      symbols: [
        lexer.has("kw_until") ? { type: "kw_until" } : kw_until,
        lexer.has("path") ? { type: "path" } : path,
        "Until$ebnf$1",
        "Until$ebnf$2",
      ],
      postprocess: (d) => ({
        kind: name(d[1]),
        ...(d[2] ? { where: d[2] } : {}),
        by: d[3] ?? [],
        loc: loc(d[0]),
      }),
    },
    {
      name: "Except",
      symbols: [
        lexer.has("kw_except") ? { type: "kw_except" } : kw_except,
        lexer.has("path") ? { type: "path" } : path,
        lexer.has("kw_where") ? { type: "kw_where" } : kw_where,
        "Expr",
      ],
      postprocess: (d) => ({
        t: "except",
        exc: { name: d[1].value, where: d[3], loc: loc(d[1]), file: "" },
        loc: loc(d[0]),
      }),
    },
    {
      name: "Action",
      symbols: [lexer.has("kw_action") ? { type: "kw_action" } : kw_action, "Actions"],
      postprocess: (d) => ({ t: "action", actions: d[1], loc: loc(d[0]) }),
    },
    { name: "Actions", symbols: ["ActionSpec"], postprocess: (d) => cons(null, d[0]) },
    {
      name: "Actions",
      symbols: ["Actions", { literal: "," }, "ActionSpec"],
      postprocess: (d) => cons(d[0], d[2]),
    },
    {
      name: "ActionSpec",
      symbols: [lexer.has("path") ? { type: "path" } : path],
      postprocess: (d) => ({ name: d[0].value, args: [], loc: loc(d[0]) }),
    },
    {
      name: "ActionSpec",
      symbols: [lexer.has("path") ? { type: "path" } : path, { literal: "(" }, "Args", { literal: ")" }],
      postprocess: (d) => ({ name: d[0].value, args: flat(d[2]), loc: loc(d[0]) }),
    },
    { name: "Cooldown$ebnf$1", symbols: ["By"], postprocess: id },
    { name: "Cooldown$ebnf$1", symbols: [], postprocess: () => null },
    {
      name: "Cooldown",
      symbols: [
        lexer.has("kw_cooldown") ? { type: "kw_cooldown" } : kw_cooldown,
        lexer.has("duration") ? { type: "duration" } : duration,
        "Cooldown$ebnf$1",
      ],
      postprocess: (d) => ({ t: "cooldown", ms: durationMs(d[1]), by: d[2] ?? [], loc: loc(d[0]) }),
    },
    {
      name: "Learning",
      symbols: [
        lexer.has("kw_learning") ? { type: "kw_learning" } : kw_learning,
        lexer.has("path") ? { type: "path" } : path,
      ],
      postprocess: (d) => ({ t: "learning", mode: d[1].value, loc: loc(d[1]) }),
    },
    {
      name: "Learning",
      symbols: [
        lexer.has("kw_learning") ? { type: "kw_learning" } : kw_learning,
        lexer.has("kw_severity") ? { type: "kw_severity" } : kw_severity,
        lexer.has("path") ? { type: "path" } : path,
      ],
      postprocess: (d) => ({ t: "learning", mode: `severity:${d[2].value}`, loc: loc(d[2]) }),
    },
    { name: "Test$ebnf$1", symbols: [] },
    { name: "Test$ebnf$1", symbols: ["Test$ebnf$1", "TestItem"], postprocess: (d) => d[0].concat([d[1]]) },
    {
      name: "Test",
      symbols: [
        lexer.has("kw_test") ? { type: "kw_test" } : kw_test,
        "String",
        { literal: "{" },
        "Test$ebnf$1",
        { literal: "}" },
      ],
      postprocess: (d) => ({
        name: str(d[1]),
        loc: loc(d[0]),
        events: d[3].filter((i) => i.t === "event").map((i) => i.v),
        expects: d[3].filter((i) => i.t === "expect").map((i) => i.v),
        baseline: d[3].filter((i) => i.t === "baseline").map((i) => i.v),
        learning: d[3].some((i) => i.t === "learning"),
      }),
    },
    { name: "TestItem$ebnf$1", symbols: ["FieldVals"], postprocess: id },
    { name: "TestItem$ebnf$1", symbols: [], postprocess: () => null },
    {
      name: "TestItem",
      symbols: [
        lexer.has("kw_at") ? { type: "kw_at" } : kw_at,
        lexer.has("duration") ? { type: "duration" } : duration,
        lexer.has("path") ? { type: "path" } : path,
        { literal: "{" },
        "TestItem$ebnf$1",
        { literal: "}" },
      ],
      postprocess: (d) => ({
        t: "event",
        v: { atMs: durationMs(d[1]), kind: name(d[2]), fields: d[4] ?? [], loc: loc(d[0]) },
      }),
    },
    {
      name: "TestItem",
      symbols: [lexer.has("kw_expect") ? { type: "kw_expect" } : kw_expect, "Expect"],
      postprocess: (d) => ({ t: "expect", v: d[1] }),
    },
    {
      name: "TestItem",
      symbols: [
        lexer.has("kw_baseline") ? { type: "kw_baseline" } : kw_baseline,
        lexer.has("path") ? { type: "path" } : path,
        "LitList",
      ],
      postprocess: (d) => ({ t: "baseline", v: { facet: name(d[1]), values: d[2].items } }),
    },
    {
      name: "TestItem",
      symbols: [
        lexer.has("kw_baseline") ? { type: "kw_baseline" } : kw_baseline,
        lexer.has("kw_learning") ? { type: "kw_learning" } : kw_learning,
      ],
      postprocess: (d) => ({ t: "learning" }),
    },
    { name: "FieldVals", symbols: ["FieldVal"], postprocess: (d) => [d[0]] },
    {
      name: "FieldVals",
      symbols: ["FieldVals", { literal: "," }, "FieldVal"],
      postprocess: (d) => append(d[0], d[2]),
    },
    {
      name: "FieldVal",
      symbols: [lexer.has("path") ? { type: "path" } : path, { literal: ":" }, "Literal"],
      postprocess: (d) => ({ name: d[0].value, value: d[2], loc: loc(d[0]) }),
    },
    {
      name: "FieldVal",
      symbols: [lexer.has("path") ? { type: "path" } : path, { literal: ":" }, "LitList"],
      postprocess: (d) => ({ name: d[0].value, value: d[2], loc: loc(d[0]) }),
    },
    {
      name: "Expect",
      symbols: [lexer.has("kw_match") ? { type: "kw_match" } : kw_match],
      postprocess: (d) => ({ t: "match", loc: loc(d[0]) }),
    },
    {
      name: "Expect",
      symbols: [
        lexer.has("kw_match") ? { type: "kw_match" } : kw_match,
        { literal: "[" },
        "Names",
        { literal: "]" },
      ],
      postprocess: (d) => ({ t: "match", steps: d[2], loc: loc(d[0]) }),
    },
    {
      name: "Expect",
      symbols: [
        lexer.has("kw_no") ? { type: "kw_no" } : kw_no,
        lexer.has("kw_match") ? { type: "kw_match" } : kw_match,
      ],
      postprocess: (d) => ({ t: "nomatch", loc: loc(d[0]) }),
    },
    {
      name: "Expect",
      symbols: [
        lexer.has("kw_suppressed") ? { type: "kw_suppressed" } : kw_suppressed,
        lexer.has("path") ? { type: "path" } : path,
      ],
      postprocess: (d) => ({ t: "suppressed", exception: name(d[1]), loc: loc(d[0]) }),
    },
    { name: "Expr", symbols: ["Or"], postprocess: id },
    {
      name: "Or",
      symbols: ["Or", lexer.has("kw_or") ? { type: "kw_or" } : kw_or, "And"],
      postprocess: (d) => ({ t: "or", l: d[0], r: d[2], loc: loc(d[1]) }),
    },
    { name: "Or", symbols: ["And"], postprocess: id },
    {
      name: "And",
      symbols: ["And", lexer.has("kw_and") ? { type: "kw_and" } : kw_and, "Not"],
      postprocess: (d) => ({ t: "and", l: d[0], r: d[2], loc: loc(d[1]) }),
    },
    { name: "And", symbols: ["Not"], postprocess: id },
    {
      name: "Not",
      symbols: [lexer.has("kw_not") ? { type: "kw_not" } : kw_not, "Not"],
      postprocess: (d) => ({ t: "not", e: d[1], loc: loc(d[0]) }),
    },
    { name: "Not", symbols: ["Atom"], postprocess: id },
    { name: "Atom", symbols: [{ literal: "(" }, "Expr", { literal: ")" }], postprocess: (d) => d[1] },
    { name: "Atom", symbols: ["Cmp"], postprocess: id },
    { name: "Atom", symbols: ["Value"], postprocess: id },
    {
      name: "Cmp",
      symbols: ["Value", "CmpOp", "Value"],
      postprocess: (d) => ({
        t: "cmp",
        op: d[1].value === "==" ? "=" : d[1].value,
        l: d[0],
        r: d[2],
        loc: loc(d[1]),
      }),
    },
    {
      name: "Cmp",
      symbols: ["Value", lexer.has("kw_in") ? { type: "kw_in" } : kw_in, "Value"],
      postprocess: (d) => ({ t: "in", neg: false, l: d[0], r: d[2], loc: loc(d[1]) }),
    },
    {
      name: "Cmp",
      symbols: [
        "Value",
        lexer.has("kw_not") ? { type: "kw_not" } : kw_not,
        lexer.has("kw_in") ? { type: "kw_in" } : kw_in,
        "Value",
      ],
      postprocess: (d) => ({ t: "in", neg: true, l: d[0], r: d[3], loc: loc(d[1]) }),
    },
    {
      name: "Cmp",
      symbols: ["Value", lexer.has("kw_exists") ? { type: "kw_exists" } : kw_exists],
      postprocess: (d) => ({ t: "exists", v: d[0], loc: loc(d[1]) }),
    },
    {
      name: "Cmp",
      symbols: ["Value", "StrOp", "Value"],
      postprocess: (d) => ({ t: "strop", op: d[1].value, l: d[0], r: d[2], loc: loc(d[1]) }),
    },
    {
      name: "Cmp",
      symbols: [
        "Value",
        lexer.has("kw_in") ? { type: "kw_in" } : kw_in,
        lexer.has("kw_baseline") ? { type: "kw_baseline" } : kw_baseline,
        { literal: "(" },
        lexer.has("path") ? { type: "path" } : path,
        { literal: ")" },
      ],
      postprocess: (d) => ({
        t: "baseline",
        neg: false,
        v: d[0],
        facet: d[4].value,
        facetLoc: loc(d[4]),
        loc: loc(d[2]),
      }),
    },
    {
      name: "Cmp",
      symbols: [
        "Value",
        lexer.has("kw_not") ? { type: "kw_not" } : kw_not,
        lexer.has("kw_in") ? { type: "kw_in" } : kw_in,
        lexer.has("kw_baseline") ? { type: "kw_baseline" } : kw_baseline,
        { literal: "(" },
        lexer.has("path") ? { type: "path" } : path,
        { literal: ")" },
      ],
      postprocess: (d) => ({
        t: "baseline",
        neg: true,
        v: d[0],
        facet: d[5].value,
        facetLoc: loc(d[5]),
        loc: loc(d[3]),
      }),
    },
    { name: "CmpOp", symbols: [{ literal: "=" }], postprocess: id },
    { name: "CmpOp", symbols: [{ literal: "==" }], postprocess: id },
    { name: "CmpOp", symbols: [{ literal: "!=" }], postprocess: id },
    { name: "CmpOp", symbols: [{ literal: "<" }], postprocess: id },
    { name: "CmpOp", symbols: [{ literal: "<=" }], postprocess: id },
    { name: "CmpOp", symbols: [{ literal: ">" }], postprocess: id },
    { name: "CmpOp", symbols: [{ literal: ">=" }], postprocess: id },
    {
      name: "StrOp",
      symbols: [lexer.has("kw_contains") ? { type: "kw_contains" } : kw_contains],
      postprocess: id,
    },
    {
      name: "StrOp",
      symbols: [lexer.has("kw_startswith") ? { type: "kw_startswith" } : kw_startswith],
      postprocess: id,
    },
    {
      name: "StrOp",
      symbols: [lexer.has("kw_endswith") ? { type: "kw_endswith" } : kw_endswith],
      postprocess: id,
    },
    { name: "StrOp", symbols: [lexer.has("kw_glob") ? { type: "kw_glob" } : kw_glob], postprocess: id },
    { name: "StrOp", symbols: [lexer.has("kw_regex") ? { type: "kw_regex" } : kw_regex], postprocess: id },
    { name: "StrOp", symbols: [lexer.has("kw_cidr") ? { type: "kw_cidr" } : kw_cidr], postprocess: id },
    {
      name: "StrOp",
      symbols: [lexer.has("kw_icontains") ? { type: "kw_icontains" } : kw_icontains],
      postprocess: id,
    },
    {
      name: "StrOp",
      symbols: [lexer.has("kw_istartswith") ? { type: "kw_istartswith" } : kw_istartswith],
      postprocess: id,
    },
    {
      name: "StrOp",
      symbols: [lexer.has("kw_iendswith") ? { type: "kw_iendswith" } : kw_iendswith],
      postprocess: id,
    },
    {
      name: "Value",
      symbols: [lexer.has("path") ? { type: "path" } : path],
      postprocess: (d) => ({ t: "path", name: d[0].value, loc: loc(d[0]) }),
    },
    { name: "Value", symbols: ["Literal"], postprocess: id },
    { name: "Value", symbols: ["ListLit"], postprocess: id },
    {
      name: "Value",
      symbols: [lexer.has("listref") ? { type: "listref" } : listref],
      postprocess: (d) => ({ t: "listref", name: d[0].value.slice(1), loc: loc(d[0]) }),
    },
    {
      name: "Value",
      symbols: [lexer.has("path") ? { type: "path" } : path, { literal: "(" }, { literal: ")" }],
      postprocess: (d) => ({ t: "call", name: d[0].value, args: [], loc: loc(d[0]) }),
    },
    {
      name: "Value",
      symbols: [lexer.has("path") ? { type: "path" } : path, { literal: "(" }, "Args", { literal: ")" }],
      postprocess: (d) => ({ t: "call", name: d[0].value, args: flat(d[2]), loc: loc(d[0]) }),
    },
    { name: "Args", symbols: ["Expr"], postprocess: (d) => cons(null, d[0]) },
    { name: "Args", symbols: ["Args", { literal: "," }, "Expr"], postprocess: (d) => cons(d[0], d[2]) },
    {
      name: "ListLit",
      symbols: [{ literal: "[" }, { literal: "]" }],
      postprocess: (d) => ({ t: "list", items: [], loc: loc(d[0]) }),
    },
    {
      name: "ListLit",
      symbols: [{ literal: "[" }, "ListItems", { literal: "]" }],
      postprocess: (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }),
    },
    {
      name: "ListLit",
      symbols: [{ literal: "[" }, "ListItems", { literal: "," }, { literal: "]" }],
      postprocess: (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }),
    },
    { name: "ListItems", symbols: ["ListItem"], postprocess: (d) => [d[0]] },
    {
      name: "ListItems",
      symbols: ["ListItems", { literal: "," }, "ListItem"],
      postprocess: (d) => append(d[0], d[2]),
    },
    { name: "ListItem", symbols: ["Literal"], postprocess: id },
    {
      name: "ListItem",
      symbols: [lexer.has("listref") ? { type: "listref" } : listref],
      postprocess: (d) => ({ t: "listref", name: d[0].value.slice(1), loc: loc(d[0]) }),
    },
    {
      name: "LitList",
      symbols: [{ literal: "[" }, { literal: "]" }],
      postprocess: (d) => ({ t: "list", items: [], loc: loc(d[0]) }),
    },
    {
      name: "LitList",
      symbols: [{ literal: "[" }, "Literals", { literal: "]" }],
      postprocess: (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }),
    },
    {
      name: "LitList",
      symbols: [{ literal: "[" }, "Literals", { literal: "," }, { literal: "]" }],
      postprocess: (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }),
    },
    { name: "Literals", symbols: ["Literal"], postprocess: (d) => [d[0]] },
    {
      name: "Literals",
      symbols: ["Literals", { literal: "," }, "Literal"],
      postprocess: (d) => append(d[0], d[2]),
    },
    { name: "Literal", symbols: ["String"], postprocess: (d) => literal(d[0]) },
    {
      name: "Literal",
      symbols: [lexer.has("number") ? { type: "number" } : number],
      postprocess: (d) => literal(d[0]),
    },
    {
      name: "Literal",
      symbols: [lexer.has("duration") ? { type: "duration" } : duration],
      postprocess: (d) => literal(d[0]),
    },
    {
      name: "Literal",
      symbols: [lexer.has("kw_true") ? { type: "kw_true" } : kw_true],
      postprocess: (d) => literal(d[0]),
    },
    {
      name: "Literal",
      symbols: [lexer.has("kw_false") ? { type: "kw_false" } : kw_false],
      postprocess: (d) => literal(d[0]),
    },
    { name: "String", symbols: [lexer.has("string") ? { type: "string" } : string], postprocess: id },
    {
      name: "String",
      symbols: [lexer.has("rawstring") ? { type: "rawstring" } : rawstring],
      postprocess: id,
    },
  ],
  ParserStart: "File",
};

export default grammar;
