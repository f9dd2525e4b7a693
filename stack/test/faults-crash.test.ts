/**
 * Fault test: `kill -9` of the real agent at random points under load. The agent raises an
 * alert per event (400 events/s), prints each to stdout (a pipe: written synchronously, so
 * stdout is exactly what the agent accepted before it died), and delivers to a real TCP syslog
 * receiver and the real AgentHub. After the kill a new agent process on the same spool sends
 * what was kept on disk. Counted per destination: accepted, delivered, duplicated, lost.
 * Asserted: the hub loses nothing beyond its group-commit window, a SIEM loses only the newest
 * records it still held in memory (a suffix, younger than the documented window), and the
 * window is measured (printed) for the docs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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
  tags,
  hubServerTls,
} from "./faults-helpers.js";

const RATE = 400;
const N = 4000;
/** The documented bound of the SIEM crash window (docs/reference/siem-export.md): flush-ms + scheduling. */
const WINDOW_BOUND_MS = 1000;

it(
  "kill -9 at random points under load: only the documented window is lost, and it is measured",
  { timeout: 150_000 },
  async () => {
    const { dir, cleanup } = tempDir("hangar-fault-kill-");
    writeTestCerts(dir, { caCn: "test-ca", clientSan: "DNS:node-a" });
    const rounds: Record<string, unknown>[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const spoolDir = join(dir, `spool-${round}`);
        const hubGot: hangar.Alert[] = [];
        const hub = new AgentHub({
          listen: "127.0.0.1:0",
          tls: hubServerTls(dir),
          handlers: { alert: (a) => void hubGot.push(a) },
        });
        const hubPort = await hub.start();
        const siem = new LineReceiver();
        const siemPort = await siem.start();
        const start = Date.now();
        const sock = `unix://${join(dir, `tetragon-${round}.sock`)}`;
        let sim = await startSimulator({
          tetragon: {
            address: sock,
            messages: Array.from({ length: N }, (_, i) => execEvent(i, start)),
            holdOpen: true,
            rate: RATE,
          },
        });
        const acceptedAt = new Map<number, number>();
        const args = agentArgs({ dir, tetragon: sim.tetragonAddress ?? "", spoolDir, siemPort, hubPort });
        const a = startAgentProcess(args, (line, at) => {
          for (const t of tags([line])) acceptedAt.set(t, at);
        });
        let b: ReturnType<typeof startAgentProcess> | undefined;
        try {
          await waitFor("200 alerts accepted", () => acceptedAt.size >= 200, undefined, 60_000);
          await sleep(Math.floor(Math.random() * 2_000));
          a.child.kill("SIGKILL");
          const killedAt = Date.now();
          await a.exited;
          await sim.stop();
          // A new process on the same spool (no new events) sends what the disk kept.
          sim = await startSimulator({ tetragon: { address: sock, messages: [], holdOpen: true } });
          b = startAgentProcess(
            agentArgs({ dir, tetragon: sim.tetragonAddress ?? "", spoolDir, siemPort, hubPort }),
          );
          // Settled: B is connected to the hub, its outbox and SIEM spool are empty.
          await waitFor(
            "the new process to send what was kept",
            async () => {
              const port = b === undefined ? undefined : healthPort(b);
              if (port === undefined) return false;
              const c = (await fetch(`http://127.0.0.1:${port}/debug/counters`).then((x) =>
                x.json(),
              )) as Record<string, number>;
              return (
                (c.hub_connects ?? 0) >= 1 &&
                c['queue_depth{queue="hub_outbox"}'] === 0 &&
                (c['siem_spool_records{destination="siem"}'] ?? 0) === 0
              );
            },
            undefined,
            60_000,
            200,
          );
          await sleep(500);
          const accepted = [...acceptedAt.keys()];
          const s = account(accepted, tags(siem.lines));
          const h = account(accepted, tags(hubGot.map((x) => x.message)));
          const window = (lost: number[]): number =>
            lost.length === 0 ? 0 : killedAt - (acceptedAt.get(lost[0] as number) as number);
          const r = {
            round,
            killedAfterMs: killedAt - start,
            accepted: accepted.length,
            siem: { ...s, lost: s.lost.length, windowMs: window(s.lost) },
            hub: { ...h, lost: h.lost.length, windowMs: window(h.lost) },
          };
          rounds.push(r);
          process.stderr.write(`# kill -9: ${JSON.stringify(r)}\n`);
          const maxAccepted = Math.max(...accepted);
          for (const [name, x] of [
            ["siem", s],
            ["hub", h],
          ] as const) {
            // Only the newest are lost: everything older than the first lost one arrived.
            const firstLost = x.lost[0];
            if (firstLost !== undefined)
              assert.deepEqual(
                x.lost,
                Array.from({ length: maxAccepted - firstLost + 1 }, (_, i) => firstLost + i).filter((t) =>
                  acceptedAt.has(t),
                ),
                `${name}: the lost records are the newest ones`,
              );
            assert.ok(
              window(x.lost) <= WINDOW_BOUND_MS,
              `${name}: lost window ${window(x.lost)} ms > ${WINDOW_BOUND_MS}`,
            );
          }
          assert.equal(h.duplicated, 0, "the hub drops duplicates by sequence number");
        } finally {
          if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill("SIGKILL");
          b?.child.kill("SIGTERM");
          await b?.exited;
          await sim.stop();
          await hub.stop(100);
          await siem.stop();
        }
      }
    } finally {
      cleanup();
    }
    process.stderr.write(`# kill -9 summary: ${JSON.stringify(rounds)}\n`);
  },
);
