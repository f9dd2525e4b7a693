/**
 * proxy/throughput — calls/s of small tools/call through hangar's MCP proxy,
 * closed-loop at concurrency 1, 8 and 32 (that many calls always in flight
 * over as many sessions), against the same load straight to the SDK server.
 * The server, the proxy and the client run in separate processes on a
 * two-core machine, so calls/s through the proxy are bounded by the server
 * and the client too: `detail.proxyCallsPerCoreSec` divides the proxied calls
 * by the CPU time the proxy used, the calls one proxy core can carry.
 */
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";
import { clients, startProc, type Session } from "./proxy-tools-call.js";

const LEVELS = [1, 8, 32];
const WINDOW_MS = Number(process.env["HANGAR_BENCH_THROUGHPUT_MS"] ?? 1500);

/** `concurrency` loops calling back to back for `ms`; returns calls made. */
async function closedLoop(
  sessions: Session[],
  ms: number,
  latency: LatencyRecorder | undefined,
): Promise<number> {
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

export const proxyThroughput: BenchCase = {
  name: "proxy/throughput",
  description: `small tools/call closed-loop at concurrency ${LEVELS.join(", ")} (${WINDOW_MS} ms each), through hangar's MCP proxy and straight to the SDK server; calls per proxy CPU-second`,
  latency: "proxied calls at concurrency 8, send to complete answer",
  defaultEvents: 1,
  async run(ctx: CaseContext): Promise<Measurement> {
    const server = await startProc(["server"]);
    const proxy = await startProc(["proxy", "--upstream", server.url]);
    try {
      const memory = new MemoryPeak();
      const latency = new LatencyRecorder(100_000);
      const detail: Record<string, number> = {};
      const t0 = now();
      let total = 0;
      for (const c of LEVELS) {
        const direct = await clients(server.url, c);
        const proxied = await clients(proxy.url, c);
        await closedLoop(direct, 200, undefined);
        await closedLoop(proxied, 200, undefined);
        const d = await closedLoop(direct, WINDOW_MS, undefined);
        proxy.mark();
        const p = await closedLoop(proxied, WINDOW_MS, c === 8 ? latency : undefined);
        const r = await proxy.report();
        memory.sample();
        total += p;
        const cpuSec = (r["cpuUs"] ?? 0) / 1e6;
        detail[`directC${c}CallsPerSec`] = Math.round(d / (WINDOW_MS / 1000));
        detail[`proxiedC${c}CallsPerSec`] = Math.round(p / (WINDOW_MS / 1000));
        detail[`ratioC${c}`] = Math.round((p / d) * 1000) / 1000;
        detail[`proxyCallsPerCoreSecC${c}`] = cpuSec > 0 ? Math.round(p / cpuSec) : 0;
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
