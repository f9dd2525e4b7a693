#!/usr/bin/env node
/**
 * hangar-agent: the per-node runtime security agent of MCP Hangar.
 *
 *   hangar-agent run       the live agent (DaemonSet)
 *   hangar-agent replay    the same pipeline over recordings
 *   hangar-agent simulate  gRPC servers speaking the Tetragon and Hubble APIs, streaming a recording
 *   hangar-agent local     simulator → agent, events printed (the agent alone; npm start runs hangar-controller local)
 *   hangar-agent probe     checks and self-tests the own eBPF probe
 */
import { HangarError } from "@hangar/core";
import { runCommand } from "./run.js";
import { replayCommand } from "./replay.js";
import { simulateCommand } from "./simulate.js";
import { localCommand } from "./local.js";
import { probeCommand } from "./probe.js";

const USAGE = `hangar-agent — runtime security agent for MCP servers on Kubernetes

Usage: hangar-agent <command> [options]

Commands:
  run        Run the agent: consume Tetragon/Hubble event streams for MCP pods on this node
  replay     Run the detection pipeline over recorded events and print alerts
  simulate   Serve a recording over the Tetragon and Hubble gRPC APIs (for tests and demos)
  local      Start a simulator and an agent together and print the events (the agent alone;
             the whole local stack is npm start, i.e. hangar-controller local)
  probe      Check or self-test the own eBPF probe (--check, --selftest)

Run 'hangar-agent <command> --help' for the options of a command.
`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  run: runCommand,
  replay: replayCommand,
  simulate: simulateCommand,
  local: localCommand,
  probe: probeCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const cmd = commands[name];
  if (cmd === undefined) {
    process.stderr.write(`hangar-agent: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return cmd(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof HangarError) {
      process.stderr.write(`hangar-agent: ${err.code}: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `hangar-agent: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
