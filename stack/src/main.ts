#!/usr/bin/env node
/**
 * `hangar-local`: the local stack (what `npm start` runs), the agent and the controller on
 * one machine; see `cli.ts` and `hangar-local --help`.
 */
import { runLocalCli } from "./cli.js";

const ac = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => ac.abort());
process.exitCode = await runLocalCli(
  process.argv.slice(2),
  {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    tty: process.stdout.isTTY,
  },
  ac.signal,
);
