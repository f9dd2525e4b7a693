/**
 * export/cef-tcp — the SIEM export path end to end: alerts → CEF:0 encoding → RFC 5424
 * header → the destination's batch processor → syslog over TCP (octet-counting framing) to a
 * local TCP receiver that parses the frames. Records/s counts records the receiver got;
 * latency is write → arrival of sampled records (the receiver runs in this process, so it
 * shares the event loop: a conservative figure).
 */
import { createServer, type AddressInfo, type Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { Counters } from "@hangar/core";
import { SiemSink } from "@hangar/export";
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";

const STRIDE = 64;

function pool(n: number): hangar.Alert[] {
  return Array.from({ length: n }, (_, i) =>
    create(hangar.AlertSchema, {
      id: `bench-${i}`,
      ruleId: "hangar.exfil.shell-then-connect",
      severity: hangar.Severity.HIGH,
      provider: "weather",
      message: `shell spawned during tools/call run_query; connected to 203.0.113.${i % 250}`,
      explanation:
        "caller alice@example.com in session s-1 called run_query with {sql: ...}; /bin/sh followed",
      time: timestampFromMs(Date.UTC(2026, 10, 22) + i),
      node: "node-a",
      mitre: ["T1059", "T1041"],
      score: 80,
      evidence: [
        create(hangar.RuntimeEventSchema, {
          detail: {
            case: "connect",
            value: create(hangar.ConnectDetailSchema, {
              protocol: "tcp",
              sourceIp: "10.0.0.7",
              sourcePort: 40000 + (i % 1000),
              destinationIp: `203.0.113.${i % 250}`,
              destinationPort: 443,
            }),
          },
        }),
      ],
      toolCalls: [
        create(hangar.CallTraceSchema, {
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          sessionId: "s-1",
          tool: "run_query",
          caller: create(hangar.CallerSchema, { subject: "alice@example.com" }),
        }),
      ],
    }),
  );
}

/** Counts octet-counted syslog frames and reports each one's sequence number. */
function receiver(onRecord: (seq: number, bytes: number) => void): Promise<{ port: number; close(): void }> {
  const srv = createServer((sock: Socket) => {
    let buf: Buffer = Buffer.alloc(0);
    sock.on("data", (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let off = 0;
      for (;;) {
        const sp = buf.indexOf(0x20, off);
        if (sp < 0) break;
        const len = Number(buf.subarray(off, sp).toString("latin1"));
        if (sp + 1 + len > buf.length) break;
        const msg = buf.subarray(sp + 1, sp + 1 + len);
        const at = msg.indexOf("externalId=bench-");
        const end = msg.indexOf(0x20, at + 17);
        onRecord(Number(msg.subarray(at + 17, end).toString("latin1")), len);
        off = sp + 1 + len;
      }
      buf = buf.subarray(off);
    });
  });
  return new Promise((resolve) =>
    srv.listen(0, "127.0.0.1", () =>
      resolve({ port: (srv.address() as AddressInfo).port, close: () => srv.close() }),
    ),
  );
}

export const exportCefTcp: BenchCase = {
  name: "export/cef-tcp",
  description:
    "alerts (with network evidence and a tool call) → CEF:0 + RFC 5424 → SiemSink batch processor → TCP octet-counting → a local TCP receiver parsing the frames",
  latency: `every ${STRIDE}th record: SiemSink.write → frame parsed by the receiver (same process)`,
  defaultEvents: 60_000,
  async run(ctx): Promise<Measurement> {
    const alerts = pool(1024);
    const total = ctx.warmup + ctx.events;
    const sentAt = new Float64Array(Math.ceil(total / STRIDE) + 1);
    const latency = new LatencyRecorder(Math.ceil(ctx.events / STRIDE) + 1);
    const memory = new MemoryPeak();
    let received = 0;
    let bytes = 0;
    let measuredFrom = 0n;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    const rx = await receiver((seq, len) => {
      received++;
      bytes += len;
      if (seq >= ctx.warmup && seq % STRIDE === 0)
        latency.record(Number(now()) - (sentAt[seq / STRIDE] ?? 0));
      if (received === total) done();
    });
    const counters = new Counters();
    const quiet = (): void => undefined;
    const logger = {
      level: "warn",
      trace: quiet,
      debug: quiet,
      info: quiet,
      warn: (o: unknown, m?: string) => ctx.log(`warn ${m ?? ""} ${JSON.stringify(o)}`),
      error: (o: unknown, m?: string) => ctx.log(`error ${m ?? ""} ${JSON.stringify(o)}`),
      fatal: quiet,
      child: () => logger,
    };
    const sink = await SiemSink.start({
      destinations: [
        {
          name: "bench",
          format: "cef",
          transport: "tcp",
          host: "127.0.0.1",
          port: rx.port,
          framing: "octet-counting",
        },
      ],
      hostname: "node-a",
      counters,
      logger: logger as never,
    });
    const dest = sink.destinations[0];
    if (dest === undefined) throw new Error("no destination");
    let start = 0n;
    for (let i = 0; i < total; i++) {
      if (i === ctx.warmup) {
        // Let the warm-up drain so the window starts clean.
        while (received < ctx.warmup) await new Promise((r) => setImmediate(r));
        start = now();
        measuredFrom = start;
      }
      const a = alerts[i & 1023] as hangar.Alert;
      a.id = `bench-${i}`;
      if (i % STRIDE === 0) sentAt[i / STRIDE] = Number(now());
      sink.write(a);
      if ((i & 1023) === 0) memory.sample();
      // Keep the queue bounded the way a steady producer would see it: yield when it fills.
      if (dest.queued >= 4096) while (dest.queued >= 1024) await new Promise((r) => setImmediate(r));
    }
    await finished;
    const elapsedNs = Number(now() - measuredFrom);
    await sink.shutdown();
    rx.close();
    const dropped = Object.values(counters.byLabel("siem_dropped", "reason")).reduce((x, y) => x + y, 0);
    if (dropped > 0) throw new Error(`${dropped} records dropped`);
    return {
      events: ctx.events,
      elapsedNs,
      latency,
      memory,
      detail: {
        meanFrameBytes: Math.round(bytes / received),
        spooled: counters.get("siem_spooled", { destination: "bench" }),
      },
    };
  },
};
