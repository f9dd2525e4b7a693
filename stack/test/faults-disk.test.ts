/**
 * Fault test: the spool disk fills up. The real `hangar-agent run` process spools SIEM records
 * (the SIEM is down) and hub messages (the controller is down) to `--spool-dir` on a small
 * tmpfs. Once the disk is full the agent must keep answering /healthz ("degraded: spool full"),
 * count what it cannot keep, leave no torn record, and stop cleanly on SIGTERM; a second run,
 * with both up, delivers what the disk kept: accepted = delivered + counted drops.
 * Root only (mount); HANGAR_REQUIRE_FAULT=1 makes a skip a failure.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { it } from "node:test";
import { DiskSpool } from "@hangar/core";
import { startSimulator } from "@hangar/agent";
import { AgentHub } from "@hangar/controller";
import { tempDir, waitFor, writeTestCerts } from "@hangar/testkit";
import {
  execEvent,
  faultSkip,
  healthPort,
  LineReceiver,
  mountTmpfs,
  startAgentProcess,
  stoppedCounters,
  tags,
  writeRule,
  hubServerTls,
  hubClientArgs,
} from "./faults-helpers.js";

const N = 1500;
const PAD = " ".repeat(1) + "p".repeat(1200);

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: await res.text() };
}

const rootReason = process.getuid?.() === 0 ? undefined : "not root: the test mounts a tmpfs";

it(
  "a full spool disk: health says so, nothing torn, drops counted, SIGTERM stops the agent, the rest arrives later",
  { skip: faultSkip(rootReason), timeout: 120_000 },
  async () => {
    const { dir, cleanup } = tempDir("hangar-fault-disk-");
    const spoolDir = join(dir, "spool");
    const unmount = mountTmpfs(spoolDir, 1024 * 1024);
    if (typeof unmount === "string") throw new Error(unmount);
    writeTestCerts(dir, { caCn: "test-ca", clientSan: "DNS:node-a" });
    const rules = writeRule(join(dir, "rules"));
    const start = Date.now();
    const sim = await startSimulator({
      tetragon: {
        address: `unix://${join(dir, "tetragon.sock")}`,
        messages: Array.from({ length: N }, (_, i) => execEvent(i, start, PAD)),
        holdOpen: true,
        rate: 1000,
      },
    });
    const siem = new LineReceiver();
    const siemPort = await siem.start();
    await siem.stop(); // down: the port is known
    const got: number[] = [];
    const hubOpts = (port: number): ConstructorParameters<typeof AgentHub>[0] => ({
      listen: `127.0.0.1:${port}`,
      tls: hubServerTls(dir),
      handlers: { alert: (a) => void got.push(...tags([a.message])) },
    });
    let hub = new AgentHub(hubOpts(0));
    const hubPort = await hub.start();
    await hub.stop(100);
    const args = [
      "--tetragon",
      sim.tetragonAddress ?? "",
      "--rules",
      rules,
      "--health-port",
      "0",
      "--no-stdout-alerts",
      "--spool-dir",
      spoolDir,
      "--siem",
      `tcp://127.0.0.1:${siemPort}?format=json&syslog=none&framing=lf&name=siem&spool-max-bytes=4194304`,
      ...hubClientArgs(dir, hubPort),
      "--hub-outbox-max-bytes",
      "4194304",
      "--node",
      "node-a",
    ];
    const a = startAgentProcess(args);
    let b: ReturnType<typeof startAgentProcess> | undefined;
    try {
      await waitFor("the agent's health port", () => healthPort(a) !== undefined, undefined, 30_000);
      const port = healthPort(a) as number;
      // The stream is 1.5 MB of alerts per destination into 1 MiB: the disk fills.
      await waitFor(
        "every event taken in",
        async () => {
          const c = JSON.parse((await get(port, "/debug/counters")).body) as Record<string, number>;
          return (c['alerts{rule="fault.exec.sh",severity="high"}'] ?? 0) >= N;
        },
        undefined,
        60_000,
      );
      await sleep(1_500);
      const health = await get(port, "/healthz");
      assert.equal(health.status, 200, "/healthz still answers");
      assert.match(health.body, /degraded: spool full/);
      const counters = JSON.parse((await get(port, "/debug/counters")).body) as Record<string, number>;
      const siemFull = counters['siem_dropped{destination="siem",reason="spool_full"}'] ?? 0;
      assert.ok(
        siemFull > 0,
        `SIEM records dropped for a full disk are counted: ${JSON.stringify(counters)}`,
      );
      const t0 = Date.now();
      a.child.kill("SIGTERM");
      const exit = await Promise.race([a.exited, sleep(15_000).then(() => undefined)]);
      assert.ok(exit !== undefined, `SIGTERM stopped the agent within 15 s\n${a.stderr.slice(-3000)}`);
      assert.equal(exit.code, 0, a.stderr.slice(-3000));
      const stopMs = Date.now() - t0;
      // The counters the process ended with (its "stopped" line): drops during shutdown included.
      const end = stoppedCounters(a.stderr);
      const accepted = end['alerts{rule="fault.exec.sh",severity="high"}'] ?? 0;
      const siemDropped = Object.entries(end)
        .filter(([k]) => k.startsWith('siem_dropped{destination="siem"'))
        .reduce((s, [, v]) => s + v, 0);
      const hubDropped = Object.entries(end)
        .filter(([k]) => k.startsWith("hub_outbox_dropped"))
        .reduce((s, [, v]) => s + v, 0);
      // No torn record: every spool opens without cutting anything off.
      for (const sub of ["siem", "hub"]) {
        const files = readdirSync(join(spoolDir, sub));
        assert.ok(files.length > 0, `${sub} spool has files`);
        const s = await DiskSpool.open({ dir: join(spoolDir, sub), maxBytes: 4 * 1024 * 1024 });
        assert.deepEqual(s.recovered, { segments: 0, truncatedBytes: 0 }, `${sub}: no torn record`);
        await s.close();
      }
      // Both up: a new agent process on the same spool sends what the disk kept.
      await siem.start(siemPort);
      hub = new AgentHub(hubOpts(hubPort));
      await hub.start();
      await sim.stop();
      const sim2 = await startSimulator({
        tetragon: { address: `unix://${join(dir, "tetragon.sock")}`, messages: [], holdOpen: true },
      });
      try {
        b = startAgentProcess(args);
        await waitFor(
          "what the first process spooled",
          () => tags(siem.lines).length + siemDropped >= accepted && got.length + hubDropped >= accepted,
          undefined,
          60_000,
        );
        await sleep(500);
      } finally {
        b?.child.kill("SIGTERM");
        await b?.exited;
        await sim2.stop();
      }
      const siemTags = tags(siem.lines);
      const siemUnique = new Set(siemTags).size;
      const hubUnique = new Set(got).size;
      const report = {
        accepted,
        siem: { delivered: siemUnique, duplicated: siemTags.length - siemUnique, dropped: siemDropped },
        hub: { delivered: hubUnique, duplicated: got.length - hubUnique, dropped: hubDropped },
        stopMs,
      };
      process.stderr.write(`# full disk: ${JSON.stringify(report)}\n`);
      assert.equal(accepted, N);
      assert.equal(
        siemUnique + siemDropped,
        accepted,
        `SIEM: lost beyond the counted drops ${JSON.stringify(report)}`,
      );
      assert.equal(
        hubUnique + hubDropped,
        accepted,
        `hub: lost beyond the counted drops ${JSON.stringify(report)}`,
      );
      assert.equal(got.length, hubUnique, "the hub got no duplicate");
    } catch (err) {
      throw new Error(
        `${err instanceof Error ? (err.stack ?? err.message) : String(err)}\nagent stderr:\n${a.stderr.slice(-4000)}`,
        {
          cause: err,
        },
      );
    } finally {
      if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill("SIGKILL");
      await a.exited;
      await hub.stop(100);
      await siem.stop();
      await sim.stop().catch(() => undefined);
      unmount();
      cleanup();
    }
  },
);
