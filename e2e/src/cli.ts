#!/usr/bin/env node
/**
 * `hangar-e2e`: the end-to-end scenario (scenario.ts) against a cluster reached with kubectl and
 * helm, as kind-e2e/run.sh runs it on kind with Cilium and Tetragon. The real test node of this
 * repository runs the same scenario from e2e/test/node-e2e.test.ts, where the test also provides
 * the listeners, the rsyslog and the look at the node that a kind run does not have.
 */
import { execFile } from "node:child_process";
import { parseArgs } from "node:util";
import { median, runScenario, type CommandResult, type Target } from "./scenario.js";

const USAGE = `Usage: node e2e/dist/src/cli.js --context CONTEXT [options]

Runs the end-to-end scenario (e2e/src/scenario.ts) against the cluster of kube context CONTEXT
with kubectl and helm from the PATH: the sample MCP server, helm install of ./helm/hangar-agent,
normal then poisoned MCP calls through the proxy, the alerts and the sensor's events, the
enforcement and its revert, helm upgrade and uninstall.

Options:
  --context NAME         kube context (kubectl --context, helm --kube-context); required
  --values FILE          a values file of this cluster, after e2e/values/scenario.yaml (repeatable)
  --set KEY=VALUE        a helm --set (repeatable)
  --image-tag TAG        agent.image.tag and controller.image.tag (default: the chart's appVersion)
  --sensor NAME          tetragon (default) or probe: whose events must show the pod's processes
  --learn-seconds N      the provider's learning window (default 60)
  --attacks N            poisoned calls (default 3)
  --timeout-seconds N    per wait (default 180)
  -h, --help             this text

Exit codes: 0 every assertion held, 1 a step or an assertion failed, 2 usage error.
`;

function sh(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      resolve({
        code: err === null ? 0 : typeof code === "number" ? code : 127,
        stdout,
        stderr: err !== null && typeof code !== "number" ? `${stderr}${err.message}` : stderr,
      });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function main(argv: string[]): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        context: { type: "string" },
        values: { type: "string", multiple: true },
        set: { type: "string", multiple: true },
        "image-tag": { type: "string" },
        sensor: { type: "string" },
        "learn-seconds": { type: "string" },
        attacks: { type: "string" },
        "timeout-seconds": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`hangar-e2e: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (v.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const context = v.context;
  const sensor = v.sensor ?? "tetragon";
  const num = (s: string | undefined, d: number): number => (s === undefined ? d : Number(s));
  const learn = num(v["learn-seconds"], 60);
  const attacks = num(v.attacks, 3);
  const timeout = num(v["timeout-seconds"], 180);
  if (
    context === undefined ||
    (sensor !== "tetragon" && sensor !== "probe") ||
    ![learn, attacks, timeout].every((n) => Number.isFinite(n) && n > 0)
  ) {
    process.stderr.write(
      `hangar-e2e: --context is required; --sensor is tetragon or probe; numbers are > 0\n\n${USAGE}`,
    );
    return 2;
  }
  const { APP_VERSION } = await import("./kube.js");
  const tag = v["image-tag"] ?? APP_VERSION;
  const target: Target = {
    name: context,
    kubectl: (args, o) => sh("kubectl", ["--context", context, ...args], o?.input),
    helm: (args) => sh("helm", ["--kube-context", context, ...args]),
    values: v.values ?? [],
    set: [`agent.image.tag=${tag}`, `controller.image.tag=${tag}`, ...(v.set ?? [])],
    controllerImage: `ghcr.io/mcp-hangar/hangar-controller:${tag}`,
    sensor: sensor === "probe" ? "SENSOR_PROBE" : "SENSOR_TETRAGON",
    learnSeconds: learn,
    attacks,
    timeoutMs: timeout * 1000,
    log: (l) => process.stdout.write(`${l}\n`),
  };
  try {
    const r = await runScenario(target);
    process.stdout.write(
      `\n✓ the scenario passed: rules ${r.rules.join(", ")}; steps (ms) ${JSON.stringify(r.steps)}${
        r.execToSiemMs.length > 0 ? `; exec → SIEM p50 ${median(r.execToSiemMs)} ms` : ""
      }\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`\n✗ ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
