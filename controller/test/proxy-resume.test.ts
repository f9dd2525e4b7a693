/**
 * Resumability and callers that go away, with the official SDK client through
 * the proxy to an SDK server over real HTTP: a caller whose connection drops
 * mid-call resumes it (GET + Last-Event-ID, the SDK's automatic reconnection
 * and its resumption tokens) and gets what it missed; a caller that goes away
 * and does not come back has its call cancelled at the pod, traced CANCELLED.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { hangar } from "@hangar/proto";
import type { ToolHandler } from "@hangar/testkit/mcp";
import { connect, startRig, textOf, type Rig } from "./helpers.js";
import { waitFor } from "@hangar/testkit";

const { CallStatus } = hangar;

/** Stopped tickers (their signal aborted: the cancellation reached the server). */
const stopped: string[] = [];

/** Sends a progress notification every `ms` until `steps` (or until cancelled). */
const ticker: ToolHandler = async ({ args, signal, progress }) => {
  const steps = Number(args["steps"] ?? 5);
  const ms = Number(args["ms"] ?? 20);
  for (let i = 1; i <= steps; i++) {
    await new Promise((r) => setTimeout(r, ms));
    if (signal.aborted) {
      stopped.push(String(args["tag"]));
      throw new Error("cancelled");
    }
    await progress(i, steps);
  }
  return { content: [{ type: "text", text: `ticked ${steps}` }] };
};

/** A fetch whose POST of a tools/call the test can cut, as a network failure would. */
function cuttableFetch(): { fetch: typeof fetch; cut: () => void; posts: () => number } {
  let current: AbortController | undefined;
  let posts = 0;
  const f: typeof fetch = (input, init) => {
    if (init?.method === "POST" && typeof init.body === "string" && init.body.includes('"tools/call"')) {
      posts++;
      const ac = new AbortController();
      current = ac;
      const signal =
        init.signal === undefined || init.signal === null
          ? ac.signal
          : AbortSignal.any([init.signal, ac.signal]);
      return fetch(input, { ...init, signal });
    }
    return fetch(input, init);
  };
  return { fetch: f, cut: () => current?.abort(new Error("network cut by the test")), posts: () => posts };
}

async function sdkClient(
  url: URL,
  opts: { fetch?: typeof fetch; sessionId?: string; maxRetries?: number } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(url, {
    ...(opts.fetch === undefined ? {} : { fetch: opts.fetch }),
    ...(opts.sessionId === undefined ? {} : { sessionId: opts.sessionId }),
    reconnectionOptions: {
      initialReconnectionDelay: 50,
      maxReconnectionDelay: 200,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: opts.maxRetries ?? 2,
    },
  });
  const client = new Client({ name: "resume-test", version: "1.0.0" });
  client.onerror = () => undefined; // the cut itself is reported here
  await client.connect(transport);
  return { client, transport };
}

