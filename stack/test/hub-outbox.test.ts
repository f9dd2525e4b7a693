/**
 * The agent's durable hub outbox against a real AgentHub on loopback, over real gRPC with
 * mTLS: the hub down for a while (messages wait on disk), back up (every message once, in
 * order), spool overflow (the oldest dropped and counted), and a new agent process that
 * sends what the previous one left and the hub had not acknowledged.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { Counters } from "@hangar/core";
import { DiskOutbox, HubClient } from "@hangar/agent";
import { writeTestCerts, waitFor } from "@hangar/testkit";
import { AgentHub, type HubHandlers } from "@hangar/controller";

const haveOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

function alert(id: string, pad = 0): hangar.Alert {
  return create(hangar.AlertSchema, { id, ruleId: "r", provider: "weather", message: "x".repeat(pad) });
}

describe(
  "durable hub outbox (real AgentHub, gRPC over mTLS)",
  {
    skip: haveOpenssl ? false : "openssl is not on PATH (needed to make the test certificates)",
  },
  () => {
    let dir: string;
    const pem = (name: string): string => join(dir, name);

    before(() => {
      dir = mkdtempSync(join(tmpdir(), "hangar-hub-outbox-"));
      writeTestCerts(dir, { caCn: "test-ca", clientSan: "DNS:node-a" });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    function hub(handlers: HubHandlers, port = 0): AgentHub {
      return new AgentHub({
        listen: `127.0.0.1:${port}`,
        tls: { clientCaFile: pem("ca.crt"), certFile: pem("srv.crt"), keyFile: pem("srv.key") },
        handlers,
      });
    }

    function client(port: number, outbox: DiskOutbox, counters: Counters): HubClient {
      return new HubClient({
        address: `127.0.0.1:${port}`,
        node: "node-a",
        tls: {
          caFile: pem("ca.crt"),
          certFile: pem("cli.crt"),
          keyFile: pem("cli.key"),
          serverName: "hangar-controller",
        },
        outbox,
        counters,
        backoff: { initialMs: 20, maxMs: 100 },
      });
    }

    it("hub down for a while: messages wait on disk, then every one arrives once, in order", async () => {
      const got: string[] = [];
      const handlers: HubHandlers = { alert: (a) => void got.push(a.id) };
      let h = hub(handlers);
      const port = await h.start();
      const counters = new Counters();
      const outbox = await DiskOutbox.open({ dir: join(dir, "down", "hub") });
      const c = client(port, outbox, counters);
      try {
        for (let i = 1; i <= 5; i++) c.write(alert(`a${i}`));
        await c.flush();
        assert.deepEqual(got, ["a1", "a2", "a3", "a4", "a5"]);
        await h.stop(200);
        // Down: these go to the disk outbox only.
        for (let i = 6; i <= 300; i++) c.write(alert(`a${i}`));
        c.requestEnforcement(create(hangar.EnforcementRequestSchema, { id: "e1", provider: "weather" }));
        await sleep(300);
        assert.equal(c.pending, 296);
        assert.ok(outbox.bytes > 0, "spooled on disk");
        assert.equal(counters.get("queue_depth", { queue: "hub_outbox" }), 296);
        assert.deepEqual(got.length, 5);
        // Up again on the same port: a new hub process that knows nothing of this agent.
        const enforce: string[] = [];
        h = hub({ ...handlers, enforcementRequest: (r) => void enforce.push(r.id) }, port);
        await h.start();
        await c.flush();
        const want = Array.from({ length: 300 }, (_, i) => `a${i + 1}`);
        assert.deepEqual(got, want, "each once, in order");
        assert.deepEqual(enforce, ["e1"]);
        assert.equal(c.pending, 0);
        assert.equal(counters.get("hub_outbox_dropped", { reason: "overflow" }), 0);
        assert.equal(counters.get("queue_depth", { queue: "hub_outbox" }), 0);
      } finally {
        await c.shutdown();
        await h.stop(200);
      }
    });

    it("overflow: beyond the bound the oldest are dropped and counted; the rest arrive in order", async () => {
      const got: string[] = [];
      const h = hub({ alert: (a) => void got.push(a.id) });
      const port = await h.start();
      await h.stop(100); // the port is known, the hub is down
      const counters = new Counters();
      const outbox = await DiskOutbox.open({
        dir: join(dir, "overflow", "hub"),
        maxBytes: 64 * 1024,
        segmentBytes: 8 * 1024,
        fsync: false,
      });
      const c = client(port, outbox, counters);
      const h2 = hub({ alert: (a) => void got.push(a.id) }, port);
      try {
        for (let i = 1; i <= 200; i++) c.write(alert(`o${i}`, 1000));
        await sleep(500);
        const dropped = counters.get("hub_outbox_dropped", { reason: "overflow" });
        assert.ok(dropped > 0, "the bound was reached");
        assert.equal(c.dropped, dropped);
        assert.equal(c.pending, 200 - dropped);
        assert.ok(outbox.bytes <= 64 * 1024, `${outbox.bytes} bytes on disk`);
        await h2.start();
        await c.flush();
        // drop-oldest: what arrives is the newest, contiguous, in order.
        const want = Array.from({ length: 200 - dropped }, (_, i) => `o${dropped + i + 1}`);
        assert.deepEqual(got, want);
      } finally {
        await c.shutdown();
        await h2.stop(200);
      }
    });

    it("a new agent process sends what the previous one spooled and the hub had not acknowledged", async () => {
      const got: string[] = [];
      let refuse = true;
      const h = hub({
        alert: (a) => {
          // The hub refuses (does not acknowledge) the later alerts until told otherwise.
          if (refuse && a.id.startsWith("late")) throw new Error("not now");
          got.push(a.id);
        },
      });
      const port = await h.start();
      const spool = join(dir, "restart", "hub");
      const c1 = client(port, await DiskOutbox.open({ dir: spool }), new Counters());
      try {
        for (let i = 1; i <= 3; i++) c1.write(alert(`early${i}`));
        await c1.flush();
        for (let i = 1; i <= 4; i++) c1.write(alert(`late${i}`));
        await waitFor("the hub refusing the late alerts", () => c1.connects >= 2, undefined, 15_000);
        assert.equal(c1.pending, 4);
        // The process ends without the hub's acknowledgement (its outbox files stay).
        c1.close();
        await c1.outbox.close();
      } catch (err) {
        c1.close();
        await h.stop(200);
        throw err;
      }
      assert.ok(
        readdirSync(spool).some((f) => f.endsWith(".seg")),
        "segments left on disk",
      );
      refuse = false;
      const counters = new Counters();
      const reopened = await DiskOutbox.open({ dir: spool });
      assert.equal(reopened.pending, 4);
      assert.equal(reopened.firstSeq, 4n, "numbered as the previous process numbered them");
      const c2 = client(port, reopened, counters);
      try {
        c2.write(alert("new1"));
        await c2.flush();
        // The hub remembers seq 3 for node-a: early1..3 are not sent again, nothing is lost.
        assert.deepEqual(got, ["early1", "early2", "early3", "late1", "late2", "late3", "late4", "new1"]);
        assert.equal(counters.get("hub_renumbered"), 0);
        assert.equal(c2.pending, 0);
      } finally {
        await c2.shutdown();
        await h.stop(200);
      }
      // Everything acknowledged: the next process finds nothing to send and continues the numbers.
      const again = await DiskOutbox.open({ dir: spool });
      assert.equal(again.pending, 0);
      assert.equal(again.nextSeq, 9n);
      await again.close();
    });
  },
);
