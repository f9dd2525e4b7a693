/**
 * hub/outbox-disk — the agent's durable outbox to the controller (agent/src/hub/outbox.ts):
 * alerts appended (numbered, encoded, group-committed to the DiskSpool with fdatasync), read
 * back in order the way the client streams them, and acknowledged in batches the way the hub
 * acknowledges them (the ack position and next number written by rename, fdatasync). Messages/s
 * is what the outbox sustains with the hub connected; latency is append → readable (on disk).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { DiskOutbox } from "@hangar/agent";
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";

const STRIDE = 64;
const BATCH = 256;

function alert(i: number): hangar.Alert {
  return create(hangar.AlertSchema, {
    id: `bench-${i}`,
    ruleId: "hangar.exfil.shell-then-connect",
    severity: hangar.Severity.HIGH,
    provider: "weather",
    message: `shell spawned during tools/call run_query; connected to 203.0.113.${i % 250}`,
    time: timestampFromMs(Date.UTC(2026, 10, 22) + i),
    node: "node-a",
    mitre: ["T1059", "T1041"],
  });
}

export const hubOutboxDisk: BenchCase = {
  name: "hub/outbox-disk",
  description:
    "alerts → DiskOutbox.append (group commit, fdatasync) → read in order (256 at a time) → ack (ack.json by rename, fdatasync)",
  latency: `every ${STRIDE}th message: append → returned by read (durable)`,
  defaultEvents: 40_000,
  async run(ctx): Promise<Measurement> {
    const dir = await mkdtemp(join(tmpdir(), "hangar-bench-outbox-"));
    const outbox = await DiskOutbox.open({ dir: join(dir, "hub") });
    const total = ctx.warmup + ctx.events;
    const appendedAt = new Float64Array(Math.ceil(total / STRIDE) + 1);
    const latency = new LatencyRecorder(Math.ceil(ctx.events / STRIDE) + 1);
    const memory = new MemoryPeak();
    const msgs = Array.from({ length: 1024 }, (_, i) => alert(i));
    let next = 1n;
    let read = 0;
    let start = 0n;
    const drain = async (): Promise<void> => {
      const got = await outbox.read(next, BATCH);
      for (const r of got) {
        const i = Number(r.seq) - 1;
        if (i >= ctx.warmup && i % STRIDE === 0)
          latency.record(Number(now()) - (appendedAt[i / STRIDE] ?? 0));
      }
      read += got.length;
      const last = got.at(-1);
      if (last !== undefined) {
        next = last.seq + 1n;
        outbox.ack(last.seq);
      }
    };
    try {
      for (let i = 0; i < total; i++) {
        if (i === ctx.warmup) {
          while (read < ctx.warmup) await drain();
          start = now();
        }
        if (i % STRIDE === 0) appendedAt[i / STRIDE] = Number(now());
        outbox.append({ case: "alert", value: msgs[i & 1023] as hangar.Alert });
        if ((i + 1) % BATCH === 0) {
          await drain();
          memory.sample();
        }
      }
      while (read < total) await drain();
      const elapsedNs = Number(now() - start);
      if (outbox.pending !== 0) throw new Error(`${outbox.pending} messages left unacknowledged`);
      return { events: ctx.events, elapsedNs, latency, memory, detail: { batch: BATCH, fsync: true } };
    } finally {
      await outbox.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
