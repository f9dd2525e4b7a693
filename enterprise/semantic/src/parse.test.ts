import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import nearley from "nearley";
import { formatDiagnostic } from "./diagnostics.js";
import { makeLexer } from "./lexer.js";
import { parseSource } from "./parse.js";

const SCRIPT = fileURLToPath(new URL("../../scripts/generate-grammar.mjs", import.meta.url));

const RULE = `requires engine ">=1.0"
list shells = ["/bin/sh", "/bin/bash"]
macro spawned(b) = process.binary in b and not parent.binary = "x"
rule a.b {
  description "multi
    line"
  severity high
  mitre T1059, T1059.004
  maturity stable
  sequence by pod.name maxspan 60s {
    r: tool_call where tool.name = "read_file" and (caller startswith "agent:" or session.id exists)
    n: not dns within 5s
    c: connect where destination.ip not in baseline(egress) and process.pid = r.process.pid by process.pid runs 2
  } until exit where process.pid = r.process.pid
  except ops where r.caller in ["ops"]
  action alert, block_egress(c.destination.ip, 10m), quarantine(1h)
  cooldown 5m by c.destination.ip
  learning severity low
  test "t" { at 0s tool_call { tool.name: "read_file", tool.args.path: '/a\\b' } expect match [r, c] }
}
patch a.b { except later where r.caller = "x" disabled }
`;

describe("parser", () => {
  it("parses every construct in exactly one way, with places on the nodes", () => {
    const r = parseSource("t.rules", RULE);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.items.map((i) => i.t),
      ["requires", "list", "macro", "rule", "patch"],
    );
    const rule = r.items[3];
    assert.ok(rule?.t === "rule");
    assert.deepEqual(rule.loc, { line: 4, col: 6, offset: rule.loc.offset });
    const desc = rule.items.find((i) => i.t === "meta" && i.key === "description");
    assert.equal(desc?.t === "meta" ? desc.value : "", "multi line", "descriptions fold their line breaks");
    const cond = rule.items.find((i) => i.t === "cond");
    assert.ok(cond?.t === "cond" && cond.cond.t === "sequence");
    assert.deepEqual(
      cond.cond.steps.map((s) => [s.name, s.negated, s.kind.name, s.runs?.n, s.within?.ms]),
      [
        ["r", false, "tool_call", undefined, undefined],
        ["n", true, "dns", undefined, 5000],
        ["c", false, "connect", 2, undefined],
      ],
    );
    const test = rule.items.find((i) => i.t === "test");
    assert.ok(test?.t === "test");
    assert.equal(
      test.test.events[0]?.fields[1]?.value.t === "str" ? test.test.events[0].fields[1].value.v : "",
      "/a\\b",
      "raw strings keep backslashes",
    );
  });

  it("binds not tighter than and, and tighter than or", () => {
    const r = parseSource("t.rules", `macro m = not a = 1 and b = 2 or c = 3`);
    const m = r.items[0];
    assert.ok(m?.t === "macro");
    assert.equal(m.body.t, "or");
    assert.ok(m.body.t === "or" && m.body.l.t === "and" && m.body.l.l.t === "not");
  });

  it("reports a syntax error as path:line:col with the line and a caret", () => {
    const r = parseSource(
      "rules/x.rules",
      `rule a {\n  severity high\n  event exec where process.binary = = "x"\n}\n`,
    );
    assert.equal(r.diagnostics.length, 1);
    const d = r.diagnostics[0];
    assert.ok(d !== undefined);
    assert.deepEqual([d.file, d.line, d.col, d.code], ["rules/x.rules", 3, 37, "HANGAR_ERR_RULE_SYNTAX"]);
    assert.match(d.message, /unexpected "="; expected .*a name/);
    const text = formatDiagnostic(
      d,
      new Map([
        ["rules/x.rules", `rule a {\n  severity high\n  event exec where process.binary = = "x"\n}\n`],
      ]),
    );
    assert.equal(
      text,
      "rules/x.rules:3:37: HANGAR_ERR_RULE_SYNTAX: " +
        d.message +
        '\n    event exec where process.binary = = "x"\n                                      ^',
    );
  });

  it("reports an unterminated block at the end of input, and stray characters", () => {
    const end = parseSource("f", `rule a {\n  severity high\n`);
    assert.equal(end.diagnostics[0]?.code, "HANGAR_ERR_RULE_SYNTAX");
    assert.match(end.diagnostics[0]?.message ?? "", /unexpected end of input; expected .*"}"/);
    assert.equal(end.diagnostics[0]?.line, 3);
    const stray = parseSource("f", `rule a { severity high ~ }`);
    assert.match(stray.diagnostics[0]?.message ?? "", /unexpected character "~"/);
    assert.equal(stray.diagnostics[0]?.col, 24);
  });

  it("treats more than one parse as a grammar bug (HANGAR_ERR_RULE_AMBIGUOUS)", () => {
    // A deliberately ambiguous grammar over the same lexer: E -> E "and" E | name.
    const ambiguous = nearley.Grammar.fromCompiled({
      Lexer: makeLexer(),
      ParserStart: "E",
      ParserRules: [
        { name: "E", symbols: ["E", { type: "kw_and" }, "E"] },
        { name: "E", symbols: [{ type: "path" }] },
      ],
    } as nearley.CompiledRules);
    const r = parseSource("f", "a and b and c", ambiguous);
    assert.equal(r.diagnostics[0]?.code, "HANGAR_ERR_RULE_AMBIGUOUS");
    assert.match(r.diagnostics[0]?.message ?? "", /parses in 2 ways/);
  });

  it("the committed grammar.ts is what nearleyc makes of grammar.ne", () => {
    const r = spawnSync(process.execPath, [SCRIPT, "--check"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });
});
