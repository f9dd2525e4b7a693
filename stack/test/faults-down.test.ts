/**
 * Fault test: the controller and the SIEM go down while the real `hangar-agent run` raises
 * alerts, and come back. The agent keeps taking events (stdout shows each alert as it is
 * raised), keeps what it cannot deliver on disk, and once both are back delivers everything:
 * per destination accepted = delivered, 0 lost; the hub has no duplicate (sequence numbers),
 * the SIEM's duplicates (at-least-once after a lost connection) are counted and reported.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { it } from "node:test";
import type { hangar } from "@hangar/proto";
import { startSimulator } from "@hangar/agent";
import { AgentHub } from "@hangar/controller";
import { tempDir, waitFor, writeTestCerts } from "@hangar/testkit";
import {
  account,
  agentArgs,
  execEvent,
  healthPort,
  LineReceiver,
  startAgentProcess,
  stoppedCounters,
  tags,
  hubServerTls,
} from "./faults-helpers.js";

const N = 600;

it(
  "controller and SIEM down and back: every accepted alert is delivered, none lost",
  { timeout: 120_000 },
  async () => {
    const { dir, cleanup } = tempDir("hangar-fault-down-");
    writeTestCerts(dir, { caCn: "test-ca", clientSan: "DNS:node-a" });
    const hubGot: hangar.Alert[] = [];
    const hubOpts = (port: number): ConstructorParameters<typeof AgentHub>[0] => ({
      listen: `127.0.0.1:${port}`,
      tls: hubServerTls(dir),
      handlers: { alert: (a) => void hubGot.push(a) },
    });
    let hub = new AgentHub(hubOpts(0));
    const hubPort = await hub.start();
    const siem = new LineReceiver();
    const siemPort = await siem.start();
    const start = Date.now();
    const sim = await startSimulator({
      tetragon: {
        address: `unix://${join(dir, "tetragon.sock")}`,
        messages: Array.from({ length: N }, (_, i) => execEvent(i, start)),
        holdOpen: true,
        rate: 200,
      },
    });
    const accepted = new Set<number>();
    const a = startAgentProcess(
      agentArgs({
        dir,
        tetragon: sim.tetragonAddress ?? "",
        spoolDir: join(dir, "spool"),
        siemPort,
        hubPort,
      }),
      (line) => {
        for (const t of tags([line])) accepted.add(t);
      },
    );
    try {
      await waitFor("150 alerts", () => accepted.size >= 150, undefined, 60_000);
      // Both go away mid-stream.
      await hub.stop(100);
      await siem.stop();
      const downAt = accepted.size;
      await waitFor("every event taken in while both are down", () => accepted.size >= N, undefined, 60_000);
      const port = healthPort(a) as number;
      const during = (await fetch(`http://127.0.0.1:${port}/debug/counters`).then((r) => r.json())) as Record<
        string,
        number
      >;
      assert.ok((during['queue_depth{queue="hub_outbox"}'] ?? 0) > 0, "the hub's messages wait on disk");
      assert.ok(
        (during['siem_spool_records{destination="siem"}'] ?? 0) > 0,
        "the SIEM's records wait on disk",
      );
      // Back.
      await siem.start(siemPort);
      hub = new AgentHub(hubOpts(hubPort));
      await hub.start();
      await waitFor(
        "everything delivered",
        () =>
          account([...accepted], tags(siem.lines)).lost.length === 0 &&
          account([...accepted], tags(hubGot.map((x) => x.message))).lost.length === 0,
        undefined,
        60_000,
        100,
      ).catch((err: unknown) => {
        throw new Error(
          `${String(err)}: siem ${JSON.stringify(account([...accepted], tags(siem.lines)).lost.slice(0, 20))} hub ${JSON.stringify(account([...accepted], tags(hubGot.map((x) => x.message))).lost.slice(0, 20))}\n${a.stderr.slice(-3000)}`,
        );
      });
      a.child.kill("SIGTERM");
      assert.equal((await a.exited).code, 0, a.stderr.slice(-3000));
      const end = stoppedCounters(a.stderr);
      const s = account([...accepted], tags(siem.lines));
      const h = account([...accepted], tags(hubGot.map((x) => x.message)));
      const report = {
        downAfter: downAt,
        accepted: accepted.size,
        siem: {
          ...s,
          lost: s.lost.length,
          dropped: end['siem_dropped{destination="siem",reason="spool_full"}'] ?? 0,
        },
        hub: { ...h, lost: h.lost.length },
      };
      process.stderr.write(`# controller and SIEM down: ${JSON.stringify(report)}\n`);
      assert.equal(accepted.size, N);
      assert.equal(s.lost.length, 0);
      assert.equal(h.lost.length, 0);
      assert.equal(h.duplicated, 0);
      assert.deepEqual(
        tags(hubGot.map((x) => x.message)),
        Array.from({ length: N }, (_, i) => i),
        "the hub got every alert once, in order",
      );
      for (const [k, v] of Object.entries(end))
        if (k.startsWith("siem_dropped") || k.startsWith("hub_outbox_dropped")) assert.equal(v, 0, k);
    } finally {
      if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill("SIGKILL");
      await a.exited;
      await sim.stop();
      await hub.stop(100);
      await siem.stop();
      cleanup();
    }
  },
);
