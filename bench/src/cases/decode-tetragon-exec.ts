/**
 * decode/tetragon-exec — the ceiling: protobuf decoding alone of process_exec
 * GetEventsResponse bytes. No intake path can go faster than decoding what it
 * receives, so the other cases report their events/s as a ratio to this one.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { tetragon } from "@hangar/proto";
import { loadPool } from "../fixtures.js";
import { runSync, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";

/** Odd, so that with a power-of-two pool every message gets sampled. */
export const SAMPLE_STRIDE = 7;
export const DECODE_LATENCY = `every ${SAMPLE_STRIDE}th event timed alone with process.hrtime.bigint; nearest-rank percentiles of those samples`;

/**
 * Decodes the pool round-robin (every SAMPLE_STRIDE-th message timed alone); `decode` returns a
 * number taken from what it decoded, so that the work cannot be optimised away and a decoder
 * that yields nothing fails the case.
 */
export function decodeOverPool(
  ctx: CaseContext,
  pool: readonly Uint8Array[],
  decode: (b: Uint8Array) => number,
): Measurement {
  const mask = pool.length - 1;
  let check = 0;
  const m = runSync({
    events: ctx.events,
    warmup: ctx.warmup,
    stride: SAMPLE_STRIDE,
    step: (i) => {
      check += decode(pool[i & mask] as Uint8Array);
    },
  });
  if (check === 0) throw new Error("decode produced nothing");
  return m;
}

export const decodeTetragonExec: BenchCase = {
  name: "decode/tetragon-exec",
  description:
    "fromBinary(tetragon.GetEventsResponseSchema) over 1 024 distinct process_exec messages (process + parent, pod with labels, container, image)",
  latency: DECODE_LATENCY,
  defaultEvents: 200_000,
  run(ctx) {
    const pool = loadPool("exec");
    const bytes = pool.reduce((n, b) => n + b.byteLength, 0);
    ctx.log(`pool: ${pool.length} messages, mean ${Math.round(bytes / pool.length)} bytes`);
    const m = decodeOverPool(
      ctx,
      pool,
      (b) => fromBinary(tetragon.GetEventsResponseSchema, b).nodeName.length,
    );
    m.detail = { pool: pool.length, meanBytes: Math.round(bytes / pool.length) };
    return Promise.resolve(m);
  },
};
