/**
 * The hub's message handling over a real mTLS gRPC socket: synchronous handlers (alerts) are
 * acknowledged at once, asynchronous ones (enforcement requests) hold the stream's later
 * messages behind them, acks always come in order, and a handler that throws is not
 * acknowledged.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, hangar } from "@hangar/proto";
import { writeClientCert, writeTestCerts, type TestCerts } from "@hangar/testkit";
import { AgentHub, type HubHandlers } from "./hub.js";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(hangar.AgentHubService), "AgentHub");

describe("hub: handling order", () => {
  let dir: string;
  let certs: TestCerts;
  let agent: { cert: string; key: string };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "hangar-hub-order-"));
    certs = writeTestCerts(dir);
    agent = writeClientCert(dir, "node-a", { cn: "hangar-agent", san: "DNS:node-a" });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function withHub(
    handlers: HubHandlers,
    body: (
      call: grpc.ClientDuplexStream<Req, Res>,
      acks: bigint[],
      ended: Promise<grpc.ServiceError>,
    ) => Promise<void>,
  ): Promise<void> {
    const hub = new AgentHub({
      listen: "127.0.0.1:0",
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca },
      handlers,
    });
    const port = await hub.start();
    const client = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createSsl(readFileSync(certs.ca), readFileSync(agent.key), readFileSync(agent.cert)),
      { "grpc.ssl_target_name_override": "hangar-controller" },
    ) as unknown as grpc.Client & { connect(): grpc.ClientDuplexStream<Req, Res> };
    const call = client.connect();
    const acks: bigint[] = [];
    const ended = new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    const hello = new Promise<void>((resolve) =>
      call.on("data", (res: Res) => {
        if (res.message.case === "hello") resolve();
        if (res.message.case === "ack") acks.push(res.message.value.seq);
      }),
    );
    call.write(
      create(hangar.ConnectRequestSchema, { message: { case: "hello", value: { node: "node-a" } } }),
    );
    await hello;
    try {
      await body(call, acks, ended);
    } finally {
      call.cancel();
      client.close();
      await hub.stop(200);
    }
  }

  const alert = (seq: bigint, id: string): Req =>
    create(hangar.ConnectRequestSchema, { seq, message: { case: "alert", value: { id, provider: "p" } } });
  const enforce = (seq: bigint): Req =>
    create(hangar.ConnectRequestSchema, {
      seq,
      message: { case: "enforcementRequest", value: { provider: "p", namespace: "mcp" } },
    });
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), "timed out");
  };

  it("a slow asynchronous handler holds the alerts after it; acks come in order, each once", async () => {
    const seen: string[] = [];
    let release: () => void = () => undefined;
    await withHub(
      {
        alert: (a) => {
          seen.push(a.id);
        },
        enforcementRequest: () =>
          new Promise<void>((resolve) => {
            seen.push("enforce:start");
            release = () => {
              seen.push("enforce:done");
              resolve();
            };
          }),
      },
      async (call, acks) => {
        call.write(alert(1n, "a1"));
        await until(() => acks.length === 1);
        assert.deepEqual(acks, [1n], "a synchronous handler is acknowledged at once");
        call.write(enforce(2n));
        call.write(alert(3n, "a3"));
        call.write(alert(4n, "a4"));
        await until(() => seen.includes("enforce:start"));
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(seen, ["a1", "enforce:start"], "the alerts wait behind the pending request");
        assert.deepEqual(acks, [1n]);
        release();
        await until(() => acks.length === 4);
        assert.deepEqual(seen, ["a1", "enforce:start", "enforce:done", "a3", "a4"]);
        assert.deepEqual(acks, [1n, 2n, 3n, 4n]);
        // Back to the synchronous path once the queue drained.
        call.write(alert(5n, "a5"));
        await until(() => acks.length === 5);
        assert.equal(acks[4], 5n);
      },
    );
  });

  it("a handler that throws is not acknowledged: the stream ends UNAVAILABLE, nothing after it is handled", async () => {
    const seen: string[] = [];
    await withHub(
      {
        alert: (a) => {
          if (a.id === "bad") throw new Error("disk full");
          seen.push(a.id);
        },
      },
      async (call, acks, ended) => {
        call.write(alert(1n, "ok"));
        call.write(alert(2n, "bad"));
        call.write(alert(3n, "after"));
        const err = await ended;
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(err.details, /HANGAR_ERR_HUB_STREAM: handler failed, not acknowledged: disk full/);
        assert.deepEqual(acks, [1n]);
        assert.deepEqual(seen, ["ok"]);
      },
    );
  });
});
