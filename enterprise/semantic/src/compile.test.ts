import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DiagnosticCode } from "./diagnostics.js";
import { compileSources } from "./load.js";

const META = `description "d" severity high mitre T1059 maturity stable`;
const TEST = `test "t" { at 0s exec { } expect no match }`;

function errors(src: string): { code: DiagnosticCode; line: number; col: number; message: string }[] {
  const r = compileSources(new Map([["f.rules", src]]));
  return r.diagnostics
    .filter((d) => d.severity === "error")
    .map(({ code, line, col, message }) => ({ code, line, col, message }));
}

/** Broken rule files: the right code at the right place. Each source has its error on line 2. */
const CASES: [string, string, DiagnosticCode, number, RegExp][] = [
  [
    "unknown field",
    `rule a { ${META}\n event exec where process.binry = "x" ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_FIELD",
    19,
    /did you mean "process.binary"/,
  ],
  [
    "field of another kind",
    `rule a { ${META}\n event exec where dns.query = "x" ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_FIELD",
    19,
    /not a field of exec events; it is on dns/,
  ],
  [
    "unknown kind",
    `rule a { ${META}\n event exce where process.pid = 1 ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_KIND",
    8,
    /did you mean "exec"/,
  ],
  [
    "type mismatch",
    `rule a { ${META}\n event exec where process.pid = "1" ${TEST} }`,
    "HANGAR_ERR_RULE_TYPE",
    31,
    /cannot compare process.pid \(number\) with "1" \(string\)/,
  ],
  [
    "ordering on strings is fine, on booleans not",
    `rule a { ${META}\n event exec where exec.setuid > true ${TEST} }`,
    "HANGAR_ERR_RULE_TYPE",
    31,
    /does not apply to booleans/,
  ],
  [
    "regex outside RE2's limits",
    `rule a { ${META}\n event exec where process.binary regex 'a{1001}' ${TEST} }`,
    "HANGAR_ERR_RULE_REGEX",
    40,
    /not in the RE2 syntax: invalid repeat count/,
  ],
  [
    "lookbehind",
    `rule a { ${META}\n event exec where process.binary regex ['x', '(?<!a)b'] ${TEST} }`,
    "HANGAR_ERR_RULE_REGEX",
    40,
    /lookahead and lookbehind are not supported \(at character 1\)/,
  ],
  [
    "back-reference",
    `rule a { ${META}\n event exec where process.binary regex '(a)\\1' ${TEST} }`,
    "HANGAR_ERR_RULE_REGEX",
    40,
    /back-references/,
  ],
  [
    "lookahead",
    `rule a { ${META}\n event exec where process.binary regex 'a(?=b)' ${TEST} }`,
    "HANGAR_ERR_RULE_REGEX",
    40,
    /lookahead/,
  ],
  [
    "bad CIDR",
    `rule a { ${META}\n event connect where destination.ip cidr "10.0.0.0/33" ${TEST} }`,
    "HANGAR_ERR_RULE_VALUE",
    42,
    /invalid prefix length/,
  ],
  [
    "unknown list",
    `rule a { ${META}\n event exec where process.binary in @shell ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_NAME",
    37,
    /unknown list @shell/,
  ],
  [
    "unknown facet",
    `rule a { ${META}\n event exec where process.binary not in baseline(binaries) ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_NAME",
    50,
    /unknown baseline facet "binaries"/,
  ],
  [
    "negative step without a window",
    `rule a { ${META}\n sequence { a: exec b: not exit } ${TEST} }`,
    "HANGAR_ERR_RULE_WINDOW",
    2,
    /needs maxspan/,
  ],
  [
    "sequence starting with a negative step",
    `rule a { ${META}\n sequence maxspan 1m { a: not exec b: exit } ${TEST} }`,
    "HANGAR_ERR_RULE_WINDOW",
    24,
    /start with a positive step/,
  ],
  [
    "per-step keys differ",
    `rule a { ${META}\n sequence maxspan 1m { a: exec by process.pid b: exit } ${TEST} }`,
    "HANGAR_ERR_RULE_KEY",
    47,
    /same number of keys/,
  ],
  [
    "multi-valued key",
    `rule a { ${META}\n sequence by tags maxspan 1m { a: exec b: exit } ${TEST} }`,
    "HANGAR_ERR_RULE_KEY",
    14,
    /single-valued/,
  ],
  [
    "reference to a later step",
    `rule a { ${META}\n sequence maxspan 1m { a: exec where process.pid = b.process.pid b: exit } ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_FIELD",
    52,
    /unknown field "b.process.pid"/,
  ],
  [
    "unqualified field in a sequence exception",
    `rule a { ${META} sequence maxspan 1m { a: exec b: exit }\n except x where process.pid = 1 ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_FIELD",
    17,
    /name the step the field comes from/,
  ],
  [
    "macro arity",
    `macro m(x) = x = 1\nrule a { ${META} event exec where m(process.pid, 2) ${TEST} }`,
    "HANGAR_ERR_RULE_MACRO",
    85,
    /takes 1 argument\(s\), got 2/,
  ],
  [
    "recursive macro",
    `macro m = n\nmacro n = m rule a { ${META} event exec where m ${TEST} }`,
    "HANGAR_ERR_RULE_MACRO",
    11,
    /uses itself \(m → n → m\)/,
  ],
  [
    "a name only Object.prototype has is not a function",
    `rule a { ${META}\n event exec where toString(process.binary) = "x" ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_NAME",
    19,
    /unknown function or macro "toString"/,
  ],
  [
    "a name only Object.prototype has is not a kind",
    `rule a { ${META}\n event constructor ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_KIND",
    8,
    /unknown event kind "constructor"/,
  ],
  [
    "duplicate rule",
    `rule a { ${META} event exec ${TEST} }\nrule a { ${META} event exec ${TEST} }`,
    "HANGAR_ERR_RULE_DUPLICATE",
    6,
    /already defined at f.rules:1:6/,
  ],
  [
    "severity",
    `rule a { description "d" mitre T1059 maturity stable\n severity urgent event exec ${TEST} }`,
    "HANGAR_ERR_RULE_VALUE",
    11,
    /severity "urgent" is not one of/,
  ],
  [
    "mitre id",
    `rule a { description "d" severity low maturity stable\n mitre T59 event exec ${TEST} }`,
    "HANGAR_ERR_RULE_VALUE",
    8,
    /"T59" is not a MITRE ATT&CK id: a technique \(T1234, T1234\.001\) or a tactic \(TA0003\)/,
  ],
  [
    "engine too new",
    `requires engine ">=1.0"\nrequires engine ">=2.3"`,
    "HANGAR_ERR_RULE_ENGINE",
    17,
    /needs engine >=2.3; this engine is 1\.0\.0/,
  ],
  [
    "patch of an unknown rule",
    `rule a { ${META} event exec ${TEST} }\npatch b { disabled }`,
    "HANGAR_ERR_RULE_PATCH",
    7,
    /no loaded file defines/,
  ],
  [
    "message template",
    `rule a { ${META} event exec\n message "{process.binry}" ${TEST} }`,
    "HANGAR_ERR_RULE_UNKNOWN_FIELD",
    11,
    /unknown field "process.binry"/,
  ],
  [
    "test field",
    `rule a { ${META} event exec\n test "t" { at 0s exec { dns.query: "x" } expect match } }`,
    "HANGAR_ERR_RULE_TEST",
    26,
    /dns.query is not a field of exec events/,
  ],
  [
    "test step name",
    `rule a { ${META} sequence maxspan 1m { a: exec b: exit }\n test "t" { at 0s exec { } expect match [a, c] } }`,
    "HANGAR_ERR_RULE_TEST",
    45,
    /"c" is not a step/,
  ],
  [
    "action arguments",
    `rule a { ${META} event connect\n action block_egress(destination.ip) ${TEST} }`,
    "HANGAR_ERR_RULE_TYPE",
    9,
    /takes 2 arguments/,
  ],
  [
    "threshold comparison",
    `rule a { ${META}\n count exec over 10s < 5 ${TEST} }`,
    "HANGAR_ERR_RULE_VALUE",
    22,
    /compares with >= or >/,
  ],
];

describe("type checker and compiler", () => {
  for (const [name, src, code, col, message] of CASES) {
    it(`${name}: ${code} at f.rules:2:${col}`, () => {
      const errs = errors(src);
      const hit = errs.find((e) => e.code === code);
      assert.ok(hit !== undefined, `expected ${code}, got ${JSON.stringify(errs)}`);
      assert.equal(`${hit.line}:${hit.col}`, `2:${col}`, hit.message);
      assert.match(hit.message, message);
    });
  }

  it("a rule with every required part compiles with no diagnostics", () => {
    const r = compileSources(
      new Map([["f.rules", `rule a { ${META} event exec where process.pid > 1 ${TEST} }`]]),
    );
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.rules.length, 1);
  });

  it("warns about unused lists and macros and rules without tests, without failing", () => {
    const r = compileSources(
      new Map([["f.rules", `list l = ["a"]\nmacro m = process.pid = 1\nrule a { ${META} event exec }`]]),
    );
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.diagnostics.map((d) => d.code),
      ["HANGAR_WARN_RULE_UNUSED", "HANGAR_WARN_RULE_UNUSED", "HANGAR_WARN_RULE_NO_TEST"],
    );
  });

  it("warns when a rule has the same condition as an earlier one (whatever the spacing)", () => {
    const r = compileSources(
      new Map([
        [
          "f.rules",
          `rule a { ${META} event exec where process.pid > 1 ${TEST} }\nrule b { ${META} event exec   where  process.pid>1 ${TEST} }`,
        ],
      ]),
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.line, d.message]),
      [
        [
          "HANGAR_WARN_RULE_SHADOWED",
          2,
          "rule b has the same condition as rule a (f.rules:1:6): both fire on the same events",
        ],
      ],
    );
  });

  it("loses nothing already accepted: every error of a file is reported, not only the first", () => {
    const errs = errors(
      `rule a { ${META}\n event exec where process.binry = "x" and parent.pidd = 1 ${TEST} }`,
    );
    assert.deepEqual(
      errs.map((e) => e.message.slice(0, 30)),
      ['unknown field "process.binry" ', 'unknown field "parent.pidd" (d'],
    );
  });
});
