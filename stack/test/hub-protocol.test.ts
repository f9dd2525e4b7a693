/**
 * Hub protocol compatibility, over real gRPC with mTLS as the chart runs it: an agent of the
 * previous minor version (1.0, whose hello has no `protocol_version`; its hello is written
 * here byte by byte from the 1.0 wire format, not with this build's schema) still says hello,
 * gets its alerts acknowledged and receives call traces from the current controller; an agent
 * of another major version is refused with FAILED_PRECONDITION and HANGAR_ERR_HUB_PROTOCOL.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { GrpcPath, hangar } from "@hangar/proto";
import { HUB_PROTOCOL_VERSION } from "@hangar/core";
import { AgentHub } from "@hangar/controller";
import { waitFor, writeTestCerts } from "@hangar/testkit";

/** Protobuf wire format by hand: a length-delimited field, and a string field. */
const field = (num: number, bytes: Buffer): Buffer =>
  Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
const str = (num: number, s: string): Buffer => field(num, Buffer.from(s, "utf8"));
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
/** ConnectRequest{hello (10): AgentHello{node (1), agent_version (2)}} as a 1.0 agent sends it. */
const oldHello = (node: string, extra: Buffer = Buffer.alloc(0)): Buffer =>
  field(10, Buffer.concat([str(1, node), str(2, "0.9.0"), extra]));

type Out = Buffer | hangar.ConnectRequest;

describe("hub protocol versions", () => {
  let dir: string;
  let hub: AgentHub;
  let port: number;
  const alerts: string[] = [];
  const pem = (name: string): string => join(dir, name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hangar-hub-protocol-"));
    writeTestCerts(dir, { clientCn: "hangar-agent-node-old", clientSan: "DNS:node-old" });
    hub = new AgentHub({
      listen: "127.0.0.1:0",
      tls: {
        clientCaFile: pem("ca.crt"),
        certFile: pem("srv.crt"),
        keyFile: pem("srv.key"),
        allowedSubjects: ["hangar-agent-node-old"],
      },
      handlers: { alert: (a, who) => void alerts.push(`${who.node}/${who.via}/${a.id}`) },
    });
    port = await hub.start();
  });
  after(async () => {
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A bare gRPC stream to the hub with the agent's client certificate. */
  function connect(): {
    call: grpc.ClientDuplexStream<Out, hangar.ConnectResponse>;
    got: hangar.ConnectResponse[];
    errors: grpc.ServiceError[];
    client: grpc.Client;
  } {
    const creds = grpc.credentials.createSsl(
      readFileSync(pem("ca.crt")),
      readFileSync(pem("cli.key")),
      readFileSync(pem("cli.crt")),
    );
    const client = new grpc.Client(`127.0.0.1:${port}`, creds, {
      "grpc.ssl_target_name_override": "hangar-controller",
      "grpc.default_authority": "hangar-controller",
    });
    const call = client.makeBidiStreamRequest<Out, hangar.ConnectResponse>(
      GrpcPath.hubConnect,
      (m) => (Buffer.isBuffer(m) ? m : Buffer.from(toBinary(hangar.ConnectRequestSchema, m))),
      (b) => fromBinary(hangar.ConnectResponseSchema, b),
    );
    const got: hangar.ConnectResponse[] = [];
    const errors: grpc.ServiceError[] = [];
    call.on("data", (r: hangar.ConnectResponse) => got.push(r));
    call.on("error", (e: grpc.ServiceError) => errors.push(e));
    return { call, got, errors, client };
  }

  it("an agent of protocol 1.0 (no protocol_version in its hello) says hello, gets alerts acked and receives call traces", async () => {
    const { call, got, errors, client } = connect();
    try {
      // The 1.0 hello decodes under this build's schema with protocol_version empty: no field 5.
      const decoded = fromBinary(hangar.ConnectRequestSchema, oldHello("node-old"));
      assert.equal(decoded.message.case === "hello" && decoded.message.value.protocolVersion, "");
      call.write(oldHello("node-old"));
      const hello = await waitFor(
        "the controller's hello",
        () => got.find((r) => r.message.case === "hello"),
        () => errors,
      );
      assert.equal(
        hello.message.case === "hello" && hello.message.value.protocolVersion,
        HUB_PROTOCOL_VERSION,
      );
      for (const seq of [1n, 2n])
        call.write(
          create(hangar.ConnectRequestSchema, {
            seq,
            message: { case: "alert", value: { id: `old-${seq}`, ruleId: "r", provider: "weather" } },
          }),
        );
      await waitFor(
        "both alerts acknowledged",
        () => got.some((r) => r.message.case === "ack" && r.message.value.seq === 2n),
        () => ({ got: got.map((r) => r.message.case), errors }),
      );
      assert.deepEqual(alerts, ["node-old/mtls/old-1", "node-old/mtls/old-2"]);
      // The controller sends a call trace to the node; the 1.0 agent receives and acknowledges it.
      const seq = hub.send("node-old", {
        case: "callTrace",
        value: create(hangar.CallTraceSchema, {
          provider: "weather",
          tool: "get_weather",
          method: "tools/call",
        }),
      });
      const trace = await waitFor("the call trace", () => got.find((r) => r.message.case === "callTrace"));
      assert.equal(trace.seq, seq);
      assert.equal(trace.message.case === "callTrace" && trace.message.value.tool, "get_weather");
      call.write(create(hangar.ConnectRequestSchema, { message: { case: "ack", value: { seq } } }));
      await waitFor("the hub's outbox drained", () => hub.outboxDepth() === 0);
      assert.deepEqual(errors, []);
    } finally {
      call.end();
      client.close();
    }
  });

  it("an agent of another major version is refused with FAILED_PRECONDITION, naming both versions", async () => {
    const { call, errors, client } = connect();
    try {
      call.write(oldHello("node-old", str(5, "2.0")));
      const err = await waitFor("the refusal", () => errors[0]);
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(
        err.details,
        /^HANGAR_ERR_HUB_PROTOCOL: agent on node node-old speaks hub protocol 2\.0; this controller speaks 1\.1 and every 1\.x: upgrade the controller/,
      );
    } finally {
      client.close();
    }
    const garbled = connect();
    try {
      garbled.call.write(oldHello("node-old", str(5, "one")));
      const err = await waitFor("the refusal", () => garbled.errors[0]);
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(err.details, /sent hub protocol version "one", which is not MAJOR\.MINOR/);
    } finally {
      garbled.client.close();
    }
  });
});
