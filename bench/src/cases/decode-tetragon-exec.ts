/**
 * decode/tetragon-exec — the ceiling: protobuf decoding alone of process_exec
 * GetEventsResponse bytes. No intake path can go faster than decoding what it
 * receives, so the other cases report their events/s as a ratio to this one.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { tetragon } from "@hangar/proto";
import { loadPool } from "../fixtures.js";
import { runSync } from "../harness.js";
import type { BenchCase } from "./case.js";

/** Odd, so that with a power-of-two pool every message gets sampled. */
export const SAMPLE_STRIDE = 7;

export const decodeTetragonExec: BenchCase = {
  name: "decode/tetragon-exec",
  description:
    "fromBinary(tetragon.GetEventsResponseSchema) over 1 024 distinct process_exec messages (process + parent, pod with labels, container, image)",
  latency: `every ${SAMPLE_STRIDE}th event timed alone with process.hrtime.bigint; nearest-rank percentiles of those samples`,
  defaultEvents: 200_000,
  run(ctx) {
    const pool = loadPool("exec");
    const mask = pool.length - 1;
    const bytes = pool.reduce((n, b) => n + b.byteLength, 0);
    ctx.log(`pool: ${pool.length} messages, mean ${Math.round(bytes / pool.length)} bytes`);
    let check = 0;
    const m = runSync({
      events: ctx.events,
      warmup: ctx.warmup,
      stride: SAMPLE_STRIDE,
      step: (i) => {
        const msg = fromBinary(tetragon.GetEventsResponseSchema, pool[i & mask] as Uint8Array);
        check += msg.nodeName.length;
      },
    });
    if (check === 0) throw new Error("decode produced nothing");
    m.detail = { pool: pool.length, meanBytes: Math.round(bytes / pool.length) };
    return Promise.resolve(m);
  },
};
