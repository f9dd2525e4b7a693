/**
 * proxy/replicas — calls/s of small tools/call with 1, 2 and 3 proxy replicas
 * behind one address: the SDK server, each replica and a round-robin TCP
 * balancer (an L4 load balancer: one connection to the next replica) in
 * processes of their own; this process runs 32 sessions closed-loop through
 * the balancer, over one shared keep-alive pool (a session's calls spread over
 * the replicas) and then each session on a connection of its own (what
 * `sessionAffinity: ClientIP` gives distinct callers: their calls reach the
 * replica that owns their session). A call that lands on a replica other
 * than its session's owner is forwarded (one more hop); replicas other than
 * the first hand their call traces to it (the collector). `detail` has calls/s
 * per replica count, the ratio to one replica, the forwarded share and the
 * traces the collector received. On a two-core machine the replicas, the
 * server and the client share the same two cores, so calls/s cannot grow with
 * replicas here; `proxyCpuUsPerCall` (all replicas' CPU ÷ calls) shows what
 * each replica adds per call, the figure that decides scaling on real cores.
 *
 * `HANGAR_BENCH_REPLICA_CORES=0.1` (root, cgroup v1 `cpu` controller) gives each
 * replica a CPU quota of that many cores, as a pod's `resources.limits.cpu`
 * does: the replicas are then the bottleneck and the run shows how calls/s grow
 * with replicas when each has a fixed share of CPU, even on two cores. Pick a
 * quota small enough that the client, balancer and server keep up with three
 * replicas (they are not limited).
 */
import { mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { envInt, MemoryPeak, LatencyRecorder, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";
import { clients, startProc, type Proc, type Session } from "./proxy-tools-call.js";

/** Replica counts and whether each session has a connection of its own. */
const RUNS = [
  [1, false],
  [2, false],
  [3, false],
  [1, true],
  [2, true],
  [3, true],
] as const;
/** Sessions (closed-loop callers): HANGAR_BENCH_REPLICA_SESSIONS, default 32. */
const sessionCount = (): number => envInt("HANGAR_BENCH_REPLICA_SESSIONS", 32, 1, 4096);

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const s = createServer();
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const CPU_CGROUP = "/sys/fs/cgroup/cpu";
/** CFS period of the quota (the kernel allows 1 ms to 1 s). */
const periodUs = (): number => envInt("HANGAR_BENCH_REPLICA_PERIOD_US", 100_000, 1000, 1_000_000);

/** The per-replica CPU quota asked for in HANGAR_BENCH_REPLICA_CORES (cores), or undefined. */
export function replicaCores(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env["HANGAR_BENCH_REPLICA_CORES"];
  if (raw === undefined || raw === "") return undefined;
  const cores = Number(raw);
  if (!Number.isFinite(cores) || cores < 0.01 || cores > 64)
    throw new Error(`HANGAR_BENCH_REPLICA_CORES=${raw}: a number of cores from 0.01 to 64 was expected`);
  return cores;
}

/**
 * Puts process `pid` (all its threads) in a cgroup v1 `cpu` group of its own with a quota of
 * `cores` per period (`period`, HANGAR_BENCH_REPLICA_PERIOD_US, default 100 ms; at least 1 ms
 * of quota); returns a function that removes the group once the process is gone.
 */
export function limitCpu(pid: number, cores: number, root = CPU_CGROUP, period = periodUs()): () => void {
  const dir = `${root}/hangar-bench-${process.pid}-${pid}`;
  try {
    mkdirSync(dir);
    // "r+": the kernel makes these files in a cgroup; in a plain directory they are missing.
    writeFileSync(`${dir}/cpu.cfs_period_us`, String(period), { flag: "r+" });
    writeFileSync(`${dir}/cpu.cfs_quota_us`, String(Math.max(1000, Math.round(cores * period))), {
      flag: "r+",
    });
    writeFileSync(`${dir}/cgroup.procs`, String(pid), { flag: "r+" });
  } catch (err) {
    try {
      rmdirSync(dir);
    } catch {
      // never made
    }
    throw new Error(
      `HANGAR_BENCH_REPLICA_CORES needs root and the cgroup v1 cpu controller at ${root}: ${String(err)}`,
    );
  }
  return () => {
    try {
      rmdirSync(dir);
    } catch (err) {
      process.stderr.write(`proxy/replicas: could not remove ${dir}: ${String(err)}\n`);
    }
  };
}

/** `n` calls, with as many in flight as there are sessions (each session back to back); returns ms taken. */
async function closedLoop(sessions: Session[], n: number, latency?: LatencyRecorder): Promise<number> {
  let issued = 0;
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (c) => {
      while (issued < n) {
        issued++;
        const t = now();
        await c.call({ city: "Oslo" });
        latency?.record(Number(now() - t));
      }
    }),
  );
  return performance.now() - t0;
}

