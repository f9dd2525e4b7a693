/**
 * docs/reference/coming-from-falco.md stays true: its ten rules compile with rules/common.rules
 * and pass the tests written next to them, and its field table is the one the unknown-field
 * diagnostic suggests from (src/falco.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { formatDiagnostic } from "../src/diagnostics.js";
import { FALCO_FIELDS } from "../src/falco.js";
import { compileSources } from "../src/load.js";
import { lookupField } from "../src/schema.js";
import { runTests } from "../src/testing.js";

const DOC = fileURLToPath(new URL("../../../../docs/reference/coming-from-falco.md", import.meta.url));
const COMMON = fileURLToPath(new URL("../../../../rules/common.rules", import.meta.url));
const doc = readFileSync(DOC, "utf8");

/** The ```rules blocks of the page, as one rule file, blank lines where the prose was (so lines stay the page's). */
function rulesOfPage(text: string): string {
  const out: string[] = [];
  let inside = false;
  for (const line of text.split("\n")) {
    if (line.trim() === "```rules") {
      inside = true;
      out.push("");
    } else if (inside && line.trim() === "```") {
      inside = false;
      out.push("");
    } else out.push(inside ? line : "");
  }
  return out.join("\n");
}

describe("Coming from Falco (docs/reference/coming-from-falco.md)", () => {
  const loaded = compileSources(
    new Map([
      ["rules/common.rules", readFileSync(COMMON, "utf8")],
      ["docs/reference/coming-from-falco.md", rulesOfPage(doc)],
    ]),
  );

  it("its rules compile with rules/common.rules, without errors", () => {
    assert.deepEqual(
      loaded.diagnostics
        .filter((d) => d.severity === "error" || d.file.endsWith(".md"))
        .map((d) => formatDiagnostic(d, loaded.sources)),
      [],
    );
  });

  it("writes ten classic container rules, each with tests both ways, and every test passes", () => {
    const mine = loaded.rules.filter((r) => r.meta.file.endsWith(".md"));
    assert.equal(mine.length, 10, mine.map((r) => r.meta.id).join(", "));
    for (const r of mine) {
      const expects = r.tests.flatMap((t) => t.expects.map((x) => x.t));
      assert.ok(expects.includes("match"), `${r.meta.id} has a test that fires`);
      assert.ok(
        expects.includes("nomatch") || expects.includes("suppressed"),
        `${r.meta.id} has a quiet test`,
      );
    }
    const results = runTests(loaded, (r) => r.meta.file.endsWith(".md"));
    assert.ok(results.length >= 20);
    assert.deepEqual(
      results.filter((r) => !r.pass).map((r) => `${r.ruleId} "${r.test}": ${r.failures.join("; ")}`),
      [],
    );
  });

  it("its field table is the diagnostic's table, and every field it names exists", () => {
    for (const [falco, m] of Object.entries(FALCO_FIELDS)) {
      const row = `| \`${falco}\` | ${m.field === undefined ? "—" : `\`${m.field}\``} | ${m.note ?? ""} |`;
      assert.ok(
        doc.includes(row.replace(/ \|$/, m.note === undefined ? "|" : " |")),
        `missing or different row: ${row}`,
      );
      if (m.field !== undefined)
        assert.ok(lookupField(m.field) !== undefined, `${falco} → ${m.field} is not a field`);
    }
    const rows = [...doc.matchAll(/^\| `([a-z0-9_.]+)` \| (?:`[a-z0-9_.]+`|—) \|/gm)].map((m) => m[1]);
    assert.deepEqual(
      rows.filter((r) => r !== undefined && !(r in FALCO_FIELDS)),
      [],
      "fields in the page's table that src/falco.ts does not know",
    );
  });
});
