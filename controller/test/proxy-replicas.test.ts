/**
 * Scale-out: three proxy replicas behind one address (a round-robin TCP balancer
 * on loopback, one connection to the next replica), the collector in this process and
 * two as `hangar-controller proxy` processes. A session lives on the replica that opened
 * it; a request landing on another is forwarded to it (POST, the standalone GET with the
 * server's sampling request on it, a resumption with Last-Event-ID, DELETE). Every call
 * trace reaches the collector (the leader) once; a replica stopped with SIGTERM hands off
 * every trace it published before it exits, and its sessions then answer -32017.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as netConnect, createServer as createNetServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { hangar } from "@hangar/proto";
import { freePorts, waitFor } from "@hangar/testkit";
import { startConformanceServer, textOf, type ConformanceServer } from "@hangar/testkit/mcp";
import { RpcCode } from "../src/proxy/errors.js";
import { startProxy, type ProxyConfig, type RunningProxy } from "../src/proxy/serve.js";
import { post } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const TOKEN = "replicas-shared-token-for-the-test";
const IDS = ["r0", "r1", "r2"] as const;

/** A TCP balancer: each new connection goes to the next backend in turn. */
async function balancer(
  ports: () => number[],
): Promise<{ url: string; server: NetServer; connections: number }> {
  let next = 0;
  const state = { connections: 0 };
  const server = createNetServer((client) => {
    const list = ports();
    const port = list[next++ % list.length] as number;
    state.connections++;
    const up = netConnect(port, "127.0.0.1");
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
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    get connections() {
      return state.connections;
    },
  };
}

function startReplicaProcess(config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, "proxy", "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not listen:\n${log}`)), 20_000);
    const onData = (s: string): void => {
      log += s;
      if (log.includes('"MCP proxy listening"')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.stderr?.setEncoding("utf8").on("data", onData);
    child.once("exit", (code) => reject(new Error(`replica exited ${String(code)}:\n${log}`)));
  });
}

async function samplingClient(
  url: URL,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(url);
  const client = new Client({ name: "replicas", version: "1" }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: "assistant",
    model: "m",
    content: { type: "text", text: "sampled" },
  }));
  await client.connect(transport);
  return { client, transport };
}

