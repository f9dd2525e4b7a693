/** `hangar-controller serve`'s flags: help, and the telemetry flags checked before anything starts. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runServeCli } from "./serve.js";

describe("hangar-controller serve", () => {
  it("serve: --help names the flags; a bad --siem URL exits 2 naming the URL and the parameter", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) };
    assert.equal(await runServeCli(["--help"], io, new AbortController().signal), 0);
    for (const flag of ["--siem URL", "--spool-dir DIR", "--otlp-endpoint URL", "--prometheus-port N"])
      assert.ok(out.join("").includes(flag), flag);
    const dir = await mkdtemp(join(tmpdir(), "hangar-ctl-kc-"));
    try {
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(
        kubeconfig,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
          "users: [{name: u, user: {token: t}}]",
          "contexts: [{name: x, context: {cluster: c, user: u}}]",
          "current-context: x",
        ].join("\n"),
      );
      const code = await runServeCli(
        ["--kubeconfig", kubeconfig, "--hub-listen", "none", "--siem", "tcp://siem.example"],
        io,
        new AbortController().signal,
      );
      assert.equal(code, 2, err.join(""));
      assert.match(err.join(""), /HANGAR_ERR_CONFIG_INVALID: --siem tcp:\/\/siem\.example: needs a port/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
