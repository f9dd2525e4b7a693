/**
 * pipeline/intake — the real thing: the agent's simulator serves a realistic
 * mix over a unix-socket gRPC stream as fast as the client reads, from a child
 * process (one core for the sensor, one for the agent); the agent side is the
 * production code path: `tetragonSource` (grpc-js, bounded queue of the message bytes) and
 * the pipeline's `process` (the lazy decode, normalize → resolve → correlate → detect with NoDetector → explain → outputs) in
 * the same loop as `runPipeline`, with timing around each record.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { BoundedQueue, Counters, type CounterName, type Detector } from "@hangar/core";
import { createPipeline, hubbleSource, tetragonSource } from "@hangar/agent";
import { DEFAULT_POOL, type FixtureKind } from "../fixtures.js";
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import { startFixtureSimulator, startHubbleSimulator } from "../simulator.js";
import type { BenchCase, CaseContext } from "./case.js";
import { decodeHubbleLazy, decodeTetragonLazy } from "./decode-lazy.js";
import {
  RULES_DIR,
  compiled,
  enforcingBaseline,
  loadSemantic,
  semanticUnavailable,
} from "./detect-events.js";

type Logger = Parameters<typeof tetragonSource>[0]["logger"];

/** A logger for the source: info and below are dropped, warnings go to stderr. */
function benchLogger(log: (message: string) => void): Logger {
  const quiet = (): void => undefined;
  const loud =
    (level: string) =>
    (obj: unknown, msg?: string): void =>
      log(
        `agent ${level}: ${msg ?? ""} ${JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`,
      );
  const logger = {
    level: "warn",
    trace: quiet,
    debug: quiet,
    info: quiet,
    warn: loud("warn"),
    error: loud("error"),
    fatal: loud("fatal"),
    child: () => logger,
  };
  return logger as unknown as Logger;
}

/**
 * Counters that also note when each gRPC message reached the source: the
 * Tetragon source counts `sensor_messages` first thing in its message handler,
 * before decoding and queueing. Records leave the queue in the same order, so
 * the n-th stamp belongs to the n-th record (as long as nothing is dropped or
 * undecodable, which the case checks).
 */
class StampingCounters extends Counters {
  readonly #stamps = new BigInt64Array(1 << 16);
  #written = 0;
  #read = 0;

  override inc(name: CounterName, labels?: Readonly<Record<string, string>>, by?: number): void {
    if (name === "sensor_messages") this.#stamps[this.#written++ & 0xffff] = process.hrtime.bigint();
    super.inc(name, labels, by);
  }

  /** The receive time of the next record in queue order (approximate once messages were dropped). */
  next(): bigint {
    if (this.#read >= this.#written) return process.hrtime.bigint();
    if (this.#written - this.#read > this.#stamps.length) this.#read = this.#written - this.#stamps.length;
    return this.#stamps[this.#read++ & 0xffff] as bigint;
  }
}

interface SimReport {
  cpuUs: number;
  wallUs: number;
  sent: number;
  filtered: number;
}

/** The simulator under the benchmark's control, wherever it runs. */
interface BenchSimulator {
  readonly mode: "child-process" | "in-process";
  readonly address: string;
  /** Starts the simulator's measurement window. */
  mark(): void;
  /** The simulator's CPU and traffic since mark(); undefined in-process (it shares our CPU). */
  report(): Promise<SimReport | undefined>;
  stop(): Promise<void>;
}

const SIM_CHILD = fileURLToPath(new URL("../sim-child.js", import.meta.url));

function nextLine(lines: Interface, child: ChildProcessByStdio<Writable, Readable, null>): Promise<string> {
  return new Promise((resolve, reject) => {
    const onLine = (line: string): void => {
      cleanup();
      resolve(line);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`simulator child exited (code ${code ?? "signal"}) before answering`));
    };
    const cleanup = (): void => {
      lines.off("line", onLine);
      child.off("exit", onExit);
    };
    lines.once("line", onLine);
    child.once("exit", onExit);
  });
}

async function childSimulator(
  address: string,
  fixture: FixtureKind | "hubble",
  pool = DEFAULT_POOL,
): Promise<BenchSimulator> {
  const child = spawn(
    process.execPath,
    // Same flags as us (so --cpu-prof profiles the simulator too), minus --expose-gc.
    [
      ...process.execArgv.filter((a) => a !== "--expose-gc"),
      SIM_CHILD,
      "--address",
      address,
      "--fixture",
      fixture,
      "--pool",
      String(pool),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout });
  const ready = JSON.parse(await nextLine(lines, child)) as { ready: boolean; address: string };
  if (!ready.ready) throw new Error("simulator child did not report ready");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    mode: "child-process",
    address: ready.address,
    mark: () => child.stdin.write("mark\n"),
    async report() {
      const answer = nextLine(lines, child);
      child.stdin.write("report\n");
      return JSON.parse(await answer) as SimReport;
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      lines.close();
    },
  };
}

