#!/usr/bin/env node
/**
 * `hangar-controller`: the controller's processes. Commands: `proxy` (the MCP
 * proxy), `serve` (hub, enforcement, REST API) and `sample-server` (the bundled
 * sample MCP server); `local` only says where the local stack went (`hangar-local`
 * of `@hangar/stack`, which runs the agent too). Exit codes: 0 ok, 1 runtime
 * failure, 2 usage or configuration error.
 */
import { movedLocal } from "./local.js";

const USAGE = `Usage: hangar-controller <command> [options]

Commands:
  proxy          the MCP proxy (Streamable HTTP per provider, call traces)
  serve          the agent hub, enforcement (NetworkPolicy, audit first) and the REST API
  local          moved: the local stack (controller, agent, sensor simulator, a sample MCP
                 server and a scripted attack) is \`npx hangar-local\` (npm start)
  sample-server  the bundled sample MCP server (Streamable HTTP at /mcp)

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
// Each command's modules load when it runs: `proxy` does not pay for `serve`'s (the REST API,
// the enforcer, the exporters), which made the proxy's start to listening take seconds.
const commands: Record<string, (argv: string[], signal: AbortSignal) => Promise<number>> = {
  proxy: async (argv, signal) => (await import("./proxy.js")).runProxyCli(argv, io, signal),
  serve: async (argv, signal) => (await import("./serve.js")).runServeCli(argv, io, signal),
  local: () => Promise.resolve(movedLocal(io)),
  "sample-server": async (argv, signal) =>
    (await import("./sample-server.js")).runSampleServerCli(argv, io, signal),
};
const run = commands[command];
if (run === undefined) {
  io.stderr(`hangar-controller: unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
}
const ac = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => ac.abort());
process.exitCode = await run(rest, ac.signal);
