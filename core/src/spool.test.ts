import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { DiskSpool } from "./spool.js";

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "hangar-spool-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (i: number, size = 100): Buffer =>
  Buffer.from(`${String(i).padStart(6, "0")}:${"x".repeat(size - 7)}`);
const ids = (bufs: Buffer[]): number[] => bufs.map((b) => Number(b.toString().slice(0, 6)));

async function drain(s: DiskSpool): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    const r = await s.read(50, 1 << 20);
    if (r.records.length === 0) return out;
    out.push(...ids(r.records));
    await s.ack(r.next, r.records.length);
  }
}

describe("DiskSpool", () => {
  it("keeps order across segments, reads without acking, and resets when drained", async () => {
    const d = dir();
    const s = await DiskSpool.open({ dir: d, maxBytes: 64 * 1024, segmentBytes: 2048 });
    assert.equal(await s.append(Array.from({ length: 100 }, (_, i) => rec(i))), 0);
    assert.equal(s.pending, 100);
    assert.ok(readdirSync(d).filter((f) => f.endsWith(".seg")).length > 3, "several segments");
    const peek = await s.read(10, 1 << 20);
    assert.deepEqual(ids(peek.records), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const again = await s.read(10, 1 << 20);
    assert.deepEqual(ids(again.records), ids(peek.records), "unacked records are read again");
    const ahead = await s.read(5, 1 << 20, peek.next);
    assert.deepEqual(ids(ahead.records), [10, 11, 12, 13, 14], "reading ahead from a position");
    assert.deepEqual(
      await drain(s),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(s.pending, 0);
    assert.deepEqual(
      readdirSync(d).filter((f) => f.endsWith(".seg")),
      [],
      "segments removed once delivered",
    );
    await s.close();
  });

  it("survives a restart: unacked records come back, acked ones do not", async () => {
    const d = dir();
    const a = await DiskSpool.open({ dir: d, maxBytes: 64 * 1024, segmentBytes: 2048 });
    await a.append(Array.from({ length: 60 }, (_, i) => rec(i)));
    const r = await a.read(25, 1 << 20);
    await a.ack(r.next, 25);
    await a.close();
    const b = await DiskSpool.open({ dir: d, maxBytes: 64 * 1024, segmentBytes: 2048 });
    assert.equal(b.pending, 35);
    assert.deepEqual(
      await drain(b),
      Array.from({ length: 35 }, (_, i) => i + 25),
    );
    await b.close();
  });

  it("cuts off a torn tail (crash during an append) and keeps the intact records", async () => {
    const d = dir();
    const a = await DiskSpool.open({ dir: d, maxBytes: 64 * 1024, segmentBytes: 16 * 1024 });
    await a.append(Array.from({ length: 10 }, (_, i) => rec(i)));
    await a.close();
    const seg = join(d, readdirSync(d).find((f) => f.endsWith(".seg")) as string);
    truncateSync(seg, statSync(seg).size - 30);
    const b = await DiskSpool.open({ dir: d, maxBytes: 64 * 1024, segmentBytes: 16 * 1024 });
    assert.deepEqual(b.recovered, { segments: 1, truncatedBytes: 108 - 30 });
    assert.equal(b.pending, 9);
    await b.append([rec(99)]);
    assert.deepEqual(await drain(b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 99]);
    await b.close();
  });

  it("overflow drop-oldest: whole oldest segments go, counted; the newest records stay", async () => {
    const d = dir();
    const s = await DiskSpool.open({ dir: d, maxBytes: 8 * 1024, segmentBytes: 1024 });
    let dropped = 0;
    for (let i = 0; i < 200; i++) dropped += await s.append([rec(i)]);
    assert.ok(s.bytes <= 8 * 1024, `bytes ${s.bytes} within the bound`);
    assert.ok((await s.diskBytes()) <= 8 * 1024);
    const left = await drain(s);
    assert.equal(dropped + left.length, 200, "every record is either kept or counted as dropped");
    assert.equal(left.at(-1), 199, "the newest record is kept");
    assert.deepEqual(
      left,
      Array.from({ length: left.length }, (_, i) => 200 - left.length + i),
      "a contiguous newest run",
    );
    await s.close();
  });

  it("overflow drop-newest: records that do not fit are refused and counted; the oldest stay", async () => {
    const d = dir();
    const s = await DiskSpool.open({
      dir: d,
      maxBytes: 8 * 1024,
      segmentBytes: 1024,
      overflow: "drop-newest",
    });
    let dropped = 0;
    for (let i = 0; i < 200; i++) dropped += await s.append([rec(i)]);
    const left = await drain(s);
    assert.equal(dropped + left.length, 200);
    assert.deepEqual(
      left,
      Array.from({ length: left.length }, (_, i) => i),
      "the oldest run is kept",
    );
    assert.ok(left.length >= 70, `${left.length} kept`);
    await s.close();
  });

  it("overflow while records are in flight: a stale ack is ignored and the count stays exact", async () => {
    const s = await DiskSpool.open({ dir: dir(), maxBytes: 8 * 1024, segmentBytes: 1024 });
    await s.append(Array.from({ length: 20 }, (_, i) => rec(i)));
    const inflight = await s.read(15, 1 << 20); // sent, not yet confirmed
    let dropped = 0;
    for (let i = 20; i < 200; i++) dropped += await s.append([rec(i)]);
    assert.ok(dropped > 0);
    await s.ack(inflight.next, 15); // its segments are gone: nothing to do
    assert.equal(s.pending + dropped, 200);
    const left = await drain(s);
    assert.equal(left.length + dropped, 200);
    assert.equal(left.at(-1), 199);
    await s.close();
  });
});

// A real full disk: a small tmpfs (mounting needs root; HANGAR_REQUIRE_FAULT=1 makes a skip a failure).
const tmpfsSkip = ((): string | false => {
  if (process.getuid?.() === 0) return false;
  const reason = "not root: the full-disk test mounts a tmpfs";
  if (process.env.HANGAR_REQUIRE_FAULT === "1") throw new Error(`HANGAR_REQUIRE_FAULT=1: ${reason}`);
  process.stderr.write(`# skipped: ${reason}\n`);
  return reason;
})();

describe("DiskSpool on a full disk (tmpfs)", { skip: tmpfsSkip }, () => {
  it("keeps the whole records written, cuts a partial one off, refuses the rest, and recovers", async () => {
    const d = dir();
    const mnt = join(d, "mnt");
    mkdirSync(mnt);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], { encoding: "utf8" });
    assert.equal(m.status, 0, m.stderr);
    try {
      const s = await DiskSpool.open({
        dir: join(mnt, "spool"),
        maxBytes: 1 << 20,
        segmentBytes: 256 * 1024,
      });
      // 100 records of 1000 bytes into 64 KiB, in batches of 7 (so one is torn by the full disk).
      let refused = 0;
      let dropped = 0;
      for (let i = 0; i < 100; i += 7) {
        const w = await s.write(Array.from({ length: Math.min(7, 100 - i) }, (_, k) => rec(i + k, 1000)));
        refused += w.refused;
        dropped += w.dropped;
      }
      assert.equal(dropped, 0);
      assert.ok(refused > 0, "the disk filled up");
      assert.ok(s.full !== undefined, "the spool says it is full");
      assert.match(s.full.error, /ENOSPC|no progress/);
      assert.equal(s.pending + refused, 100, "every record is either kept or refused");
      assert.equal(await s.diskBytes(), s.bytes, "no torn bytes on disk");
      const kept = s.pending;
      await s.close();
      // A new process finds exactly the whole records, nothing to cut off.
      const s2 = await DiskSpool.open({
        dir: join(mnt, "spool"),
        maxBytes: 1 << 20,
        segmentBytes: 256 * 1024,
      });
      assert.deepEqual(s2.recovered, { segments: 0, truncatedBytes: 0 });
      assert.equal(s2.pending, kept);
      const first = await s2.read(5, 1 << 20);
      assert.deepEqual(ids(first.records), [0, 1, 2, 3, 4]);
      // Delivered and acknowledged: room again, the next write succeeds and clears `full`.
      assert.deepEqual(
        await drain(s2),
        Array.from({ length: kept }, (_, i) => i),
      );
      const w = await s2.write([rec(500, 1000)]);
      assert.deepEqual(w, { dropped: 0, refused: 0 });
      assert.equal(s2.full, undefined);
      assert.deepEqual(ids((await s2.read(10, 1 << 20)).records), [500]);
      await s2.close();
    } finally {
      spawnSync("umount", ["-l", mnt]);
    }
  });
});