async function inlineSimulator(
  address: string,
  fixture: FixtureKind | "hubble",
  pool = DEFAULT_POOL,
): Promise<BenchSimulator> {
  const sim =
    fixture === "hubble"
      ? await startHubbleSimulator({ address, pool })
      : await startFixtureSimulator({ address, fixture, pool: DEFAULT_POOL });
  return {
    mode: "in-process",
    address: (fixture === "hubble" ? sim.hubbleAddress : sim.tetragonAddress) ?? address,
    mark: () => undefined,
    report: () => Promise.resolve(undefined),
    stop: () => sim.stop(),
  };
}

/** Aborts the run when no record has arrived for this long. */
const STALL_MS = 15_000;

async function measure(
  ctx: CaseContext,
  sim: BenchSimulator,
  detector?: Detector,
  sensor: "tetragon" | "hubble" = "tetragon",
): Promise<Measurement> {
  const counters = new StampingCounters();
  const controller = new AbortController();
  const pipeline = createPipeline(detector === undefined ? { counters } : { counters, detector });
  const options = { address: sim.address, counters, logger: benchLogger(ctx.log) };
  const source =
    sensor === "hubble"
      ? hubbleSource(options, controller.signal)
      : tetragonSource(options, controller.signal);

  // The source is a BoundedQueue; its depth at each dequeue shows how long records wait there.
  const queue = source instanceof BoundedQueue ? source : undefined;
  const { events, warmup } = ctx;
  const total = warmup + events;
  const latency = new LatencyRecorder(events);
  const stage = new LatencyRecorder(events);
  const gaps = new LatencyRecorder(events);
  const depth = new LatencyRecorder(events);
  const memory = new MemoryPeak();
  let n = 0;
  let kept = 0;
  let start = 0n;
  let last = 0n;
  let cpuAtStart = process.cpuUsage();
  let lastArrival = Date.now();
  let stalled = false;
  const sampler = setInterval(() => {
    memory.sample();
    if (Date.now() - lastArrival > STALL_MS) {
      stalled = true;
      controller.abort();
    }
  }, 50);
  const progress = setInterval(() => {
    ctx.log(
      `${n < warmup ? "warm-up" : "measuring"}: ${n.toLocaleString("en-US")} / ${total.toLocaleString("en-US")} records`,
    );
  }, 1000);
  try {
    // The pipeline's run loop (`for await … process`), with timing around each record:
    // latency = message received by the source (before decode) → process done;
    // stage = record taken from the queue → process done; gap = between records.
    for await (const rec of source) {
      const arrived = now();
      const received = counters.next();
      if (n >= warmup) {
        if (n === warmup) {
          start = arrived;
          cpuAtStart = process.cpuUsage();
          memory.sample();
          sim.mark();
        } else {
          gaps.record(Number(arrived - last));
        }
        depth.record(queue?.size ?? 0);
        if (pipeline.process(rec) !== undefined) kept++;
        const done = now();
        latency.record(Number(done - received));
        stage.record(Number(done - arrived));
      } else {
        pipeline.process(rec);
      }
      last = arrived;
      if ((n & 1023) === 0) lastArrival = Date.now();
      if (++n === total) break;
    }
  } finally {
    clearInterval(sampler);
    clearInterval(progress);
  }
  const end = now();
  const cpu = process.cpuUsage(cpuAtStart);
  memory.sample();
  const simReport = await sim.report();
  controller.abort();
  if (stalled || n < total) {
    throw new Error(
      stalled
        ? `no record for ${STALL_MS / 1000} s after ${n} records; counters: ${JSON.stringify(counters.snapshot())}`
        : `stream ended after ${n} of ${total} records; counters: ${JSON.stringify(counters.snapshot())}`,
    );
  }
  const elapsedNs = Number(end - start);
  const wallUs = elapsedNs / 1000;
  const agentCores = (cpu.user + cpu.system) / wallUs;
  const detail: Record<string, string | number | boolean> = {
    simulator: sim.mode,
    fixture: sensor === "hubble" ? "hubble" : "mixed",
    kept,
    queueDropped: counters.get("queue_dropped", { queue: sensor, reason: "full" }),
    agentCpu: Math.round(agentCores * 100) / 100,
    // events/s per core the agent process used (goal of issue #19: ≥ 100k with the default packs)
    eventsPerAgentCore: Math.round(events / (elapsedNs / 1e9) / agentCores),
    detector: detector === undefined ? "none" : "default packs",
    stageP50Us: Math.round(stage.percentile(50) / 10) / 100,
    stageP99Us: Math.round(stage.percentile(99) / 10) / 100,
    queueDepthP50: depth.percentile(50),
    queueDepthP99: depth.percentile(99),
    gapP50Us: Math.round(gaps.percentile(50) / 10) / 100,
    gapP99Us: Math.round(gaps.percentile(99) / 10) / 100,
  };
  const lost =
    counters.get("queue_dropped", { queue: sensor, reason: "full" }) +
    counters.get("dropped", { reason: "undecodable" });
  if (lost > 0) {
    // Stamps of lost messages shift the pairing of receive stamps and records.
    detail.latencyPaired = false;
    ctx.log(
      `WARNING: ${lost} messages were dropped before the pipeline (queue full or undecodable): latency figures are approximate`,
    );
  }
  if (simReport !== undefined) {
    detail.simulatorCpu = Math.round((simReport.cpuUs / simReport.wallUs) * 100) / 100;
    detail.simulatorFiltered = simReport.filtered;
  }
  return { events, elapsedNs, latency, memory, detail };
}

