# The grammar of the Hangar rule language (nearley, over the moo lexer in
# lexer.ts). Compiled to grammar.ts by scripts/generate-grammar.mjs; a test
# checks that the committed output is current and that no input parses two
# ways. The language reference is rules/README.md.
@preprocessor typescript
@{%
import { lexer } from "./lexer.js";
import { append, cons, durationMs, flat, literal, loc, name, str } from "./build.js";
%}
@lexer lexer

File -> Item:*                                   {% (d) => d[0] %}

Item -> Requires                                 {% id %}
      | ListDef                                  {% id %}
      | MacroDef                                 {% id %}
      | Rule                                     {% id %}
      | Patch                                    {% id %}

Requires -> %kw_requires %kw_engine String       {% (d) => ({ t: "requires", range: str(d[2]), loc: loc(d[0]), valueLoc: loc(d[2]) }) %}
ListDef -> %kw_list %path "=" ListLit            {% (d) => ({ t: "list", name: d[1].value, items: d[3].items, loc: loc(d[0]) }) %}
MacroDef -> %kw_macro %path Params:? "=" Expr    {% (d) => ({ t: "macro", name: d[1].value, params: d[2] ?? [], body: d[4], loc: loc(d[1]) }) %}
Params -> "(" Names ")"                          {% (d) => d[1] %}
Names -> %path                                   {% (d) => [name(d[0])] %}
       | Names "," %path                         {% (d) => append(d[0], name(d[2])) %}

Rule -> %kw_rule %path "{" RuleItem:* "}"        {% (d) => ({ t: "rule", id: d[1].value, items: d[3], loc: loc(d[1]) }) %}
Patch -> %kw_patch %path "{" PatchItem:* "}"     {% (d) => ({ t: "patch", id: d[1].value, items: d[3], loc: loc(d[1]) }) %}

RuleItem -> Meta                                 {% id %}
          | Condition                            {% (d) => ({ t: "cond", cond: d[0], loc: d[0].loc }) %}
          | Except                               {% id %}
          | Action                               {% id %}
          | Cooldown                             {% id %}
          | Learning                             {% id %}
          | Test                                 {% (d) => ({ t: "test", test: d[0], loc: d[0].loc }) %}
          | Enabled                              {% id %}

PatchItem -> Except                              {% id %}
           | Enabled                             {% id %}
           | %kw_severity %path                  {% (d) => ({ t: "meta", key: "severity", value: d[1].value, loc: loc(d[0]), valueLoc: loc(d[1]) }) %}

Enabled -> %kw_enabled                           {% (d) => ({ t: "enabled", v: true, loc: loc(d[0]) }) %}
         | %kw_disabled                          {% (d) => ({ t: "enabled", v: false, loc: loc(d[0]) }) %}

Meta -> %kw_description String                   {% (d) => ({ t: "meta", key: "description", value: str(d[1]).replace(/\s*\n\s*/g, " "), loc: loc(d[0]), valueLoc: loc(d[1]) }) %}
      | %kw_message String                       {% (d) => ({ t: "meta", key: "message", value: str(d[1]), loc: loc(d[0]), valueLoc: loc(d[1]) }) %}
      | %kw_severity %path                       {% (d) => ({ t: "meta", key: "severity", value: d[1].value, loc: loc(d[0]), valueLoc: loc(d[1]) }) %}
      | %kw_maturity %path                       {% (d) => ({ t: "meta", key: "maturity", value: d[1].value, loc: loc(d[0]), valueLoc: loc(d[1]) }) %}
      | %kw_version %number                      {% (d) => ({ t: "meta", key: "version", value: d[1].value, loc: loc(d[0]), valueLoc: loc(d[1]) }) %}
      | %kw_mitre Names                          {% (d) => ({ t: "meta", key: "mitre", value: d[1], loc: loc(d[0]), valueLoc: d[1][0].loc }) %}
      | %kw_requires %kw_engine String           {% (d) => ({ t: "meta", key: "engine", value: str(d[2]), loc: loc(d[0]), valueLoc: loc(d[2]) }) %}

Condition -> %kw_event %path Where:?             {% (d) => ({ t: "event", kind: name(d[1]), ...(d[2] ? { where: d[2] } : {}), loc: loc(d[0]) }) %}
           | %kw_sequence By:? Maxspan:? "{" Step:+ "}" Until:?
               {% (d) => ({ t: "sequence", by: d[1] ?? [], ...(d[2] ? { maxspan: d[2] } : {}), steps: d[4], ...(d[6] ? { until: d[6] } : {}), loc: loc(d[0]) }) %}
           | %kw_count %path Where:? By:? %kw_over %duration CmpOp %number
               {% (d) => ({ t: "threshold", fn: "count", kind: name(d[1]), ...(d[2] ? { where: d[2] } : {}), by: d[3] ?? [], windowMs: durationMs(d[5]), op: d[6].value, opLoc: loc(d[6]), limit: Number(d[7].value), loc: loc(d[0]) }) %}
           | %kw_distinct %path %kw_of %path Where:? By:? %kw_over %duration CmpOp %number
               {% (d) => ({ t: "threshold", fn: "distinct", field: name(d[1]), kind: name(d[3]), ...(d[4] ? { where: d[4] } : {}), by: d[5] ?? [], windowMs: durationMs(d[7]), op: d[8].value, opLoc: loc(d[8]), limit: Number(d[9].value), loc: loc(d[0]) }) %}

