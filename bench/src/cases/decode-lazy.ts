/**
 * The decode ceilings of issue #19: the fastest decoders we have for each sensor's bytes.
 *
 * - decode/tetragon-lazy — the generated lazy reader (proto/src/gen-lazy, only the fields
 *   the normalizers read) over the mixed pool `pipeline/intake` serves; the ceiling of the
 *   intake. `detail.reflectivePerSec`: fromBinary over the same pool in the same process, and
 *   `execPoolPerSec`: the lazy reader over decode/tetragon-exec's pool.
 * - decode/hubble-lazy — the same for Hubble GetFlowsResponse flows (L3/L4, DNS, HTTP).
 * - decode/probe-records — the probe's fixed-layout records (`decodeProbeEvent`, already a
 *   direct DataView reader: no generic decoder to replace).
 */
import { fromBinary } from "@bufbuild/protobuf";
import { hubbleLazy, observer, tetragon, tetragonLazy } from "@hangar/proto";
import { PROBE_EVENT_LAYOUT, PROBE_RECORD_SIZE, ProbeKind, decodeProbeEvent } from "@hangar/agent";
import { DEFAULT_POOL, loadPool } from "../fixtures.js";
import { hubblePool } from "../hubble-fixtures.js";
import { now } from "../harness.js";
import type { BenchCase } from "./case.js";
import { DECODE_LATENCY, decodeOverPool } from "./decode-tetragon-exec.js";

/** Messages per second of `decode` over `pool` for about `ms` milliseconds (after a short warm-up). */
function rate(pool: readonly Uint8Array[], decode: (b: Uint8Array) => unknown, ms: number): number {
  for (let i = 0; i < pool.length * 4; i++) decode(pool[i % pool.length] as Uint8Array);
  const start = now();
  let n = 0;
  const limit = BigInt(ms) * 1_000_000n;
  while (now() - start < limit) {
    for (const b of pool) decode(b);
    n += pool.length;
  }
  return Math.round(n / (Number(now() - start) / 1e9));
}

function meanBytes(pool: readonly Uint8Array[]): number {
  return Math.round(pool.reduce((n, b) => n + b.byteLength, 0) / pool.length);
}

export const decodeTetragonLazy: BenchCase = {
  name: "decode/tetragon-lazy",
  description:
    "the generated lazy reader (tetragonLazy.decodeGetEventsResponse: only the fields the normalizer reads) over the 1 024-message mixed pool pipeline/intake serves; the intake's ceiling",
  latency: DECODE_LATENCY,
  defaultEvents: 600_000,
  run(ctx) {
    const pool = loadPool("mixed");
    const m = decodeOverPool(ctx, pool, (b) => tetragonLazy.decodeGetEventsResponse(b).nodeName.length);
    const exec = loadPool("exec");
    const ms = Math.max(200, Math.min(1000, ctx.events / 500));
    m.detail = {
      pool: pool.length,
      meanBytes: meanBytes(pool),
      execPoolPerSec: rate(exec, (b) => tetragonLazy.decodeGetEventsResponse(b), ms),
      // last: protobuf-es allocation sites must not train the lazy runs above
      reflectivePerSec: rate(pool, (b) => fromBinary(tetragon.GetEventsResponseSchema, b), ms),
    };
    return Promise.resolve(m);
  },
};

export const decodeHubbleLazy: BenchCase = {
  name: "decode/hubble-lazy",
  description:
    "the generated lazy reader (hubbleLazy.decodeGetFlowsResponse) over 1 024 distinct Hubble flows shaped like `hubble observe` output (both endpoints with labels and workloads; 20 % DNS, 10 % HTTP L7); detail.reflectivePerSec: fromBinary over the same pool",
  latency: DECODE_LATENCY,
  defaultEvents: 600_000,
  run(ctx) {
    const pool = hubblePool(DEFAULT_POOL);
    const m = decodeOverPool(ctx, pool, (b) => hubbleLazy.decodeGetFlowsResponse(b).nodeName.length);
    const ms = Math.max(200, Math.min(1000, ctx.events / 500));
    m.detail = {
      pool: pool.length,
      meanBytes: meanBytes(pool),
      reflectivePerSec: rate(pool, (b) => fromBinary(observer.GetFlowsResponseSchema, b), ms),
    };
    return Promise.resolve(m);
  },
};

/** 1 024 probe records: exec with path and arguments, IPv4/IPv6 connect, open, exit. */
function probePool(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const E = PROBE_EVENT_LAYOUT;
  for (let i = 0; i < count; i++) {
    const buf = Buffer.alloc(PROBE_RECORD_SIZE);
    const kind = [ProbeKind.EXEC, ProbeKind.CONNECT, ProbeKind.OPEN, ProbeKind.EXIT][i % 4] as number;
    buf.writeUInt16LE(kind, E.kind[0]);
    buf.writeUInt16LE(PROBE_RECORD_SIZE, E.size[0]);
    buf.writeUInt32LE(1000 + i, E.pid[0]);
    buf.writeUInt32LE(1000 + i, E.tid[0]);
    buf.writeUInt32LE(900 + (i % 13), E.ppid[0]);
    buf.writeBigUInt64LE(BigInt(1_000_000_000 + i * 1000), E.time_ns[0]);
    buf.writeBigUInt64LE(BigInt(5000 + (i % 16)), E.cgroup_id[0]);
    buf.writeBigUInt64LE(BigInt(5000 + (i % 16)), E.match_cgroup_id[0]);
    buf.write(["python3", "node", "curl", "sh"][i % 4] as string, E.comm[0], E.comm[1]);
    const path = kind === ProbeKind.OPEN ? `/etc/ssl/certs/ca-${i % 50}.pem` : "/usr/bin/curl";
    buf.writeUInt16LE(path.length, E.path_len[0]);
    buf.write(path, E.path[0], E.path[1]);
    if (kind === ProbeKind.EXEC) {
      const args = `curl\0-s\0https://api.example.com/v1/items/${i}\0`;
      buf.writeUInt16LE(args.length, E.args_len[0]);
      buf.write(args, E.args[0], E.args[1]);
    }
    if (kind === ProbeKind.CONNECT) {
      const v6 = i % 8 === 1;
      buf.writeUInt16LE(v6 ? 10 : 2, E.family[0]);
      buf.writeUInt16LE(443, E.dport[0]);
      buf.writeUInt16LE(40_000 + (i % 999), E.sport[0]);
      buf.writeUInt16LE(6, E.protocol[0]);
      if (v6)
        Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, i % 250]).copy(buf, E.daddr[0]);
      else Buffer.from([140, 82, 112, i % 250]).copy(buf, E.daddr[0]);
      Buffer.from([10, 244, 1, 23]).copy(buf, E.saddr[0]);
    }
    out.push(new Uint8Array(buf));
  }
  return out;
}

export const decodeProbeRecords: BenchCase = {
  name: "decode/probe-records",
  description:
    "decodeProbeEvent over 1 024 fixed-layout probe records (exec with path and arguments, IPv4/IPv6 connect, open, exit): the probe's records are read at fixed offsets with a DataView, no generic decoder; the probe intake's ceiling",
  latency: DECODE_LATENCY,
  defaultEvents: 1_000_000,
  run(ctx) {
    const pool = probePool(DEFAULT_POOL);
    const m = decodeOverPool(ctx, pool, (b) => decodeProbeEvent(b, 0, 0n).comm.length);
    m.detail = { pool: pool.length, recordBytes: PROBE_RECORD_SIZE };
    return Promise.resolve(m);
  },
};
