/**
 * The caller-side transport alone, on a real HTTP server: resuming the
 * standalone GET stream, and the bound of the replay buffer.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { DownstreamTransport } from "./downstream.js";

/** Reads an SSE response until `n` events arrived; returns their ids and data. */
async function events(res: Response, n: number): Promise<{ id: string; data: string }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = "";
  const out: { id: string; data: string }[] = [];
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
    let at: number;
    while ((at = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, at);
      text = text.slice(at + 2);
      const id = /^id: (.*)$/m.exec(block)?.[1] ?? "";
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
      if (data !== "") out.push({ id, data });
    }
  }
  await reader.cancel();
  return out;
}

describe("DownstreamTransport: resumable standalone stream", () => {
  let server: Server;
  let url = "";
  const counts: Record<string, number> = {};
  const transport = new DownstreamTransport({
    sessionIdGenerator: () => "s-1",
    onsessioninitialized: () => undefined,
    onsessionclosed: () => undefined,
    resume: { maxEvents: 3 },
    count: (what, n = 1) => {
      counts[what] = (counts[what] ?? 0) + n;
    },
  });
  const note = (i: number) => ({ jsonrpc: "2.0" as const, method: "notifications/message", params: { i } });
  const h = { accept: "text/event-stream", "mcp-session-id": "s-1" };

  before(async () => {
    server = createServer((req, res) => transport.handleRequest(req, res, undefined));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    transport.sessionId = "s-1";
    transport.confirm();
  });
  after(async () => {
    transport.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("replays what the caller missed on the standalone stream after its Last-Event-ID, then goes on live", async () => {
    const first = await fetch(url, { headers: h });
    assert.equal(first.status, 200);
    assert.equal(transport.send(note(1)), true);
    assert.equal(transport.send(note(2)), true);
    const got = await events(first, 2); // the caller reads two events, then its connection drops
    assert.deepEqual(
      got.map((e) => e.id),
      ["0_1", "0_2"],
    );
    await new Promise((r) => setTimeout(r, 20));
    transport.send(note(3)); // sent while the caller is away: kept
    transport.send(note(4));
    const again = await fetch(url, { headers: { ...h, "last-event-id": "0_2" } });
    assert.equal(again.status, 200);
    const pending = events(again, 3);
    await new Promise((r) => setTimeout(r, 20));
    transport.send(note(5)); // live, after the replay
    const resumed = await pending;
    assert.deepEqual(
      resumed.map((e) => [e.id, (JSON.parse(e.data) as { params: { i: number } }).params.i]),
      [
        ["0_3", 3],
        ["0_4", 4],
        ["0_5", 5],
      ],
    );
    assert.equal(counts["resumed"], 1);
    assert.equal(counts["replayed"], 2);
  });

  it("keeps only the newest maxEvents per stream and counts the events a resume asked for but were evicted", async () => {
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 6; i <= 10; i++) transport.send(note(i)); // buffer (3): 0_8, 0_9, 0_10
    const again = await fetch(url, { headers: { ...h, "last-event-id": "0_5" } });
    const got = await events(again, 3);
    assert.deepEqual(
      got.map((e) => e.id),
      ["0_8", "0_9", "0_10"],
    );
    assert.equal(counts["replay_gap"], 2, "0_6 and 0_7 were evicted");
  });

  it("answers 400 to an id the session never sent, or of a stream that is over", async () => {
    for (const id of ["0_99", "7_1", "garbage"]) {
      const r = await fetch(url, { headers: { ...h, "last-event-id": id } });
      assert.equal(r.status, 400, id);
      assert.match(await r.text(), /names no stream of this session that can be resumed/);
    }
  });
});
