/**
 * hub/agents — what N agents cost the controller: one real `hangar-controller serve` process
 * (hub over mTLS, REST API, enforcer in audit mode, on a real kube-apiserver + etcd from the
 * testkit) and N simulated agents in another process (`hub-agents-child.ts`: N gRPC clients,
 * each on its own TLS connection, one alert per second each). The controller is watched from
 * outside through /proc: cores and RSS over time; the ack latency is alert written → ack read.
 *
 * Agents: HANGAR_BENCH_HUB_AGENTS (default 500). Duration: `--duration SEC`, else `--events`
 * alerts at N per second (default 30,000: a minute at 500 agents). Node flags of the controller:
 * HANGAR_BENCH_HUB_NODE_FLAGS (default: the chart's, `--max-semi-space-size=16`). Each agent has
 * a certificate of its own naming its node; HANGAR_BENCH_HUB_CERTS=DIR keeps them for the next run.
 * The agents' process runs at nice HANGAR_BENCH_HUB_SIM_NICE (default 0). Alerts per agent per
 * second: HANGAR_BENCH_HUB_RATE (default 1, at most 1); `detail.offeredPerSec` is what the
 * agents managed to send (below N × rate when their process is starved).
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  apiRequest,
  controlPlaneAvailable,
  freePorts,
  startControlPlane,
  writeClientCert,
  writeTestCerts,
} from "@hangar/testkit";
import { LatencyRecorder, MemoryPeak, type Measurement } from "../harness.js";
import { ProcSampler, round, stopChild as stop, summarize } from "../procstat.js";
import type { BenchCase, CaseContext } from "./case.js";

/** The controller CLI; HANGAR_BENCH_CONTROLLER_MAIN measures another build (e.g. the one before a change). */
const CONTROLLER_MAIN =
  process.env.HANGAR_BENCH_CONTROLLER_MAIN ??
  fileURLToPath(new URL("../../../../controller/dist/src/cli/main.js", import.meta.url));
const AGENTS_CHILD = fileURLToPath(new URL("../hub-agents-child.js", import.meta.url));
/** The chart's NODE_OPTIONS for the controller (helm/hangar-agent values: controller.nodeOptions). */
export const CONTROLLER_NODE_FLAGS = "--max-semi-space-size=16";

/**
 * The simulated agents' nice value: HANGAR_BENCH_HUB_SIM_NICE, default 0. (A higher value
 * leaves the cores to the controller when both want them, but on a machine loaded by other
 * work it starves the agents, and the controller then waits for alerts that are not sent.)
 */
function simulatorNice(): number {
  const v = Number(process.env.HANGAR_BENCH_HUB_SIM_NICE ?? 0);
  if (!Number.isInteger(v) || v < 0 || v > 19)
    throw new Error(`HANGAR_BENCH_HUB_SIM_NICE must be 0..19, got ${process.env.HANGAR_BENCH_HUB_SIM_NICE}`);
  return v;
}

/** Alerts per agent per second: HANGAR_BENCH_HUB_RATE, default 1 (at most 1). */
function agentRate(): number {
  const v = Number(process.env.HANGAR_BENCH_HUB_RATE ?? 1);
  if (!(v > 0 && v <= 1))
    throw new Error(`HANGAR_BENCH_HUB_RATE must be in (0, 1], got ${process.env.HANGAR_BENCH_HUB_RATE}`);
  return v;
}

function agentCount(): number {
  const v = Number(process.env.HANGAR_BENCH_HUB_AGENTS ?? 500);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(
      `HANGAR_BENCH_HUB_AGENTS must be a positive integer, got ${process.env.HANGAR_BENCH_HUB_AGENTS}`,
    );
  return v;
}

function nextLine(lines: Interface, child: ChildProcess, what: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: no answer in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onLine = (line: string): void => {
      cleanup();
      resolve(line);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`${what} exited (code ${code ?? "signal"}) before answering`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      lines.off("line", onLine);
      child.off("exit", onExit);
    };
    lines.once("line", onLine);
    child.once("exit", onExit);
  });
}

