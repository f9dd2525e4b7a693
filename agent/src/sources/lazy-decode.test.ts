// The Tetragon and Hubble messages decode with the generated lazy readers: over a real gRPC
// stream on a unix socket, a well-formed message becomes a record whose fields equal
// fromBinary's, and a malformed one (truncated, invalid UTF-8, a bad tag) is refused (Hubble:
// counted `dropped{reason="undecodable"}` and skipped by the source, the stream going on;
// Tetragon: the source hands on bytes, decodeTetragonBytes refuses them and the pipeline counts
// them, see pipeline.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { GrpcPath, flow, hubbleLazy, lazyDifference, observer, tetragon, tetragonLazy } from "@hangar/proto";
import { Counters } from "@hangar/core";
import pino from "pino";
import { decodeTetragonBytes, tetragonSource } from "./tetragon.js";
import { hubbleSource } from "./hubble.js";
import { attackRecording, normalRecording } from "@hangar/testkit";

/** A server that answers one server-streaming method with the given raw messages, then ends. */
async function rawServer(
  path: string,
  messages: readonly Uint8Array[],
): Promise<{ address: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "hangar-lazy-src-"));
  const socket = join(dir, "s.sock");
  const server = new grpc.Server();
  server.addService(
    {
      m: {
        path,
        requestStream: false,
        responseStream: true,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      m: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (const m of messages) call.write(Buffer.from(m));
        call.end();
      },
    },
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return {
    address: `unix://${socket}`,
    stop() {
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function take<R>(source: AsyncIterable<R>, n: number, ctl: AbortController): Promise<R[]> {
  const out: R[] = [];
  // never hang: after 10 s the source ends and the assertions report what arrived
  const timer = setTimeout(() => ctl.abort(), 10_000);
  timer.unref();
  for await (const r of source) {
    out.push(r);
    if (out.length === n) {
      ctl.abort();
      break;
    }
  }
  return out;
}

const logger = pino({ level: "silent" });

describe("sources decode with the lazy readers", () => {
  it("tetragon: good messages equal fromBinary's, malformed ones throw (the pipeline counts them undecodable)", async () => {
    const good = toBinary(
      tetragon.GetEventsResponseSchema,
      create(tetragon.GetEventsResponseSchema, {
        nodeName: "node-ä",
        time: timestampFromMs(1_700_000_000_123),
        event: {
          case: "processExec",
          value: {
            process: {
              execId: "ZXhlYw==",
              pid: 42,
              binary: "/usr/bin/curl",
              arguments: "-s https://example.com",
              pod: { namespace: "mcp", name: "srv-0", podLabels: { app: "srv" } },
            },
          },
        },
      }),
    );
    const invalidUtf8 = Uint8Array.from([0xc2, 0x3e, 0x02, 0xc3, 0x28]); // node_name = C3 28
    const server = await rawServer(GrpcPath.tetragonGetEvents, [
      good,
      good.subarray(0, good.length - 3),
      invalidUtf8,
      good,
    ]);
    const counters = new Counters();
    const ctl = new AbortController();
    try {
      // The source hands on the bytes as they came (decoded after the hold, in the pipeline).
      const recs = await take(
        tetragonSource(
          { address: server.address, counters, logger, backoff: { initialMs: 10_000 } },
          ctl.signal,
        ),
        4,
        ctl,
      );
      assert.deepEqual(
        recs.map((r) => (r.sensor === "tetragon-bytes" ? r.bytes.length : r.sensor)),
        [good.length, good.length - 3, invalidUtf8.length, good.length],
      );
      assert.equal(counters.get("sensor_messages", { sensor: "tetragon" }), 4);
      // The pipeline decodes them (pipeline.test.ts): good ones as fromBinary does, the others throw.
      const expected = fromBinary(tetragon.GetEventsResponseSchema, good);
      for (const r of [recs[0], recs[3]]) {
        assert.ok(r?.sensor === "tetragon-bytes");
        const d = decodeTetragonBytes(r);
        assert.ok(d.sensor === "tetragon");
        assert.equal(lazyDifference(d.msg, expected), undefined);
      }
      for (const r of [recs[1], recs[2]]) {
        assert.ok(r?.sensor === "tetragon-bytes");
        assert.throws(() => decodeTetragonBytes(r));
      }
    } finally {
      ctl.abort();
      server.stop();
    }
  });

  it("hubble: good flows equal fromBinary's, a bad tag is counted undecodable", async () => {
    const flowBytes = (uuid: string): Uint8Array =>
      toBinary(
        observer.GetFlowsResponseSchema,
        create(observer.GetFlowsResponseSchema, {
          nodeName: "n1",
          responseTypes: {
            case: "flow",
            value: {
              uuid,
              verdict: flow.Verdict.FORWARDED,
              cgroupId: 2n ** 60n + 5n,
              IP: { source: "10.0.0.1", destination: "10.0.0.2" },
              l4: { protocol: { case: "TCP", value: { sourcePort: 4000, destinationPort: 443 } } },
              source: { namespace: "mcp", podName: "srv-0", labels: ["k8s:app=srv"] },
            },
          },
        }),
      );
    const good = flowBytes("u-1");
    const second = flowBytes("u-2");
    const server = await rawServer(GrpcPath.hubbleGetFlows, [good, Uint8Array.from([0x00, 0x01]), second]);
    const counters = new Counters();
    const ctl = new AbortController();
    try {
      const recs = await take(
        hubbleSource(
          { address: server.address, counters, logger, backoff: { initialMs: 10_000 } },
          ctl.signal,
        ),
        2,
        ctl,
      );
      assert.equal(recs.length, 2);
      const r = recs[0]!;
      assert.equal(r.sensor, "hubble");
      if (r.sensor === "hubble") {
        assert.equal(lazyDifference(r.msg, fromBinary(observer.GetFlowsResponseSchema, good)), undefined);
        assert.equal(
          r.msg.responseTypes.case === "flow" ? r.msg.responseTypes.value.cgroupId : 0n,
          2n ** 60n + 5n,
        );
      }
      assert.equal(counters.get("dropped", { reason: "undecodable" }), 1);
    } finally {
      ctl.abort();
      server.stop();
    }
  });
});

describe("lazy readers on the simulator's recordings", () => {
  it("agree with fromBinary on every Tetragon and Hubble message of the normal and attack recordings", () => {
    let n = 0;
    for (const b of [normalRecording(), attackRecording()]) {
      for (const m of b.rec.tetragon) {
        const bytes = toBinary(tetragon.GetEventsResponseSchema, m);
        const d = lazyDifference(
          tetragonLazy.decodeGetEventsResponse(bytes),
          fromBinary(tetragon.GetEventsResponseSchema, bytes),
        );
        assert.equal(d, undefined, d);
        n++;
      }
      for (const m of b.rec.hubble) {
        const bytes = toBinary(observer.GetFlowsResponseSchema, m);
        const d = lazyDifference(
          hubbleLazy.decodeGetFlowsResponse(bytes),
          fromBinary(observer.GetFlowsResponseSchema, bytes),
        );
        assert.equal(d, undefined, d);
        n++;
      }
    }
    assert.ok(n > 20, `${n} messages`);
  });
});
