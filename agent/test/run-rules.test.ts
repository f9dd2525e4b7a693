/**
 * The live agent with the rule engine: `hangar-agent run --default-rules` against a
 * Tetragon stream from the simulator over a unix socket raises the rule alerts on
 * stdout, and stops cleanly on SIGTERM; a broken --rules path stops the start.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { startSimulator } from "../src/simulator/simulator.js";
import { loadTetragonRecording } from "../src/simulator/load.js";
import { tempDir, waitFor } from "@hangar/testkit";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

it("run --default-rules raises rule alerts from a live stream and exits 0 on SIGTERM", async () => {
  const { dir, cleanup } = tempDir("hangar-run-rules-");
  const sim = await startSimulator({
    tetragon: {
      address: `unix://${join(dir, "tetragon.sock")}`,
      messages: loadTetragonRecording(join(FIXTURES, "realistic-tetragon.jsonl")),
      holdOpen: true,
    },
  });
  try {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        "run",
        "--tetragon",
        sim.tetragonAddress ?? "",
        "--hubble",
        "none",
        "--no-kube",
        "--health-port",
        "0",
        "--default-rules",
        "--log-level",
        "warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitFor(
        "the shell alert",
        () => stdout.includes("hangar.exec.shell_from_server"),
        undefined,
        20_000,
      );
    } catch (err) {
      child.kill("SIGKILL");
      throw new Error(`${String(err)}\nstdout: ${stdout}\nstderr: ${stderr}`);
    }
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
    const alerts = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { ruleId: string; provider: string });
    const shell = alerts.find((a) => a.ruleId === "hangar.exec.shell_from_server");
    assert.ok(shell);
    assert.ok(shell.provider.length > 0, "the alert names the provider");
  } finally {
    await sim.stop();
    cleanup();
  }
});

it("run --rules with a path that does not exist stops with exit 2 and names it", () => {
  const r = spawnSync(
    process.execPath,
    [MAIN, "run", "--tetragon", "unix:///nonexistent.sock", "--hubble", "none", "--no-kube"].concat([
      "--health-port",
      "0",
      "--rules",
      "/nonexistent/rules",
    ]),
    { encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /HANGAR_ERR_PLUGIN_LOAD: the rule engine did not start: .*\/nonexistent\/rules/s);
});
