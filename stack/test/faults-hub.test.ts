/**
 * Fault tests of the link to the controller: an oversized event and a message the hub refuses
 * for good. The real `hangar-agent run` process and the real AgentHub (gRPC over mTLS on
 * loopback): an exec with a 9 MB argument gives an alert that arrives cut to the size limits
 * with the marker, and the 50 alerts after it arrive; a message over the hub's 16 MiB limit
 * (sent by a client directly: the agent's own alerts are bounded first) is set aside as a dead
 * letter, counted, and the 50 messages after it arrive, in order.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { Counters, truncationMarker } from "@hangar/core";
import { DiskOutbox, HubClient, startSimulator } from "@hangar/agent";
import { AgentHub } from "@hangar/controller";
import { tempDir, waitFor, writeTestCerts } from "@hangar/testkit";
import {
  execEvent,
  startAgentProcess,
  stoppedCounters,
  tags,
  writeRule,
  hubServerTls,
  hubClientArgs,
} from "./faults-helpers.js";

function hubOn(dir: string, got: hangar.Alert[]): AgentHub {
  return new AgentHub({
    listen: "127.0.0.1:0",
    tls: hubServerTls(dir),
    handlers: { alert: (a) => void got.push(a) },
  });
}

describe("oversized messages on the link to the controller", () => {
  it(
    "an exec with a 9 MB argument: the alert arrives cut with the marker, and the 50 after it arrive",
    { timeout: 90_000 },
    async () => {
      const { dir, cleanup } = tempDir("hangar-fault-big-");
      writeTestCerts(dir, { caCn: "test-ca", clientSan: "DNS:node-a" });
      const got: hangar.Alert[] = [];
      const hub = hubOn(dir, got);
      const hubPort = await hub.start();
      const start = Date.now();
      const big = " " + "A".repeat(9 * 1024 * 1024);
      const sim = await startSimulator({
        tetragon: {
          address: `unix://${join(dir, "tetragon.sock")}`,
          messages: [
            execEvent(0, start, big),
            ...Array.from({ length: 50 }, (_, i) => execEvent(i + 1, start)),
          ],
          holdOpen: true,
        },
      });
      const a = startAgentProcess([
        "--tetragon",
        sim.tetragonAddress ?? "",
        "--rules",
        writeRule(join(dir, "rules")),
        "--health-port",
        "0",
        "--no-stdout-alerts",
        "--spool-dir",
        join(dir, "spool"),
        ...hubClientArgs(dir, hubPort),
        "--node",
        "node-a",
      ]);
      try {
        await waitFor("51 alerts at the hub", () => got.length >= 51, undefined, 60_000).catch(
          (err: unknown) => {
            throw new Error(`${String(err)}: ${got.length} arrived\n${a.stderr.slice(-3000)}`);
          },
        );
        assert.deepEqual(
          tags(got.map((x) => x.message)),
          Array.from({ length: 51 }, (_, i) => i),
          "every alert once, in order",
        );
        const first = got[0] as hangar.Alert;
        const args = first.evidence[0]?.process?.arguments ?? "";
        const whole = Buffer.byteLength(`-c tag-0${big}`);
        assert.ok(args.startsWith("-c tag-0 AAAA"));
        assert.ok(args.endsWith(truncationMarker(whole)), args.slice(-100));
        assert.ok(first.message.includes("…[truncated by hangar: "), "the message is cut too");
        assert.match(first.explanation, /\[truncated by hangar: .*evidence\[0\]\.process\.arguments/);
        assert.ok(create(hangar.AlertSchema, first) && first.message.length < 10_000);
        a.child.kill("SIGTERM");
        assert.equal((await a.exited).code, 0, a.stderr.slice(-3000));
        const c = stoppedCounters(a.stderr);
        assert.equal(c['alerts_truncated{rule="fault.exec.sh"}'], 1);
        assert.equal(c.hub_dead_letters, undefined, "nothing was refused");
      } finally {
        if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill("SIGKILL");
        await a.exited;
        await sim.stop();
        await hub.stop(100);
        cleanup();
      }
    },
  );

  it(
    "a message the hub refuses for good (over 16 MiB) is a dead letter: counted, reported, and the 50 after it arrive",
    { timeout: 90_000 },
    async () => {
      const { dir, cleanup } = tempDir("hangar-fault-dead-");
      writeTestCerts(dir, { caCn: "test-ca", clientSan: "DNS:node-a" });
      const got: hangar.Alert[] = [];
      const hub = hubOn(dir, got);
      const port = await hub.start();
      const counters = new Counters();
      const dead: { seq: bigint; kind: string; code: string; id: string; bytes: number }[] = [];
      const outbox = await DiskOutbox.open({ dir: join(dir, "hub"), fsync: false });
      const c = new HubClient({
        address: `127.0.0.1:${port}`,
        node: "node-a",
        tls: {
          caFile: join(dir, "ca.crt"),
          certFile: join(dir, "cli.crt"),
          keyFile: join(dir, "cli.key"),
          serverName: "hangar-controller",
        },
        outbox,
        counters,
        backoff: { initialMs: 20, maxMs: 200 },
        onDeadLetter: (d) => void dead.push(d),
      });
      try {
        const alert = (i: number, pad = ""): hangar.Alert =>
          create(hangar.AlertSchema, { id: `a${i}`, ruleId: "r", message: `tag-${i}${pad}` });
        for (let i = 0; i < 5; i++) c.write(alert(i));
        await c.flush();
        c.write(alert(5, "x".repeat(17 * 1024 * 1024)));
        for (let i = 6; i <= 55; i++) c.write(alert(i));
        await waitFor("the 50 after the refused one", () => got.length >= 55, undefined, 60_000).catch(
          (err: unknown) => {
            throw new Error(`${String(err)}: ${got.length} arrived, dead letters ${dead.length}`);
          },
        );
        // The hub hands a message on before its ack reaches the client: wait for the acks too.
        await c.flush();
        assert.deepEqual(
          got.map((a) => a.id),
          Array.from({ length: 56 }, (_, i) => `a${i}`).filter((id) => id !== "a5"),
          "every other message once, in order",
        );
        assert.equal(dead.length, 1);
        assert.equal(dead[0]?.seq, 6n);
        assert.equal(dead[0]?.kind, "alert");
        assert.equal(dead[0]?.id, "a5");
        assert.equal(dead[0]?.code, "RESOURCE_EXHAUSTED");
        assert.ok((dead[0]?.bytes ?? 0) > 16 * 1024 * 1024);
        assert.equal(counters.get("hub_dead_letters", { kind: "alert", code: "RESOURCE_EXHAUSTED" }), 1);
        assert.equal(c.pending, 0);
      } finally {
        await c.shutdown();
        await hub.stop(100);
        cleanup();
      }
    },
  );
});