export const pipelineIntake: BenchCase = {
  name: "pipeline/intake",
  description:
    "simulator (child process) → unix-socket gRPC stream → tetragonSource (grpc-js + queue of bytes) → pipeline.process (lazy decode, normalize, resolve, correlate, detect/NoDetector, explain, outputs), over the mixed pool",
  latency:
    "every record, from the moment the source's gRPC message handler received its bytes (before decode and queueing) to the end of pipeline.process, with hrtime.bigint; detail.stageP50Us/stageP99Us: from leaving the queue to the end of pipeline.process; detail.gapP50Us/gapP99Us: between consecutive records in the loop",
  ceiling: decodeTetragonLazy.name,
  defaultEvents: 120_000,
  run: (ctx) => runIntake(ctx),
};

/** The intake with the simulator where the context says, and the given detector (none: NoDetector). */
async function runIntake(
  ctx: CaseContext,
  detector?: Detector,
  sensor: "tetragon" | "hubble" = "tetragon",
): Promise<Measurement> {
  const fixture = sensor === "hubble" ? "hubble" : "mixed";
  const pool = sensor === "hubble" ? HUBBLE_POOL : DEFAULT_POOL;
  const dir = mkdtempSync(join(tmpdir(), "hangar-bench-"));
  const address = `unix://${join(dir, "tetragon.sock")}`;
  let sim: BenchSimulator;
  if (ctx.simulator === "child") {
    try {
      sim = await childSimulator(address, fixture, pool);
    } catch (err) {
      ctx.log(`simulator child failed (${String(err)}); falling back to in-process (one core shared)`);
      sim = await inlineSimulator(address, fixture, pool);
    }
  } else {
    ctx.log("simulator: in-process (one core shared by sensor and agent)");
    sim = await inlineSimulator(address, fixture, pool);
  }
  try {
    return await measure(ctx, sim, detector, sensor);
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const pipelineIntakeRules: BenchCase = {
  name: "pipeline/intake-rules",
  description:
    "pipeline/intake with the rule engine on: every pack in rules/ (HangarDetector, an enforcing in-memory baseline), as a node runs with --default-rules; detail.eventsPerAgentCore = events/s ÷ the agent process's cores (goal ≥ 100k)",
  latency: pipelineIntake.latency,
  ceiling: decodeTetragonLazy.name,
  defaultEvents: 120_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = await loadSemantic();
    const det = new mod.HangarDetector({
      rules: compiled(mod, mod.loadRules([RULES_DIR])),
      baseline: enforcingBaseline(),
      latenessMs: 2000,
    });
    const detector: Detector = {
      name: "hangar",
      process: (ev) => det.process(ev),
      flush: () => det.flush(),
    };
    return runIntake(ctx, detector);
  },
};

/** Distinct flows the Hubble simulator loops over: more than the source's 4 096 recent uuids. */
const HUBBLE_POOL = 8192;

export const pipelineIntakeHubble: BenchCase = {
  name: "pipeline/intake-hubble",
  description: `pipeline/intake for Hubble: the simulator (child process) serves ${HUBBLE_POOL} distinct flows (decode/hubble-lazy's shapes) over GetFlows → hubbleSource (grpc-js + lazy decode + uuid dedup + queue) → pipeline.process with NoDetector`,
  latency: pipelineIntake.latency,
  ceiling: decodeHubbleLazy.name,
  defaultEvents: 120_000,
  run: (ctx) => runIntake(ctx, undefined, "hubble"),
};
