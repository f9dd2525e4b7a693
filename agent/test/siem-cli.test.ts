/** `hangar-agent run` SIEM and metrics options as users type them. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [MAIN, "run", ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

it("run --help documents --siem, --spool-dir and the metrics options", () => {
  const r = run(["--help"]);
  assert.equal(r.status, 0);
  for (const flag of [
    "--siem URL",
    "--spool-dir DIR",
    "--otlp-endpoint URL",
    "--prometheus-port N",
    "octet-counting",
  ]) {
    assert.ok(r.stdout.includes(flag), flag);
  }
});

it("a bad --siem URL or metrics option stops the agent with exit 2, naming it", () => {
  const base = ["--tetragon", "127.0.0.1:1", "--hubble", "none", "--no-kube", "--health-port", "0"];
  const bad = run([...base, "--siem", "tcp://siem.example?format=cef"]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(
    bad.stderr,
    /HANGAR_ERR_CONFIG_INVALID: --siem tcp:\/\/siem.example\?format=cef: needs a port/,
  );
  const otlp = run([...base, "--otlp-endpoint", "grpc://collector:4317"]);
  assert.equal(otlp.status, 2, otlp.stderr);
  assert.match(otlp.stderr, /--otlp-endpoint must be http:\/\/ or https:\/\//);
});
