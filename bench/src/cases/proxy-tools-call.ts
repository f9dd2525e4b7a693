/**
 * proxy/tools-call — the latency hangar's MCP proxy adds to a tools/call. An
 * SDK MCP server and the proxy run in child processes of their own; this
 * process is the load generator: official SDK clients (4 sessions) calling the
 * tool "echo" open-loop at a fixed rate (default 500 calls/s) through the
 * proxy, with a direct call to the server half an interval after every 4th
 * proxied one (`HANGAR_BENCH_PROXY_DIRECT_EVERY`), so both paths are sampled
 * in the same moments while the server takes only 25 % more calls; or, with
 * HANGAR_BENCH_PROXY_MODE=blocks, alternating one-second blocks. The
 * result's p50/p99 are the proxied calls; `detail` has the direct ones and the
 * differences (the latency the proxy adds), the proxy's CPU per call (user and
 * system), the load average, and the call traces it published (drained by a
 * subscriber, as the agent hub will).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { loadavg } from "node:os";
import { envInt, LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";

const PROCS = fileURLToPath(new URL("./proxy-procs.js", import.meta.url));

/**
 * Another build's checkout (HANGAR_BENCH_PROXY_MAIN, e.g. main's, built): proxy/large-response and
 * proxy/throughput then run its proxy too, next to this build's and in the same moments, so a
 * before/after comparison comes from one run.
 */
export const PROXY_MAIN = process.env["HANGAR_BENCH_PROXY_MAIN"];

/** proxy-procs.js of the other build (PROXY_MAIN), when one is given. */
export function mainProcs(): string | undefined {
  return PROXY_MAIN === undefined || PROXY_MAIN === ""
    ? undefined
    : join(PROXY_MAIN, "bench", "dist", "src", "cases", "proxy-procs.js");
}
const RATE = Number(process.env["HANGAR_BENCH_PROXY_RATE"] ?? 500);
const SESSIONS = 4;
/** `interleaved` (default): proxied and direct calls alternate; `blocks`: alternating one-second blocks. */
const MODE = process.env["HANGAR_BENCH_PROXY_MODE"] === "blocks" ? "blocks" : "interleaved";
/**
 * Calls on each path before measuring (HANGAR_BENCH_PROXY_WARMUP, default 2,000: 4 s at 500/s). With
 * 250 (before session 25), the first ~70 ms measured took 20–38 ms per call on both paths: ~40
 * calls, most of a 5,000-call run's top 1 %, so p99 measured the start, not the steady state.
 */
const warmupCalls = (): number => envInt("HANGAR_BENCH_PROXY_WARMUP", 2000, 1, 10_000_000);
/** Interleaved: one direct call after every this many proxied calls. */
const DIRECT_EVERY = Math.max(1, Number(process.env["HANGAR_BENCH_PROXY_DIRECT_EVERY"] ?? 4));

export interface Proc {
  url: string;
  /** The child's process id. */
  pid: number;
  report(): Promise<Record<string, number>>;
  mark(): void;
  stop(): Promise<void>;
}

/**
 * The child's protocol lines (JSON, one per request) in order; any other output (e.g. `--trace-gc`
 * from HANGAR_BENCH_PROXY_NODE_FLAGS) goes to this process's stderr, whenever it comes.
 */
