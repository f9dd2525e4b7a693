/**
 * At-least-once delivery to a real rsyslog: the destination goes down (rsyslogd stopped),
 * records go to the disk spool, and on recovery every record arrives, in order, counted;
 * a process restart with a non-empty spool sends what the previous process left.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import {
  skipUnlessRsyslog,
  startRsyslog,
  type Rsyslog,
  type RsyslogMessage,
  memoryLogger,
  tempDir,
  waitFor,
} from "@hangar/testkit";
import { Counters } from "@hangar/core";
import { SiemSink, type SiemDestinationConfig } from "../src/siem/sink.js";

function alert(run: string, seq: number): hangar.Alert {
  return create(hangar.AlertSchema, {
    id: `${run}-${seq}`,
    ruleId: "hangar.test.delivery",
    severity: hangar.Severity.MEDIUM,
    provider: "weather",
    message: `record ${seq}`,
    time: timestampFromMs(Date.now()),
    node: "node-a",
  });
}

/** The ids of one run, first occurrence only (at-least-once may repeat a few). */
function idsOf(msgs: RsyslogMessage[], run: string): { order: number[]; duplicates: number } {
  const seen = new Set<number>();
  const order: number[] = [];
  let duplicates = 0;
  for (const m of msgs) {
    const id = m.cef?.Extensions["externalId"] ?? "";
    if (!id.startsWith(`${run}-`)) continue;
    const n = Number(id.slice(run.length + 1));
    if (seen.has(n)) {
      duplicates++;
      continue;
    }
    seen.add(n);
    order.push(n);
  }
  return { order, duplicates };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("SIEM delivery through outages (real rsyslog)", { skip: skipUnlessRsyslog() }, () => {
  let rs: Rsyslog;
  const tmp = tempDir("hangar-siem-delivery-");
  before(async () => {
    rs = await startRsyslog();
  });
  after(async () => {
    await rs.stop();
    tmp.cleanup();
  });

  const dest = (name: string): SiemDestinationConfig => ({
    name,
    format: "cef",
    transport: "tcp",
    host: rs.host,
    port: rs.ports.tcp,
    framing: "octet-counting",
    spoolDir: join(tmp.dir, name),
    confirmMs: 300,
    flushIntervalMs: 20,
    backoff: { initialMs: 50, maxMs: 300 },
  });

  it("destination down → spool → recovery: every record delivered, in order, counted", async (t) => {
    const counters = new Counters();
    const { logger, lines } = memoryLogger();
    const sink = await SiemSink.start({
      destinations: [dest("outage")],
      hostname: "node-a",
      counters,
      logger,
    });
    const d = { destination: "outage" };
    const total = 1500;
    let seq = 0;
    // Healthy: 300 records.
    for (; seq < 300; seq++) sink.write(alert("outage", seq));
    await sink.flush();
    await waitFor("first 300 confirmed", () => counters.get("siem_sent", d) === 300, counters);
    // Down while connected: the next writes hit a dead connection, then refused connects.
    await rs.pause();
    for (; seq < 1200; seq++) {
      sink.write(alert("outage", seq));
      if (seq % 100 === 0) await new Promise((r) => setTimeout(r, 30));
    }
    await sink.flush();
    await waitFor("records spooled while down", () => counters.get("siem_spool_records", d) > 0, counters);
    assert.ok(counters.get("siem_send_errors", d) > 0, "send errors counted while down");
    assert.equal(counters.get("siem_up", d), 0);
    // Still down: more records go straight to the spool.
    for (; seq < total; seq++) sink.write(alert("outage", seq));
    await sink.flush();
    await rs.resume();
    await waitFor(
      "all records confirmed after recovery",
      () => counters.get("siem_sent", d) >= total && counters.get("siem_spool_records", d) === 0,
      counters,
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${lines.slice(-20).join("")}`);
    });
    await sink.shutdown();
    const got = idsOf(await rs.received(), "outage");
    assert.deepEqual(got.order, range(total), "every record, in order");
    assert.equal(counters.get("siem_records", d), total);
    assert.equal(counters.byLabel("siem_dropped", "reason")["spool_overflow"] ?? 0, 0);
    assert.ok(
      counters.get("siem_spooled", d) >= total - 300,
      "records written while down went through the spool",
    );
    // Resends happen only for records in flight when the connection died.
    assert.ok(got.duplicates <= counters.get("siem_resent", d), `${got.duplicates} duplicates`);
    assert.equal(counters.get("siem_up", d), 1);
    t.diagnostic(`duplicates ${got.duplicates}; counters ${JSON.stringify(counters.snapshot())}`);
  });

  it("process restart with a non-empty spool: the next process sends it first, in order", async () => {
    await rs.pause();
    const c1 = new Counters();
    const log1 = memoryLogger();
    const first = await SiemSink.start({
      destinations: [dest("restart")],
      hostname: "node-a",
      counters: c1,
      logger: log1.logger,
    });
    for (let i = 0; i < 200; i++) first.write(alert("restart", i));
    await first.shutdown();
    const d = { destination: "restart" };
    assert.equal(c1.get("siem_sent", d), 0);
    assert.equal(c1.get("siem_spool_records", d), 200, "all 200 left in the spool");
    assert.ok(
      readdirSync(join(tmp.dir, "restart")).some((f) => f.endsWith(".seg")),
      "segment files on disk",
    );

    await rs.resume();
    const c2 = new Counters();
    const log2 = memoryLogger();
    const second = await SiemSink.start({
      destinations: [dest("restart")],
      hostname: "node-a",
      counters: c2,
      logger: log2.logger,
    });
    for (let i = 200; i < 250; i++) second.write(alert("restart", i));
    await waitFor("spool and new records delivered", () => c2.get("siem_sent", d) >= 250, c2, 20_000);
    await second.shutdown();
    assert.equal(c2.get("siem_spool_records", d), 0);
    const got = idsOf(await rs.received(), "restart");
    assert.deepEqual(got.order, range(250), "the old spool first, then the new records");
    assert.ok(
      log2.lines.some((l) => l.includes("non-empty spool")),
      "the restart is logged",
    );
  });

  it("receiver killed (SIGKILL) mid-stream: records in flight are resent; all arrive, in order", async (t) => {
    const counters = new Counters();
    const { logger, lines } = memoryLogger();
    const sink = await SiemSink.start({
      destinations: [dest("killed")],
      hostname: "node-a",
      counters,
      logger,
    });
    const d = { destination: "killed" };
    const total = 3000;
    for (let seq = 0; seq < total; seq++) {
      sink.write(alert("killed", seq));
      if (seq === 1500) await rs.pause("SIGKILL");
      if (seq === 2200) await rs.resume();
      if (seq % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(
      "all records confirmed",
      () => counters.get("siem_sent", d) >= total && counters.get("siem_spool_records", d) === 0,
      counters,
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${lines.slice(-20).join("")}`);
    });
    await sink.shutdown();
    const got = idsOf(await rs.received(), "killed");
    assert.deepEqual(got.order, range(total), "every record, in order (first occurrences)");
    t.diagnostic(`duplicates ${got.duplicates}; counters ${JSON.stringify(counters.snapshot())}`);
  });

  it("spool overflow, drop-oldest: the newest records are delivered, the rest counted as dropped", async () => {
    await rs.pause();
    const counters = new Counters();
    const { logger } = memoryLogger();
    const sink = await SiemSink.start({
      destinations: [{ ...dest("overflow"), spoolMaxBytes: 32 * 1024, spoolSegmentBytes: 4 * 1024 }],
      hostname: "node-a",
      counters,
      logger,
    });
    const d = { destination: "overflow" };
    const total = 1000;
    for (let i = 0; i < total; i++) {
      sink.write(alert("overflow", i));
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await sink.flush();
    const dropped = counters.get("siem_dropped", { ...d, reason: "spool_overflow" });
    assert.ok(dropped > 0, "overflow counted");
    assert.ok(counters.get("siem_spool_bytes", d) <= 32 * 1024);
    await rs.resume();
    await waitFor(
      "spool drained",
      () => counters.get("siem_spool_records", d) === 0 && counters.get("siem_up", d) === 1,
      counters,
      20_000,
    );
    await sink.shutdown();
    const got = idsOf(await rs.received(), "overflow");
    assert.equal(got.order.length + dropped, total, "delivered + dropped = written");
    const first = got.order[0] ?? -1;
    assert.deepEqual(
      got.order,
      range(total - first).map((i) => i + first),
      "a contiguous run of the newest records",
    );
    assert.equal(counters.get("siem_sent", d), got.order.length);
  });
});
