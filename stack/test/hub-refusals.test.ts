/**
 * What the agent hub refuses, over real gRPC with mTLS on loopback, and how the agent's client
 * takes it: a certificate for one node saying hello as another (PERMISSION_DENIED, and the
 * other node's stream is untouched), impossible sequence numbers (INVALID_ARGUMENT, never
 * acknowledged; the client renumbers and delivers), protocol errors with permanent statuses
 * (FAILED_PRECONDITION, INVALID_ARGUMENT), and a client that backs off after a permanent
 * refusal instead of retrying at once.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, hangar } from "@hangar/proto";
import { Counters, MAX_HUB_SEQ } from "@hangar/core";
import { HubClient, HubRefusal, MemoryOutbox } from "@hangar/agent";
import { waitFor, writeClientCert, writeTestCerts } from "@hangar/testkit";
import { AgentHub, certificateNodes } from "@hangar/controller";

const haveOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

function alert(id: string): hangar.Alert {
  return create(hangar.AlertSchema, { id, ruleId: "r", provider: "weather" });
}

const RawClient = grpc.makeGenericClientConstructor(
  grpcServiceDefinition(hangar.AgentHubService),
  hangar.AgentHubService.name,
);

/**
 * A hand-driven stream: writes the given requests, collects responses, resolves with the
 * status the hub ended it with (or "open" when it is still open after `settleMs`).
 */
async function rawExchange(
  port: number,
  creds: grpc.ChannelCredentials,
  requests: Req[],
  settleMs = 1_500,
): Promise<{ status: grpc.status | "open"; details: string; responses: Res[] }> {
  const client = new RawClient(`127.0.0.1:${port}`, creds, {
    "grpc.ssl_target_name_override": "hangar-controller",
  });
  const call = (client as unknown as { connect(): grpc.ClientDuplexStream<Req, Res> }).connect();
  const responses: Res[] = [];
  call.on("data", (r: Res) => responses.push(r));
  try {
    return await new Promise((resolve) => {
      const t = setTimeout(() => resolve({ status: "open", details: "", responses }), settleMs);
      call.on("error", (e: grpc.ServiceError) => {
        clearTimeout(t);
        resolve({ status: e.code, details: e.details, responses });
      });
      for (const r of requests) call.write(r);
    });
  } finally {
    call.cancel();
    client.close();
  }
}

const hello = (node: string, lastReceivedSeq = 0n): Req =>
  create(hangar.ConnectRequestSchema, { message: { case: "hello", value: { node, lastReceivedSeq } } });
const alertReq = (seq: bigint, id: string): Req =>
  create(hangar.ConnectRequestSchema, { seq, message: { case: "alert", value: alert(id) } });

