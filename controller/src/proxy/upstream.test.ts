/**
 * The proxy's SSE parser alone: events split anywhere across chunks, LF and
 * CRLF, ids and priming events, `retry:`, comments, multi-line data, and the
 * size bound.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { splitAt } from "@hangar/testkit";
import { SseParser, type SseEvent } from "./upstream.js";

function parse(
  chunks: string[],
  max = 1 << 20,
): { events: { data: string; id: string | undefined }[]; retry: number[]; ok: boolean } {
  const events: SseEvent[] = [];
  const retry: number[] = [];
  const p = new SseParser(
    max,
    (e) => events.push(e),
    (ms) => retry.push(ms),
  );
  let ok = true;
  for (const c of chunks) ok = p.push(Buffer.from(c)) && ok;
  return { events: events.map((e) => ({ data: e.data.toString("utf8"), id: e.id })), retry, ok };
}

const STREAM = [
  "id: s1|1\nretry: 500\ndata: \n\n", // priming event
  ": keep-alive comment\n\n",
  'event: message\nid: s1|2\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n',
  'data: {"a":\r\ndata: 1}\r\n\r\n', // two data lines, CRLF
  'id: s1|3\ndata: {"jsonrpc":"2.0","id":7,"result":{}}\n\n',
  "data: héllo ✓\n\n",
].join("");

const WANT = [
  { data: "", id: "s1|1" },
  { data: '{"jsonrpc":"2.0","method":"notifications/progress"}', id: "s1|2" },
  { data: '{"a":\n1}', id: undefined },
  { data: '{"jsonrpc":"2.0","id":7,"result":{}}', id: "s1|3" },
  { data: "héllo ✓", id: undefined }, // multi-byte characters, cut anywhere between chunks
];

describe("SseParser", () => {
  it("reads ids, priming events, retry, comments, multi-line data, LF and CRLF", () => {
    const r = parse([STREAM]);
    assert.deepEqual(r.events, WANT);
    assert.deepEqual(r.retry, [500]);
    assert.equal(r.ok, true);
  });

  it("gives the same events however the stream is cut into chunks", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        assert.deepEqual(parse(splitAt(STREAM, cuts)).events, WANT);
        const events: { data: string; id: string | undefined }[] = [];
        const p = new SseParser(1 << 20, (e) => events.push({ data: e.data.toString("utf8"), id: e.id }));
        for (const c of splitAt(Buffer.from(STREAM), cuts)) p.push(c);
        assert.deepEqual(events, WANT);
      }),
    );
  });

  it("joins one large event sent in many small chunks", () => {
    const big = `{"jsonrpc":"2.0","id":1,"result":{"text":"${"x".repeat(1 << 20)}"}}`;
    const text = `data: ${big}\n\n`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 16 * 1024) chunks.push(text.slice(i, i + 16 * 1024));
    const r = parse(chunks, 4 << 20);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0]?.data, big);
  });

  it("reports an event that grows over the bound, whether its line is finished or not", () => {
    assert.equal(parse([`data: ${"x".repeat(2000)}`], 1000).ok, false);
    assert.equal(parse([`data: ${"x".repeat(600)}\ndata: ${"y".repeat(600)}\n`], 1000).ok, false);
    assert.equal(parse([`data: ${"x".repeat(600)}\n\ndata: ${"y".repeat(600)}\n\n`], 1000).ok, true);
  });
});