/** Resolves when the controller logs that its hub listens; rejects when it exits first. */
function hubListening(controller: ChildProcessByStdio<null, null, Readable>): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: controller.stderr });
    const seen: string[] = [];
    const onExit = (code: number | null): void =>
      reject(new Error(`the controller exited (code ${code ?? "signal"}):\n${seen.slice(-10).join("\n")}`));
    controller.once("exit", onExit);
    lines.on("line", (line) => {
      if (seen.length < 200) seen.push(line);
      if (!line.includes("agent hub listening")) return;
      controller.off("exit", onExit);
      resolve();
    });
  });
}

/**
 * The hub's certificate and one client certificate per agent (`agent-<i>.crt`, naming
 * `bench-node-<i>`), in `dir`; or in HANGAR_BENCH_HUB_CERTS, kept there for the next run and
 * reused while they are less than 12 hours old (openssl makes ~60 a second).
 */
function agentCertificates(
  ctx: CaseContext,
  n: number,
  dir: string,
): { dir: string; ca: string; serverCert: string; serverKey: string } {
  const keep = process.env.HANGAR_BENCH_HUB_CERTS;
  const at = keep ?? dir;
  const fresh = (f: string): boolean => existsSync(f) && Date.now() - statSync(f).mtimeMs < 12 * 3600_000;
  if (keep === undefined || !fresh(join(at, "ca.crt"))) {
    mkdirSync(at, { recursive: true });
    for (const f of readdirSync(at)) if (f.startsWith("agent-")) rmSync(join(at, f));
    writeTestCerts(at);
  }
  const started = performance.now();
  let made = 0;
  for (let i = 0; i < n; i++) {
    if (existsSync(join(at, `agent-${i}.crt`))) continue;
    writeClientCert(at, `agent-${i}`, { cn: "hangar-agent", san: `DNS:bench-node-${i}` });
    if (++made % 1000 === 0) ctx.log(`${made} agent certificates made`);
  }
  if (made > 0)
    ctx.log(`${made} agent certificates made in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    dir: at,
    ca: join(at, "ca.crt"),
    serverCert: join(at, "srv.crt"),
    serverKey: join(at, "srv.key"),
  };
}

async function run(ctx: CaseContext): Promise<Measurement> {
  const n = agentCount();
  const rate = agentRate();
  const duration = ctx.durationSec ?? Math.max(5, Math.round(ctx.events / (n * rate)));
  const warmupSec =
    ctx.durationSec === undefined
      ? Math.max(5, Math.round(ctx.warmup / n))
      : Math.min(60, Math.max(15, Math.round(duration / 6)));
  const dir = mkdtempSync(join(tmpdir(), "hangar-bench-hub-"));
  // The hub binds a client certificate to the nodes its DNS subjectAltNames name
  // (HANGAR_ERR_HUB_NODE_DENIED): each simulated agent has a certificate naming its node, as
  // a real one does. (One certificate naming all N nodes, as before, made every connection
  // carry and keep an N-name certificate: ~100 KB per connection at 5,000 agents.)
  const certs = agentCertificates(ctx, n, dir);
  const cp = await startControlPlane();
  let controller: ChildProcessByStdio<null, null, Readable> | undefined;
  let agents: ChildProcessByStdio<Writable, Readable, null> | undefined;
  let simulator: ProcSampler | undefined;
  try {
    await apiRequest(cp, "POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "hangar-system" } },
    });
    const [hubPort, apiPort] = await freePorts(2);
    const flags = (process.env.HANGAR_BENCH_HUB_NODE_FLAGS ?? CONTROLLER_NODE_FLAGS)
      .split(" ")
      .filter((f) => f !== "");
    const passOn = process.execArgv.filter((a) => a !== "--expose-gc");
    controller = spawn(
      process.execPath,
      [
        ...flags,
        ...passOn,
        CONTROLLER_MAIN,
        "serve",
        "--kubeconfig",
        cp.kubeconfigPath,
        "--namespace",
        "hangar-system",
        "--identity",
        "bench",
        "--api-listen",
        `127.0.0.1:${apiPort}`,
        "--tokens-secret",
        "none",
        "--hub-listen",
        `127.0.0.1:${hubPort}`,
        "--hub-tls-cert",
        certs.serverCert,
        "--hub-tls-key",
        certs.serverKey,
        "--hub-tls-ca",
        certs.ca,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    await hubListening(controller);
    const pid = controller.pid as number;
    const sampler = new ProcSampler(pid);
    ctx.log(`controller pid ${pid}; connecting ${n} agents (mTLS, a connection each)`);
    agents = spawn(
      process.execPath,
      [
        ...passOn,
        AGENTS_CHILD,
        "--address",
        `127.0.0.1:${hubPort}`,
        "--ca",
        certs.ca,
        "--cert-dir",
        certs.dir,
        "--agents",
        String(n),
        "--rate",
        String(rate),
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    // The simulated agents yield the cores to the controller when both want them (the
    // machine is shared; they are not what is measured).
    const simNice = simulatorNice();
    if (simNice !== 0) setPriority(agents.pid as number, simNice);
    simulator = new ProcSampler(agents.pid as number);
    const lines = createInterface({ input: agents.stdout });
    const connectStart = performance.now();
    const ready = JSON.parse(await nextLine(lines, agents, "the agents", 600_000)) as { connected: number };
    const connectSec = (performance.now() - connectStart) / 1000;
    ctx.log(
      `${ready.connected} agents connected in ${connectSec.toFixed(1)} s; warm-up ${warmupSec} s, then ${duration} s`,
    );
    await sleep(warmupSec * 1000);
    agents.stdin.write("mark\n");
    const windowFrom = sampler.sample()?.t ?? 0;
    const simulatorFrom = simulator.sample()?.t ?? 0;
    const t0 = process.hrtime.bigint();
    const progress = setInterval(() => {
      const s = sampler.samples.at(-1);
      if (s !== undefined)
        ctx.log(`${Math.round(s.t - windowFrom)} s: controller RSS ${s.rss.toFixed(0)} MiB, load ${s.load}`);
    }, 30_000);
    await sleep(duration * 1000);
    clearInterval(progress);
    sampler.sample();
    simulator.sample();
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const answer = nextLine(lines, agents, "the agents", 60_000);
    agents.stdin.write("report\n");
    const report = JSON.parse(await answer) as {
      sent: number;
      acked: number;
      errors: number;
      connected: number;
      latencyUs: number[];
    };
    sampler.stop();
    if (controller.exitCode !== null) throw new Error(`the controller exited (code ${controller.exitCode})`);
    const s = summarize(sampler.window(windowFrom));
    const sim = summarize(simulator.window(simulatorFrom));
    const latency = new LatencyRecorder(report.latencyUs.length);
    for (const us of report.latencyUs) latency.record(us * 1000);
    const memory = new MemoryPeak();
    memory.rss = s.rssPeakMiB * 1024 * 1024;
    return {
      events: report.acked,
      elapsedNs,
      latency,
      memory,
      detail: {
        agents: n,
        alertsPerAgentPerSec: rate,
        offeredPerSec: round(report.sent / (elapsedNs / 1e9), 1),
        connected: report.connected,
        connectSec: round(connectSec, 1),
        alertsSent: report.sent,
        alertsAcked: report.acked,
        streamErrors: report.errors,
        controllerCores: round(s.cores, 3),
        simulatorCores: round(sim.cores, 3),
        simulatorNice: simulatorNice(),
        rssStartMiB: round(s.rssStartMiB, 1),
        rssEndMiB: round(s.rssEndMiB, 1),
        rssPeakMiB: round(s.rssPeakMiB, 1),
        rssSlopeMiBPerMin: round(s.rssSlopeMiBPerMin, 2),
        loadAvgStart: s.loadAvgStart,
        loadAvgEnd: s.loadAvgEnd,
        warmupSec,
        nodeFlags: flags.join(" "),
      },
    };
  } finally {
    simulator?.stop();
    if (agents !== undefined) {
      agents.stdin.end();
      await stop(agents);
    }
    if (controller !== undefined) await stop(controller);
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hubAgents: BenchCase = {
  name: "hub/agents",
  description:
    "one real `hangar-controller serve` (hub over mTLS, REST API, audit-mode enforcer, real kube-apiserver) and N simulated agents in another process, one alert per second each: controller cores and RSS over time",
  latency: "every alert (up to 200,000): written on the agent's stream → the hub's ack read",
  defaultEvents: 30_000,
  timeBased: true,
  unavailable() {
    const a = controlPlaneAvailable();
    if (process.platform !== "linux") return Promise.resolve("reads /proc (Linux only)");
    return Promise.resolve(a.ok ? undefined : `needs etcd and kube-apiserver: ${a.reason}`);
  },
  run,
};
