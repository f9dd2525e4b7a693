import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HangarDetector } from "./detector.js";
import { explainRule } from "./explain.js";
import { compileSources } from "./load.js";
import { parseSource } from "./parse.js";
import { testEvent } from "./testevents.js";

const META = `description "d" severity high mitre T1059 maturity stable`;
const TEST = `test "t" { at 0s exec { } expect no match }`;

function compile(src: string): ReturnType<typeof compileSources> {
  return compileSources(new Map([["f.rules", src]]));
}

function errorsOf(r: ReturnType<typeof compileSources>): string[] {
  return r.diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`);
}

let n = 0;
function fires(d: HangarDetector, binary: string): boolean {
  const out = d.process(testEvent("exec", n, n++, new Map([["process.binary", binary]])));
  return (out?.alerts.length ?? 0) > 0;
}

describe("long chains and deep macros", () => {
  it("a 5,000-term or chain compiles, runs and matches its last term", () => {
    const terms = Array.from({ length: 5000 }, (_v, i) => `process.binary = "/x/${i}"`).join(" or ");
    const r = compile(`rule a { ${META}\n event exec where ${terms}\n ${TEST} }`);
    assert.deepEqual(errorsOf(r), []);
    const d = new HangarDetector({ rules: r.rules, latenessMs: 0 });
    assert.equal(fires(d, "/x/4999"), true);
    assert.equal(fires(d, "/x/0"), true);
    assert.equal(fires(d, "/x/5000"), false);
  });

  it("a 5,000-term and chain, and or-of-and chains, compile and run", () => {
    const ands = Array.from({ length: 5000 }, (_v, i) => `process.binary != "/x/${i}"`).join(" and ");
    const mixed = Array.from(
      { length: 2000 },
      (_v, i) => `process.binary = "/m/${i}" and process.pid > 0`,
    ).join(" or ");
    const r = compile(
      `rule a { ${META}\n event exec where ${ands}\n ${TEST} }\nrule b { ${META}\n event exec where ${mixed}\n ${TEST} }`,
    );
    assert.deepEqual(errorsOf(r), []);
    const d = new HangarDetector({ rules: r.rules, latenessMs: 0 });
    assert.equal(fires(d, "/x/17"), false);
    assert.equal(fires(d, "/elsewhere"), true);
  });

  it("keeps the order of the terms: evaluation short-circuits as written", () => {
    const p = parseSource("f.rules", `macro m = a or b or c or d or e`);
    const body = (p.items[0] as { body: unknown }).body;
    const leaves: string[] = [];
    const walk = (e: { t: string; l?: unknown; r?: unknown; name?: string }): void => {
      if (e.t === "or") {
        walk(e.l as typeof e);
        walk(e.r as typeof e);
      } else leaves.push(e.name ?? "?");
    };
    walk(body as { t: string });
    assert.deepEqual(leaves, ["a", "b", "c", "d", "e"]);
    // Balanced: the root's operator is the middle `or`, not the last one.
    assert.equal((body as { loc: { col: number } }).loc.col, 18);
  });

  it("refuses macros nested deeper than 64 with HANGAR_ERR_RULE_LIMIT and the place, without overflowing", () => {
    const lines = ["macro m0(x) = process.binary = x"];
    for (let i = 1; i < 3000; i++) lines.push(`macro m${i}(x) = m${i - 1}(x)`);
    lines.push(`rule a { ${META}\n event exec where m2999("/bin/sh")\n ${TEST} }`);
    const errs = errorsOf(compile(lines.join("\n")));
    assert.equal(errs.length, 1, errs.join("\n"));
    assert.match(
      errs[0] ?? "",
      /^f\.rules:2937:18: HANGAR_ERR_RULE_LIMIT: macros nested deeper than 64 levels: m2999 → m2998 → m2997 → m2996 → … → m2937 → m2936 → m2935$/,
    );
    // 64 levels are fine.
    const ok = ["macro m0(x) = process.binary = x"];
    for (let i = 1; i < 64; i++) ok.push(`macro m${i}(x) = m${i - 1}(x)`);
    ok.push(`rule a { ${META}\n event exec where m63("/bin/sh")\n ${TEST} }`);
    assert.deepEqual(errorsOf(compile(ok.join("\n"))), []);
  });

  it("refuses a macro that doubles at every level (2^39 copies) quickly, once", () => {
    const lines = ["macro e0(x) = process.binary = x"];
    for (let i = 1; i < 40; i++) lines.push(`macro e${i}(x) = e${i - 1}(x) or e${i - 1}(x)`);
    lines.push(`rule a { ${META}\n event exec where e39("/bin/sh")\n ${TEST} }`);
    const errs = errorsOf(compile(lines.join("\n")));
    assert.equal(errs.length, 1, errs.join("\n"));
    assert.match(
      errs[0] ?? "",
      /^f\.rules:2:15: HANGAR_ERR_RULE_LIMIT: the rule expands to more than 10,000/,
    );
  });

  it("refuses a parameter that doubles at every nested argument", () => {
    const nested = `${"d(".repeat(40)}process.binary = "/bin/sh"${")".repeat(40)}`;
    const src = `macro d(x) = x or x\nrule a { ${META}\n event exec where ${nested}\n ${TEST} }`;
    const errs = errorsOf(compile(src));
    assert.equal(errs.length, 1, errs.join("\n"));
    assert.match(errs[0] ?? "", /HANGAR_ERR_RULE_LIMIT: the rule expands to more than 10,000/);
  });
});

describe("parsing a file item by item", () => {
  const many = Array.from(
    { length: 50 },
    (_v, i) =>
      `# rule ${i}\nrule r${i} {\n  ${META}\n  event exec where process.binary = "/b/${i}"\n  ${TEST}\n}`,
  ).join("\n");

  it("keeps the places of the whole file: a type error in the 40th rule is at its own line", () => {
    const src = many.replace(`process.binary = "/b/39"`, `process.binry = "/b/39"`);
    const errs = errorsOf(compile(src));
    assert.deepEqual(errs.length, 1);
    assert.match(errs[0] ?? "", /^f\.rules:238:20: HANGAR_ERR_RULE_UNKNOWN_FIELD: /);
    assert.equal(src.split("\n")[237]?.slice(19, 32), "process.binry");
  });

  it("explains a rule deep in the file from its own text (offsets are the file's)", () => {
    const r = compile(many);
    assert.equal(r.ok, true);
    const text = explainRule(r, "r33") ?? "";
    assert.match(text, /process\.binary = "\/b\/33"/);
    assert.doesNotMatch(text, /"\/b\/32"/);
  });

  it("a syntax error in a middle item is reported as for the whole file", () => {
    const src = many.replace(
      `event exec where process.binary = "/b/20"`,
      `event exec where process.binary = = "/b/20"`,
    );
    const errs = errorsOf(compile(src));
    assert.equal(errs.length, 1);
    assert.match(errs[0] ?? "", /^f\.rules:124:37: HANGAR_ERR_RULE_SYNTAX: unexpected "="/);
  });

  it("text before the first item that is not a comment is still an error", () => {
    const errs = errorsOf(compile(`stray\n${many}`));
    assert.match(errs[0] ?? "", /^f\.rules:1:1: HANGAR_ERR_RULE_SYNTAX/);
  });
});
