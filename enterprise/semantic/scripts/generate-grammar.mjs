#!/usr/bin/env node
// Compiles src/grammar.ne with nearleyc into src/grammar.ts (committed; never
// edited by hand). The output gets a header and is formatted with prettier so
// that the repository's format check passes. `--check` regenerates in memory
// and exits 1 when the committed file differs (a test runs it).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";

const here = join(fileURLToPath(import.meta.url), "..", "..");
const root = join(here, "..", "..");
const source = join(here, "src", "grammar.ne");
const target = join(here, "src", "grammar.ts");

const HEADER = `/* eslint-disable */
// Generated from grammar.ne by scripts/generate-grammar.mjs (nearleyc); do not edit.
// nearleyc's TypeScript output is not written for strict mode: type checks and lint are off here.
// @ts-nocheck
`;

export async function generate() {
  const r = spawnSync(
    process.execPath,
    [join(root, "node_modules", "nearley", "bin", "nearleyc.js"), source],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`nearleyc failed: ${r.stderr}`);
  const options = (await prettier.resolveConfig(target)) ?? {};
  return prettier.format(HEADER + r.stdout, { ...options, filepath: target });
}

const out = await generate();
if (process.argv.includes("--check")) {
  const current = readFileSync(target, "utf8");
  if (current !== out) {
    process.stderr.write(
      `${target} is not current: run node enterprise/semantic/scripts/generate-grammar.mjs\n`,
    );
    process.exit(1);
  }
} else {
  writeFileSync(target, out);
}
