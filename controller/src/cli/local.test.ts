import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

describe("hangar-controller local", () => {
  it("says where the local stack went (hangar-local, npm start) and exits 2", () => {
    const r = spawnSync(process.execPath, [MAIN, "local", "--fast"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /npx hangar-local/);
    assert.match(r.stderr, /npm start/);
  });

  it("the command list says so too", () => {
    const r = spawnSync(process.execPath, [MAIN, "--help"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /local +moved: .*\n.*hangar-local/);
  });
});
