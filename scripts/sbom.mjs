#!/usr/bin/env node
// A CycloneDX SBOM (JSON, spec 1.6) of each image's runtime npm packages, generated from
// package-lock.json by @cyclonedx/cyclonedx-npm (pinned in the root devDependencies): the
// production dependencies of the workspaces the image's Dockerfile installs (its
// `ARG WORKSPACES`), lockfile only, reproducible (no timestamp or serial number).
//
//   node scripts/sbom.mjs [--out DIR] [--root DIR]   writes DIR/<image>.cdx.json (default dist/sbom)
//
// The images also hold the Node runtime of the base image, Debian packages and (agent) the eBPF
// loader: those are not npm packages; docs/supply-chain.md shows how to scan the whole image.
// Exit codes: 0 written, 2 the generator failed (its output is shown).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { imageWorkspaces } from "./lib/supply-chain.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const here = join(fileURLToPath(import.meta.url), "..", "..");
const root = arg("--root", here);
const out = arg("--out", join(root, "dist", "sbom"));
const cli = join(here, "node_modules", "@cyclonedx", "cyclonedx-npm", "bin", "cyclonedx-npm-cli.js");

mkdirSync(out, { recursive: true });
for (const { image, workspaces } of imageWorkspaces(root)) {
  const file = join(out, `${image}.cdx.json`);
  const args = [
    cli,
    "--package-lock-only",
    "--omit",
    "dev",
    "--flatten-components",
    "--output-reproducible",
    "--spec-version",
    "1.6",
    "--output-format",
    "JSON",
    "--output-file",
    file,
    ...workspaces.flatMap((w) => ["--workspace", w]),
    join(root, "package.json"),
  ];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(
      `sbom: cyclonedx-npm failed for ${image} (exit ${r.status ?? r.signal}):\n${r.stderr}\n`,
    );
    process.exit(2);
  }
  process.stdout.write(`sbom: ${file} (${workspaces.join(" ")})\n`);
}
