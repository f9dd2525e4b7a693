/**
 * proxy/large-response — the time hangar's MCP proxy adds to a large tools/call
 * answer (1 MiB and 4 MiB of text): the SDK server and the proxy in child
 * processes (proxy-procs.ts), one call at a time, direct and proxied calls
 * alternating so both see the same machine state. Each answer is timed from
 * send to its last byte in the client; `detail` has the medians per size and
 * the added time as a share of the direct one (goal < 20 %). With
 * HANGAR_BENCH_PROXY_MAIN, another build's proxy runs too, its answers
 * interleaved with the others (`main…` in detail): before and after in one run.
 */
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";
import { clients, mainProcs, startProc, type Session } from "./proxy-tools-call.js";

const SIZES = [1024 * 1024, 4 * 1024 * 1024];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function timed(c: Session, bytes: number): Promise<number> {
  const t = now();
  await c.call({ bytes }, "blob");
  return Number(now() - t) / 1e6;
}

export const proxyLargeResponse: BenchCase = {
  name: "proxy/large-response",
  description:
    "tools/call answers of 1 MiB and 4 MiB through hangar's MCP proxy vs straight to the SDK server, one at a time, alternating (with HANGAR_BENCH_PROXY_MAIN, another build's proxy too); server, proxies and client in separate processes",
  latency: "each 4 MiB proxied answer from send to its last byte (per-size medians in detail)",
  defaultEvents: 40,
  async run(ctx: CaseContext): Promise<Measurement> {
    const server = await startProc(["server"]);
    const proxy = await startProc(["proxy", "--upstream", server.url]);
    const other = mainProcs();
    const main =
      other === undefined ? undefined : await startProc(["proxy", "--upstream", server.url], other);
    try {
      const memory = new MemoryPeak();
      const [direct] = await clients(server.url, 1);
      const [proxied] = await clients(proxy.url, 1);
      const [viaMain] = main === undefined ? [undefined] : await clients(main.url, 1);
      if (direct === undefined || proxied === undefined) throw new Error("no client");
      for (let i = 0; i < 4; i++)
        for (const size of SIZES) {
          await timed(direct, size);
          await timed(proxied, size);
          if (viaMain !== undefined) await timed(viaMain, size);
        }
      const latency = new LatencyRecorder(ctx.events);
      const detail: Record<string, number> = {};
      const t0 = now();
      let calls = 0;
      for (const size of SIZES) {
        const d: number[] = [];
        const p: number[] = [];
        const o: number[] = [];
        const n = Math.max(4, Math.round(ctx.events / SIZES.length));
        proxy.mark();
        main?.mark();
        for (let i = 0; i < n; i++) {
          // Each path first in turn, so none always follows the same one.
          const order: (() => Promise<void>)[] = [
            async () => void d.push(await timed(direct, size)),
            async () => {
              const ms = await timed(proxied, size);
              p.push(ms);
              if (size === SIZES[SIZES.length - 1]) latency.record(ms * 1e6);
            },
          ];
          if (viaMain !== undefined) order.push(async () => void o.push(await timed(viaMain, size)));
          for (let k = 0; k < order.length; k++)
            await (order[(i + k) % order.length] as () => Promise<void>)();
          calls++;
          memory.sample();
        }
        const cpu = (await proxy.report())["cpuUs"] ?? 0;
        const mib = size / (1024 * 1024);
        const dm = median(d);
        const pm = median(p);
        detail[`direct${mib}MiBMs`] = Math.round(dm * 10) / 10;
        detail[`proxied${mib}MiBMs`] = Math.round(pm * 10) / 10;
        detail[`added${mib}MiBMs`] = Math.round((pm - dm) * 10) / 10;
        detail[`added${mib}MiBPct`] = Math.round(((pm - dm) / dm) * 1000) / 10;
        // The proxy's CPU per answer: what it adds at least, whatever else runs on the machine.
        detail[`proxyCpu${mib}MiBMs`] = Math.round(cpu / n / 100) / 10;
        let line = `${mib} MiB: direct ${dm.toFixed(1)} ms, proxied ${pm.toFixed(1)} ms (+${(((pm - dm) / dm) * 100).toFixed(1)} %), proxy CPU ${(cpu / n / 1000).toFixed(1)} ms per answer`;
        if (main !== undefined) {
          const mcpu = (await main.report())["cpuUs"] ?? 0;
          const om = median(o);
          detail[`main${mib}MiBMs`] = Math.round(om * 10) / 10;
          detail[`mainAdded${mib}MiBPct`] = Math.round(((om - dm) / dm) * 1000) / 10;
          detail[`mainProxyCpu${mib}MiBMs`] = Math.round(mcpu / n / 100) / 10;
          line += `; other build: ${om.toFixed(1)} ms (+${(((om - dm) / dm) * 100).toFixed(1)} %), CPU ${(mcpu / n / 1000).toFixed(1)} ms`;
        }
        ctx.log(line);
      }
      const m: Measurement = { events: calls, elapsedNs: Number(now() - t0), latency, memory };
      m.detail = detail;
      return m;
    } finally {
      await main?.stop();
      await proxy.stop();
      await server.stop();
    }
  },
};
