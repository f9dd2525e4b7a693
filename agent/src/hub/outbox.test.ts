import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { DiskOutbox, MemoryOutbox, type HubOutbox } from "./outbox.js";

const msg = (id: string, pad = 0): hangar.ConnectRequest["message"] => ({
  case: "alert",
  value: create(hangar.AlertSchema, { id, message: "x".repeat(pad) }),
});
const ids = (rs: hangar.ConnectRequest[]): string[] =>
  rs.map((r) => `${r.seq}:${r.message.case === "alert" ? r.message.value.id : "?"}`);

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), "hangar-outbox-"));
}

async function common(o: HubOutbox): Promise<void> {
  assert.equal(o.append(msg("a")), 1n);
  assert.equal(o.append(msg("b")), 2n);
  assert.equal(o.append(msg("c")), 3n);
  assert.deepEqual(ids(await o.read(1n, 10)), ["1:a", "2:b", "3:c"]);
  assert.deepEqual(ids(await o.read(3n, 10)), ["3:c"]);
  o.ack(1n);
  assert.equal(o.pending, 2);
  assert.equal(o.firstSeq, 2n);
  assert.deepEqual(ids(await o.read(1n, 10)), ["2:b", "3:c"], "acknowledged ones are not read again");
  o.renumber(10n);
  assert.deepEqual(ids(await o.read(10n, 10)), ["10:b", "11:c"]);
  assert.equal(o.nextSeq, 12n);
  o.ack(11n);
  assert.equal(o.pending, 0);
  assert.deepEqual(await o.read(12n, 10), []);
}

