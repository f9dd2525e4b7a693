#!/usr/bin/env node
// Writes helm/hangar-agent/files/admission/policies.yaml, the checks of the chart's
// ValidatingAdmissionPolicies, from the rule table controller/src/admission/rules.ts (the
// same table `hangar-ctl admission check` evaluates offline). Needs the build (`npx tsc -b`).
//
//   node scripts/gen-admission-policy.mjs           write the file
//   node scripts/gen-admission-policy.mjs --check   exit 1 (and say so) when it is not current
//
// A unit test (controller/src/admission/policy.test.ts) fails when the file is not current.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const out = join(root, "helm", "hangar-agent", "files", "admission", "policies.yaml");
let chartFile;
try {
  ({ chartFile } = await import(join(root, "controller", "dist", "src", "admission", "policy.js")));
} catch (err) {
  process.stderr.write(`gen-admission-policy: build first (npx tsc -b): ${err.message}\n`);
  process.exit(2);
}
const text = chartFile();
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {
    // missing: not current
  }
  if (current !== text) {
    process.stderr.write(`${out} is not current: run node scripts/gen-admission-policy.mjs\n`);
    process.exit(1);
  }
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, text);
process.stdout.write(`wrote ${out}\n`);
