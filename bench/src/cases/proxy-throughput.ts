/**
 * proxy/throughput — calls/s of small tools/call through hangar's MCP proxy,
 * closed-loop at concurrency 1, 8 and 32 (that many calls always in flight
 * over as many sessions), against the same load straight to the SDK server.
 * Each level makes a third of the events on each path, in rounds where the
 * paths take turns; with HANGAR_BENCH_PROXY_MAIN another build's proxy is a
 * third path (`main…` in detail). The server, the proxy and the client run in separate processes on a
 * two-core machine, so calls/s through the proxy are bounded by the server
 * and the client too: `detail.proxyCallsPerCoreSec` divides the proxied calls
 * by the CPU time the proxy used, the calls one proxy core can carry.
 */
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";
import { loadavg } from "node:os";
import { clients, mainProcs, startProc, type Session } from "./proxy-tools-call.js";

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

/** Rounds per level: the paths take turns, so a burst of load elsewhere hits each about equally. */
const ROUNDS = 3;

export const proxyThroughput: BenchCase = {
  name: "proxy/throughput",
  description: `small tools/call closed-loop at concurrency ${LEVELS.join(", ")} (a third of the events each, on each path, in ${ROUNDS} rounds taking turns), through hangar's MCP proxy (with HANGAR_BENCH_PROXY_MAIN, another build's proxy too) and straight to the SDK server; calls per proxy CPU-second`,
  latency: "every proxied call, send to complete answer",
  defaultEvents: 9000,
  async run(ctx: CaseContext): Promise<Measurement> {
    const server = await startProc(["server"]);
    const proxy = await startProc(["proxy", "--upstream", server.url]);
    const other = mainProcs();
    const main =
      other === undefined ? undefined : await startProc(["proxy", "--upstream", server.url], other);
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
        const viaMain = main === undefined ? undefined : await clients(main.url, c);
        const warm = Math.min(ctx.warmup, 300);
        await closedLoop(direct, warm);
        await closedLoop(proxied, warm);
        if (viaMain !== undefined) await closedLoop(viaMain, warm);
        let dMs = 0;
        let pMs = 0;
        let oMs = 0;
        let pCpu = 0;
        let oCpu = 0;
        for (let r = 0; r < ROUNDS; r++) {
          const k = r === ROUNDS - 1 ? n - Math.floor(n / ROUNDS) * (ROUNDS - 1) : Math.floor(n / ROUNDS);
          const steps: (() => Promise<void>)[] = [
            async () => void (dMs += await closedLoop(direct, k)),
            async () => {
              proxy.mark();
              pMs += await closedLoop(proxied, k, latency);
              pCpu += (await proxy.report())["cpuUs"] ?? 0;
            },
          ];
          if (main !== undefined && viaMain !== undefined)
            steps.push(async () => {
              main.mark();
              oMs += await closedLoop(viaMain, k);
              oCpu += (await main.report())["cpuUs"] ?? 0;
            });
          for (let i = 0; i < steps.length; i++)
            await (steps[(r + i) % steps.length] as () => Promise<void>)();
        }
        memory.sample();
        total += n;
        detail[`directC${c}CallsPerSec`] = Math.round(n / (dMs / 1000));
        detail[`proxiedC${c}CallsPerSec`] = Math.round(n / (pMs / 1000));
        detail[`ratioC${c}`] = Math.round((dMs / pMs) * 1000) / 1000;
        detail[`proxyCallsPerCoreSecC${c}`] = pCpu > 0 ? Math.round(n / (pCpu / 1e6)) : 0;
        detail[`proxyCpuUsPerCallC${c}`] = Math.round(pCpu / n);
        let line = `concurrency ${c}: direct ${detail[`directC${c}CallsPerSec`]} calls/s, proxied ${detail[`proxiedC${c}CallsPerSec`]} calls/s, ${detail[`proxyCallsPerCoreSecC${c}`]} calls per proxy core-second`;
        if (main !== undefined) {
          detail[`mainC${c}CallsPerSec`] = Math.round(n / (oMs / 1000));
          detail[`mainRatioC${c}`] = Math.round((dMs / oMs) * 1000) / 1000;
          detail[`mainProxyCpuUsPerCallC${c}`] = Math.round(oCpu / n);
          line += `; other build ${detail[`mainC${c}CallsPerSec`]} calls/s, ${detail[`mainProxyCpuUsPerCallC${c}`]} µs CPU per call (this build ${detail[`proxyCpuUsPerCallC${c}`]})`;
        }
        ctx.log(line);
      }
      detail["loadAverage1m"] = Math.round((loadavg()[0] ?? 0) * 100) / 100;
      const m: Measurement = { events: total, elapsedNs: Number(now() - t0), latency, memory };
      m.detail = detail;
      return m;
    } finally {
      await main?.stop();
      await proxy.stop();
      await server.stop();
    }
  },
};