export const proxyReplicas: BenchCase = {
  name: "proxy/replicas",
  description: `small tools/call closed-loop (32 sessions unless HANGAR_BENCH_REPLICA_SESSIONS says otherwise, a sixth of the events per configuration) through 1, 2 and 3 proxy replicas behind a round-robin TCP balancer; each replica, the balancer and the SDK server in processes of their own`,
  latency: "every call, send to complete answer",
  defaultEvents: 18000,
  async run(ctx: CaseContext): Promise<Measurement> {
    const cores = replicaCores();
    const concurrency = sessionCount();
    // The period is read now, so that a bad value fails before anything starts.
    const period = periodUs();
    const server = await startProc(["server"]);
    const memory = new MemoryPeak();
    const latency = new LatencyRecorder(200_000);
    const detail: Record<string, number> = {};
    const t0 = now();
    let total = 0;
    try {
      for (const [ri, [n, affine]] of RUNS.entries()) {
        const count =
          ri === RUNS.length - 1
            ? ctx.events - Math.floor(ctx.events / RUNS.length) * (RUNS.length - 1)
            : Math.floor(ctx.events / RUNS.length);
        const tag = `replicas${n}${affine ? "Affine" : ""}`;
        const ports = await freePorts(n);
        const ids = ports.map((_, i) => `r${i}`);
        const peers = ids.map((id, i) => `${id}=http://127.0.0.1:${ports[i]}`).join(",");
        const replicas: Proc[] = [];
        const unlimit: (() => void)[] = [];
        let lb: Proc | undefined;
        try {
          for (const [i, id] of ids.entries()) {
            const args = [
              "proxy",
              "--upstream",
              server.url,
              "--listen",
              `127.0.0.1:${ports[i]}`,
              "--self",
              id,
              "--peers",
              peers,
            ];
            if (i > 0) args.push("--collector", `http://127.0.0.1:${ports[0]}`);
            const r = await startProc(args);
            replicas.push(r);
            if (cores !== undefined) unlimit.push(limitCpu(r.pid, cores, undefined, period));
          }
          lb = await startProc(["lb", "--backends", ports.join(",")]);
          const sessions = await clients(lb.url, concurrency, affine);
          await closedLoop(sessions, Math.min(ctx.warmup, 300));
          for (const r of replicas) r.mark();
          server.mark();
          lb.mark();
          const cpu0 = process.cpuUsage();
          const ms = await closedLoop(sessions, count, latency);
          const calls = count;
          const reports = await Promise.all(replicas.map((r) => r.report()));
          const cpu1 = process.cpuUsage(cpu0);
          const [sr, lr] = [await server.report(), await lb.report()];
          const others = `server ${Math.round((sr["cpuUs"] ?? 0) / 1000)} ms, balancer ${Math.round((lr["cpuUs"] ?? 0) / 1000)} ms, client ${Math.round((cpu1.user + cpu1.system) / 1000)} ms CPU over ${Math.round(ms)} ms`;
          const requests = reports.map((r) => r["requests"] ?? 0);
          const perReplica = reports
            .map(
              (r, i) =>
                `r${i}: ${requests[i] ?? 0} requests, ${Math.round((r["cpuUs"] ?? 0) / 1000)} ms CPU${
                  (r["tracesReceived"] ?? 0) > 0 ? `, ${r["tracesReceived"]} traces received` : ""
                }`,
            )
            .join("; ");
          const cpuUs = reports.reduce((a, r) => a + (r["cpuUs"] ?? 0), 0);
          const forwarded = reports.reduce((a, r) => a + (r["forwarded"] ?? 0), 0);
          total += calls;
          detail[`${tag}CallsPerSec`] = Math.round(calls / (ms / 1000));
          const base = detail[affine ? "replicas1AffineCallsPerSec" : "replicas1CallsPerSec"] ?? 1;
          detail[`${tag}Ratio`] = Math.round((calls / (ms / 1000) / base) * 1000) / 1000;
          detail[`${tag}ForwardedPct`] = Math.round((forwarded / calls) * 1000) / 10;
          detail[`${tag}ProxyCpuUsPerCall`] = Math.round(cpuUs / calls);
          detail[`${tag}CollectorTraces`] = reports[0]?.["traces"] ?? 0;
          memory.sample();
          ctx.log(
            `${n} replica(s)${cores === undefined ? "" : ` of ${cores} core each`}${affine ? ", a connection per session (client affinity)" : ", shared connections"}: ${detail[`${tag}CallsPerSec`]} calls/s (×${detail[`${tag}Ratio`]}), ${detail[`${tag}ForwardedPct`]} % forwarded, ${detail[`${tag}ProxyCpuUsPerCall`]} µs proxy CPU per call (${perReplica}; ${others})`,
          );
        } finally {
          await lb?.stop();
          try {
            for (const r of replicas) await r.stop();
          } finally {
            for (const u of unlimit) u();
          }
        }
      }
    } finally {
      await server.stop();
    }
    const m: Measurement = { events: total, elapsedNs: Number(now() - t0), latency, memory };
    if (cores !== undefined) detail["replicaCores"] = cores;
    m.detail = detail;
    return m;
  },
};
