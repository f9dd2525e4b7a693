#!/usr/bin/env node
// Helm charts cannot read files outside their directory, so the chart keeps copies of the
// rule packs and the Tetragon TracingPolicies:
//
//   rules/*.rules               -> helm/hangar-agent/files/rules/
//   bpf/tracingpolicies/*.yaml  -> helm/hangar-agent/files/tracingpolicies/
//
//   node scripts/sync-chart-files.mjs           copy (and delete copies whose source is gone)
//   node scripts/sync-chart-files.mjs --check   only compare; exit 1 listing each difference
//   --root DIR                                  work on another checkout (default: this one)
//
// Exit codes: 0 in sync (or synced), 1 differences found with --check, 2 I/O error.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// --root DIR: another checkout (tests use a temp copy).
const rootArg = process.argv.indexOf("--root");
const root = rootArg > 0 ? process.argv[rootArg + 1] : join(fileURLToPath(import.meta.url), "..", "..");
export const PAIRS = [
  { from: "rules", to: "helm/hangar-agent/files/rules", ext: ".rules" },
  { from: "bpf/tracingpolicies", to: "helm/hangar-agent/files/tracingpolicies", ext: ".yaml" },
];

const list = (dir, ext) => {
  try {
    return readdirSync(join(root, dir))
      .filter((f) => f.endsWith(ext))
      .sort();
  } catch (err) {
    if (err.code === "ENOENT") return [];
    throw err;
  }
};

/** Every difference between the sources and the chart's copies, as `path: what` lines. */
export function differences() {
  const out = [];
  for (const { from, to, ext } of PAIRS) {
    const src = list(from, ext);
    const dst = list(to, ext);
    for (const f of src) {
      if (!dst.includes(f)) out.push(`${to}/${f}: missing (copy of ${from}/${f})`);
      else if (!readFileSync(join(root, from, f)).equals(readFileSync(join(root, to, f))))
        out.push(`${to}/${f}: differs from ${from}/${f}`);
    }
    for (const f of dst) if (!src.includes(f)) out.push(`${to}/${f}: no ${from}/${f} any more`);
  }
  return out;
}

function sync() {
  for (const { from, to, ext } of PAIRS) {
    mkdirSync(join(root, to), { recursive: true });
    const src = list(from, ext);
    for (const f of src) copyFileSync(join(root, from, f), join(root, to, f));
    for (const f of list(to, ext)) if (!src.includes(f)) rmSync(join(root, to, f));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const diff = differences();
    if (process.argv.includes("--check")) {
      if (diff.length > 0) {
        process.stderr.write(
          `${diff.join("\n")}\nrun \`node scripts/sync-chart-files.mjs\` to update the chart's copies\n`,
        );
        process.exit(1);
      }
      process.stdout.write("chart files are in sync with rules/ and bpf/tracingpolicies/\n");
    } else {
      sync();
      process.stdout.write(diff.length > 0 ? `${diff.join("\n")}\nsynced\n` : "already in sync\n");
    }
  } catch (err) {
    process.stderr.write(`sync-chart-files: ${err.message}\n`);
    process.exit(2);
  }
}
