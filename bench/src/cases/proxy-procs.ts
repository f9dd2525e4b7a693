/**
 * The processes of proxy/tools-call, so that the MCP server, the proxy and the
 * load generator each have their own event loop (as they do in a cluster):
 *
 *   node proxy-procs.js server                 an SDK MCP server (tool "echo")
 *   node proxy-procs.js proxy --upstream URL   hangar's MCP proxy in front of it,
 *                                              with a subscriber draining its call
 *                                              traces (as the agent hub will);
 *     [--listen H:P --self ID --peers ID=URL,… [--collector URL]]  as one of several replicas
 *   node proxy-procs.js lb --backends P1,P2,…  a round-robin TCP balancer over those ports
 *
 * Each prints `{"ready":true,"url":…}` when listening; `report` on stdin prints
 * `{"cpuUs":…,"userUs":…,"sysUs":…,"loopDelayP99Us":…,"gcMs":…,"traces":…,"dropped":…}`
 * (since `mark`); it stops when stdin ends.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { startProxy } from "@hangar/controller";
import { envInt } from "../harness.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  isInitializeRequest,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

/** A response body of about `n` bytes (cached per size: the bench measures transport, not generation). */
const blobs = new Map<number, string>();
function blobText(n: number): string {
  let t = blobs.get(n);
  if (t === undefined) {
    t = "0123456789abcdef".repeat(Math.ceil(n / 16)).slice(0, n);
    blobs.set(n, t);
  }
  return t;
}

