/**
 * Parser fuzzing: random token soup, mutations of the shipped packs, and
 * pathological shapes up to 64 KiB. The parser and compiler must never throw
 * (every problem is a diagnostic with a place), never report an ambiguous
 * parse, and take under a second per input.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import fc from "fast-check";
import { KEYWORDS } from "../src/lexer.js";
import { compileSources } from "../src/load.js";

const RULES = fileURLToPath(new URL("../../../../rules/", import.meta.url));
const PACKS = readdirSync(RULES)
  .filter((f) => f.endsWith(".rules"))
  .map((f) => readFileSync(join(RULES, f), "utf8"));
const ALL = PACKS.join("\n");
const LIMIT = 64 * 1024;

let slowest = 0;
let slowestInput = "";

function check(text: string): void {
  const t0 = performance.now();
  let r;
  try {
    r = compileSources(new Map([["fuzz.rules", text]]));
  } catch (err) {
    assert.fail(`threw ${(err as Error).stack ?? String(err)} on input:\n${text.slice(0, 2000)}`);
  }
  const ms = performance.now() - t0;
  if (ms > slowest) {
    slowest = ms;
    slowestInput = text;
  }
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms for an input of ${text.length} bytes:\n${text.slice(0, 500)}`);
  for (const d of r.diagnostics) {
    assert.notEqual(d.code, "HANGAR_ERR_RULE_AMBIGUOUS", text.slice(0, 2000));
    assert.ok(d.line >= 1 && d.col >= 1, JSON.stringify(d));
  }
}

const TOKENS = [
  ...KEYWORDS,
  "exec",
  "connect",
  "tool_call",
  "dns",
  "file",
  "process.binary",
  "pod.name",
  "a",
  "b.c",
  "r.process.pid",
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ",",
  ":",
  "=",
  "==",
  "!=",
  "<",
  ">=",
  '"x"',
  "'re.*'",
  "1",
  "-2",
  "3.5",
  "10s",
  "5m",
  "@shells",
  "\n",
  " ",
  "#c\n",
  '"unterminated',
  "~",
  "\\",
];

describe("parser fuzz", () => {
  it("random token sequences", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 300 }), (toks) => check(toks.join(" "))),
      { numRuns: 300 },
    );
  });

  it("random text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => check(s)),
      { numRuns: 200 },
    );
  });

  it("mutated rule packs (deleted, duplicated, inserted and truncated slices)", () => {
    const mutation = fc.record({
      at: fc.nat(),
      len: fc.integer({ min: 0, max: 200 }),
      op: fc.constantFrom("delete", "duplicate", "insert", "truncate", "swap"),
      insert: fc.constantFrom(...TOKENS),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(...PACKS),
        fc.array(mutation, { minLength: 1, maxLength: 5 }),
        (src, ms) => {
          let s = src;
          for (const m of ms) {
            const at = m.at % (s.length + 1);
            if (m.op === "delete") s = s.slice(0, at) + s.slice(at + m.len);
            else if (m.op === "duplicate")
              s = s.slice(0, at + m.len) + s.slice(at, at + m.len) + s.slice(at + m.len);
            else if (m.op === "insert") s = `${s.slice(0, at)} ${m.insert} ${s.slice(at)}`;
            else if (m.op === "truncate") s = s.slice(0, at);
            else s = s.slice(at) + s.slice(0, at);
          }
          check(s.slice(0, LIMIT));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("pathological shapes up to 64 KiB", (t) => {
    const META = `description "d" severity low mitre T1059 maturity sandbox`;
    const fill = (unit: string, prefix = "", suffix = ""): string =>
      prefix + unit.repeat(Math.floor((LIMIT - prefix.length - suffix.length) / unit.length)) + suffix;
    const shapes = [
      fill("(", `rule a { ${META} event exec where `, `process.pid = 1`),
      fill("not ", `rule a { ${META} event exec where `, `process.pid = 1 }`).slice(0, 12_000) +
        "process.pid = 1 }",
      `rule a { ${META} event exec where ${"not ".repeat(60)} process.pid = 1 }`,
      `rule a { ${META} event exec where ${"(".repeat(60)} process.pid = 1 ${")".repeat(60)} }`,
      fill(`process.pid = 1 and `, `rule a { ${META} event exec where `, `process.pid = 1 }`).slice(
        0,
        30_000,
      ) + "process.pid = 1 }",
      fill(`process.pid = 1 or `, `rule a { ${META} event exec where `, `process.pid = 1 }`).slice(
        0,
        30_000,
      ) + "process.pid = 1 }",
      fill(`"x", `, `list l = [`, `"y"]`),
      fill("#".repeat(100) + "\n"),
      fill("\n"),
      fill("a"),
      fill(`"`),
      fill("{"),
      fill(`rule r { ${META} }\n`).replace(/rule r/g, () => `rule r${Math.random().toString(36).slice(2)}`),
      (ALL + ALL).slice(0, LIMIT),
    ];
    for (const s of shapes) check(s.slice(0, LIMIT));
    // The deep shapes are refused with a place, not parsed for seconds.
    const deep = compileSources(new Map([["f", shapes[0] as string]]));
    assert.equal(deep.diagnostics[0]?.code, "HANGAR_ERR_RULE_SYNTAX");
    assert.match(deep.diagnostics[0]?.message ?? "", /nested deeper than 64 levels/);
    t.diagnostic(`slowest input: ${slowest.toFixed(1)} ms (${slowestInput.length} bytes)`);
  });
});
