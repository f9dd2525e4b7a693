/**
 * Large answers go through the proxy as they arrive (issue #15, large
 * responses): the caller gets the first bytes of a large tools/call answer
 * while the pod is still sending it, byte for byte, with its call trace read
 * from the stream (status, size); a pod that fails mid-answer cuts the
 * caller's stream and the call is traced as failed; a JSON body (not SSE) is
 * passed on as it arrives too, on one data line; JSON the pod splits over
 * several `data:` lines with CRLF stays one intact message. The pod is a
 * hand-written Streamable HTTP server, so the test decides when each part of
 * an answer leaves it.
 */
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { hangar } from "@hangar/proto";
import { startProxy, type RunningProxy } from "../src/proxy/serve.js";

const BIG = "a".repeat(300 * 1024);

/** A pod whose tools/call answers are written by the test: `slow` waits for `release`, `die` breaks off. */
async function startPod(): Promise<{ server: Server; url: string; release: () => void }> {
  let release: () => void = () => undefined;
  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const m = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        id?: number;
        method: string;
        params?: { name?: string };
      };
      if (m.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      if (m.method === "initialize") {
        const body = JSON.stringify({
          jsonrpc: "2.0",
          id: m.id,
          result: {
            protocolVersion: "2025-06-18",
            capabilities: { tools: {} },
            serverInfo: { name: "stream-pod", version: "1" },
          },
        });
        res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "pod-session" });
        res.end(body);
        return;
      }
      if (m.params?.name === "json") {
        // A JSON body (not SSE), pretty-printed over lines, its end held back like "slow".
        res.writeHead(200, { "content-type": "application/json" });
        res.write(`{\n  "result": {\n    "content": [{ "type": "text", "text": "${BIG}`);
        release = () => res.end(`" }]\n  },\n  "jsonrpc": "2.0",\n  "id": ${m.id}\n}\n`);
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const head = `event: message\ndata: {"result":{"content":[{"type":"text","text":"${BIG}`;
      const tail = `"}]},"jsonrpc":"2.0","id":${m.id}}\n\n`;
      switch (m.params?.name) {
        case "slow":
          res.write(head);
          release = () => res.end(tail);
          return;
        case "die":
          res.write(head, () => setTimeout(() => res.destroy(), 20));
          return;
        case "split":
          // The JSON over two data lines, CRLF line ends, the id before the data.
          res.end(
            `id: e1\r\nevent: message\r\ndata: {"result":{"content":[{"type":"text","text":"${BIG}"}],\r\ndata: "isError":true},"jsonrpc":"2.0","id":${m.id}}\r\n\r\n`,
          );
          return;
        default:
          res.end(`${head}${tail}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    release: () => release(),
  };
}

interface Answer {
  res: IncomingMessage;
  /** Bytes received so far. */
  received: () => number;
  /** The whole body, or the error that cut it off. */
  done: Promise<{ body: string; error: Error | undefined }>;
}

function call(url: URL, sid: string, id: number, body: object): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2025-06-18",
          ...(sid === "" ? {} : { "mcp-session-id": sid }),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        const done = new Promise<{ body: string; error: Error | undefined }>((ok) => {
          res.on("data", (c: Buffer) => {
            parts.push(c);
            size += c.length;
          });
          res.on("end", () => ok({ body: Buffer.concat(parts).toString("utf8"), error: undefined }));
          res.on("error", (err) => ok({ body: Buffer.concat(parts).toString("utf8"), error: err }));
        });
        resolve({ res, received: () => size, done });
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ jsonrpc: "2.0", id, ...body }));
  });
}

/** The data of each SSE event of a body (data lines joined with LF, as a caller's parser does). */
function events(body: string): string[] {
  return body
    .split(/\r?\n\r?\n/)
    .filter((b) => b.trim() !== "")
    .map((b) =>
      b
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(l[5] === " " ? 6 : 5))
        .join("\n"),
    );
}

describe("proxy: large answers stream through", () => {
  let pod: Awaited<ReturnType<typeof startPod>>;
  let proxy: RunningProxy;
  let url: URL;
  let sid = "";
  const traces: hangar.CallTrace[] = [];
  const ac = new AbortController();
  let pump: Promise<void>;

  before(async () => {
    pod = await startPod();
    proxy = await startProxy({
      config: {
        listen: "127.0.0.1:0",
        providers: [{ provider: "stream", namespace: "mcp", service: "stream" }],
        staticEndpoints: { stream: [{ url: pod.url, pod: "stream-0", namespace: "mcp", node: "node-a" }] },
      },
    });
    pump = (async () => {
      for await (const t of proxy.proxy.feed.subscribe(ac.signal))
        if (t.endTime !== undefined) traces.push(t);
    })();
    url = new URL(`${proxy.url}/mcp/stream`);
    const init = await call(url, "", 1, {
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    sid = String(init.res.headers["mcp-session-id"]);
    await init.done;
  });

  after(async () => {
    ac.abort();
    await pump;
    await proxy.close();
    pod.server.closeAllConnections();
    await new Promise((r) => pod.server.close(r));
  });

  const traceOf = async (requestId: number): Promise<hangar.CallTrace> => {
    for (let i = 0; i < 200; i++) {
      const t = traces.find((x) => x.requestId === String(requestId));
      if (t !== undefined) return t;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no trace for request ${requestId}`);
  };

  it("passes the first part of an answer on before the pod has sent the rest", async () => {
    const a = await call(url, sid, 10, { method: "tools/call", params: { name: "slow", arguments: {} } });
    // Most of the answer has left the pod; its end has not.
    for (let i = 0; i < 300 && a.received() < 200 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(a.received() >= 200 * 1024, `the caller got ${a.received()} bytes before the pod finished`);
    assert.equal(a.res.headers["content-length"], undefined);
    pod.release();
    const { body, error } = await a.done;
    assert.equal(error, undefined);
    const [data, ...more] = events(body);
    assert.equal(more.length, 0);
    const m = JSON.parse(data ?? "") as { id: number; result: { content: { text: string }[] } };
    assert.equal(m.id, 10);
    assert.equal(m.result.content[0]?.text, BIG);
    const t = await traceOf(10);
    assert.equal(t.status, hangar.CallStatus.OK);
    assert.equal(t.responseBytes, BigInt(Buffer.byteLength(data ?? "")));
    assert.equal(proxy.proxy.stats.get("responses_streamed", { provider: "stream" }), 1);
  });

  it("passes a large JSON body (not SSE) on as it arrives too, on one data line", async () => {
    const a = await call(url, sid, 13, { method: "tools/call", params: { name: "json", arguments: {} } });
    for (let i = 0; i < 300 && a.received() < 200 * 1024; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(a.received() >= 200 * 1024, `the caller got ${a.received()} bytes before the pod finished`);
    pod.release();
    const { body, error } = await a.done;
    assert.equal(error, undefined);
    const [data, ...more] = events(body);
    assert.equal(more.length, 0);
    assert.ok(!(data ?? "").includes("\n"), "one data line");
    const m = JSON.parse(data ?? "") as { id: number; result: { content: { text: string }[] } };
    assert.equal(m.id, 13);
    assert.equal(m.result.content[0]?.text, BIG);
    const t = await traceOf(13);
    assert.equal(t.status, hangar.CallStatus.OK);
  });

  it("cuts the caller's stream when the pod fails mid-answer, and traces the call as failed", async () => {
    const a = await call(url, sid, 11, { method: "tools/call", params: { name: "die", arguments: {} } });
    const { body, error } = await a.done;
    assert.ok(error !== undefined || !body.endsWith("\n\n"), "the caller must not see a complete answer");
    const t = await traceOf(11);
    assert.equal(t.status, hangar.CallStatus.ERROR);
    assert.match(t.error, /in the middle of its answer/);
  });

  it("keeps JSON the pod split over data lines (CRLF) one message, isError traced", async () => {
    const a = await call(url, sid, 12, { method: "tools/call", params: { name: "split", arguments: {} } });
    const { body, error } = await a.done;
    assert.equal(error, undefined);
    const [data] = events(body);
    const m = JSON.parse(data ?? "") as {
      id: number;
      result: { isError: boolean; content: { text: string }[] };
    };
    assert.equal(m.id, 12);
    assert.equal(m.result.isError, true);
    assert.equal(m.result.content[0]?.text, BIG);
    const t = await traceOf(12);
    assert.equal(t.status, hangar.CallStatus.ERROR);
    assert.match(t.error, /isError/);
    assert.equal(proxy.proxy.stats.get("responses_streamed", { provider: "stream" }), 4);
  });
});
