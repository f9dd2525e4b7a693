/** The batch processor alone, over an in-memory transport (the real transports are tested against rsyslog). */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pino } from "pino";
import { Counters, DiskSpool } from "@hangar/core";
import { waitFor } from "@hangar/testkit";
import { Destination } from "./destination.js";
import type { Transport } from "./transport.js";

class MemoryTransport implements Transport {
  readonly describe = "memory";
  readonly stream: boolean;
  generation = 0;
  connected = true;
  down = false;
  readonly batches: string[][] = [];
  constructor(stream: boolean) {
    this.stream = stream;
  }
  get received(): string[] {
    return this.batches.flat();
  }
  send(messages: readonly Buffer[]): Promise<void> {
    if (this.down) return Promise.reject(new Error("connection refused"));
    this.batches.push(messages.map((m) => m.toString()));
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const logger = pino({ level: "silent" });
const rec = (i: number): Buffer => Buffer.from(`r${i}`);
const names = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `r${i + from}`);

describe("Destination", () => {
  it("a lone record goes out after the flush interval, without a flush call", async () => {
    const t = new MemoryTransport(false);
    const d = new Destination({
      name: "d",
      transport: t,
      flushIntervalMs: 20,
      counters: new Counters(),
      logger,
    });
    d.write(rec(1));
    await waitFor("the record was sent", () => t.received.length === 1);
    await d.shutdown();
  });

  it("sends in batches of at most maxBatch, in order, and counts them", async () => {
    const t = new MemoryTransport(false);
    const counters = new Counters();
    const d = new Destination({ name: "d", transport: t, maxBatch: 100, counters, logger });
    for (let i = 0; i < 1000; i++) d.write(rec(i));
    await d.flush();
    assert.deepEqual(t.received, names(1000));
    assert.ok(t.batches.every((b) => b.length <= 100));
    assert.equal(counters.get("siem_sent", { destination: "d" }), 1000);
    await d.shutdown();
  });

  it("without a spool, a down destination holds at most `queue` records and counts the rest", async () => {
    const t = new MemoryTransport(false);
    t.down = true;
    const counters = new Counters();
    const d = new Destination({
      name: "d",
      transport: t,
      maxQueue: 50,
      flushIntervalMs: 1,
      backoff: { initialMs: 10, maxMs: 20 },
      counters,
      logger,
    });
    for (let i = 0; i < 200; i++) d.write(rec(i));
    await waitFor("a send failed", () => counters.get("siem_send_errors", { destination: "d" }) > 0);
    t.down = false;
    await waitFor("recovered", () => counters.get("siem_sent", { destination: "d" }) === 50);
    assert.equal(counters.get("siem_dropped", { destination: "d", reason: "queue_full" }), 150);
    assert.deepEqual(t.received, names(50));
    await d.shutdown();
  });

  it("a lost stream connection resends the unconfirmed records before newer ones", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hangar-dest-"));
    try {
      const t = new MemoryTransport(true);
      const counters = new Counters();
      const spool = await DiskSpool.open({ dir, fsync: false });
      const d = new Destination({
        name: "d",
        transport: t,
        spool,
        confirmMs: 1_000,
        flushIntervalMs: 1,
        backoff: { initialMs: 10, maxMs: 20 },
        counters,
        logger,
      });
      for (let i = 0; i < 10; i++) d.write(rec(i));
      await waitFor("sent", () => t.received.length === 10);
      t.generation++; // the connection broke after the kernel took the bytes
      for (let i = 10; i < 15; i++) d.write(rec(i));
      await waitFor("resent and continued", () => t.received.length >= 25);
      assert.deepEqual(t.received.slice(10), [...names(10), ...names(5, 10)]);
      assert.equal(counters.get("siem_resent", { destination: "d" }), 10);
      await d.shutdown();
      assert.equal(counters.get("siem_sent", { destination: "d" }), 15);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("write-ahead (the default with a spool): each record is in the spool before it is sent; wal off sends from memory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hangar-dest-wal-"));
    try {
      for (const writeAhead of [true, false]) {
        const spool = await DiskSpool.open({ dir: join(dir, String(writeAhead)), fsync: false });
        const counters = new Counters();
        let inSpoolAtSend: number[] = [];
        const t = new MemoryTransport(true);
        const send = t.send.bind(t);
        t.send = (messages) => {
          inSpoolAtSend.push(spool.pending);
          return send(messages);
        };
        const d = new Destination({
          name: "d",
          transport: t,
          spool,
          writeAhead,
          flushIntervalMs: 10,
          confirmMs: 20,
          counters,
          logger,
        });
        for (let i = 0; i < 20; i++) d.write(rec(i));
        await waitFor("all sent", () => t.received.length === 20);
        await waitFor("all confirmed", () => counters.get("siem_sent", { destination: "d" }) === 20);
        assert.deepEqual(t.received, names(20));
        if (writeAhead) {
          assert.equal(counters.get("siem_spooled", { destination: "d" }), 20);
          assert.ok(
            inSpoolAtSend.every((n) => n > 0),
            `spool pending at each send: ${inSpoolAtSend.join(",")}`,
          );
          await waitFor("acknowledged in the spool", () => spool.pending === 0);
        } else {
          assert.equal(counters.get("siem_spooled", { destination: "d" }), 0);
          assert.ok(inSpoolAtSend.every((n) => n === 0));
        }
        inSpoolAtSend = [];
        await d.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    "write-ahead on a full disk (tmpfs): records the disk refuses go out from memory while the destination is up, and are counted as spool_full while it is down",
    { skip: tmpfsSkip() },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "hangar-dest-full-"));
      const mnt = join(dir, "mnt");
      mkdirSync(mnt);
      const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], { encoding: "utf8" });
      assert.equal(m.status, 0, m.stderr);
      try {
        const spool = await DiskSpool.open({
          dir: join(mnt, "d"),
          maxBytes: 1 << 20,
          segmentBytes: 256 * 1024,
        });
        const counters = new Counters();
        const t = new MemoryTransport(true);
        const d = new Destination({ name: "d", transport: t, spool, flushIntervalMs: 5, counters, logger });
        const big = (i: number): Buffer => Buffer.from(`r${i}:${"x".repeat(2000)}`);
        // Up: 100 records of 2 KB into 64 KiB; sent records stay in the spool until confirmed
        // (confirm-ms, 1 s), so the disk fills, and what it refuses goes out from memory.
        for (let i = 0; i < 100; i++) d.write(big(i));
        await d.flush();
        await waitFor("all 100 sent", () => new Set(t.received.map((r) => r.split(":")[0])).size === 100);
        assert.equal(counters.get("siem_dropped", { destination: "d", reason: "spool_full" }), 0);
        const spooled = counters.get("siem_spooled", { destination: "d" });
        assert.ok(spooled < 100, `the disk refused some (${spooled} of 100 spooled)`);
        await waitFor("confirmed and acknowledged: room again", () => spool.pending === 0, undefined, 10_000);
        // Down: what the full disk refuses now is dropped and counted; nothing else is lost.
        t.down = true;
        for (let i = 100; i < 200; i++) d.write(big(i));
        await d.flush();
        await waitFor("the disk refused some", () => spool.full !== undefined);
        const dropped = counters.get("siem_dropped", { destination: "d", reason: "spool_full" });
        assert.ok(dropped > 0, "counted");
        t.down = false;
        await waitFor(
          "the rest delivered",
          () => new Set(t.received.map((r) => r.split(":")[0])).size + dropped >= 200,
          undefined,
          20_000,
        );
        await d.shutdown();
      } finally {
        spawnSync("umount", ["-l", mnt]);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

function tmpfsSkip(): string | false {
  if (process.getuid?.() === 0) return false;
  const reason = "not root: the full-disk test mounts a tmpfs";
  if (process.env.HANGAR_REQUIRE_FAULT === "1") throw new Error(`HANGAR_REQUIRE_FAULT=1: ${reason}`);
  process.stderr.write(`# skipped: ${reason}\n`);
  return reason;
}
