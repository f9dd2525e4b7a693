import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startAgent } from "../agent.js";
import { describeEvent, type Alert, type AlertSink, type Detector, parse } from "@hangar/core";
import { JsonLinesAlertSink } from "@hangar/export";
import { buildScenario } from "../simulator/scenario.js";
import { startSimulator } from "../simulator/simulator.js";
import { PacedTraceSource } from "../sources/traces.js";
import { hangar } from "@hangar/proto";
import { loadRuleEngine } from "../bootstrap/plugins.js";
import { defaultRulesDir } from "../replay/replay.js";
import { waitForSignal } from "./run.js";

const HELP = `Usage: hangar-agent local [--fast] [--json] [--no-rules] [--log-level LEVEL]

The agent alone on embedded defaults (the whole local stack, with the controller, is
\`npm start\` = \`hangar-controller local\`): a sensor simulator serving a built-in scenario
over the Tetragon and Hubble gRPC APIs (unix sockets in a temporary directory), the
scenario's MCP call traces in place of the controller's proxy, and an agent consuming
all three. Every kept event is printed as one line, with the tool call it is
attributed to; the rule packs in rules/ (when the rule engine is installed) raise
alerts, printed as one line each (--json: as JSON objects).
Ctrl-C stops both and prints the counters.

  --fast             send events as fast as possible instead of in real time (the
                     call traces stay in real time, so most events go unattributed)
  --json             print alerts as JSON objects (as 'run' and 'replay' do)
  --no-rules         run without the rule engine
  --log-level LEVEL  agent log level on stderr (default warn)
`;

export async function localCommand(args: string[]): Promise<number> {
  const v = parse("local", args, {
    fast: { type: "boolean" },
    json: { type: "boolean" },
    "no-rules": { type: "boolean" },
    "log-level": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), "hangar-local-"));
  const scenario = buildScenario({ startMs: Date.now() + 500, benignCalls: 2, rounds: 600 });
  const pacing = v.fast === true ? {} : { paceByTime: true };
  const sim = await startSimulator({
    tetragon: {
      address: `unix://${join(dir, "tetragon.sock")}`,
      messages: scenario.tetragon,
      ...pacing,
    },
    hubble: {
      address: `unix://${join(dir, "hubble.sock")}`,
      messages: scenario.hubble,
      ...pacing,
    },
  });
  const logger = pino({ level: v["log-level"] ?? "warn" }, pino.destination({ fd: 2, sync: true }));
  process.stdout.write(
    `hangar-agent local stack: simulator (Tetragon ${sim.tetragonAddress ?? ""}, Hubble ${sim.hubbleAddress ?? ""}) → agent\n` +
      `pods without the label mcp-hangar.io/provider are dropped at the edge; Ctrl-C to stop\n\n`,
  );
  let detector: Detector | undefined;
  if (v["no-rules"] !== true) {
    try {
      detector = await loadRuleEngine({ paths: [defaultRulesDir()] });
      process.stdout.write(`rules: ${defaultRulesDir()}\n\n`);
    } catch (err) {
      process.stdout.write(
        `rules: not loaded, events only (${err instanceof Error ? err.message.split("\n")[0] : String(err)})\n\n`,
      );
    }
  }
  const agent = await startAgent({
    node: "node-a",
    tetragon: { address: sim.tetragonAddress ?? "" },
    hubble: { address: sim.hubbleAddress ?? "" },
    traceSource: new PacedTraceSource(scenario.traces),
    namespaces: [],
    sinks: [v.json === true ? new JsonLinesAlertSink(process.stdout) : new AlertLineSink()],
    ...(detector === undefined ? {} : { detector }),
    onEvent: (ev) => process.stdout.write(`${describeEvent(ev)}\n`),
    logger,
  });
  const ended = agent.done.then(() => "ended");
  const why = await Promise.race([waitForSignal(), ended]);
  await agent.stop();
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
  const c = agent.counters;
  process.stdout.write(
    `\n${why === "ended" ? "streams ended" : "stopped"}: ${c.get("kept")} events kept, ` +
      `dropped ${JSON.stringify(c.byLabel("dropped", "reason"))}, ` +
      `sensor lost events ${JSON.stringify(c.byLabel("sensor_lost_events", "sensor"))}\n`,
  );
  return 0;
}

/** One line per alert, for people: severity, rule, message, and the tool call behind it. */
class AlertLineSink implements AlertSink {
  write(alert: Alert): void {
    const severity = (hangar.Severity[alert.severity] ?? "UNSPECIFIED").toLowerCase();
    const call = alert.toolCalls[0];
    const during =
      call === undefined
        ? ""
        : `  ← tool ${call.tool} (session ${call.sessionId}, caller ${call.caller?.subject ?? "?"})`;
    process.stdout.write(`ALERT ${severity.padEnd(8)} ${alert.ruleId}: ${alert.message}${during}\n`);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
