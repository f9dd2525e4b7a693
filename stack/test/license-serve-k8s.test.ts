/**
 * `hangar-controller serve --baseline-db` on a real kube-apiserver running 5 MCP providers and
 * no license: the controller starts without the baseline engine, says once what is off and why
 * (HANGAR_ERR_LICENSE_REQUIRED), serves an empty /v1/providers, and its Prometheus endpoint has
 * the license metrics. With `--license-use evaluation` the same start loads the engine.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runServeCli } from "@hangar/controller";
import { skipUnlessControlPlane, startControlPlane, waitFor, type ControlPlane } from "@hangar/testkit";
import { ensureNamespace, providerPod } from "./helpers.js";

const skip = skipUnlessControlPlane();

describe("the controller's license gate on a real kube-apiserver", { skip }, () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    cp = await startControlPlane();
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
    for (const p of ["weather", "notes", "search", "crm", "billing"]) await providerPod(cp, "mcp", p);
    dir = mkdtempSync(join(tmpdir(), "hangar-license-serve-"));
  });
  after(async () => {
    await cp?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function serve(extra: string[], db: string) {
    const ac = new AbortController();
    const err: string[] = [];
    const serving = runServeCli(
      ["--kubeconfig", cp.kubeconfigPath, "--namespace", "hangar-system", "--identity", "ctl-license"]
        .concat(["--api-listen", "127.0.0.1:0", "--hub-listen", "none", "--tokens-secret", "none"])
        .concat(["--lease-duration", "2", "--prometheus-port", "0", "--baseline-db", db, ...extra]),
      { stdout: () => undefined, stderr: (s) => void err.push(s) },
      ac.signal,
    );
    const lines = (): { msg?: string; code?: string; api?: string; prometheusPort?: number }[] =>
      err
        .join("")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg?: string; code?: string; api?: string; prometheusPort?: number });
    const api = await waitFor(
      "serve to listen",
      () => lines().find((l) => l.msg === "REST API listening")?.api,
      () => err.join(""),
      20_000,
    );
    const prom = await waitFor(
      "the metrics port",
      () => lines().find((l) => l.prometheusPort !== undefined)?.prometheusPort,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
    return {
      api,
      lines,
      metrics,
      stop: async () => {
        ac.abort();
        assert.equal(await serving, 0, err.join(""));
      },
    };
  }

  it("5 providers and no license: no baseline engine, said once, metrics; evaluation turns it on", async () => {
    const db = join(dir, "off.duckdb");
    const off = await serve([], db);
    try {
      const required = off.lines().filter((l) => l.code === "HANGAR_ERR_LICENSE_REQUIRED");
      assert.equal(required.length, 1);
      assert.match(
        required[0]?.msg ?? "",
        /^the baseline engine \(enterprise\/behavioral\) is off: no license is configured, and the cluster runs 5 MCP providers in production/,
      );
      assert.equal(existsSync(db), false, "the baseline engine did not open its file");
      assert.match(off.metrics, /hangar_license_state\{[^}]*hangar_license_state="none"[^}]*\} 1/);
      assert.match(
        off.metrics,
        /hangar_license_module\{[^}]*hangar_license_module="behavioral"[^}]*hangar_license_basis="none"[^}]*\} 0/,
      );
    } finally {
      await off.stop();
    }
    const on = await serve(["--license-use", "evaluation"], join(dir, "on.duckdb"));
    try {
      assert.equal(on.lines().filter((l) => l.code === "HANGAR_ERR_LICENSE_REQUIRED").length, 0);
      assert.ok(on.lines().some((l) => /declared evaluation\/non-production use/.test(l.msg ?? "")));
      assert.match(
        on.metrics,
        /hangar_license_module\{[^}]*hangar_license_module="behavioral"[^}]*hangar_license_basis="evaluation"[^}]*\} 1/,
      );
    } finally {
      await on.stop();
    }
  });
});
