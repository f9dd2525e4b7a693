/**
 * proxy/throughput — calls/s of small tools/call through hangar's MCP proxy,
 * closed-loop at concurrency 1, 8 and 32 (that many calls always in flight
 * over as many sessions), against the same load straight to the SDK server.
 * Each level makes a third of the events on each path. The server, the proxy and the client run in separate processes on a
 * two-core machine, so calls/s through the proxy are bounded by the server
 * and the client too: `detail.proxyCallsPerCoreSec` divides the proxied calls
 * by the CPU time the proxy used, the calls one proxy core can carry.
 */
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";
import { clients, startProc, type Session } from "./proxy-tools-call.js";

const LEVELS = [1, 8, 32];

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

export const proxyThroughput: BenchCase = {
  name: "proxy/throughput",
  description: `small tools/call closed-loop at concurrency ${LEVELS.join(", ")} (a third of the events each, on each path), through hangar's MCP proxy and straight to the SDK server; calls per proxy CPU-second`,
  latency: "every proxied call, send to complete answer",
  defaultEvents: 9000,
  async run(ctx: CaseContext): Promise<Measurement> {
    const server = await startProc(["server"]);
    const proxy = await startProc(["proxy", "--upstream", server.url]);
    try {
      const memory = new MemoryPeak();
      const latency = new LatencyRecorder(100_000);
      const detail: Record<string, number> = {};
      const t0 = now();
      let total = 0;
      for (const [li, c] of LEVELS.entries()) {
        const n =
          li === LEVELS.length - 1
            ? ctx.events - Math.floor(ctx.events / LEVELS.length) * (LEVELS.length - 1)
            : Math.floor(ctx.events / LEVELS.length);
        const direct = await clients(server.url, c);
        const proxied = await clients(proxy.url, c);
        const warm = Math.min(ctx.warmup, 300);
        await closedLoop(direct, warm);
        await closedLoop(proxied, warm);
        const dMs = await closedLoop(direct, n);
        proxy.mark();
        const pMs = await closedLoop(proxied, n, latency);
        const r = await proxy.report();
        memory.sample();
        total += n;
        const cpuSec = (r["cpuUs"] ?? 0) / 1e6;
        detail[`directC${c}CallsPerSec`] = Math.round(n / (dMs / 1000));
        detail[`proxiedC${c}CallsPerSec`] = Math.round(n / (pMs / 1000));
        detail[`ratioC${c}`] = Math.round((dMs / pMs) * 1000) / 1000;
        detail[`proxyCallsPerCoreSecC${c}`] = cpuSec > 0 ? Math.round(n / cpuSec) : 0;
        ctx.log(
          `concurrency ${c}: direct ${detail[`directC${c}CallsPerSec`]} calls/s, proxied ${detail[`proxiedC${c}CallsPerSec`]} calls/s, ${detail[`proxyCallsPerCoreSecC${c}`]} calls per proxy core-second`,
        );
      }
      const m: Measurement = { events: total, elapsedNs: Number(now() - t0), latency, memory };
      m.detail = detail;
      return m;
    } finally {
      await proxy.stop();
      await server.stop();
    }
  },
};
