#!/usr/bin/env node
/**
 * `hangar-local`: the local stack (what `npm start` runs), the agent and the controller on
 * one machine; see `cli.ts` and `hangar-local --help`.
 */
import { runLocalCli } from "./cli.js";

const ac = new AbortController();
// The first Ctrl-C stops the stack, which takes down what it made (in real mode a pod: its
// processes, namespaces and cgroups); a second one is told to wait for that, a third leaves.
let signals = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    signals++;
    if (signals === 1) ac.abort();
    else if (signals === 2)
      process.stderr.write("hangar-local: stopping: removing what it made; once more to leave at once\n");
    else process.exit(130);
  });
// A reader that goes away (`hangar-local | head`) stops the stack like Ctrl-C, with its teardown.
let stdoutGone = false;
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  stdoutGone = true;
  ac.abort();
});
process.exitCode = await runLocalCli(
  process.argv.slice(2),
  {
    stdout: (s) => {
      if (!stdoutGone) process.stdout.write(s);
    },
    stderr: (s) => void process.stderr.write(s),
    tty: process.stdout.isTTY,
  },
  ac.signal,
);