describe("hub outbox", () => {
  it("memory: numbers, reads, acknowledges and renumbers in order", async () => {
    await common(new MemoryOutbox());
  });

  it("memory: beyond its limit the oldest are dropped and reported", async () => {
    const drops: string[] = [];
    const o = new MemoryOutbox({ limit: 2, onDrop: (n, r) => drops.push(`${n}:${r}`) });
    for (const id of ["a", "b", "c"]) o.append(msg(id));
    assert.deepEqual(drops, ["1:overflow"]);
    assert.deepEqual(ids(await o.read(0n, 10)), ["2:b", "3:c"]);
  });

  it("disk: the same behaviour", async () => {
    const dir = await tmp();
    try {
      const o = await DiskOutbox.open({ dir, fsync: false });
      await common(o);
      await o.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("disk: a new process finds what was not acknowledged, numbered as before, and continues after it", async () => {
    const dir = await tmp();
    try {
      const a = await DiskOutbox.open({ dir, fsync: false });
      for (const id of ["a", "b", "c", "d"]) a.append(msg(id));
      a.ack(2n);
      await a.close();
      const b = await DiskOutbox.open({ dir, fsync: false });
      assert.equal(b.pending, 2);
      assert.deepEqual(ids(await b.read(0n, 10)), ["3:c", "4:d"]);
      assert.equal(b.append(msg("e")), 5n);
      // The hub had higher numbers (another process on this node): renumbered, and kept so.
      b.renumber(100n);
      b.ack(100n);
      await b.close();
      const c = await DiskOutbox.open({ dir, fsync: false });
      assert.deepEqual(ids(await c.read(0n, 10)), ["101:d", "102:e"]);
      c.ack(102n);
      await c.close();
      const d = await DiskOutbox.open({ dir, fsync: false });
      assert.equal(d.pending, 0);
      assert.equal(d.append(msg("f")), 103n, "numbers continue after a restart with an empty outbox");
      await d.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("disk: a failed write keeps the messages in memory, in order, and retries until the disk takes them", async () => {
    const dir = await tmp();
    try {
      const errors: unknown[] = [];
      let written = 0;
      const o = await DiskOutbox.open({ dir: join(dir, "hub"), fsync: false });
      o.onError = (err) => errors.push(err);
      o.onWritten = () => written++;
      // The directory disappears (a wiped volume): the segment cannot be created.
      await rm(join(dir, "hub"), { recursive: true });
      o.append(msg("a"));
      o.append(msg("b"));
      assert.deepEqual(await o.read(1n, 10), [], "nothing readable yet");
      assert.ok(errors.length >= 1, "the error was reported");
      assert.equal(o.pending, 2);
      await mkdir(join(dir, "hub"));
      o.append(msg("c"));
      const t0 = Date.now();
      while (written === 0 && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(ids(await o.read(1n, 10)), ["1:a", "2:b", "3:c"]);
      await o.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("disk: overflow drops the oldest pending (counted), a message that can never fit is refused", async () => {
    const dir = await tmp();
    try {
      const drops = new Map<string, number>();
      const o = await DiskOutbox.open({
        dir,
        fsync: false,
        maxBytes: 16 * 1024,
        segmentBytes: 4 * 1024,
        onDrop: (n, r) => drops.set(r, (drops.get(r) ?? 0) + n),
      });
      for (let i = 1; i <= 100; i++) o.append(msg(`m${i}`, 500));
      assert.equal(o.append(msg("huge", 20_000)), 0n);
      const all = await o.read(0n, 1000);
      const dropped = drops.get("overflow") ?? 0;
      assert.ok(dropped > 0);
      assert.equal(drops.get("too_large"), 1);
      assert.equal(all.length, 100 - dropped);
      assert.equal(o.pending, 100 - dropped);
      assert.equal(all[0]?.seq, BigInt(dropped + 1));
      assert.deepEqual(
        all.map((r) => (r.message.case === "alert" ? r.message.value.id : "")),
        Array.from({ length: 100 - dropped }, (_, i) => `m${dropped + i + 1}`),
      );
      await o.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const tmpfsSkip = ((): string | false => {
  if (process.getuid?.() === 0) return false;
  const reason = "not root: the full-disk test mounts a tmpfs";
  if (process.env.HANGAR_REQUIRE_FAULT === "1") throw new Error(`HANGAR_REQUIRE_FAULT=1: ${reason}`);
  process.stderr.write(`# skipped: ${reason}\n`);
  return reason;
})();

describe("disk outbox on a full disk (tmpfs)", { skip: tmpfsSkip }, () => {
  it("keeps what the disk refuses in memory within its bound, counts the rest, and writes it once there is room", async () => {
    const dir = await tmp();
    const mnt = join(dir, "mnt");
    await mkdir(mnt);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], { encoding: "utf8" });
    assert.equal(m.status, 0, m.stderr);
    try {
      const drops: Record<string, number> = {};
      const errors: string[] = [];
      const o = await DiskOutbox.open({
        dir: join(mnt, "hub"),
        maxBytes: 1 << 20,
        segmentBytes: 128 * 1024,
        memoryBytes: 32 * 1024,
        fsync: false,
        onDrop: (n, reason) => void (drops[reason] = (drops[reason] ?? 0) + n),
      });
      o.onError = (e) => void errors.push(String(e));
      // 2 KB each: ~30 fit on the disk; then 32 KiB wait in memory; the rest is refused.
      const seqs: bigint[] = [];
      for (let i = 0; i < 120; i++) {
        seqs.push(o.append(msg(`m${i}`, 2000)));
        if (i % 10 === 9) await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 100));
      const kept = seqs.filter((s) => s !== 0n);
      assert.ok(o.full !== undefined, "the outbox says the disk is full");
      assert.ok((drops.spool_full ?? 0) > 0, `refused and counted: ${JSON.stringify(drops)}`);
      assert.equal(kept.length + (drops.spool_full ?? 0), 120, "every message is kept or counted");
      assert.deepEqual(
        kept,
        kept.map((_, i) => BigInt(i + 1)),
        "the kept ones are numbered without gaps",
      );
      assert.match(errors.join("\n"), /HANGAR_ERR_SPOOL|the disk is full/);
      // The hub acknowledges what is on disk: room again; the backlog is written and readable.
      const onDisk = await o.read(1n, 1000);
      assert.ok(
        onDisk.length > 0 && onDisk.length < kept.length,
        `${onDisk.length} on disk of ${kept.length}`,
      );
      o.ack(onDisk.at(-1)?.seq ?? 0n);
      const want = kept.slice(onDisk.length).map(String);
      let rest: string[] = [];
      for (let i = 0; i < 50 && rest.length < want.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        rest = (await o.read(o.firstSeq, 1000)).map((r) => String(r.seq));
      }
      assert.deepEqual(rest, want, "the messages kept in memory reached the disk, in order");
      assert.equal(o.full, undefined);
      await o.close();
    } finally {
      spawnSync("umount", ["-l", mnt]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
