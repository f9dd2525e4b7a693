/**
 * The simulated agents of `hub/agents`, in a process of their own: N gRPC clients of the
 * controller's hub (hangar.v1.AgentHubService/Connect), each on its own connection with its
 * own mTLS handshake (a local subchannel pool, as N agents on N nodes have), each saying hello
 * as node `bench-node-<i>` and then sending one alert per second, spread evenly over the second;
 * the time from writing an alert to the hub's ack of it is the ack latency.
 *
 *   node hub-agents-child.js --address 127.0.0.1:PORT --ca F --cert-dir DIR --agents N [--rate R]
 *
 * Agent i presents `DIR/agent-<i>.crt`/`.key` (a certificate naming its node only, as a
 * real agent's does). The simulator is kept cheap so that it leaves the cores to the
 * controller: each agent's alert is encoded once, and every second only its id, time and the
 * request's sequence number are written around those bytes; acks are read without a
 * reflective decode.
 *
 * Prints `{"ready":true,"connected":N}` once every agent has its ControllerHello; on stdin,
 * `mark` starts a measurement window and `report` prints
 * `{"sent","acked","errors","connected","latencyUs":[…]}` for the window; it stops when stdin ends.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { grpcServiceDefinition, hangar } from "@hangar/proto";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    ca: { type: "string" },
    "cert-dir": { type: "string" },
    agents: { type: "string", default: "100" },
    rate: { type: "string", default: "1" },
  },
});
const N = Number(values.agents);
/** Alerts per agent per second, at most 1: each agent sends every `PERIOD` ticks of 10 ms. */
const RATE = Number(values.rate);
if (!(RATE > 0 && RATE <= 1)) throw new Error(`--rate must be in (0, 1], got ${values.rate}`);
const PERIOD = Math.max(1, Math.round(100 / RATE));
const ca = readFileSync(values.ca as string);
const certDir = values["cert-dir"] as string;
const credsOf = (i: number): grpc.ChannelCredentials =>
  grpc.credentials.createSsl(
    ca,
    readFileSync(join(certDir, `agent-${i}.key`)),
    readFileSync(join(certDir, `agent-${i}.crt`)),
  );

/** Requests go out as the bytes written; acks are read straight off the wire, the rest decoded. */
const generated = grpcServiceDefinition(hangar.AgentHubService);
const Client = grpc.makeGenericClientConstructor(
  {
    connect: {
      ...generated.connect,
      requestSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      responseDeserialize: (b: Buffer) => {
        if (b[0] === 0x72 && b[1] === b.length - 2) {
          // ConnectResponse{ack{seq}}: field 14, then Ack's field 1 varint (or nothing for 0).
          let seq = 0n;
          for (let i = b.length - 1; i >= 3; i--) seq = (seq << 7n) | BigInt((b[i] as number) & 0x7f);
          return { seq: 0n, message: { case: "ack", value: { seq } } };
        }
        return fromBinary(hangar.ConnectResponseSchema, b);
      },
    },
  } as unknown as grpc.ServiceDefinition,
  "AgentHub",
);

function varint(v: number | bigint): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
}
const ALERT_SAMPLES = 200_000;

interface Agent {
  node: string;
  /** The agent's alert encoded without its id (field 1) and time (field 11). */
  body: Buffer;
  call: grpc.ClientDuplexStream<Req, Res>;
  seq: bigint;
  /** Sent, not yet acknowledged: seq and when (ms), in order. */
  pending: { seq: bigint; at: number }[];
  hello: boolean;
}

const stats = { sent: 0, acked: 0, errors: 0 };
let latencies: number[] = [];
let marked = false;

/** The alert every agent sends, without id and time (written per alert by `requestBytes`). */
function alertBody(node: string): Buffer {
  const now = Date.now();
  const alert = create(hangar.AlertSchema, {
    ruleId: "hangar.exfil.shell-then-connect",
    severity: hangar.Severity.HIGH,
    provider: "weather",
    message: `shell spawned during tools/call run_query; connected to 203.0.113.${node.length % 250}:443`,
    explanation:
      "rule hangar.exfil.shell-then-connect v1 (stable, exfiltration.rules:12) matched for process.exec_id=abc\n" +
      "  step shell: /bin/sh -c curl … [event e1]\n  step connect: tcp 203.0.113.7:443 [event e2]\n" +
      "  exceptions checked, none matched: ci-runner",
    node,
    mitre: ["T1059", "T1041"],
    score: 75,
    evidence: [
      create(hangar.RuntimeEventSchema, {
        id: `${node}-ev`,
        kind: hangar.EventKind.CONNECT,
        provider: "weather",
        node,
        time: timestampFromMs(now),
        pod: { namespace: "mcp", name: "weather-7d9f8-abcde", uid: "0f6c2b9e-uid" },
      }),
    ],
  });
  return Buffer.from(toBinary(hangar.AlertSchema, alert));
}

