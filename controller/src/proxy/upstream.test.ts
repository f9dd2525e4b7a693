/**
 * The proxy's SSE parser alone: events split anywhere across chunks, LF and
 * CRLF, ids and priming events, `retry:`, comments, multi-line data, and the
 * size bound.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { splitAt } from "@hangar/testkit";
import { EXACT_BELOW, freePieces, KeptBytes, MAX_FREE_PIECES, PIECE_BYTES } from "./pieces.js";
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

/**
 * Pushes `all` through one read buffer that is reused for every chunk (as h1.ts does), in chunks of
 * `sizes` (cycled); after each push the rest of the buffer is overwritten, as a later read would.
 * Returns whether every push stayed within the bound.
 */
function pushThroughOneReadBuffer(p: SseParser, all: Buffer, sizes: readonly number[]): boolean {
  const read = Buffer.alloc(Math.max(...sizes));
  let ok = true;
  for (let at = 0, k = 0; at < all.length; k++) {
    const n = all.copy(read, 0, at, at + (sizes[k % sizes.length] as number));
    ok = p.push(read.subarray(0, n)) && ok;
    read.fill(0x21); // what a later read leaves behind
    at += n;
  }
  return ok;
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

  it("streams a large data line from pieces and reused read buffers without mixing bytes up", () => {
    // Bytes that differ everywhere (so a piece reused too early, or a read buffer overwritten
    // before its bytes were copied, shows), on two data lines, then a small event.
    const big = Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join("");
    const text = `id: a\ndata: ${big}\r\ndata: ${big.slice(0, 70_000)}\n\ndata: {"small":1}\n\n`;
    fc.assert(
      fc.property(
        // Chunks shorter than the first data line, so that it is always streamed.
        fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 20 }),
        // Over the small event's line (17 bytes), which is then never streamed.
        fc.integer({ min: 32, max: 100_000 }),
        (sizes, streamMin) => {
          const got: Buffer[] = [];
          const events: string[] = [];
          let ends = 0;
          const p = new SseParser(
            1 << 22,
            (e) => events.push(e.data.toString("utf8")),
            undefined,
            (start) => {
              // A sink copies during the call: the pieces are not valid afterwards.
              for (const piece of start) got.push(Buffer.from(piece));
              return {
                push: (c) => got.push(Buffer.from(c)),
                lineBreak: () => got.push(Buffer.from("\n")),
                end: () => ends++,
              };
            },
            streamMin,
          );
          assert.equal(pushThroughOneReadBuffer(p, Buffer.from(text), sizes), true);
          // A CR inside a streamed line goes on as a space; the second data line after a line break.
          assert.equal(Buffer.concat(got).toString("latin1"), `${big} \n${big.slice(0, 70_000)}`);
          assert.equal(ends, 1);
          assert.deepEqual(events, ['{"small":1}']);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("holds a short unfinished line in a copy of its size, not a piece (a pod that stops mid-line)", () => {
    const warm = new KeptBytes();
    warm.keep(Buffer.alloc(3 * PIECE_BYTES)); // pieces in the pool
    warm.release();
    const before = freePieces();
    assert.ok(before > 0);
    const p = new SseParser(1 << 22, () => undefined);
    const read = Buffer.alloc(64 * 1024, 0x78);
    read.write("data: ");
    p.push(read.subarray(0, 10_000));
    p.push(read.subarray(6, 40_000)); // 50 KB held, still under EXACT_BELOW
    assert.equal(freePieces(), before);
  });

  it("keeps a line that a sink refused, whole, and gives its pieces back when the line ends", () => {
    const line = "y".repeat(200_000);
    const before = freePieces();
    const events: string[] = [];
    let offers = 0;
    const p = new SseParser(
      1 << 22,
      (e) => events.push(e.data.toString("latin1")),
      undefined,
      () => {
        offers++;
        return undefined;
      },
    );
    assert.equal(pushThroughOneReadBuffer(p, Buffer.from(`data: ${line}\n\n`), [50_000]), true);
    assert.equal(offers, 1);
    assert.deepEqual(events, [line]);
    // The line took one piece (from the pool, or a new one) and gave it back.
    assert.equal(freePieces(), Math.min(MAX_FREE_PIECES, Math.max(before, 1)));
  });
});

describe("KeptBytes", () => {
  it("keeps copies, and detaches them as a buffer that outlives the pieces", () => {
    const k = new KeptBytes();
    const src = Buffer.alloc(PIECE_BYTES + 10, 7);
    k.keep(src);
    k.keep(Buffer.from("short"));
    src.fill(1); // the original may change: the kept bytes are copies
    assert.equal(k.length, PIECE_BYTES + 15);
    const b = k.detach();
    assert.equal(k.length, 0);
    assert.equal(k.views.length, 0);
    // The pieces went back: taking them again and overwriting must not change the detached bytes.
    const other = new KeptBytes();
    other.keep(Buffer.alloc(2 * PIECE_BYTES, 9));
    assert.equal(b.length, PIECE_BYTES + 15);
    assert.equal(
      b.subarray(0, PIECE_BYTES + 10).every((x) => x === 7),
      true,
    );
    assert.equal(b.subarray(PIECE_BYTES + 10).toString(), "short");
    other.release();
  });

  it("packs many reads into few pieces, in order", () => {
    const k = new KeptBytes();
    const parts: Buffer[] = [Buffer.from("ab")];
    for (let i = 0; i < 40; i++) parts.push(Buffer.alloc(16 * 1024, 65 + (i % 26))); // TLS-sized reads
    for (const p of parts) k.keep(p);
    // Copies to size while the total stays under EXACT_BELOW ("ab" and three reads), then 256 KiB
    // pieces filled one after another: the other 37 reads (592 KiB) in three pieces, not one per read.
    const exact = 1 + Math.floor((EXACT_BELOW - 1 - 2) / (16 * 1024));
    const inPieces = 40 - (exact - 1);
    assert.equal(k.views.length, exact + Math.ceil((inPieces * 16 * 1024) / PIECE_BYTES));
    assert.deepEqual(k.detach(), Buffer.concat(parts));
  });

  it("detaches one short copy as it is", () => {
    const k = new KeptBytes();
    k.keep(Buffer.from("abc"));
    const v = k.views[0];
    assert.equal(k.detach(), v);
  });
});