describe(
  "hub refusals (real AgentHub and HubClient, gRPC over mTLS)",
  { skip: haveOpenssl ? false : "openssl is not on PATH (needed to make the test certificates)" },
  () => {
    let dir: string;
    const pem = (name: string): string => join(dir, name);
    const got: string[] = [];
    let hub: AgentHub;
    let port: number;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "hangar-hub-refusals-"));
      // cli.* is node-a's certificate; node-b's and one naming no node are made next to it.
      writeTestCerts(dir, { clientCn: "hangar-agent", clientSan: "DNS:node-a" });
      writeClientCert(dir, "node-b", { cn: "hangar-agent", san: "DNS:node-b" });
      writeClientCert(dir, "unbound", { cn: "hangar-agent" });
      hub = new AgentHub({
        listen: "127.0.0.1:0",
        tls: {
          clientCaFile: pem("ca.crt"),
          certFile: pem("srv.crt"),
          keyFile: pem("srv.key"),
          allowedSubjects: ["hangar-agent"],
        },
        handlers: { alert: (a, who) => void got.push(`${who.node}/${a.id}`) },
      });
      port = await hub.start();
    });
    after(async () => {
      await hub?.stop(200);
      rmSync(dir, { recursive: true, force: true });
    });

    const tls = (
      name: string,
    ): { caFile: string; certFile: string; keyFile: string; serverName: string } => ({
      caFile: pem("ca.crt"),
      certFile: pem(`${name}.crt`),
      keyFile: pem(`${name}.key`),
      serverName: "hangar-controller",
    });
    const rawCreds = (name: string): grpc.ChannelCredentials =>
      grpc.credentials.createSsl(
        readFileSync(pem("ca.crt")),
        readFileSync(pem(`${name}.key`)),
        readFileSync(pem(`${name}.crt`)),
      );

    it("reads the nodes a certificate names from its DNS subjectAltNames only", () => {
      assert.deepEqual(certificateNodes("DNS:node-a, IP Address:10.0.0.1, DNS:node-b.example"), [
        "node-a",
        "node-b.example",
      ]);
      assert.deepEqual(certificateNodes(undefined), []);
      assert.deepEqual(certificateNodes("URI:spiffe://x/node-a, email:node-a"), []);
      assert.deepEqual(
        certificateNodes('DNS:*.nodes, DNS:"node-a, DNS:node-b"'),
        [],
        "no wildcard, no quoted",
      );
    });

    it("a certificate for node A saying hello as node B is refused (PERMISSION_DENIED) and does not take over B's stream", async () => {
      const b = new HubClient({ address: `127.0.0.1:${port}`, node: "node-b", tls: tls("node-b") });
      const ac = new AbortController();
      const bTraces: string[] = [];
      const pump = (async () => {
        for await (const t of b.traces(ac.signal)) bTraces.push(t.traceId);
      })();
      const errors: unknown[] = [];
      const impostor = new HubClient({
        address: `127.0.0.1:${port}`,
        node: "node-b",
        tls: tls("cli"),
        onError: (e) => errors.push(e),
        backoff: { initialMs: 20, maxMs: 50 },
        refusedBackoff: { initialMs: 60_000 },
      });
      const impostorTraces: string[] = [];
      const ac2 = new AbortController();
      const pump2 = (async () => {
        for await (const t of impostor.traces(ac2.signal)) impostorTraces.push(t.traceId);
      })();
      try {
        b.write(alert("b1"));
        await b.flush();
        impostor.write(alert("forged"));
        await waitFor("the refusal", () => errors.length > 0);
        const e = errors[0];
        assert.ok(e instanceof HubRefusal, String(e));
        assert.equal(e.status, "PERMISSION_DENIED");
        assert.equal(e.code, "HANGAR_ERR_HUB_NODE_DENIED");
        assert.match(e.details, /client certificate CN hangar-agent is for node node-a, not node-b/);
        // B's stream is still B's: what the hub sends node-b reaches B and only B.
        assert.deepEqual(hub.connected(), ["node-b"]);
        hub.send("node-b", { case: "callTrace", value: create(hangar.CallTraceSchema, { traceId: "t-b" }) });
        await waitFor("B's trace", () => bTraces.length === 1);
        b.write(alert("b2"));
        await b.flush();
        assert.deepEqual(got, ["node-b/b1", "node-b/b2"]);
        assert.deepEqual(impostorTraces, []);
        assert.equal(impostor.acked, 0n);
        // A permanent refusal is not retried at once: one try, then the slow backoff.
        await sleep(300);
        assert.equal(errors.length, 1, `no hot retry loop (${errors.length} refusals)`);
        assert.ok(e.retryInMs >= 30_000, `waits ${e.retryInMs} ms`);
      } finally {
        ac.abort();
        ac2.abort();
        impostor.close();
        await b.shutdown();
        await Promise.all([pump, pump2]);
      }
    });

    it("a certificate that names no node may not speak for any", async () => {
      const r = await rawExchange(port, rawCreds("unbound"), [hello("node-a")]);
      assert.equal(r.status, grpc.status.PERMISSION_DENIED);
      assert.match(
        r.details,
        /^HANGAR_ERR_HUB_NODE_DENIED: client certificate CN hangar-agent names no node/,
      );
      assert.equal(r.responses.length, 0, "no hello back");
    });

    it("impossible sequence numbers are refused with INVALID_ARGUMENT and never acknowledged", async () => {
      const before = got.length;
      for (const [seqs, why] of [
        [[2n ** 64n - 1n], /seq 18446744073709551615 is outside 1\.\.9007199254740991/],
        [[MAX_HUB_SEQ + 1n], /is outside 1\.\.9007199254740991/],
        [[0n], /seq 0 is outside/],
        [[5n, 5n], /seq 5 does not increase on this stream \(the one before was 5\)/],
      ] as const) {
        const r = await rawExchange(port, rawCreds("cli"), [
          hello("node-a"),
          ...seqs.map((s, i) => alertReq(s, `s${i}`)),
        ]);
        assert.equal(r.status, grpc.status.INVALID_ARGUMENT, `seqs ${seqs.join(",")}: ${r.details}`);
        assert.match(r.details, /^HANGAR_ERR_HUB_SEQ: /);
        assert.match(r.details, why);
        const acks = r.responses.filter((x) => x.message.case === "ack").map((x) => x.message.value);
        for (const a of acks)
          assert.ok((a as hangar.Ack).seq < MAX_HUB_SEQ, "nothing impossible acknowledged");
      }
      // seq 5 was handled once (the repeat refused), the impossible ones never.
      assert.deepEqual(got.slice(before), ["node-a/s0"]);
      // A hello claiming to have received an impossible number is refused too.
      const h = await rawExchange(port, rawCreds("cli"), [hello("node-a", 2n ** 64n - 1n)]);
      assert.equal(h.status, grpc.status.INVALID_ARGUMENT);
      assert.match(h.details, /^HANGAR_ERR_HUB_SEQ: hello\.last_received_seq/);
    });

    it("an agent whose counter was pushed past 2^53-1 renumbers on the refusal and delivers everything once", async () => {
      // The outbox of an agent that a bad hub's hello once made count from 2^60.
      const outbox = new MemoryOutbox();
      const counters = new Counters();
      for (const id of ["r1", "r2", "r3"]) outbox.append({ case: "alert", value: alert(id) });
      outbox.renumber(2n ** 60n);
      const errors: unknown[] = [];
      const client = new HubClient({
        address: `127.0.0.1:${port}`,
        node: "node-a",
        tls: tls("cli"),
        outbox,
        counters,
        onError: (e) => errors.push(e),
        backoff: { initialMs: 20, maxMs: 50 },
      });
      const before = got.length;
      try {
        await client.flush();
        assert.deepEqual(got.slice(before), ["node-a/r1", "node-a/r2", "node-a/r3"]);
        assert.ok(client.acked <= MAX_HUB_SEQ, `acknowledged ${client.acked}`);
        assert.equal(counters.get("hub_renumbered"), 1);
        assert.match(String(errors[0]), /refused a sequence number .*renumbered from/);
        client.write(alert("r4"));
        await client.flush();
        assert.deepEqual(got.slice(before), ["node-a/r1", "node-a/r2", "node-a/r3", "node-a/r4"]);
      } finally {
        await client.shutdown();
      }
    });

    it("protocol errors are permanent statuses, not UNAVAILABLE: a message before hello, an empty node", async () => {
      const early = await rawExchange(port, rawCreds("cli"), [alertReq(1n, "early")]);
      assert.equal(early.status, grpc.status.FAILED_PRECONDITION, early.details);
      assert.match(early.details, /^HANGAR_ERR_HUB_PROTOCOL: alert before hello/);
      const empty = await rawExchange(port, rawCreds("cli"), [hello("")]);
      assert.equal(empty.status, grpc.status.INVALID_ARGUMENT, empty.details);
      assert.match(empty.details, /^HANGAR_ERR_HUB_PROTOCOL: hello\.node is empty/);
      const twice = await rawExchange(port, rawCreds("cli"), [hello("node-a"), hello("node-a")]);
      assert.equal(twice.status, grpc.status.FAILED_PRECONDITION, twice.details);
      assert.ok(hub.stats.get("hub_refusals") >= 3);
    });
  },
);
