/** The core/enterprise boundary check that `npm test` runs, tested on both outcomes. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { tempDir } from "@hangar/testkit";

const SCRIPT = fileURLToPath(new URL("../../../scripts/check-boundary.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function check(root: string) {
  return spawnSync(process.execPath, [SCRIPT, root], { encoding: "utf8" });
}

it("the repository's core does not import enterprise/", () => {
  const r = check(ROOT);
  assert.equal(r.status, 0, r.stderr);
});

it("flags a core file that imports an enterprise package or path, but not the bootstrap", () => {
  const { dir, cleanup } = tempDir("hangar-boundary-");
  try {
    mkdirSync(join(dir, "agent/src/bootstrap"), { recursive: true });
    mkdirSync(join(dir, "controller/src/bootstrap"), { recursive: true });
    // The fixtures' import lines are assembled at run time so that this file
    // does not contain them itself (the check is lexical and scans agent/ too).
    const q = '"';
    const semantic = ["@hangar", "semantic"].join("/");
    const behavioral = ["@hangar", "behavioral"].join("/");
    const ent = ["enter", "prise"].join("");
    writeFileSync(
      join(dir, "agent/src/bootstrap/plugins.ts"),
      `const m = await import(${q}${semantic}${q});\n`,
    );
    writeFileSync(
      join(dir, "controller/src/bootstrap/plugins.ts"),
      `const m = await import(${q}${behavioral}${q});\n`,
    );
    writeFileSync(
      join(dir, "agent/src/detect.ts"),
      `// a comment about ${ent}/ is fine\nimport { x } from ${q}${behavioral}${q};\n`,
    );
    writeFileSync(
      join(dir, "controller/src/a.ts"),
      `export * from ${q}../../${ent}/semantic/src/index.js${q};\n`,
    );
    const r = check(dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /agent\/src\/detect\.ts:2: imports "@hangar\/behavioral"/);
    assert.match(
      r.stderr,
      /controller\/src\/a\.ts:1: imports "\.\.\/\.\.\/enterprise\/semantic\/src\/index\.js"/,
    );
    assert.doesNotMatch(r.stderr, /plugins\.ts:\d/);
    assert.doesNotMatch(r.stderr, /detect\.ts:1/);
  } finally {
    cleanup();
  }
});
