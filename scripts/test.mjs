#!/usr/bin/env node
// `npm test`: build, static checks, then every test of every workspace with
// node's test runner. Each step prints its name; the first failing step stops
// the run with its exit code. Runs under the Node 24 that the `node`
// devDependency puts first on the PATH of npm scripts.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const node = process.execPath;

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `npm test needs Node 24 (found ${process.version}); run it through npm so node_modules/.bin/node is used\n`,
  );
  process.exit(1);
}

const TEST_GLOBS = [
  "proto/dist/test/**/*.test.js",
  "core/dist/**/*.test.js",
  "export/dist/**/*.test.js",
  "agent/dist/**/*.test.js",
  "controller/dist/**/*.test.js",
  "stack/dist/**/*.test.js",
  "enterprise/semantic/dist/**/*.test.js",
  "enterprise/behavioral/dist/**/*.test.js",
  "rules/dist/**/*.test.js",
  "testkit/dist/**/*.test.js",
  "bench/dist/**/*.test.js",
  "helm/dist/**/*.test.js",
];

const steps = [
  ["build (tsc -b)", bin("tsc"), ["-b"]],
  ["format (prettier --check)", bin("prettier"), ["--check", "--log-level", "warn", "."]],
  ["lint (eslint)", bin("eslint"), ["--max-warnings", "0", "."]],
  ["boundary (core never imports enterprise/)", node, [join(root, "scripts", "check-boundary.mjs")]],
  [
    "layers (no import from a lower layer to a higher one, no cycle)",
    node,
    [join(root, "scripts", "check-layers.mjs")],
  ],
  ["proto lint (buf lint)", bin("buf"), ["lint", "proto"]],
  ["proto generated code is current", node, [join(root, "proto", "scripts", "check-generated.mjs")]],
  ["sbom (CycloneDX SBOM of each image from the lockfile)", node, [join(root, "scripts", "sbom.mjs")]],
  [
    "licenses (every production dependency in the SBOMs, permissive licenses only)",
    node,
    [join(root, "scripts", "check-licenses.mjs")],
  ],
  ["tests (node --test)", node, ["--test", "--test-reporter=spec", ...TEST_GLOBS]],
];

const only = process.argv.slice(2);
for (const [name, cmd, args] of steps) {
  if (only.length > 0 && !only.some((o) => name.startsWith(o))) continue;
  process.stdout.write(`\n── ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`\n✗ ${name} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}
process.stdout.write("\n✓ all checks passed\n");
