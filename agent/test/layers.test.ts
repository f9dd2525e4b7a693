/** The layering check that `npm test` runs (scripts/check-layers.mjs), on the repository and on fixtures. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { tempDir } from "@hangar/testkit";

const SCRIPT = fileURLToPath(new URL("../../../scripts/check-layers.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function check(root: string) {
  return spawnSync(process.execPath, [SCRIPT, root], { encoding: "utf8" });
}

/** A repository of the given workspaces ({dir: name}) and files ({path: text}). */
function repo(
  workspaces: Record<string, string>,
  files: Record<string, string>,
): { dir: string; cleanup: () => void } {
  const t = tempDir("hangar-layers-");
  writeFileSync(join(t.dir, "package.json"), JSON.stringify({ workspaces: Object.keys(workspaces) }));
  for (const [dir, name] of Object.entries(workspaces)) {
    mkdirSync(join(t.dir, dir), { recursive: true });
    writeFileSync(join(t.dir, dir, "package.json"), JSON.stringify({ name }));
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(t.dir, path)), { recursive: true });
    writeFileSync(join(t.dir, path), text);
  }
  return t;
}

const AGENT = { core: "@hangar/core", agent: "@hangar/agent", controller: "@hangar/controller" };

describe("scripts/check-layers.mjs", () => {
  it("passes on this repository", () => {
    const r = check(ROOT);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no import from a lower layer to a higher one, no cycle/);
  });

  it("passes on a repository whose stages import only earlier stages", () => {
    const t = repo(AGENT, {
      "core/src/index.ts": "export const x = 1;\n",
      "agent/src/sources/a.ts": 'import { x } from "@hangar/core";\nexport const a = x;\n',
      "agent/src/normalize/n.ts": 'import { a } from "../sources/a.js";\nexport const n = a;\n',
      "agent/src/pipeline/p.ts": 'import { n } from "../normalize/n.js";\nexport const p = n;\n',
    });
    try {
      const r = check(t.dir);
      assert.equal(r.status, 0, r.stderr);
    } finally {
      t.cleanup();
    }
  });

  it("flags a package that imports one of its own layer or above, a stage that imports a later stage, and cycles", () => {
    const t = repo(AGENT, {
      "core/src/index.ts": 'import { a } from "@hangar/agent";\nexport const x = a;\n',
      "agent/src/normalize/n.ts": 'import { c } from "../correlate/c.js";\nexport const n = c;\n',
      "agent/src/correlate/c.ts": "export const c = 1;\n",
      "agent/src/hub/a.ts": 'import { b } from "./b.js";\nexport const a = b;\n',
      "agent/src/hub/b.ts": 'import { a } from "./a.js";\nexport const b = a;\n',
      "agent/src/index.ts": 'import { y } from "@hangar/controller";\nexport const a = y;\n',
      "controller/src/x/one.ts": 'import { two } from "../y/two.js";\nexport const one = two;\n',
      "controller/src/y/two.ts": 'import { one } from "../x/one.js";\nexport const two = one;\n',
      "controller/src/z.ts": 'import { t } from "@hangar/testkit";\nexport const z = t;\n',
    });
    try {
      const r = check(t.dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /@hangar\/core \(layer 1\) imports @hangar\/agent \(layer 3\)/);
      assert.match(r.stderr, /@hangar\/agent \(layer 3\) imports @hangar\/controller \(layer 3\)/);
      assert.match(
        r.stderr,
        /agent\/src\/normalize imports agent\/src\/correlate: correlate is not below normalize/,
      );
      assert.match(r.stderr, /agent: import cycle between files: src\/hub\/a\.ts ⇄ src\/hub\/b\.ts/);
      assert.match(r.stderr, /controller\/src: import cycle between folders: x ⇄ y/);
      assert.match(
        r.stderr,
        /controller\/src\/z\.ts: only tests \(and the test packages: bench, helm, e2e\) may import @hangar\/testkit/,
      );
    } finally {
      t.cleanup();
    }
  });

  it("flags an agent folder that has no place in the order of the stages", () => {
    const t = repo(AGENT, {
      "agent/src/misc/m.ts": 'import { s } from "../sources/s.js";\nexport const m = s;\n',
      "agent/src/sources/s.ts": "export const s = 1;\n",
    });
    try {
      const r = check(t.dir);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /agent\/src\/misc: not placed in FOLDER_LAYERS/);
    } finally {
      t.cleanup();
    }
  });
});