/** ConnectRequest{seq, alert{id: "<node>-<seq>", …body, time: now}}, encoded. */
function requestBytes(a: Agent, seq: bigint): Buffer {
  const ms = Date.now();
  const id = Buffer.from(`${a.node}-${seq}`);
  const time = [0x08, ...varint(Math.floor(ms / 1000)), 0x10, ...varint((ms % 1000) * 1e6)];
  const head = Buffer.from([0x0a, ...varint(id.length)]);
  const tail = Buffer.from([0x5a, time.length, ...time]);
  const len = head.length + id.length + a.body.length + tail.length;
  const pre = Buffer.from([0x08, ...varint(seq), 0x5a, ...varint(len)]);
  return Buffer.concat([pre, head, id, a.body, tail], pre.length + len);
}

function connect(i: number): Promise<Agent> {
  const client = new Client(values.address as string, credsOf(i), {
    // One connection per agent, as N agents on N nodes have (grpc-js would share one).
    "grpc.use_local_subchannel_pool": 1,
    "grpc.ssl_target_name_override": "hangar-controller",
  }) as unknown as { connect(): grpc.ClientDuplexStream<Req, Res> };
  const call = client.connect();
  const node = `bench-node-${i}`;
  const a: Agent = { node, body: alertBody(node), call, seq: 0n, pending: [], hello: false };
  return new Promise((resolve, reject) => {
    call.on("data", (res: Res) => {
      const m = res.message;
      if (m.case === "hello") {
        a.hello = true;
        a.seq = m.value.lastAckedSeq;
        resolve(a);
      } else if (m.case === "ack") {
        const now = performance.now();
        while (a.pending.length > 0 && (a.pending[0] as { seq: bigint }).seq <= m.value.seq) {
          const p = a.pending.shift() as { seq: bigint; at: number };
          stats.acked++;
          if (marked && latencies.length < ALERT_SAMPLES) latencies.push((now - p.at) * 1000);
        }
      } else if (res.seq > 0n) {
        call.write(
          toBinary(
            hangar.ConnectRequestSchema,
            create(hangar.ConnectRequestSchema, { message: { case: "ack", value: { seq: res.seq } } }),
          ) as unknown as Req,
        );
      }
    });
    call.on("error", (err) => {
      stats.errors++;
      if (!a.hello) reject(err);
    });
    call.write(
      toBinary(
        hangar.ConnectRequestSchema,
        create(hangar.ConnectRequestSchema, {
          message: { case: "hello", value: { node: a.node, agentVersion: "bench" } },
        }),
      ) as unknown as Req,
    );
  });
}

const agents: Agent[] = [];
// Connect in waves, as a DaemonSet rolls out: every handshake at once would only measure the storm.
for (let i = 0; i < N; i += 100) {
  const wave = await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, k) => connect(i + k)));
  agents.push(...wave);
}
process.stdout.write(`${JSON.stringify({ ready: true, connected: agents.length })}\n`);

// One alert per agent every PERIOD ticks of 10 ms (a second at --rate 1), spread over the ticks.
let tick = 0;
const sender = setInterval(() => {
  const slot = tick++ % PERIOD;
  for (let i = slot; i < agents.length; i += PERIOD) {
    const a = agents[i] as Agent;
    const seq = ++a.seq;
    a.pending.push({ seq, at: performance.now() });
    a.call.write(requestBytes(a, seq) as unknown as Req);
    stats.sent++;
  }
}, 10);

const lines = createInterface({ input: process.stdin });
lines.on("line", (cmd) => {
  if (cmd === "mark") {
    marked = true;
    latencies = [];
    stats.sent = 0;
    stats.acked = 0;
    stats.errors = 0;
  } else if (cmd === "report") {
    const connected = agents.filter((a) => a.hello).length;
    process.stdout.write(`${JSON.stringify({ ...stats, connected, latencyUs: latencies })}\n`);
  }
});
lines.on("close", () => {
  clearInterval(sender);
  for (const a of agents) a.call.end();
  setTimeout(() => process.exit(0), 500).unref();
});
