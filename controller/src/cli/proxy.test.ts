import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runProxyCli } from "./proxy.js";

function io() {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) },
  };
}

describe("hangar-controller proxy", () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-proxy-cli-"));

  it("--help prints the usage and exits 0", async () => {
    const { out, io: o } = io();
    assert.equal(await runProxyCli(["--help"], o, AbortSignal.abort()), 0);
    assert.match(out.stdout, /Usage: hangar-controller proxy --config FILE/);
  });

  it("exits 2 naming the problem: no --config, an unknown flag, a bad field", async () => {
    let r = io();
    assert.equal(await runProxyCli([], r.io, AbortSignal.abort()), 2);
    assert.match(r.out.stderr, /--config FILE is required/);
    r = io();
    assert.equal(await runProxyCli(["--nope"], r.io, AbortSignal.abort()), 2);
    assert.match(r.out.stderr, /Unknown option '--nope'/);
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "providers:\n  - provider: weather\n    policy:\n      mode: block\n");
    r = io();
    assert.equal(await runProxyCli(["--config", file], r.io, AbortSignal.abort()), 2);
    assert.match(
      r.out.stderr,
      new RegExp(
        `HANGAR_ERR_PROXY_CONFIG: ${file.replace(/[/.]/g, "\\$&")}\\.providers\\[0\\]\\.policy\\.mode: must be "audit" or "enforce"`,
      ),
    );
    r = io();
    assert.equal(await runProxyCli(["--config", join(dir, "missing.yaml")], r.io, AbortSignal.abort()), 2);
    assert.match(r.out.stderr, /cannot read --config .*missing\.yaml/);
  });

  it("serves until its signal aborts, then exits 0", async () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(
      file,
      "providers:\n  - provider: weather\nstaticEndpoints:\n  weather:\n    - url: http://127.0.0.1:1/mcp\n",
    );
    const r = io();
    const ac = new AbortController();
    const done = runProxyCli(["--config", file, "--listen", "127.0.0.1:0"], r.io, ac.signal);
    for (let i = 0; i < 200 && !r.out.stderr.includes("listening"); i++)
      await new Promise((x) => setTimeout(x, 10));
    const url = (JSON.parse(r.out.stderr.trim().split("\n").at(-1) ?? "{}") as { url?: string }).url;
    assert.match(url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/mcp/unknown`, { method: "POST", body: "{}" });
    assert.equal(res.status, 404);
    ac.abort();
    assert.equal(await done, 0);
  });
});
