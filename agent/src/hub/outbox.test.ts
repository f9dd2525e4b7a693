import assert from "node:assert/strict";
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
