/**
 * The proxy does what the server behind it does (issue #15): server-to-client
 * messages on the standalone stream right after connect, DNS-rebinding
 * protection (Host and Origin), SEP-1699 polling streams (priming event, retry,
 * resumption), 413 as an answer rather than a reset, CORS per provider, no
 * session for a failed initialize, and the code a deleted session's id gets.
 * The pods are the conformance reference server and testkit's test server
 * (both the official SDK's server), the callers the SDK client and raw HTTP.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { startConformanceServer, startTestServer, type ConformanceServer } from "@hangar/testkit/mcp";
import { hangar } from "@hangar/proto";
import { RpcCode } from "../src/proxy/errors.js";
import { startProxy, type RunningProxy } from "../src/proxy/serve.js";
import { connect, post, startRig, textOf, type Rig } from "./helpers.js";

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

/** An SDK client that answers sampling and elicitation, as the conformance suite's does. */
async function answeringClient(
  url: URL,
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(url);
  const client = new Client(
    { name: "fidelity", version: "1.0.0" },
    { capabilities: { sampling: {}, elicitation: {} } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: "assistant",
    model: "test-model",
    content: { type: "text", text: "sampled" },
  }));
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: "accept", content: { response: "yes" } }));
  await client.connect(transport);
  return { client, transport };
}

/** SSE events of a fetch response until it ends: ids, retry values, data. */
async function readSse(res: Response): Promise<{ id?: string; retry?: number; data: string }[]> {
  const text = await res.text();
  return text
    .split(/\r?\n\r?\n/)
    .filter((b) => b.trim() !== "")
    .map((block) => {
      const e: { id?: string; retry?: number; data: string } = { data: "" };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("id:")) e.id = line.slice(3).trim();
        else if (line.startsWith("retry:")) e.retry = Number(line.slice(6).trim());
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      e.data = data.join("\n");
      return e;
    });
}

describe("proxy fidelity: the conformance reference server behind the proxy", () => {
  let server: ConformanceServer;
  let proxy: RunningProxy;
  let url: URL;
  before(async () => {
    server = await startConformanceServer({ retryMs: 50 });
    proxy = await startProxy({
      config: {
        listen: "127.0.0.1:0",
        providers: [{ provider: "reference", namespace: "default", service: "reference" }],
        staticEndpoints: { reference: [{ url: server.url, pod: "reference-0" }] },
      },
    });
    url = new URL(`${proxy.url}/mcp/reference`);
  });
  after(async () => {
    await proxy.close();
    await server.close();
  });

  it("delivers the sampling and elicitation requests a server sends on its standalone stream right after connect, every time", async () => {
    // The server sends these on its GET stream; the SDK client opens its GET and its next
    // POST at once. The proxy lost them when the POST reached the pod before its own GET.
    for (let i = 0; i < 12; i++) {
      const { client } = await answeringClient(url);
      const tool = i % 2 === 0 ? "test_sampling" : "test_elicitation";
      const r = await client.callTool(
        { name: tool, arguments: i % 2 === 0 ? { prompt: "hi" } : { message: "ok?" } },
        undefined,
        { timeout: 10_000 },
      );
      assert.match(textOf(r), i % 2 === 0 ? /LLM response: sampled/ : /action=accept/, `session ${i + 1}`);
      await client.close();
    }
  });

  it("refuses a foreign Host or Origin with 403, as the server does directly", async () => {
    for (const target of [new URL(server.url), url]) {
      const evil = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          target,
          {
            method: "POST",
            headers: {
              host: "evil.example.com",
              origin: "http://evil.example.com",
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
            },
          },
          (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (s: string) => (body += s));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end(INIT);
      });
      assert.equal(evil.status, 403, `${target.toString()}: ${evil.body}`);
    }
    const viaProxy = await post(url, INIT, { origin: "https://evil.example.com" });
    assert.equal(viaProxy.status, 403);
    assert.equal(viaProxy.json?.error?.code, RpcCode.ORIGIN_NOT_ALLOWED);
    assert.match(viaProxy.json?.error?.message ?? "", /Origin "https:\/\/evil\.example\.com" is not allowed/);
    const local = await post(url, INIT, { origin: `http://127.0.0.1:${url.port}` });
    assert.equal(local.status, 200, local.text);
  });

  it("passes a polling stream on: priming event and retry, the stream closed mid-call, resumed with Last-Event-ID", async () => {
    const { client, transport } = await answeringClient(url);
    // The SDK client resumes by itself after the retry interval.
    const r = await client.callTool({ name: "test_reconnection", arguments: {} });
    assert.match(textOf(r), /Reconnection test completed successfully/);
    // The same by hand, seeing what the caller sees.
    const sid = transport.sessionId ?? "";
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": sid,
      "mcp-protocol-version": "2025-11-25",
    };
    const res = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 42,
        method: "tools/call",
        params: { name: "test_reconnection", arguments: {} },
      }),
    });
    assert.equal(res.status, 200);
    const first = await readSse(res);
    assert.equal(first.length, 1, JSON.stringify(first));
    assert.equal(first[0]?.data, "", "a priming event: an id and empty data");
    assert.equal(first[0]?.retry, 50, "the pod's retry interval");
    assert.ok(first[0]?.id !== undefined);
    const resumed = await fetch(url, {
      headers: { ...headers, "last-event-id": first[0]?.id ?? "" },
    });
    assert.equal(resumed.status, 200);
    const rest = await readSse(resumed);
    const answer = rest
      .map((e) => (e.data === "" ? undefined : (JSON.parse(e.data) as { id?: number })))
      .find((m) => m?.id === 42);
    assert.ok(answer !== undefined, JSON.stringify(rest));
    assert.ok("result" in answer, JSON.stringify(answer));
    await client.close();
  });

  it("forwards the caller's Mcp-Protocol-Version, so an older caller gets no priming event, as directly", async () => {
    const { client, transport } = await answeringClient(url);
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": transport.sessionId ?? "",
        "mcp-protocol-version": "2025-03-26",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 5,
        method: "tools/call",
        params: { name: "test_simple_text" },
      }),
    });
    const events = await readSse(res);
    assert.ok(
      events.every((e) => e.data !== ""),
      JSON.stringify(events),
    );
    await client.close();
  });

  it("answers a DELETEd session's id with 404 and -32001 (unknown session), not -32017 (pod gone)", async () => {
    const { client, transport } = await answeringClient(url);
    const sid = transport.sessionId ?? "";
    await transport.terminateSession();
    const r = await post(url, JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }), {
      "mcp-session-id": sid,
    });
    assert.equal(r.status, 404);
    assert.equal(r.json?.error?.code, RpcCode.SESSION_NOT_FOUND);
    assert.match(r.json?.error?.message ?? "", /its caller ended it \(DELETE\)/);
    await client.close();
  });
});