function protocolLines(
  lines: Interface,
  child: ChildProcessByStdio<Writable, Readable, null>,
): () => Promise<string> {
  const waiting: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let exited: Error | undefined;
  lines.on("line", (line) => {
    if (!line.startsWith("{")) process.stderr.write(`${line}\n`);
    else waiting.shift()?.resolve(line);
  });
  child.once("exit", (code) => {
    exited = new Error(`proxy-procs child exited (code ${code ?? "signal"}) before answering`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  return () =>
    exited !== undefined
      ? Promise.reject(exited)
      : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
}

/**
 * Node flags for the proxy processes only (HANGAR_BENCH_PROXY_NODE_FLAGS, e.g. `--trace-gc` or
 * `--cpu-prof`) and for the MCP server only (HANGAR_BENCH_SERVER_NODE_FLAGS), after this process's
 * own; the balancer gets this process's flags.
 */
const nodeFlags = (name: string): string[] => (process.env[name] ?? "").split(/\s+/).filter((f) => f !== "");
const ROLE_NODE_FLAGS: Record<string, string[]> = {
  proxy: nodeFlags("HANGAR_BENCH_PROXY_NODE_FLAGS"),
  server: nodeFlags("HANGAR_BENCH_SERVER_NODE_FLAGS"),
};

/**
 * CPUs for the proxy processes (HANGAR_BENCH_PROXY_CPUS) and the MCP server (HANGAR_BENCH_SERVER_CPUS),
 * as `taskset -c` lists: e.g. the proxy on a core of its own, as a pod with its own CPU has, while
 * the server and the load generator (run it under `taskset -c 0`) share the other.
 */
const ROLE_CPUS: Record<string, string | undefined> = {
  proxy: process.env["HANGAR_BENCH_PROXY_CPUS"],
  server: process.env["HANGAR_BENCH_SERVER_CPUS"],
};

export async function startProc(args: string[], procs = PROCS): Promise<Proc> {
  const flags = [
    ...process.execArgv.filter((a) => a !== "--expose-gc"),
    ...(ROLE_NODE_FLAGS[args[0] ?? ""] ?? []),
  ];
  const cpus = ROLE_CPUS[args[0] ?? ""];
  const argv = [...flags, procs, ...args];
  const child =
    cpus === undefined || cpus === ""
      ? spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"] })
      : spawn("taskset", ["-c", cpus, process.execPath, ...argv], { stdio: ["pipe", "pipe", "inherit"] });
  const nextLine = protocolLines(createInterface({ input: child.stdout }), child);
  const ready = JSON.parse(await nextLine()) as { ready: boolean; url: string };
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url: ready.url,
    pid: child.pid ?? 0,
    mark: () => child.stdin.write("mark\n"),
    async report() {
      const answer = nextLine();
      child.stdin.write("report\n");
      return JSON.parse(await answer) as Record<string, number>;
    },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * A lean Streamable HTTP client (keep-alive node:http, JSON-RPC by hand): the
 * SDK client costs about a millisecond of CPU per call, which on two cores would
 * measure the load generator instead of the proxy. The tests use the SDK client.
 */
export class Session {
  #id = "";
  #next = 1;
  constructor(
    readonly url: URL,
    readonly agent: Agent,
  ) {}

  post(body: unknown): Promise<{ status: number; text: string; sessionId: string | undefined }> {
    const data = JSON.stringify(body);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "content-length": String(Buffer.byteLength(data)),
      "mcp-protocol-version": "2025-06-18",
    };
    if (this.#id !== "") headers["mcp-session-id"] = this.#id;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          hostname: this.url.hostname,
          port: this.url.port,
          path: this.url.pathname,
          method: "POST",
          agent: this.agent,
          headers,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => {
            const sid = res.headers["mcp-session-id"];
            resolve({
              status: res.statusCode ?? 0,
              text,
              sessionId: typeof sid === "string" ? sid : undefined,
            });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  }

  async open(): Promise<void> {
    const r = await this.post({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bench", version: "1.0.0" },
      },
    });
    if (r.status !== 200 || r.sessionId === undefined)
      throw new Error(`initialize failed: HTTP ${r.status} ${r.text}`);
    this.#id = r.sessionId;
    await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  async call(args: Record<string, unknown>, tool = "echo"): Promise<number> {
    const id = this.#next++;
    const r = await this.post({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: tool, arguments: args },
    });
    if (r.status !== 200 || !r.text.includes('"result"'))
      throw new Error(`tools/call failed: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    return r.text.length;
  }
}

/** `sessions` sessions on one keep-alive pool, or (`ownConnection`) each on a connection of its own. */
export async function clients(url: string, sessions = SESSIONS, ownConnection = false): Promise<Session[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const list = Array.from(
    { length: sessions },
    () => new Session(new URL(url), ownConnection ? new Agent({ keepAlive: true, maxSockets: 1 }) : agent),
  );
  await Promise.all(list.map((c) => c.open()));
  return list;
}

/**
 * HANGAR_BENCH_PROXY_CALL_LOG=FILE: every measured call as a line "<ms since the case started,
 * when it was due> proxied|direct <µs>", to see when the slow ones happen.
 */
const LOG_T0 = performance.now();
const CALL_LOG_FILE = process.env["HANGAR_BENCH_PROXY_CALL_LOG"];
const CALL_LOG: string[] | undefined = CALL_LOG_FILE === undefined || CALL_LOG_FILE === "" ? undefined : [];

/** One path of calls: its clients and where its latencies go. */
interface Path {
  name: "proxied" | "direct";
  clients: Session[];
  latency: LatencyRecorder | undefined;
}

/**
 * `n` calls on `main`, open-loop at RATE calls/s over its sessions; with
 * `sample`, one call on that path after every `every`-th main call, half an
 * interval later, so both paths see the same machine state while the server
 * takes only RATE × (1 + 1/every) calls/s. Latency of each call from its send
 * to its complete answer. Returns the elapsed ms.
 */
async function drive(
  main: Path,
  sample: Path | undefined,
  every: number,
  n: number,
  memory: MemoryPeak,
): Promise<number> {
  const interval = 1000 / RATE;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  let sampled = 0;
  const fire = async (path: Path, i: number, due: number): Promise<void> => {
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const c = path.clients[i % path.clients.length] as Session;
    const latency = path.latency;
    const start = now();
    inflight.push(
      c.call({ city: "Oslo", i }).then(() => {
        const ns = Number(now() - start);
        latency?.record(ns);
        if (latency !== undefined && CALL_LOG !== undefined)
          CALL_LOG.push(`${Math.round(due - LOG_T0)} ${path.name} ${Math.round(ns / 1000)}`);
      }),
    );
  };
  for (let i = 0; i < n; i++) {
    await fire(main, i, t0 + i * interval);
    if (sample !== undefined && i % every === every - 1)
      await fire(sample, sampled++, t0 + (i + 0.5) * interval);
    if (i % 256 === 0) memory.sample();
  }
  await Promise.all(inflight);
  return performance.now() - t0;
}

export const proxyToolsCall: BenchCase = {
  name: "proxy/tools-call",
  description: `tools/call through hangar's MCP proxy vs straight to the SDK server, each open-loop at ${RATE} calls/s over ${SESSIONS} sessions (a lean HTTP client), ${MODE === "blocks" ? "in alternating one-second blocks" : `interleaved (a direct call after every ${DIRECT_EVERY} proxied)`}; server, proxy and clients in separate processes`,
  latency:
    "every call timed from send to complete answer in the client; the same client on both paths, so the difference is the proxy's",
  defaultEvents: 1000,
  async run(ctx: CaseContext): Promise<Measurement> {
    const server = await startProc(["server"]);
    const proxy = await startProc(["proxy", "--upstream", server.url]);
    try {
      const memory = new MemoryPeak();
      const direct = new LatencyRecorder(ctx.events);
      const proxied = new LatencyRecorder(ctx.events);
      const directClients = await clients(server.url);
      const proxiedClients = await clients(proxy.url);
      const proxiedPath: Path = { name: "proxied", clients: proxiedClients, latency: proxied };
      const directPath: Path = { name: "direct", clients: directClients, latency: direct };
      const warm = Math.min(ctx.warmup, warmupCalls());
      await drive(
        { name: "proxied", clients: proxiedClients, latency: undefined },
        { name: "direct", clients: directClients, latency: undefined },
        1,
        warm,
        memory,
      );
      proxy.mark();
      let ms = 0;
      let elapsedNs = 0;
      if (MODE === "blocks") {
        // Alternating one-second blocks (direct, then proxied): the server sees RATE calls/s.
        for (let done = 0; done < ctx.events; done += RATE) {
          const n = Math.min(RATE, ctx.events - done);
          await drive(directPath, undefined, 1, n, memory);
          const start = now();
          ms += await drive(proxiedPath, undefined, 1, n, memory);
          elapsedNs += Number(now() - start);
        }
      } else {
        const start = now();
        ms = await drive(proxiedPath, directPath, DIRECT_EVERY, ctx.events, memory);
        elapsedNs = Number(now() - start);
      }
      const p = await proxy.report();
      if (CALL_LOG !== undefined && CALL_LOG_FILE !== undefined)
        writeFileSync(CALL_LOG_FILE, `${CALL_LOG.join("\n")}\n`);
      const us = (r: LatencyRecorder, q: number): number => Math.round(r.percentile(q) / 100) / 10;
      ctx.log(
        `direct p50 ${us(direct, 50)} µs p99 ${us(direct, 99)} µs; proxied p50 ${us(proxied, 50)} µs p99 ${us(proxied, 99)} µs; achieved ${Math.round((ctx.events / ms) * 1000)} calls/s`,
      );
      const m: Measurement = { events: ctx.events, elapsedNs, latency: proxied, memory };
      m.detail = {
        rate: RATE,
        mode: MODE === "blocks" ? "blocks" : `interleaved, 1 direct per ${DIRECT_EVERY}`,
        sessions: SESSIONS,
        directP50Us: us(direct, 50),
        directP99Us: us(direct, 99),
        addedP50Us: Math.round((us(proxied, 50) - us(direct, 50)) * 10) / 10,
        addedP99Us: Math.round((us(proxied, 99) - us(direct, 99)) * 10) / 10,
        proxyCpuUsPerCall: Math.round(((p["cpuUs"] ?? 0) / ctx.events) * 10) / 10,
        proxyUserUsPerCall: Math.round(((p["userUs"] ?? 0) / ctx.events) * 10) / 10,
        proxySysUsPerCall: Math.round(((p["sysUs"] ?? 0) / ctx.events) * 10) / 10,
        proxyLoopDelayP99Us: p["loopDelayP99Us"] ?? 0,
        proxyLoopDelayMaxUs: p["loopDelayMaxUs"] ?? 0,
        proxyGcCount: p["gcCount"] ?? 0,
        proxyGcMs: p["gcMs"] ?? 0,
        proxyGcMaxMs: p["gcMaxMs"] ?? 0,
        proxyHeapUsedMiB: p["heapUsedMiB"] ?? 0,
        // Collections by kind and the longest of each (gc_minor, gc_major_maxMs, …).
        ...Object.fromEntries(
          Object.entries(p)
            .filter(([k]) => k.startsWith("gc_"))
            .map(([k, v]) => [
              `proxyGc${k[3]?.toUpperCase() ?? ""}${k.slice(4).replace(/_maxMs$/, "MaxMs")}`,
              v,
            ]),
        ),
        loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
        tracesPublished: p["traces"] ?? 0,
        tracesDropped: p["dropped"] ?? 0,
      };
      return m;
    } finally {
      await proxy.stop();
      await server.stop();
    }
  },
};