Where -> %kw_where Expr                          {% (d) => d[1] %}
By -> %kw_by Names                               {% (d) => d[1] %}
Maxspan -> %kw_maxspan %duration                 {% (d) => ({ ms: durationMs(d[1]), loc: loc(d[1]) }) %}

Step -> %path ":" %kw_not:? %path Where:? By:? Runs:? Within:?
    {% (d) => ({ name: d[0].value, loc: loc(d[0]), negated: d[2] !== null, kind: name(d[3]), ...(d[4] ? { where: d[4] } : {}), by: d[5] ?? [], ...(d[6] ? { runs: d[6] } : {}), ...(d[7] ? { within: d[7] } : {}) }) %}
Runs -> %kw_runs %number                         {% (d) => ({ n: Number(d[1].value), loc: loc(d[1]) }) %}
Within -> %kw_within %duration                   {% (d) => ({ ms: durationMs(d[1]), loc: loc(d[1]) }) %}
Until -> %kw_until %path Where:? By:?            {% (d) => ({ kind: name(d[1]), ...(d[2] ? { where: d[2] } : {}), by: d[3] ?? [], loc: loc(d[0]) }) %}

Except -> %kw_except %path %kw_where Expr        {% (d) => ({ t: "except", exc: { name: d[1].value, where: d[3], loc: loc(d[1]), file: "" }, loc: loc(d[0]) }) %}
Action -> %kw_action Actions                     {% (d) => ({ t: "action", actions: d[1], loc: loc(d[0]) }) %}
# Elements that can complete at a prefix of themselves (a bare name, then name(…)) are
# collected as immutable cons cells (see build.ts).
Actions -> ActionSpec                            {% (d) => cons(null, d[0]) %}
         | Actions "," ActionSpec                {% (d) => cons(d[0], d[2]) %}
ActionSpec -> %path                              {% (d) => ({ name: d[0].value, args: [], loc: loc(d[0]) }) %}
            | %path "(" Args ")"                 {% (d) => ({ name: d[0].value, args: flat(d[2]), loc: loc(d[0]) }) %}
Cooldown -> %kw_cooldown %duration By:?          {% (d) => ({ t: "cooldown", ms: durationMs(d[1]), by: d[2] ?? [], loc: loc(d[0]) }) %}
Learning -> %kw_learning %path                   {% (d) => ({ t: "learning", mode: d[1].value, loc: loc(d[1]) }) %}
          | %kw_learning %kw_severity %path      {% (d) => ({ t: "learning", mode: `severity:${d[2].value}`, loc: loc(d[2]) }) %}

Test -> %kw_test String "{" TestItem:* "}"
    {% (d) => ({ name: str(d[1]), loc: loc(d[0]), events: d[3].filter((i) => i.t === "event").map((i) => i.v), expects: d[3].filter((i) => i.t === "expect").map((i) => i.v), baseline: d[3].filter((i) => i.t === "baseline").map((i) => i.v), learning: d[3].some((i) => i.t === "learning") }) %}
TestItem -> %kw_at %duration %path "{" FieldVals:? "}"
              {% (d) => ({ t: "event", v: { atMs: durationMs(d[1]), kind: name(d[2]), fields: d[4] ?? [], loc: loc(d[0]) } }) %}
          | %kw_expect Expect                    {% (d) => ({ t: "expect", v: d[1] }) %}
          | %kw_baseline %path LitList           {% (d) => ({ t: "baseline", v: { facet: name(d[1]), values: d[2].items } }) %}
          | %kw_baseline %kw_learning            {% (d) => ({ t: "learning" }) %}
FieldVals -> FieldVal                            {% (d) => [d[0]] %}
           | FieldVals "," FieldVal              {% (d) => append(d[0], d[2]) %}
FieldVal -> %path ":" Literal                    {% (d) => ({ name: d[0].value, value: d[2], loc: loc(d[0]) }) %}
          | %path ":" LitList                    {% (d) => ({ name: d[0].value, value: d[2], loc: loc(d[0]) }) %}
Expect -> %kw_match                              {% (d) => ({ t: "match", loc: loc(d[0]) }) %}
        | %kw_match "[" Names "]"                {% (d) => ({ t: "match", steps: d[2], loc: loc(d[0]) }) %}
        | %kw_no %kw_match                       {% (d) => ({ t: "nomatch", loc: loc(d[0]) }) %}
        | %kw_suppressed %path                   {% (d) => ({ t: "suppressed", exception: name(d[1]), loc: loc(d[0]) }) %}