describe("proxy scale-out: three replicas behind one address", () => {
  let pod: ConformanceServer;
  let dir: string;
  let ports: number[];
  let leader: RunningProxy;
  const children = new Map<string, ChildProcess>();
  let lb: Awaited<ReturnType<typeof balancer>>;
  const routed: hangar.CallTrace[] = [];
  const ac = new AbortController();
  let alive: string[] = [...IDS];

  const config = (self: string): ProxyConfig => ({
    listen: `127.0.0.1:${ports[IDS.indexOf(self as (typeof IDS)[number])]}`,
    providers: [{ provider: "reference", namespace: "mcp", service: "reference" }],
    staticEndpoints: { reference: [{ url: pod.url, pod: "reference-0", namespace: "mcp", node: "node-a" }] },
    replicas: {
      self,
      token: TOKEN,
      peers: Object.fromEntries(IDS.map((id, i) => [id, `http://127.0.0.1:${ports[i]}`])),
      ...(self === "r0" ? {} : { collector: `http://127.0.0.1:${ports[0]}` }),
    },
  });

  before(async () => {
    pod = await startConformanceServer({ retryMs: 50 });
    dir = await mkdtemp(join(tmpdir(), "hangar-replicas-"));
    ports = await freePorts(3);
    leader = await startProxy({ config: config("r0") });
    void (async () => {
      for await (const t of leader.routed.subscribe(ac.signal)) routed.push(t);
    })();
    for (const id of ["r1", "r2"]) {
      const file = join(dir, `${id}.json`);
      await writeFile(file, JSON.stringify(config(id)));
      children.set(id, await startReplicaProcess(file));
    }
    lb = await balancer(() => alive.map((id) => ports[IDS.indexOf(id as (typeof IDS)[number])] as number));
  });
  after(async () => {
    for (const c of children.values()) if (c.exitCode === null) c.kill("SIGKILL");
    lb.server.close();
    ac.abort();
    await leader.close();
    await pod.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves sessions whose requests land on any replica: POST, the standalone GET (sampling), resumption, DELETE", async () => {
    const url = new URL(`${lb.url}/mcp/reference`);
    const owners = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const { client, transport } = await samplingClient(url);
      owners.add((transport.sessionId ?? "").split("_")[0] ?? "");
      assert.match(textOf(await client.callTool({ name: "test_simple_text", arguments: {} })), /simple text/);
      // The server asks for sampling on its standalone GET stream, which may sit on another replica.
      assert.match(
        textOf(
          await client.callTool({ name: "test_sampling", arguments: { prompt: "p" } }, undefined, {
            timeout: 10_000,
          }),
        ),
        /LLM response: sampled/,
      );
      // The pod closes this call's stream mid-call; the client resumes with Last-Event-ID.
      assert.match(textOf(await client.callTool({ name: "test_reconnection", arguments: {} })), /completed/);
      await transport.terminateSession();
      await client.close();
    }
    assert.ok(owners.size >= 2, `sessions were opened on several replicas: ${[...owners].join(", ")}`);
    assert.ok(lb.connections >= 3, `the balancer spread ${lb.connections} connections`);
  });

  it("forwards each kind of request to the owner when it reaches another replica directly", async () => {
    for (const owner of IDS) {
      const at = IDS.indexOf(owner);
      const ownerUrl = new URL(`http://127.0.0.1:${ports[at]}/mcp/reference`);
      const other = new URL(`http://127.0.0.1:${ports[(at + 1) % 3]}/mcp/reference`);
      const { client, transport } = await samplingClient(ownerUrl);
      const sid = transport.sessionId ?? "";
      assert.ok(sid.startsWith(`${owner}_`), sid);
      const h = { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
      const r = await post(
        other,
        JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "test_simple_text" } }),
        h,
      );
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /This is a simple text response/);
      const del = await fetch(other, { method: "DELETE", headers: h });
      assert.equal(del.status, 200);
      const gone = await post(other, JSON.stringify({ jsonrpc: "2.0", id: 10, method: "ping" }), h);
      assert.equal(gone.status, 404);
      assert.equal(gone.json?.error?.code, RpcCode.SESSION_NOT_FOUND, gone.text);
      await client.close();
    }
  });

  it("delivers every call trace of every replica to the collector once", async () => {
    const before = routed.length;
    const url = new URL(`${lb.url}/mcp/reference`);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { client, transport } = await samplingClient(url);
      ids.push(transport.sessionId ?? "");
      await client.callTool({ name: "test_simple_text", arguments: {} });
      await client.close();
    }
    await waitFor(
      "each session's tools/call traced at start and end on the collector",
      () =>
        ids.every(
          (sid) =>
            routed.filter((t) => t.sessionId === sid && t.method === "tools/call" && t.endTime !== undefined)
              .length === 1 &&
            routed.filter((t) => t.sessionId === sid && t.method === "tools/call" && t.endTime === undefined)
              .length === 1,
        ),
      undefined,
      5000,
    );
    const mine = routed.slice(before).filter((t) => ids.includes(t.sessionId));
    assert.ok(mine.every((t) => t.node === "node-a" && t.podName === "reference-0"));
    const keys = mine.map((t) => `${t.spanId}/${t.endTime === undefined ? "s" : "e"}`);
    assert.equal(new Set(keys).size, keys.length, "no trace twice");
  });

  it("a replica stopped with SIGTERM hands off every trace before it exits; its sessions then end with -32017", async () => {
    const r2 = new URL(`http://127.0.0.1:${ports[2]}/mcp/reference`);
    const { client, transport } = await samplingClient(r2);
    const sid = transport.sessionId ?? "";
    await client.callTool({ name: "test_simple_text", arguments: {} });
    // A call in flight when the replica stops: its end trace is published during the shutdown.
    client.setRequestHandler(CreateMessageRequestSchema, () => new Promise(() => undefined)); // never answers
    const inflight = client
      .callTool({ name: "test_sampling", arguments: { prompt: "x" } })
      .catch(() => undefined);
    await waitFor(
      "the call to be in flight",
      () => routed.some((t) => t.sessionId === sid && t.tool === "test_sampling"),
      undefined,
      5000,
    );
    alive = ["r0", "r1"];
    const child = children.get("r2") as ChildProcess;
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    // Handed off before the exit: nothing to wait for.
    const ends = routed.filter((t) => t.sessionId === sid && t.endTime !== undefined);
    assert.ok(
      ends.some((t) => t.tool === "test_sampling"),
      "the in-flight call's end trace",
    );
    assert.ok(ends.some((t) => t.tool === "test_simple_text"));
    await inflight;
    const gone = await post(
      new URL(`http://127.0.0.1:${ports[0]}/mcp/reference`),
      JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }),
      {
        "mcp-session-id": sid,
      },
    );
    assert.equal(gone.status, 404);
    assert.equal(gone.json?.error?.code, RpcCode.SESSION_ENDED);
    assert.match(gone.json?.error?.message ?? "", /replica r2/);
    await client.close().catch(() => undefined);
  });

  it("refuses a request that claims to be forwarded without the replicas' token", async () => {
    const r = await post(
      new URL(`http://127.0.0.1:${ports[0]}/mcp/reference`),
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      { "x-hangar-forwarded-by": "r1", "mcp-session-id": "r1_0000" },
    );
    assert.equal(r.status, 401);
    assert.equal(r.json?.error?.code, RpcCode.UNAUTHENTICATED);
  });

  it("refuses a trace hand-off without the replicas' token", async () => {
    const r = await fetch(`http://127.0.0.1:${ports[0]}/_hangar/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer wrong" },
      body: "[]",
    });
    assert.equal(r.status, 401);
  });
});
