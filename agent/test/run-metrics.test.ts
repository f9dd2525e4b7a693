/**
 * The live agent's Prometheus endpoint carries what only `run` wires: the baseline state of
 * each provider in its DuckDB file (reported at start, then every 30 s) and the rule
 * engine's statistics. `hangar-agent run --db FILE --default-rules --prometheus-port 0`.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { BEHAVIORAL_PACKAGE, SEMANTIC_PACKAGE } from "../src/bootstrap/plugins.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { tempDir, waitFor } from "@hangar/testkit";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const engines = await Promise.all([import(BEHAVIORAL_PACKAGE), import(SEMANTIC_PACKAGE)]).then(
  () => false as const,
  (err: unknown) =>
    `the enterprise engines are not in this build: ${err instanceof Error ? err.message : String(err)}`,
);

it(
  "run --db --default-rules: /metrics has each provider's baseline state and the rule engine's stats",
  { skip: engines },
  async () => {
    const { dir, cleanup } = tempDir("hangar-run-metrics-");
    const db = join(dir, "baseline.duckdb");
    // A baseline learned before (provider "fs" of the fixture), as a node's file holds it.
    const learn = spawnSync(
      process.execPath,
      [MAIN, "replay", "--learn", "--db", db, "--tetragon", join(FIXTURES, "realistic-tetragon.jsonl")],
      { encoding: "utf8" },
    );
    assert.equal(learn.status, 0, learn.stderr);
    const sim = await startSimulator({
      tetragon: { address: `unix://${join(dir, "tetragon.sock")}`, messages: [], holdOpen: true },
    });
    const child = spawn(
      process.execPath,
      [MAIN, "run", "--tetragon", sim.tetragonAddress ?? "", "--hubble", "none", "--no-kube"].concat([
        "--health-port",
        "0",
        "--prometheus-port",
        "0",
        "--db",
        db,
        "--default-rules",
        "--log-level",
        "info",
        "--spool-dir",
        join(dir, "spool"),
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let port = 0;
      await waitFor(
        "the running line with the Prometheus port",
        () => {
          const m = /"prometheusPort":(\d+)/.exec(stderr);
          port = Number(m?.[1] ?? 0);
          return port > 0;
        },
        undefined,
        20_000,
      );
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(
        text,
        /hangar_baseline_state\{[^}]*hangar_provider="fs"[^}]*hangar_baseline_state="enforcing"[^}]*\} 1/,
        text,
      );
      assert.match(text, /hangar_detector_stats\{[^}]*\} \d+/, "the rule engine's statistics are exported");
    } catch (err) {
      child.kill("SIGKILL");
      throw new Error(`${String(err)}\nstderr: ${stderr}`);
    } finally {
      await sim.stop();
    }
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    cleanup();
  },
);
