/**
 * The simulated agents of `hub/agents`, in a process of their own: N gRPC clients of the
 * controller's hub (hangar.v1.AgentHubService/Connect), each on its own connection with its
 * own mTLS handshake (a local subchannel pool, as N agents on N nodes have), each saying hello
 * as node `bench-node-<i>` and then sending one alert per second, spread evenly over the second;
 * the time from writing an alert to the hub's ack of it is the ack latency.
 *
 *   node hub-agents-child.js --address 127.0.0.1:PORT --ca F --cert F --key F --agents N
 *
 * Prints `{"ready":true,"connected":N}` once every agent has its ControllerHello; on stdin,
 * `mark` starts a measurement window and `report` prints
 * `{"sent","acked","errors","connected","latencyUs":[…]}` for the window; it stops when stdin ends.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { grpcServiceDefinition, hangar } from "@hangar/proto";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    ca: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    agents: { type: "string", default: "100" },
  },
});
const N = Number(values.agents);
const creds = grpc.credentials.createSsl(
  readFileSync(values.ca as string),
  readFileSync(values.key as string),
  readFileSync(values.cert as string),
);
const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(hangar.AgentHubService), "AgentHub");
const ALERT_SAMPLES = 200_000;

interface Agent {
  node: string;
  call: grpc.ClientDuplexStream<Req, Res>;
  seq: bigint;
  /** Sent, not yet acknowledged: seq and when (ms), in order. */
  pending: { seq: bigint; at: number }[];
  hello: boolean;
}

const stats = { sent: 0, acked: 0, errors: 0 };
let latencies: number[] = [];
let marked = false;

function alertOf(a: Agent, seq: bigint): hangar.Alert {
  const now = Date.now();
  return create(hangar.AlertSchema, {
    id: `${a.node}-${seq}`,
    ruleId: "hangar.exfil.shell-then-connect",
    severity: hangar.Severity.HIGH,
    provider: "weather",
    message: `shell spawned during tools/call run_query; connected to 203.0.113.${Number(seq % 250n)}:443`,
    explanation:
      "rule hangar.exfil.shell-then-connect v1 (stable, exfiltration.rules:12) matched for process.exec_id=abc\n" +
      "  step shell: /bin/sh -c curl … [event e1]\n  step connect: tcp 203.0.113.7:443 [event e2]\n" +
      "  exceptions checked, none matched: ci-runner",
    time: timestampFromMs(now),
    node: a.node,
    mitre: ["T1059", "T1041"],
    score: 75,
    evidence: [
      create(hangar.RuntimeEventSchema, {
        id: `${a.node}-ev-${seq}`,
        kind: hangar.EventKind.CONNECT,
        provider: "weather",
        node: a.node,
        time: timestampFromMs(now),
        pod: { namespace: "mcp", name: "weather-7d9f8-abcde", uid: "0f6c2b9e-uid" },
      }),
    ],
  });
}

function connect(i: number): Promise<Agent> {
  const client = new Client(values.address as string, creds, {
    // One connection per agent, as N agents on N nodes have (grpc-js would share one).
    "grpc.use_local_subchannel_pool": 1,
    "grpc.ssl_target_name_override": "hangar-controller",
  }) as unknown as { connect(): grpc.ClientDuplexStream<Req, Res> };
  const call = client.connect();
  const a: Agent = { node: `bench-node-${i}`, call, seq: 0n, pending: [], hello: false };
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
          create(hangar.ConnectRequestSchema, { message: { case: "ack", value: { seq: res.seq } } }),
        );
      }
    });
    call.on("error", (err) => {
      stats.errors++;
      if (!a.hello) reject(err);
    });
    call.write(
      create(hangar.ConnectRequestSchema, {
        message: { case: "hello", value: { node: a.node, agentVersion: "bench" } },
      }),
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

// One alert per agent per second, spread over 100 ticks of 10 ms.
let tick = 0;
const sender = setInterval(() => {
  const slot = tick++ % 100;
  for (let i = slot; i < agents.length; i += 100) {
    const a = agents[i] as Agent;
    const seq = ++a.seq;
    a.pending.push({ seq, at: performance.now() });
    a.call.write(
      create(hangar.ConnectRequestSchema, { seq, message: { case: "alert", value: alertOf(a, seq) } }),
    );
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