describe("proxy fidelity: 413, CORS, failed initialize, Origin passed on", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      config: {
        maxBodyBytes: 4096,
        allowedHosts: ["mcp.example.com"],
        providers: [
          {
            provider: "weather",
            namespace: "mcp",
            service: "weather",
            cors: { allowOrigins: ["https://app.example.com"], maxAgeSeconds: 60 },
          },
          { provider: "down", namespace: "mcp", service: "down" },
        ],
        staticEndpoints: {
          weather: [],
          down: [{ url: "http://127.0.0.1:1/mcp", pod: "down-0", namespace: "mcp" }],
        },
      },
    });
    rig.proxy.directory.set("weather", [
      {
        key: "mcp/weather-0",
        podNamespace: "mcp",
        podName: "weather-0",
        podUid: "",
        node: "node-a",
        address: "127.0.0.1",
        port: rig.pods[0]?.port ?? 0,
        url: rig.pods[0]?.url ?? "",
        ready: true,
        slice: "",
      },
    ]);
  });
  after(() => rig.close());

  it("answers an over-limit body with 413 every time, never a reset, and keeps serving", async () => {
    // Larger than the sockets' buffers: a proxy that stops reading resets the connection while
    // the caller still writes (declared bodies alternate with chunked ones).
    const body = Buffer.alloc(16 * 1024 * 1024, "x");
    for (let i = 0; i < 10; i++) {
      // Until the request is over: a reset after the answer is a reset all the same.
      const { status, error } = await new Promise<{ status: number; error: string | undefined }>(
        (resolve) => {
          let status = 0;
          let error: string | undefined;
          const req = httpRequest(
            rig.endpoint(),
            {
              method: "POST",
              headers: {
                "content-type": "application/json",
                accept: "application/json, text/event-stream",
                ...(i % 2 === 0 ? { "content-length": String(body.length) } : {}),
              },
            },
            (res) => {
              status = res.statusCode ?? 0;
              res.resume();
            },
          );
          req.on("error", (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
          req.on("close", () => resolve({ status, error }));
          req.end(body);
        },
      );
      assert.equal(error, undefined, `request ${i + 1}: the connection failed`);
      assert.equal(status, 413, `request ${i + 1}`);
    }
    const { client } = await connect(rig.endpoint());
    assert.equal(textOf(await client.callTool({ name: "whoami", arguments: {} })), "weather-0");
    await client.close();
  });

  it("answers a CORS preflight for an allowed origin, and adds CORS headers to its answers", async () => {
    const pre = await fetch(rig.endpoint(), {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, mcp-session-id, mcp-protocol-version",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /mcp-session-id/);
    assert.equal(pre.headers.get("access-control-max-age"), "60");
    const refused = await fetch(rig.endpoint(), {
      method: "OPTIONS",
      headers: { origin: "https://other.example.com", "access-control-request-method": "POST" },
    });
    assert.equal(refused.status, 204, "answered, never 405");
    assert.equal(refused.headers.get("access-control-allow-origin"), null);
    const res = await fetch(rig.endpoint(), {
      method: "POST",
      headers: {
        origin: "https://app.example.com",
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: INIT,
    });
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(res.headers.get("access-control-expose-headers") ?? "", /mcp-session-id/i);
    await res.text();
    const other = await post(rig.endpoint(), INIT, { origin: "https://other.example.com" });
    assert.equal(other.status, 403, "an origin neither in cors nor allowedOrigins");
  });

  it("serves a Host listed in allowedHosts and refuses another", async () => {
    for (const [host, want] of [
      ["mcp.example.com", 200],
      ["mcp.example.com:8443", 200],
      ["weather.mcp.svc.cluster.local", 200],
      ["hangar-mcp", 200],
      ["attacker.example.net", 403],
    ] as const) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          rig.endpoint(),
          {
            method: "POST",
            headers: {
              host,
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
            },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(INIT);
      });
      assert.equal(status, want, host);
    }
  });

  it("passes a large answer on byte for byte, routed by its envelope, its isError traced", async () => {
    const big = `${'quotes " backslashes \\ braces {[]} and é '.repeat(8)}${"x".repeat(1024 * 1024)}`;
    const tools = { big: () => ({ content: [{ type: "text" as const, text: big }], isError: true }) };
    const pod = await startTestServer({ pod: "big-0", tools });
    const proxy = await startProxy({
      config: {
        listen: "127.0.0.1:0",
        providers: [{ provider: "big", namespace: "mcp", service: "big" }],
        staticEndpoints: { big: [{ url: pod.url, pod: "big-0", namespace: "mcp", node: "node-a" }] },
      },
    });
    const ac = new AbortController();
    const traces: { tool: string; status: number; responseBytes: bigint }[] = [];
    const pump = (async () => {
      for await (const t of proxy.proxy.feed.subscribe(ac.signal))
        if (t.endTime !== undefined)
          traces.push({ tool: t.tool, status: t.status, responseBytes: t.responseBytes });
    })();
    try {
      const { client } = await connect(new URL(`${proxy.url}/mcp/big`));
      const r = await client.callTool({ name: "big", arguments: {} });
      assert.equal(textOf(r), big);
      assert.equal((r as { isError?: boolean }).isError, true);
      await client.close();
      const t = traces.find((x) => x.tool === "big");
      assert.equal(t?.status, hangar.CallStatus.ERROR, "the tool reported isError");
      assert.ok((t?.responseBytes ?? 0n) > 1024n * 1024n);
    } finally {
      ac.abort();
      await pump;
      await proxy.close();
      await pod.close();
    }
  });

  it("passes the caller's Origin and Mcp-Protocol-Version on to the pod", async () => {
    const transport = new StreamableHTTPClientTransport(rig.endpoint(), {
      requestInit: { headers: { origin: "https://app.example.com" } },
    });
    const client = new Client({ name: "origin", version: "1" });
    await client.connect(transport);
    await client.callTool({ name: "echo", arguments: { text: "o" } });
    const call = rig.pods[0]?.calls.findLast((c) => c.name === "echo");
    assert.equal(call?.origin, "https://app.example.com");
    // The caller's Mcp-Protocol-Version too, not the one the session negotiated.
    const raw = await post(
      rig.endpoint(),
      JSON.stringify({
        jsonrpc: "2.0",
        id: 77,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "v" } },
      }),
      { "mcp-session-id": transport.sessionId ?? "", "mcp-protocol-version": "2025-03-26" },
    );
    assert.equal(raw.status, 200, raw.text);
    assert.equal(rig.pods[0]?.calls.findLast((c) => c.name === "echo")?.protocolVersion, "2025-03-26");
    await client.close();
  });

  it("gives no session to a failed initialize (pod down): no Mcp-Session-Id, and nothing to use", async () => {
    const before = rig.proxy.proxy.sessionCount;
    const res = await fetch(rig.endpoint("down"), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: INIT,
    });
    assert.equal(res.headers.get("mcp-session-id"), null);
    const text = await res.text();
    assert.match(text, new RegExp(`"code":${RpcCode.UPSTREAM_UNAVAILABLE}`));
    assert.equal(rig.proxy.proxy.sessionCount, before);
  });
});
