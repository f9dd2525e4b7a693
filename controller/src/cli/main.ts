#!/usr/bin/env node
/**
 * `hangar-controller`: the controller's processes. Commands so far: `proxy`
 * (the MCP proxy). Exit codes: 0 ok, 1 runtime failure, 2 usage or
 * configuration error.
 */
import { runProxyCli } from "./proxy.js";
import { runServeCli } from "./serve.js";

const USAGE = `Usage: hangar-controller <command> [options]

Commands:
  proxy    the MCP proxy (Streamable HTTP per provider, call traces)
  serve    the agent hub, enforcement (NetworkPolicy, audit first) and the REST API

Run \`hangar-controller <command> --help\` for a command's options.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
`;

const [command, ...rest] = process.argv.slice(2);
const io = {
  stdout: (s: string) => void process.stdout.write(s),
  stderr: (s: string) => void process.stderr.write(s),
};
if (command === undefined || command === "-h" || command === "--help") {
  io.stdout(USAGE);
  process.exit(command === undefined ? 2 : 0);
}
if (command !== "proxy" && command !== "serve") {
  io.stderr(`hangar-controller: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}
const ac = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => ac.abort());
process.exitCode =
  command === "serve" ? await runServeCli(rest, io, ac.signal) : await runProxyCli(rest, io, ac.signal);
