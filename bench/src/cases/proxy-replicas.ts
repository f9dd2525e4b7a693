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
 */
import { createServer } from "node:net";
import { MemoryPeak, LatencyRecorder, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";
import { clients, startProc, type Proc, type Session } from "./proxy-tools-call.js";

const WINDOW_MS = Number(process.env["HANGAR_BENCH_REPLICAS_MS"] ?? 2000);
const CONCURRENCY = 32;

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

async function closedLoop(sessions: Session[], ms: number, latency?: LatencyRecorder): Promise<number> {
  const until = performance.now() + ms;
  let calls = 0;
  await Promise.all(
    sessions.map(async (c) => {
      while (performance.now() < until) {
        const t = now();
        await c.call({ city: "Oslo" });
        latency?.record(Number(now() - t));
        calls++;
      }
    }),
  );
  return calls;
}

export const proxyReplicas: BenchCase = {
  name: "proxy/replicas",
  description: `small tools/call closed-loop (${CONCURRENCY} sessions, ${WINDOW_MS} ms) through 1, 2 and 3 proxy replicas behind a round-robin TCP balancer; each replica, the balancer and the SDK server in processes of their own`,
  latency: "calls through 3 replicas, send to complete answer",
  defaultEvents: 1,
  async run(ctx: CaseContext): Promise<Measurement> {
    const server = await startProc(["server"]);
    const memory = new MemoryPeak();
    const latency = new LatencyRecorder(200_000);
    const detail: Record<string, number> = {};
    const t0 = now();
    let total = 0;
    try {
      for (const [n, affine] of [
        [1, false],
        [2, false],
        [3, false],
        [1, true],
        [2, true],
        [3, true],
      ] as const) {
        const tag = `replicas${n}${affine ? "Affine" : ""}`;
        const ports = await freePorts(n);
        const ids = ports.map((_, i) => `r${i}`);
        const peers = ids.map((id, i) => `${id}=http://127.0.0.1:${ports[i]}`).join(",");
        const replicas: Proc[] = [];
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
          replicas.push(await startProc(args));
        }
        const lb = await startProc(["lb", "--backends", ports.join(",")]);
        try {
          const sessions = await clients(lb.url, CONCURRENCY, affine);
          await closedLoop(sessions, 300);
          for (const r of replicas) r.mark();
          const calls = await closedLoop(sessions, WINDOW_MS, n === 3 && affine ? latency : undefined);
          const reports = await Promise.all(replicas.map((r) => r.report()));
          const cpuUs = reports.reduce((a, r) => a + (r["cpuUs"] ?? 0), 0);
          const forwarded = reports.reduce((a, r) => a + (r["forwarded"] ?? 0), 0);
          total += calls;
          detail[`${tag}CallsPerSec`] = Math.round(calls / (WINDOW_MS / 1000));
          detail[`${tag}Ratio`] =
            Math.round(
              (calls /
                (WINDOW_MS / 1000) /
                (detail[affine ? "replicas1AffineCallsPerSec" : "replicas1CallsPerSec"] ?? 1)) *
                1000,
            ) / 1000;
          detail[`${tag}ForwardedPct`] = Math.round((forwarded / calls) * 1000) / 10;
          detail[`${tag}ProxyCpuUsPerCall`] = Math.round(cpuUs / calls);
          detail[`${tag}CollectorTraces`] = reports[0]?.["traces"] ?? 0;
          memory.sample();
          ctx.log(
            `${n} replica(s)${affine ? ", a connection per session (client affinity)" : ", shared connections"}: ${detail[`${tag}CallsPerSec`]} calls/s (×${detail[`${tag}Ratio`]}), ${detail[`${tag}ForwardedPct`]} % forwarded, ${detail[`${tag}ProxyCpuUsPerCall`]} µs proxy CPU per call`,
          );
        } finally {
          await lb.stop();
          for (const r of replicas) await r.stop();
        }
      }
    } finally {
      await server.stop();
    }
    const m: Measurement = { events: total, elapsedNs: Number(now() - t0), latency, memory };
    m.detail = detail;
    return m;
  },
};