async function startServer(): Promise<{ url: string; stats: () => Record<string, number> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const sid = req.headers["mcp-session-id"];
    if (req.method !== "POST") {
      const t = typeof sid === "string" ? sessions.get(sid) : undefined;
      if (t === undefined) res.writeHead(405).end();
      else await t.handleRequest(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const known = typeof sid === "string" ? sessions.get(sid) : undefined;
    if (known !== undefined) {
      await known.handleRequest(req, res, body);
      return;
    }
    if (!isInitializeRequest(body)) {
      res.writeHead(400).end();
      return;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    const server = new Server({ name: "bench-echo", version: "1.0.0" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [
        { name: "echo", inputSchema: { type: "object" as const, properties: {} } },
        { name: "blob", inputSchema: { type: "object" as const, properties: { bytes: { type: "number" } } } },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, (r) => {
      if (r.params.name === "blob") {
        const n = Number(r.params.arguments?.["bytes"] ?? 0);
        return { content: [{ type: "text" as const, text: blobText(n) }] };
      }
      return { content: [{ type: "text" as const, text: JSON.stringify(r.params.arguments ?? {}) }] };
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    stats: () => ({ traces: 0, dropped: 0 }),
  };
}

async function startProxyRole(
  upstream: string,
  replica?: { listen: string; self: string; peers: Record<string, string>; collector?: string },
): Promise<{ url: string; stats: () => Record<string, number> }> {
  const running = await startProxy({
    config: {
      listen: replica?.listen ?? values.listen ?? "127.0.0.1:0",
      providers: [{ provider: "bench", namespace: "mcp", service: "bench" }],
      staticEndpoints: { bench: [{ url: upstream, pod: "bench-0", namespace: "mcp", node: "node-a" }] },
      ...(replica === undefined
        ? {}
        : {
            replicas: {
              self: replica.self,
              token: "bench-replicas-token",
              peers: replica.peers,
              ...(replica.collector === undefined ? {} : { collector: replica.collector }),
            },
          }),
    },
  });
  let traces = 0;
  const ac = new AbortController();
  void (async () => {
    // The traces this replica delivers (its own, and with replicas those handed to it).
    for await (const t of running.routed.subscribe(ac.signal)) if (t.spanId !== "") traces++;
  })();
  return {
    url: `${running.url}/mcp/bench`,
    stats: () => ({
      traces,
      dropped: running.proxy.feed.dropped,
      forwarded: running.proxy.stats.get("requests_forwarded", { provider: "bench" }),
      requests: running.proxy.stats.get("http_requests"),
      tracesReceived: running.proxy.stats.get("traces_received"),
    }),
  };
}

/** A TCP balancer: each new connection goes to the next backend in turn (an L4 load balancer). */
async function startBalancer(
  backends: number[],
): Promise<{ url: string; stats: () => Record<string, number> }> {
  let next = 0;
  let connections = 0;
  const server = createNetServer((client) => {
    const up = netConnect(backends[next++ % backends.length] as number, "127.0.0.1");
    connections++;
    client.setNoDelay(true);
    up.setNoDelay(true);
    client.pipe(up).pipe(client);
    const end = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on("error", end);
    up.on("error", end);
    client.on("close", end);
    up.on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp/bench`,
    stats: () => ({ connections }),
  };
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    upstream: { type: "string" },
    listen: { type: "string" },
    self: { type: "string" },
    peers: { type: "string" },
    collector: { type: "string" },
    backends: { type: "string" },
  },
});
const role = positionals[0];
let started: { url: string; stats: () => Record<string, number> };
if (role === "server") started = await startServer();
else if (role === "proxy" && values.upstream !== undefined)
  started = await startProxyRole(
    values.upstream,
    values.self === undefined || values.listen === undefined
      ? undefined
      : {
          listen: values.listen,
          self: values.self,
          peers: Object.fromEntries(
            (values.peers ?? "").split(",").map((p) => p.split("=") as [string, string]),
          ),
          ...(values.collector === undefined ? {} : { collector: values.collector }),
        },
  );
else if (role === "lb" && values.backends !== undefined)
  started = await startBalancer(values.backends.split(",").map(Number));
else {
  process.stderr.write("usage: proxy-procs server | proxy --upstream URL\n");
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ ready: true, url: started.url, pid: process.pid })}\n`);
let cpu = process.cpuUsage();
// Where a tail can come from inside this process: event-loop stalls and GC pauses.
// Sampled every HANGAR_BENCH_LOOP_RESOLUTION_MS (default 20; it was 1): a 1 ms timer wakes each
// process 1,000 times a second, work the proxy's CPU per call then includes; a stall is still seen
// whole (the timer's lateness is measured).
const LOOP_RESOLUTION_MS = envInt("HANGAR_BENCH_LOOP_RESOLUTION_MS", 20, 1, 10_000);
const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
/** The histogram holds the time between samples: the delay is what exceeds the resolution (µs). */
const delayUs = (ns: number): number => Math.max(0, ns / 1000 - LOOP_RESOLUTION_MS * 1000);
loop.enable();
let gcMs = 0;
let gcMaxMs = 0;
let gcs = 0;
/** perf_hooks' gc entry kinds. */
const GC_KINDS = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" };
/** Collections by kind, and the longest of each. */
let gcKinds: Record<string, number> = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
    gcs++;
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
    const name = (GC_KINDS as Record<number, string | undefined>)[kind] ?? `kind${kind}`;
    gcKinds[`gc_${name}`] = (gcKinds[`gc_${name}`] ?? 0) + 1;
    gcKinds[`gc_${name}_maxMs`] = Math.max(
      gcKinds[`gc_${name}_maxMs`] ?? 0,
      Math.round(e.duration * 10) / 10,
    );
  }
}).observe({ entryTypes: ["gc"] });
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line === "mark") {
    cpu = process.cpuUsage();
    loop.reset();
    gcMs = gcMaxMs = gcs = 0;
    gcKinds = {};
  }
  if (line === "report") {
    const used = process.cpuUsage(cpu);
    const r = (x: number): number => Math.round(x * 10) / 10;
    process.stdout.write(
      `${JSON.stringify({
        cpuUs: used.user + used.system,
        userUs: used.user,
        sysUs: used.system,
        loopDelayP99Us: r(delayUs(loop.percentile(99))),
        loopDelayMaxUs: r(delayUs(loop.max)),
        gcCount: gcs,
        gcMs: r(gcMs),
        gcMaxMs: r(gcMaxMs),
        ...gcKinds,
        heapUsedMiB: r(process.memoryUsage().heapUsed / 1048576),
        ...started.stats(),
      })}\n`,
    );
  }
});
lines.on("close", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
