/**
 * The proxy over real HTTP: the official SDK client calls through the proxy to
 * SDK servers (each one plays a pod). Pods come from static endpoints here; the
 * EndpointSlice path on a real API server is in proxy-k8s.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LoggingMessageNotificationSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { hangar } from "@hangar/proto";
import { RpcCode } from "../src/proxy/errors.js";
import { connect, podEndpoint, post, startRig, textOf, type Rig } from "./helpers.js";
import { waitFor } from "@hangar/testkit";

const { CallStatus } = hangar;

function valueJson(v: hangar.CallTrace["arguments"]): unknown {
  if (v === undefined) return undefined;
  switch (v.kind.case) {
    case "structValue":
      return Object.fromEntries(Object.entries(v.kind.value.fields).map(([k, x]) => [k, valueJson(x)]));
    case "listValue":
      return v.kind.value.values.map(valueJson);
    case "nullValue":
      return null;
    default:
      return v.kind.value;
  }
}

async function rejects(p: Promise<unknown>): Promise<McpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to be refused");
}

describe("proxy: tool policy (enforce)", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      config: {
        providers: [
          {
            provider: "weather",
            namespace: "mcp",
            service: "weather",
            policy: { mode: "enforce", deny: ["exec_*"] },
          },
        ],
      },
    });
  });
  after(() => rig.close());

  it("hides denied tools from tools/list", async () => {
    const { client } = await connect(rig.endpoint());
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.ok(names.includes("echo"));
    assert.ok(!names.includes("exec_shell"), "exec_shell is hidden");
    await client.close();
  });

  it("forwards an allowed tools/call and traces it (start and end, redacted args, caller, pod, traceparent)", async () => {
    const { client } = await connect(rig.endpoint(), { name: "planner" });
    const before = rig.traces.length;
    const res = await client.callTool({
      name: "echo",
      arguments: { text: "hi", password: "hunter2", note: "key AKIAABCDEFGHIJKLMNOP" },
    });
    assert.equal(textOf(res), "hi");
    await waitFor(
      "two traces",
      () => rig.traces.slice(before).filter((t) => t.method === "tools/call").length === 2,
      undefined,
      2000,
    );
    const [start, end] = rig.traces.slice(before).filter((t) => t.method === "tools/call") as [
      hangar.CallTrace,
      hangar.CallTrace,
    ];
    assert.equal(start.endTime, undefined, "the first trace is the call in flight");
    assert.equal(start.spanId, end.spanId);
    assert.equal(end.status, CallStatus.OK);
    assert.ok(end.endTime !== undefined);
    assert.equal(end.tool, "echo");
    assert.equal(end.provider, "weather");
    assert.equal(end.podName, "weather-0");
    assert.equal(end.podNamespace, "mcp");
    assert.equal(end.node, "node-a");
    assert.equal(end.caller?.clientName, "planner");
    assert.equal(end.caller?.clientVersion, "1.2.3");
    assert.equal(end.caller?.authMethod, "none");
    assert.match(end.sessionId, /^[0-9a-f-]{36}$/);
    assert.ok(end.requestBytes > 0n && end.responseBytes > 0n);
    assert.deepEqual(valueJson(end.arguments), {
      text: "hi",
      password: "[REDACTED:key]",
      note: "key [REDACTED:aws-access-key]",
    });
    const seen = rig.pods[0]?.calls.at(-1);
    assert.equal(seen?.args["password"], "hunter2", "the server gets the arguments unchanged");
    assert.equal(
      seen?.traceparent,
      `00-${end.traceId}-${end.spanId}-01`,
      "traceparent names the proxy's span",
    );
    await client.close();
  });

  it("refuses a denied tools/call with a JSON-RPC error and never forwards it", async () => {
    const { client } = await connect(rig.endpoint());
    const callsBefore = rig.pods[0]?.calls.length;
    const err = await rejects(client.callTool({ name: "exec_shell", arguments: { cmd: "id" } }));
    assert.equal(err.code, RpcCode.TOOL_DENIED);
    assert.match(
      err.message,
      /tool "exec_shell" is not allowed on provider "weather" \(deny "exec_\*"; policy mode enforce\)/,
    );
    assert.equal(rig.pods[0]?.calls.length, callsBefore, "the pod never saw it");
    await waitFor("the denied trace", () => rig.traces.some((t) => t.tool === "exec_shell"), undefined, 2000);
    const t = rig.traces.find((x) => x.tool === "exec_shell");
    assert.equal(t?.status, CallStatus.DENIED);
    assert.equal(t?.policyWouldDeny, true);
    assert.equal(t?.policyRule, 'deny "exec_*"');
    // The session keeps working.
    assert.equal(
      textOf(await client.callTool({ name: "echo", arguments: { text: "still here" } })),
      "still here",
    );
    await client.close();
  });

  it("continues the caller's W3C trace", async () => {
    const { client, transport } = await connect(rig.endpoint());
    void transport;
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const res = await client.callTool({
      name: "echo",
      arguments: { text: "traced", _unused: 1 },
      _meta: { traceparent: parent },
    });
    assert.equal(textOf(res), "traced");
    await waitFor(
      "trace",
      () =>
        rig.traces.some((t) => t.traceId === "4bf92f3577b34da6a3ce929d0e0e4736" && t.endTime !== undefined),
      undefined,
      2000,
    );
    const t = rig.traces.find(
      (x) => x.traceId === "4bf92f3577b34da6a3ce929d0e0e4736" && x.endTime !== undefined,
    );
    assert.equal(t?.parentSpanId, "00f067aa0ba902b7");
    assert.notEqual(t?.spanId, "00f067aa0ba902b7");
    assert.equal(
      rig.pods[0]?.calls.at(-1)?.traceparent,
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${t?.spanId}-01`,
    );
    await client.close();
  });
});

describe("proxy: tool policy (audit)", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      config: {
        providers: [
          {
            provider: "weather",
            namespace: "mcp",
            service: "weather",
            policy: { mode: "audit", allow: ["echo", "whoami"] },
          },
        ],
      },
    });
  });
  after(() => rig.close());

  it("lists and forwards everything, and records the verdict it would have given", async () => {
    const { client } = await connect(rig.endpoint());
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((t) => t.name === "exec_shell"),
      "audit mode hides nothing",
    );
    assert.ok(rig.proxy.proxy.stats.get("tools_hidden", { provider: "weather", mode: "audit" }) > 0);
    assert.equal(textOf(await client.callTool({ name: "exec_shell", arguments: { cmd: "id" } })), "ran id");
    await waitFor(
      "trace",
      () => rig.traces.some((t) => t.tool === "exec_shell" && t.endTime !== undefined),
      undefined,
      2000,
    );
    const t = rig.traces.find((x) => x.tool === "exec_shell" && x.endTime !== undefined);
    assert.equal(t?.status, CallStatus.OK, "the real outcome, never rewritten");
    assert.equal(t?.policyWouldDeny, true);
    assert.equal(t?.policyRule, "not in allow list");
    await client.close();
  });
});

describe("proxy: streaming, cancellation, errors from the tool", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  it("passes progress notifications through on the call's stream", async () => {
    const { client } = await connect(rig.endpoint());
    const progress: number[] = [];
    const res = await client.callTool({ name: "slow", arguments: { steps: 4, ms: 10 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    assert.equal(textOf(res), "done after 4 steps");
    assert.deepEqual(progress, [1, 2, 3, 4]);
    await client.close();
  });

  it("forwards cancellation to the server, traces CANCELLED, and keeps serving", async () => {
    const { client } = await connect(rig.endpoint());
    const ac = new AbortController();
    const call = client.callTool({ name: "wait", arguments: { ms: 10_000, tag: "c1" } }, undefined, {
      signal: ac.signal,
    });
    await waitFor(
      "the call to reach the pod",
      () => rig.pods[0]?.calls.some((c) => c.args["tag"] === "c1") === true,
      undefined,
      2000,
    );
    ac.abort("user pressed stop");
    await assert.rejects(call);
    await waitFor(
      "the server to see the cancellation",
      () => rig.pods[0]?.cancelled.includes("c1") === true,
      undefined,
      2000,
    );
    await waitFor(
      "a CANCELLED trace",
      () => rig.traces.some((t) => t.status === CallStatus.CANCELLED),
      undefined,
      2000,
    );
    const t = rig.traces.find((x) => x.status === CallStatus.CANCELLED);
    assert.equal(t?.tool, "wait");
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "after" } })), "after");
    await client.close();
  });

  it("passes the server's own requests (sampling) and log notifications through on the call's stream", async () => {
    const { client } = await connect(rig.endpoint(), { sampling: (prompt) => `42 (you asked: ${prompt})` });
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params.data);
    });
    const res = await client.callTool({ name: "ask", arguments: { topic: "life" } });
    assert.equal(textOf(res), "the model said: 42 (you asked: tell me about life)");
    assert.deepEqual(logs, ["asking about life"]);
    await client.close();
  });

  it("traces resources/read and prompts/get too, naming the resource or prompt, arguments redacted", async () => {
    const { client } = await connect(rig.endpoint());
    const r = await client.readResource({ uri: "file:///etc/motd" });
    assert.equal((r.contents[0] as { text?: string }).text, "contents of file:///etc/motd");
    const p = await client.getPrompt({ name: "summarize", arguments: { doc: "q3.pdf", api_token: "t0k3n" } });
    assert.equal((p.messages[0]?.content as { text?: string }).text, "summarize q3.pdf");
    await waitFor(
      "the traces",
      () =>
        rig.traces.filter(
          (t) => t.endTime !== undefined && (t.method === "resources/read" || t.method === "prompts/get"),
        ).length === 2,
      undefined,
      2000,
    );
    const read = rig.traces.find((t) => t.method === "resources/read" && t.endTime !== undefined);
    assert.equal(read?.tool, "file:///etc/motd");
    assert.equal(read?.status, CallStatus.OK);
    const prompt = rig.traces.find((t) => t.method === "prompts/get" && t.endTime !== undefined);
    assert.equal(prompt?.tool, "summarize");
    assert.deepEqual(valueJson(prompt?.arguments), { doc: "q3.pdf", api_token: "[REDACTED:key]" });
    await client.close();
  });

  it("DELETE ends the session at the proxy and at the pod", async () => {
    const { client, transport } = await connect(rig.endpoint());
    await client.callTool({ name: "echo", arguments: { text: "x" } });
    const sid = transport.sessionId ?? "";
    const podSessions = rig.pods[0]?.sessions.size ?? 0;
    assert.ok(rig.proxy.proxy.session(sid) !== undefined);
    await transport.terminateSession();
    await waitFor(
      "the proxy to close the session",
      () => rig.proxy.proxy.session(sid) === undefined,
      undefined,
      2000,
    );
    await waitFor(
      "the pod to close its session",
      () => (rig.pods[0]?.sessions.size ?? 0) === podSessions - 1,
      undefined,
      2000,
    );
    await client.close();
  });

  it("a tool result with isError is traced as ERROR and passed through", async () => {
    const { client } = await connect(rig.endpoint());
    const res = await client.callTool({ name: "fail", arguments: {} });
    assert.equal(res.isError, true);
    await waitFor(
      "trace",
      () => rig.traces.some((t) => t.tool === "fail" && t.endTime !== undefined),
      undefined,
      2000,
    );
    assert.equal(
      rig.traces.find((t) => t.tool === "fail" && t.endTime !== undefined)?.status,
      CallStatus.ERROR,
    );
    await client.close();
  });
});

describe("proxy: sessions stick to a pod; a lost pod ends its sessions", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ pods: [{ pod: "weather-a" }, { pod: "weather-b" }] });
  });
  after(() => rig.close());

  it("keeps every call of a session on one pod, and spreads sessions over pods", async () => {
    const one = await connect(rig.endpoint());
    const two = await connect(rig.endpoint());
    const podsOf = async (c: typeof one): Promise<Set<string>> => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++)
        seen.add(textOf(await c.client.callTool({ name: "whoami", arguments: {} })));
      return seen;
    };
    const a = await podsOf(one);
    const b = await podsOf(two);
    assert.equal(a.size, 1, "session one stays on one pod");
    assert.equal(b.size, 1, "session two stays on one pod");
    assert.notDeepEqual([...a], [...b], "the second session went to the less loaded pod");
    await one.client.close();
    await two.client.close();
  });

  it("ends the sessions of a pod that goes away with a JSON-RPC error naming the pod", async () => {
    const { client } = await connect(rig.endpoint());
    const pod = textOf(await client.callTool({ name: "whoami", arguments: {} }));
    const lost = rig.pods.find((p) => p.pod === pod);
    const kept = rig.pods.find((p) => p.pod !== pod);
    assert.ok(lost !== undefined && kept !== undefined);
    const inflight = client.callTool({ name: "wait", arguments: { ms: 10_000, tag: "lost" } });
    await waitFor(
      "the call to reach the pod",
      () => lost.calls.some((c) => c.args["tag"] === "lost"),
      undefined,
      2000,
    );
    rig.proxy.directory.set("weather", [podEndpoint(kept)]);
    const err = await rejects(inflight);
    assert.equal(err.code, RpcCode.SESSION_ENDED);
    assert.match(err.message, new RegExp(`pod mcp/${pod} of provider "weather" went away`));
    // The session is over: the next request on it is answered 404 with the reason.
    await assert.rejects(
      client.callTool({ name: "whoami", arguments: {} }),
      /has ended: pod mcp\/weather-. of provider \\"weather\\" went away/,
    );
    // New sessions go to the pod that is left.
    const fresh = await connect(rig.endpoint());
    assert.equal(textOf(await fresh.client.callTool({ name: "whoami", arguments: {} })), kept.pod);
    await fresh.client.close();
    rig.proxy.directory.set(
      "weather",
      rig.pods.map((p) => podEndpoint(p)),
    );
  });

  it("ends a session the pod no longer knows (the pod restarted) with a JSON-RPC error", async () => {
    const { client } = await connect(rig.endpoint());
    const pod = textOf(await client.callTool({ name: "whoami", arguments: {} }));
    const server = rig.pods.find((p) => p.pod === pod);
    assert.ok(server !== undefined);
    // The pod forgets every session, as a restarted server would.
    for (const t of [...server.sessions.values()]) await t.close();
    const err = await rejects(client.callTool({ name: "whoami", arguments: {} }));
    assert.equal(err.code, RpcCode.SESSION_ENDED);
    assert.match(err.message, /no longer knows the session \(it answered 404; restarted\?\)/);
  });

  it("closes idle sessions and tells a caller that comes back why", async () => {
    const { client, transport } = await connect(rig.endpoint());
    await client.callTool({ name: "whoami", arguments: {} });
    const before = rig.proxy.proxy.sessionCount;
    assert.ok(rig.proxy.proxy.sweepIdle(performance.now() + 31 * 60_000) >= 1);
    await waitFor(
      "the session to close",
      () => rig.proxy.proxy.session(transport.sessionId ?? "") === undefined,
      undefined,
      2000,
    );
    assert.ok(rig.proxy.proxy.sessionCount < before);
    await assert.rejects(
      client.callTool({ name: "whoami", arguments: {} }),
      /has ended: the session was idle for more than 1800000 ms/,
    );
  });
});

describe("proxy: bad input and failing pods", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      pods: [{ pod: "weather-0" }],
      config: {
        maxBodyBytes: 4096,
        providers: [
          { provider: "weather", namespace: "mcp", service: "weather" },
          { provider: "slowpoke", namespace: "mcp", service: "slowpoke", timeoutMs: 150 },
          { provider: "empty", namespace: "mcp", service: "empty" },
        ],
      },
    });
  });
  after(() => rig.close());

  const init = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
  });

  it("answers malformed JSON with 400 and a parse error", async () => {
    const r = await post(rig.endpoint(), '{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(r.status, 400);
    assert.equal(r.json?.error?.code, RpcCode.PARSE_ERROR);
    assert.match(r.json?.error?.message ?? "", /the body is not valid JSON/);
  });

  it("answers a message that is not JSON-RPC 2.0 with 400 naming the field", async () => {
    const r1 = await post(rig.endpoint(), JSON.stringify({ jsonrpc: "1.0", id: 1, method: "ping" }));
    assert.equal(r1.status, 400);
    assert.equal(r1.json?.error?.code, RpcCode.INVALID_REQUEST);
    assert.match(r1.json?.error?.message ?? "", /jsonrpc: must be "2.0"/);
    const r2 = await post(
      rig.endpoint(),
      JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "ping" },
        { jsonrpc: "2.0", id: {}, method: "x" },
      ]),
    );
    assert.match(r2.json?.error?.message ?? "", /\[1\]\.id: must be a string or an integer/);
    const r3 = await post(rig.endpoint(), JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }));
    assert.equal(r3.status, 400);
    assert.match(r3.json?.error?.message ?? "", /Mcp-Session-Id header is required/);
  });

  it("applies the Streamable HTTP rules: Accept, Content-Type, protocol version, one initialize, one GET stream", async () => {
    const bad = await post(rig.endpoint(), init, { accept: "application/json" });
    assert.equal(bad.status, 406);
    const type = await post(rig.endpoint(), init, { "content-type": "text/plain" });
    assert.equal(type.status, 415);
    // A real session, opened by hand.
    const opened = await fetch(rig.endpoint(), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: init,
    });
    const sid = opened.headers.get("mcp-session-id") ?? "";
    assert.match(await opened.text(), /"protocolVersion"/);
    const h = { "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    const again = await post(rig.endpoint(), init.replace('"id":1', '"id":2'), h);
    assert.equal(again.status, 400);
    assert.match(again.text, /already initialized/);
    const version = await post(rig.endpoint(), JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }), {
      ...h,
      "mcp-protocol-version": "1999-01-01",
    });
    assert.equal(version.status, 400);
    assert.match(version.text, /Unsupported protocol version: 1999-01-01/);
    const note = await post(
      rig.endpoint(),
      JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      h,
    );
    assert.equal(note.status, 202);
    const ping = await post(rig.endpoint(), JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping" }), h);
    assert.equal(ping.status, 200);
    assert.match(ping.text, /^event: message\ndata: \{.*"id":4\}\n\n$/);
    const ac = new AbortController();
    const first = await fetch(rig.endpoint(), {
      headers: { ...h, accept: "text/event-stream" },
      signal: ac.signal,
    });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-type"), "text/event-stream");
    const second = await fetch(rig.endpoint(), { headers: { ...h, accept: "text/event-stream" } });
    assert.equal(second.status, 409);
    await second.text();
    const noAccept = await fetch(rig.endpoint(), { headers: { ...h, accept: "application/json" } });
    assert.equal(noAccept.status, 406);
    await noAccept.text();
    ac.abort();
    const del = await fetch(rig.endpoint(), { method: "DELETE", headers: h });
    assert.equal(del.status, 200);
  });

  it("answers an oversized body with 413 (declared or streamed)", async () => {
    const big = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { pad: "x".repeat(10_000) },
    });
    const r = await post(rig.endpoint(), big);
    assert.equal(r.status, 413);
    assert.equal(r.json?.error?.code, RpcCode.BODY_TOO_LARGE);
    assert.match(r.json?.error?.message ?? "", /larger than 4096 bytes/);
    // Chunked, without content-length.
    const chunked = await fetch(rig.endpoint(), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(1000)));
          c.close();
        },
      }),
      duplex: "half",
    });
    assert.equal(chunked.status, 413);
    await chunked.text();
  });

  it("answers an unknown provider with 404, an unknown session with 404, a provider without pods with 503", async () => {
    const r = await post(new URL(`${rig.proxy.url}/mcp/nope`), init);
    assert.equal(r.status, 404);
    assert.equal(r.json?.error?.code, RpcCode.UNKNOWN_PROVIDER);
    assert.match(r.json?.error?.message ?? "", /unknown provider "nope"/);
    const s = await post(rig.endpoint(), JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }), {
      "mcp-session-id": "not-a-session",
    });
    assert.equal(s.status, 404);
    assert.equal(s.json?.error?.code, RpcCode.SESSION_NOT_FOUND);
    const e = await post(rig.endpoint("empty"), init);
    assert.equal(e.status, 503);
    assert.equal(e.json?.error?.code, RpcCode.NO_READY_POD);
    assert.match(e.json?.error?.message ?? "", /provider "empty" has no ready pod \(Service mcp\/empty\)/);
  });

  it("answers a provider name that is not valid percent-encoding with 400 and the JSON-RPC error shape", async () => {
    for (const bad of ["%ZZ", "weather%", "%E0%A4%A", "%C0%80"]) {
      const r = await post(new URL(`${rig.proxy.url}/mcp/${bad}`), init);
      assert.equal(r.status, 400, bad);
      assert.equal((r.json as { jsonrpc?: string } | undefined)?.jsonrpc, "2.0");
      assert.equal(r.json?.error?.code, RpcCode.INVALID_REQUEST, bad);
      assert.match(r.json?.error?.message ?? "", /provider name in the path is not valid percent-encoding/);
    }
    // Valid encoding of a name that is not served stays a 404.
    const r = await post(new URL(`${rig.proxy.url}/mcp/we%61ther%2Fx`), init);
    assert.equal(r.status, 404);
    assert.match(r.json?.error?.message ?? "", /unknown provider "weather\/x"/);
  });

  it("times out a pod that does not answer, while other callers keep being served", async () => {
    rig.proxy.directory.set("slowpoke", [podEndpoint(rig.pods[0]!)]);
    const slow = await connect(rig.endpoint("slowpoke"));
    const fast = await connect(rig.endpoint("weather"));
    // Handled from the start: on a loaded machine the timeout can come before the fast calls are done.
    const stuck = rejects(
      slow.client.callTool({ name: "wait", arguments: { ms: 5000, tag: "stuck" } }, undefined, {
        timeout: 10_000,
      }),
    );
    const t0 = Date.now();
    for (let i = 0; i < 5; i++)
      assert.equal(textOf(await fast.client.callTool({ name: "echo", arguments: { text: `${i}` } })), `${i}`);
    const err = await stuck;
    assert.equal(err.code, RpcCode.UPSTREAM_TIMEOUT);
    assert.match(err.message, /did not answer tools\/call within 150 ms/);
    assert.ok(Date.now() - t0 < 4000);
    await waitFor(
      "the pod to be told to stop",
      () => rig.pods[0]?.cancelled.includes("stuck") === true,
      undefined,
      2000,
    );
    await waitFor(
      "a TIMEOUT trace",
      () => rig.traces.some((t) => t.status === CallStatus.TIMEOUT),
      undefined,
      2000,
    );
    await slow.client.close();
    await fast.client.close();
  });

  it("answers a pod that cannot be reached with a JSON-RPC error", async () => {
    rig.proxy.directory.set("slowpoke", [
      { ...podEndpoint(rig.pods[0]!), key: "mcp/dead", podName: "dead", url: "http://127.0.0.1:1/mcp" },
    ]);
    const err = await connect(rig.endpoint("slowpoke")).then(
      () => assert.fail("initialize should fail"),
      (e: unknown) => e as Error,
    );
    assert.match(
      String(err),
      /pod mcp\/dead of provider "slowpoke" failed on initialize: cannot reach 127.0.0.1:1/,
    );
  });
});