describe("proxy: resumable streams and callers that go away", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      pods: [{ pod: "weather-0", tools: { ticker } }],
      config: {
        resumeGraceMs: 400,
        providers: [{ provider: "weather", namespace: "mcp", service: "weather" }],
      },
    });
  });
  after(() => rig.close());

  const endOf = (tag: string): hangar.CallTrace | undefined =>
    rig.traces.find(
      (t) => t.endTime !== undefined && t.tool === "ticker" && JSON.stringify(t.arguments).includes(tag),
    );

  it("gives events ids, and a caller whose connection drops mid-call resumes it and misses nothing", async () => {
    const net = cuttableFetch();
    const { client } = await sdkClient(rig.endpoint(), { fetch: net.fetch });
    const seen: number[] = [];
    let cutDone = false;
    const res = await client.callTool(
      { name: "ticker", arguments: { steps: 6, ms: 20, tag: "resume-auto" } },
      CallToolResultSchema,
      {
        onprogress: (p) => {
          seen.push(p.progress);
          if (!cutDone) {
            cutDone = true;
            net.cut(); // after the first event (it carried an id): the SDK client reconnects with it
          }
        },
      },
    );
    assert.equal(textOf(res), "ticked 6");
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6], "every progress event arrives once, in order");
    assert.equal(net.posts(), 1, "the call was not sent again: it was resumed");
    assert.ok(rig.proxy.proxy.stats.get("streams_resumed", { provider: "weather" }) >= 1);
    assert.ok(
      rig.proxy.proxy.stats.get("streams_replayed", { provider: "weather" }) >= 1,
      "events sent while the caller was away were replayed",
    );
    assert.ok(!stopped.includes("resume-auto"), "the server was not told to cancel");
    await waitFor("the call's trace", () => endOf("resume-auto") !== undefined, undefined, 2000);
    assert.equal(endOf("resume-auto")?.status, CallStatus.OK);
    await client.close();
  });

  it("replays to a new client that resumes with a resumption token (a client restart)", async () => {
    const first = await sdkClient(rig.endpoint(), { maxRetries: 0 });
    const sid = first.transport.sessionId ?? "";
    let token: string | undefined;
    const firstSeen: number[] = [];
    const pending = first.client
      .callTool(
        { name: "ticker", arguments: { steps: 5, ms: 40, tag: "resume-token" } },
        CallToolResultSchema,
        {
          onprogress: (p) => firstSeen.push(p.progress),
          onresumptiontoken: (t) => {
            token = t;
          },
        },
      )
      .catch(() => undefined);
    await waitFor("a resumption token", () => token !== undefined, undefined, 2000);
    assert.match(token ?? "", /^\d+_\d+$/);
    await first.transport.close(); // the first client goes away mid-call
    await pending;
    const second = await sdkClient(rig.endpoint(), { sessionId: sid });
    // The replayed progress events carry the first client's progress token, so they are not
    // this request's; its answer is (the SDK gives the replayed response this request's id).
    const res = await second.client.request(
      {
        method: "tools/call",
        params: { name: "ticker", arguments: { tag: "ignored: this is a resumption" } },
      },
      CallToolResultSchema,
      { resumptionToken: token ?? "" },
    );
    assert.equal(textOf(res), "ticked 5");
    assert.ok(firstSeen.length >= 1 && firstSeen.length < 5, "the first client left mid-call");
    assert.ok(!stopped.includes("resume-token"), "the call was not cancelled: it was resumed");
    await waitFor("the call's trace", () => endOf("resume-token") !== undefined, undefined, 2000);
    assert.equal(endOf("resume-token")?.status, CallStatus.OK);
    await second.client.close();
  });

  it("refuses a Last-Event-ID that names no stream of the session with 400 (never 404: the session lives)", async () => {
    const { client, transport } = await connect(rig.endpoint());
    const r = await fetch(rig.endpoint(), {
      headers: {
        accept: "text/event-stream",
        "mcp-session-id": transport.sessionId ?? "",
        "last-event-id": "999_1",
      },
    });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /Last-Event-ID \\"999_1\\" names no stream of this session/);
    await client.close();
  });

  it("cancels the call at the pod at once when the caller closes its request before any event", async () => {
    const { client, transport } = await connect(rig.endpoint());
    const ac = new AbortController();
    const raw = fetch(rig.endpoint(), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": transport.sessionId ?? "",
        "mcp-protocol-version": "2025-06-18",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 77,
        method: "tools/call",
        params: { name: "wait", arguments: { ms: 10_000, tag: "gone-raw" } },
      }),
      signal: ac.signal,
    }).catch(() => undefined);
    await waitFor(
      "the call to reach the pod",
      () => rig.pods[0]?.calls.some((c) => c.args["tag"] === "gone-raw") === true,
      undefined,
      2000,
    );
    ac.abort();
    await raw;
    await waitFor(
      "the pod to be told",
      () => rig.pods[0]?.cancelled.includes("gone-raw") === true,
      undefined,
      2000,
    );
    await waitFor(
      "a CANCELLED trace",
      () => rig.traces.some((t) => t.requestId === "77" && t.status === CallStatus.CANCELLED),
      undefined,
      2000,
    );
    const t = rig.traces.find((x) => x.requestId === "77" && x.status === CallStatus.CANCELLED);
    assert.equal(t?.tool, "wait");
    assert.match(t?.error ?? "", /the caller closed its request before the answer/);
    assert.equal(rig.proxy.proxy.session(transport.sessionId ?? "")?.inFlight, 0, "nothing held");
    // The session keeps working.
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "still" } })), "still");
    await client.close();
  });

  it("cancels a call whose SDK client closes mid-call", async () => {
    const { client, transport } = await connect(rig.endpoint());
    const sid = transport.sessionId ?? "";
    const call = client
      .callTool({ name: "wait", arguments: { ms: 10_000, tag: "gone-sdk" } })
      .catch((e: unknown) => e);
    await waitFor(
      "the call to reach the pod",
      () => rig.pods[0]?.calls.some((c) => c.args["tag"] === "gone-sdk") === true,
      undefined,
      2000,
    );
    await client.close();
    await call;
    await waitFor(
      "the pod to be told",
      () => rig.pods[0]?.cancelled.includes("gone-sdk") === true,
      undefined,
      2000,
    );
    await waitFor(
      "the proxy to release the call",
      () => rig.proxy.proxy.session(sid)?.inFlight === 0,
      undefined,
      2000,
    );
    assert.ok(rig.proxy.proxy.stats.get("calls_abandoned", { provider: "weather" }) >= 2);
  });

  it("cancels a resumable call at the pod when the caller does not resume within resumeGraceMs", async () => {
    const net = cuttableFetch();
    const { client, transport } = await sdkClient(rig.endpoint(), { fetch: net.fetch, maxRetries: 0 });
    const sid = transport.sessionId ?? "";
    let first = true;
    const call = client
      .callTool(
        { name: "ticker", arguments: { steps: 200, ms: 20, tag: "no-resume" } },
        CallToolResultSchema,
        {
          onprogress: () => {
            if (first) {
              first = false;
              net.cut();
            }
          },
          timeout: 10_000,
        },
      )
      .catch((e: unknown) => e);
    await waitFor("the first progress event", () => !first, undefined, 2000);
    const cutAt = Date.now();
    // Held for the grace period (the caller could still resume), then cancelled.
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(!stopped.includes("no-resume"), "not cancelled while the caller may still resume");
    await waitFor("the server to see the cancellation", () => stopped.includes("no-resume"), undefined, 3000);
    assert.ok(Date.now() - cutAt >= 350, "cancelled after the grace period");
    await waitFor("the trace", () => endOf("no-resume") !== undefined, undefined, 2000);
    assert.equal(endOf("no-resume")?.status, CallStatus.CANCELLED);
    assert.match(endOf("no-resume")?.error ?? "", /did not resume within 400 ms/);
    assert.equal(rig.proxy.proxy.session(sid)?.inFlight, 0);
    await client.close();
    await call;
  });
});
