/** scripts/link-bins.mjs: the workspaces' commands usable after a fresh clone's build. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { tempDir } from "@hangar/testkit";

const SCRIPT = fileURLToPath(new URL("../../../scripts/link-bins.mjs", import.meta.url));

function run(root: string) {
  return spawnSync(process.execPath, [SCRIPT, "--root", root], { encoding: "utf8" });
}

it("links node_modules/.bin to built bins, makes them executable, names unbuilt ones, and is idempotent", () => {
  const { dir, cleanup } = tempDir("hangar-link-bins-");
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ workspaces: ["tool"] }));
    mkdirSync(join(dir, "tool", "dist"), { recursive: true });
    writeFileSync(
      join(dir, "tool", "package.json"),
      JSON.stringify({ name: "@x/tool", bin: { "x-tool": "dist/main.js", "x-later": "dist/later.js" } }),
    );
    writeFileSync(join(dir, "tool", "dist", "main.js"), "#!/usr/bin/env node\nconsole.log('ok')\n", {
      mode: 0o644,
    });
    const first = run(dir);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /made tool\/dist\/main\.js executable/);
    assert.match(first.stderr, /x-later: tool\/dist\/later\.js is not built yet/);
    assert.equal(statSync(join(dir, "tool", "dist", "main.js")).mode & 0o777, 0o755);
    assert.equal(
      readlinkSync(join(dir, "node_modules", ".bin", "x-tool")),
      join("..", "..", "tool", "dist", "main.js"),
    );
    const linked = spawnSync(join(dir, "node_modules", ".bin", "x-tool"), { encoding: "utf8" });
    assert.equal(linked.stdout, "ok\n", linked.stderr);
    const again = run(dir);
    assert.equal(again.status, 0);
    assert.equal(again.stdout, "", "nothing to change the second time");
  } finally {
    cleanup();
  }
});

it("exits 2 naming a package.json it cannot read, and on an unknown argument", () => {
  const { dir, cleanup } = tempDir("hangar-link-bins-");
  try {
    writeFileSync(join(dir, "package.json"), "{ not json");
    const r = run(dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /package\.json: /);
    const u = spawnSync(process.execPath, [SCRIPT, "--nope"], { encoding: "utf8" });
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown argument "--nope"/);
  } finally {
    cleanup();
  }
});
