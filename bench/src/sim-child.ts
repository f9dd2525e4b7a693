/**
 * The simulator process of pipeline/intake: serves a fixture pool over a unix
 * socket so that the agent under test has a core of its own. Prints one JSON
 * line `{"ready":true,"address":…}` on stdout when listening, then answers
 * commands on stdin, one per line:
 *
 *   mark    start a measurement window (CPU time and messages sent from here)
 *   report  print `{"cpuUs":…,"wallUs":…,"sent":…,"filtered":…}` for the window
 *
 * It stops when stdin ends (the parent closed it or died) or on SIGTERM.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { FIXTURE_KINDS, DEFAULT_POOL, type FixtureKind } from "./fixtures.js";
import { startFixtureSimulator, startHubbleSimulator } from "./simulator.js";

const { values } = parseArgs({
  options: {
    address: { type: "string" },
    fixture: { type: "string", default: "mixed" },
    pool: { type: "string", default: String(DEFAULT_POOL) },
  },
});

const kind = values.fixture as FixtureKind | "hubble";
if (values.address === undefined || !(kind === "hubble" || FIXTURE_KINDS.includes(kind))) {
  process.stderr.write(
    "usage: sim-child --address unix:///path.sock [--fixture exec|mixed|hubble] [--pool N]\n",
  );
  process.exit(2);
}

const sim =
  kind === "hubble"
    ? await startHubbleSimulator({ address: values.address, pool: Number(values.pool) })
    : await startFixtureSimulator({ address: values.address, fixture: kind, pool: Number(values.pool) });
const stats = kind === "hubble" ? sim.stats.hubble : sim.stats.tetragon;
const address = kind === "hubble" ? sim.hubbleAddress : sim.tetragonAddress;
process.stdout.write(`${JSON.stringify({ ready: true, address, pid: process.pid })}\n`);

let cpu = process.cpuUsage();
let wall = process.hrtime.bigint();
let sent = stats.sent;
let filtered = stats.filtered;

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  sim.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`sim-child: stop failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const command = line.trim();
  if (command === "mark") {
    cpu = process.cpuUsage();
    wall = process.hrtime.bigint();
    sent = stats.sent;
    filtered = stats.filtered;
  } else if (command === "report") {
    const used = process.cpuUsage(cpu);
    const report = {
      cpuUs: used.user + used.system,
      wallUs: Number(process.hrtime.bigint() - wall) / 1000,
      sent: stats.sent - sent,
      filtered: stats.filtered - filtered,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  }
});
lines.on("close", stop);
process.on("SIGTERM", stop);