# ── expressions: or < and < not < comparison ───────────────────────────────
Expr -> Or                                       {% id %}
Or -> Or %kw_or And                              {% (d) => ({ t: "or", l: d[0], r: d[2], loc: loc(d[1]) }) %}
    | And                                        {% id %}
And -> And %kw_and Not                           {% (d) => ({ t: "and", l: d[0], r: d[2], loc: loc(d[1]) }) %}
     | Not                                       {% id %}
Not -> %kw_not Not                               {% (d) => ({ t: "not", e: d[1], loc: loc(d[0]) }) %}
     | Atom                                      {% id %}
Atom -> "(" Expr ")"                             {% (d) => d[1] %}
      | Cmp                                      {% id %}
      | Value                                    {% id %}

Cmp -> Value CmpOp Value                         {% (d) => ({ t: "cmp", op: d[1].value === "==" ? "=" : d[1].value, l: d[0], r: d[2], loc: loc(d[1]) }) %}
     | Value %kw_in Value                        {% (d) => ({ t: "in", neg: false, l: d[0], r: d[2], loc: loc(d[1]) }) %}
     | Value %kw_not %kw_in Value                {% (d) => ({ t: "in", neg: true, l: d[0], r: d[3], loc: loc(d[1]) }) %}
     | Value %kw_exists                          {% (d) => ({ t: "exists", v: d[0], loc: loc(d[1]) }) %}
     | Value StrOp Value                         {% (d) => ({ t: "strop", op: d[1].value, l: d[0], r: d[2], loc: loc(d[1]) }) %}
     | Value %kw_in %kw_baseline "(" %path ")"
         {% (d) => ({ t: "baseline", neg: false, v: d[0], facet: d[4].value, facetLoc: loc(d[4]), loc: loc(d[2]) }) %}
     | Value %kw_not %kw_in %kw_baseline "(" %path ")"
         {% (d) => ({ t: "baseline", neg: true, v: d[0], facet: d[5].value, facetLoc: loc(d[5]), loc: loc(d[3]) }) %}

CmpOp -> "=" {% id %} | "==" {% id %} | "!=" {% id %} | "<" {% id %} | "<=" {% id %} | ">" {% id %} | ">=" {% id %}
StrOp -> %kw_contains {% id %} | %kw_startswith {% id %} | %kw_endswith {% id %} | %kw_glob {% id %} | %kw_regex {% id %} | %kw_cidr {% id %}
       | %kw_icontains {% id %} | %kw_istartswith {% id %} | %kw_iendswith {% id %}

Value -> %path                                   {% (d) => ({ t: "path", name: d[0].value, loc: loc(d[0]) }) %}
       | Literal                                 {% id %}
       | ListLit                                 {% id %}
       | %listref                                {% (d) => ({ t: "listref", name: d[0].value.slice(1), loc: loc(d[0]) }) %}
       | %path "(" ")"                           {% (d) => ({ t: "call", name: d[0].value, args: [], loc: loc(d[0]) }) %}
       | %path "(" Args ")"                      {% (d) => ({ t: "call", name: d[0].value, args: flat(d[2]), loc: loc(d[0]) }) %}
Args -> Expr                                     {% (d) => cons(null, d[0]) %}
      | Args "," Expr                            {% (d) => cons(d[0], d[2]) %}

# Lists in conditions and list definitions may name other lists (`[@shells, "nc"]`);
# lists in tests and baselines hold literals only.
ListLit -> "[" "]"                               {% (d) => ({ t: "list", items: [], loc: loc(d[0]) }) %}
         | "[" ListItems "]"                     {% (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }) %}
         | "[" ListItems "," "]"                 {% (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }) %}
ListItems -> ListItem                            {% (d) => [d[0]] %}
           | ListItems "," ListItem              {% (d) => append(d[0], d[2]) %}
ListItem -> Literal                              {% id %}
          | %listref                             {% (d) => ({ t: "listref", name: d[0].value.slice(1), loc: loc(d[0]) }) %}
LitList -> "[" "]"                               {% (d) => ({ t: "list", items: [], loc: loc(d[0]) }) %}
         | "[" Literals "]"                      {% (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }) %}
         | "[" Literals "," "]"                  {% (d) => ({ t: "list", items: d[1], loc: loc(d[0]) }) %}
Literals -> Literal                              {% (d) => [d[0]] %}
          | Literals "," Literal                 {% (d) => append(d[0], d[2]) %}
Literal -> String                                {% (d) => literal(d[0]) %}
         | %number                               {% (d) => literal(d[0]) %}
         | %duration                             {% (d) => literal(d[0]) %}
         | %kw_true                              {% (d) => literal(d[0]) %}
         | %kw_false                             {% (d) => literal(d[0]) %}
String -> %string {% id %} | %rawstring {% id %}
