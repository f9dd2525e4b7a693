/**
 * normalize/tetragon-mixed — decode + TetragonNormalizer.normalize over a
 * realistic mix of Tetragon events (exec, exit, kprobe tcp_connect, kprobe
 * security_file_permission, some pods without the provider label, the odd
 * rate_limit_info). Stage cost without any transport.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { Counters } from "@hangar/core";
import { TetragonNormalizer } from "@hangar/agent";
import { tetragon } from "@hangar/proto";
import { loadPool } from "../fixtures.js";
import { runSync } from "../harness.js";
import type { BenchCase } from "./case.js";
import { SAMPLE_STRIDE, decodeTetragonExec } from "./decode-tetragon-exec.js";

export const normalizeTetragonMixed: BenchCase = {
  name: "normalize/tetragon-mixed",
  description:
    "fromBinary + TetragonNormalizer.normalize over 1 024 distinct messages: ~25 % exec, ~25 % exit, ~20 % kprobe tcp_connect, ~20 % kprobe security_file_permission, ~10 % unlabelled pods",
  latency: `every ${SAMPLE_STRIDE}th event (decode + normalize) timed alone with process.hrtime.bigint; nearest-rank percentiles`,
  ceiling: decodeTetragonExec.name,
  defaultEvents: 160_000,
  run(ctx) {
    const pool = loadPool("mixed");
    const mask = pool.length - 1;
    const bytes = pool.reduce((n, b) => n + b.byteLength, 0);
    ctx.log(`pool: ${pool.length} messages, mean ${Math.round(bytes / pool.length)} bytes`);
    const counters = new Counters();
    const normalizer = new TetragonNormalizer(counters);
    let events = 0;
    let dropped = 0;
    const m = runSync({
      events: ctx.events,
      warmup: ctx.warmup,
      stride: SAMPLE_STRIDE,
      step: (i) => {
        const msg = fromBinary(tetragon.GetEventsResponseSchema, pool[i & mask] as Uint8Array);
        const r = normalizer.normalize(msg);
        if (r.event !== undefined) events++;
        else dropped++;
      },
    });
    m.detail = {
      pool: pool.length,
      meanBytes: Math.round(bytes / pool.length),
      // Share of messages (warm-up included) that became an event; the rest are sensor notices.
      normalizedShare: Math.round((events / (events + dropped)) * 1000) / 1000,
    };
    return Promise.resolve(m);
  },
};
