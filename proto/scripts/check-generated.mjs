#!/usr/bin/env node
// Fails (exit 1) when proto/src/gen is not what `buf generate` produces from
// the .proto files today, or proto/src/gen-lazy not what scripts/gen-lazy.mjs produces. Regenerates into a temporary directory and compares
// file lists and bytes; the committed tree is never touched.
//
// Usage: node proto/scripts/check-generated.mjs   (from any directory)

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toolPath } from "./bin-path.mjs";

const protoDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Relative paths of all files under root (empty if root is missing). */
function listFiles(root) {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

const outBase = mkdtempSync(join(tmpdir(), "hangar-proto-gen-"));
try {
  const env = { ...process.env, PATH: toolPath(protoDir) };
  // -o prefixes the template's `out: src/gen`, so output lands in <tmp>/src/gen.
  const run = spawnSync("buf", ["generate", "-o", outBase], { cwd: protoDir, env, encoding: "utf8" });
  if (run.error || run.status !== 0) {
    console.error("check-generated: `buf generate` failed");
    if (run.error) console.error(run.error.message);
    process.stderr.write(run.stdout ?? "");
    process.stderr.write(run.stderr ?? "");
    process.exit(1);
  }

  // The lazy readers (scripts/gen-lazy.mjs) into <tmp>/src/gen-lazy.
  const lazy = spawnSync(
    process.execPath,
    [join(protoDir, "scripts", "gen-lazy.mjs"), "--out", join(outBase, "src", "gen-lazy")],
    {
      cwd: protoDir,
      env,
      encoding: "utf8",
    },
  );
  if (lazy.error || lazy.status !== 0) {
    console.error("check-generated: `gen-lazy.mjs` failed");
    process.stderr.write(lazy.stdout ?? "");
    process.stderr.write(lazy.stderr ?? "");
    process.exit(1);
  }

  const problems = [];
  let count = 0;
  for (const sub of ["gen", "gen-lazy"]) {
    const freshDir = join(outBase, "src", sub);
    const committedSub = join(protoDir, "src", sub);
    const fresh = listFiles(freshDir);
    const committed = listFiles(committedSub);
    const committedSet = new Set(committed);
    const freshSet = new Set(fresh);
    count += fresh.length;
    for (const file of fresh) {
      if (!committedSet.has(file)) problems.push(`missing   src/${sub}/${file}`);
      else if (!readFileSync(join(freshDir, file)).equals(readFileSync(join(committedSub, file)))) {
        problems.push(`differs   src/${sub}/${file}`);
      }
    }
    for (const file of committed) {
      if (!freshSet.has(file)) problems.push(`stale     src/${sub}/${file}`);
    }
  }

  if (problems.length > 0) {
    console.error(
      `check-generated: proto/src/gen or src/gen-lazy is out of date (${problems.length} file(s)):`,
    );
    for (const line of problems) console.error(`  ${line}`);
    console.error("Run `npm run generate` and commit the result.");
    process.exit(1);
  }
  console.log(`check-generated: proto/src/gen and src/gen-lazy are up to date (${count} files)`);
} finally {
  rmSync(outBase, { recursive: true, force: true });
}
