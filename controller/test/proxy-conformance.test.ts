/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, every server
 * scenario: `--suite all`) against the reference server, directly and through
 * `hangar-controller proxy` run as its own process with a `staticEndpoints` configuration,
 * as a new user would. Five runs of each: a proxy must not change what a server does, so
 * every proxied run must give exactly the verdicts (per scenario and check: SUCCESS,
 * FAILURE, WARNING) of the direct runs, and the direct runs must all pass.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  conformanceVerdicts,
  runConformance,
  startConformanceServer,
  type ConformanceRun,
  type ConformanceServer,
} from "@hangar/testkit/mcp";

const RUNS = 5;
const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

/** Starts `hangar-controller proxy --config FILE` and resolves with its URL once it listens. */
async function startProxyProcess(configPath: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [MAIN, "proxy", "--config", configPath], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the proxy did not listen within 20 s:\n${log}`)),
      20_000,
    );
    const onData = (s: string): void => {
      log += s;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.stderr?.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the proxy exited with ${String(code)} before listening:\n${log}`));
    });
  });
  return { url, child };
}

function summary(run: ConformanceRun): string {
  return `${run.passed} passed, ${run.failed} failed, ${run.warnings} warnings in ${Math.round(run.ms)} ms`;
}

describe("conformance: the official suite, directly and through hangar-controller proxy", () => {
  let server: ConformanceServer;
  let dir: string;
  let proxy: { url: string; child: ChildProcess };
  const direct: ConformanceRun[] = [];
  const proxied: ConformanceRun[] = [];

  before(async () => {
    server = await startConformanceServer();
    dir = await mkdtemp(join(tmpdir(), "hangar-conformance-proxy-"));
    const config = join(dir, "proxy.yaml");
    await writeFile(
      config,
      [
        "listen: 127.0.0.1:0",
        "providers:",
        "  - provider: reference",
        "staticEndpoints:",
        `  reference: [{ url: "${server.url}", pod: reference-0 }]`,
        "",
      ].join("\n"),
    );
    proxy = await startProxyProcess(config);
  });
  after(async () => {
    proxy.child.kill("SIGTERM");
    await new Promise((r) => proxy.child.once("exit", r));
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`passes every check directly, ${RUNS} runs alike`, async () => {
    for (let i = 0; i < RUNS; i++) direct.push(await runConformance(server.url));
    const first = direct[0] as ConformanceRun;
    assert.ok(first.scenarios.size >= 30, `the suite ran ${first.scenarios.size} scenarios`);
    for (const run of direct) {
      assert.equal(run.failed, 0, `direct: ${summary(run)}\n${run.output.slice(-3000)}`);
      assert.deepEqual(conformanceVerdicts(run), conformanceVerdicts(first));
    }
  });

  it(`gives through the proxy exactly the verdicts it gives directly, ${RUNS} runs`, async () => {
    assert.ok(direct.length === RUNS, "the direct runs ran first");
    const want = conformanceVerdicts(direct[0] as ConformanceRun);
    const proxyUrl = new URL("/mcp/reference", proxy.url).toString();
    // The DNS-rebinding scenario needs a loopback URL, which the proxy's is.
    for (let i = 0; i < RUNS; i++) {
      const run = await runConformance(proxyUrl);
      proxied.push(run);
      assert.deepEqual(
        conformanceVerdicts(run),
        want,
        `proxied run ${i + 1}: ${summary(run)} (direct: ${summary(direct[0] as ConformanceRun)})\n${run.output.slice(-3000)}`,
      );
    }
  });
});
