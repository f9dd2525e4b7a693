#!/usr/bin/env node
// `npm audit` of the production dependencies the images ship (the workspaces of each
// Dockerfile's `ARG WORKSPACES`, from package-lock.json), failing at high severity or above.
//
//   node scripts/audit.mjs [--level low|moderate|high|critical] [--registry URL]
//                          [--workspace NAME]... [--root DIR]
//
// The registry's audit service is online: where it cannot be reached or refuses (a mirror or
// proxy that does not serve POST /-/npm/v1/security/advisories/bulk answers 404/405), the
// script prints `npm audit: NOT CHECKED (<reason>)` and passes — it fails only on what it could
// check. Exit codes: 0 nothing at or above the level (or NOT CHECKED), 1 findings (each
// printed with its advisory), 2 npm could not run the audit for another reason (no lockfile…).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { imageWorkspaces } from "./lib/supply-chain.mjs";

const LEVELS = ["info", "low", "moderate", "high", "critical"];
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const root = opt("--root") ?? join(fileURLToPath(import.meta.url), "..", "..");
const level = opt("--level") ?? "high";
if (!LEVELS.includes(level)) {
  process.stderr.write(`audit: --level ${level}: one of ${LEVELS.join(", ")}\n`);
  process.exit(2);
}
const registry = opt("--registry");
const explicit = argv.flatMap((a, i) => (a === "--workspace" && argv[i + 1] ? [argv[i + 1]] : []));
const workspaces =
  explicit.length > 0 ? explicit : [...new Set(imageWorkspaces(root).flatMap((i) => i.workspaces))];

const args = [
  "audit",
  "--package-lock-only",
  "--omit=dev",
  "--json",
  `--audit-level=${level}`,
  ...workspaces.map((w) => `--workspace=${w}`),
  ...(registry ? [`--registry=${registry}`] : []),
];
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const r = spawnSync(npm, args, {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, npm_config_fund: "false" },
});
if (r.error !== undefined) {
  process.stderr.write(`audit: cannot run npm: ${r.error.message}\n`);
  process.exit(2);
}
let report;
try {
  report = JSON.parse(r.stdout);
} catch {
  process.stderr.write(
    `audit: npm audit printed no JSON report (exit ${r.status}):\n${r.stdout}${r.stderr}\n`,
  );
  process.exit(2);
}

// A report: { auditReportVersion: 2, vulnerabilities: {name: {severity, range, via, …}}, metadata }.
if (report.vulnerabilities !== undefined) {
  const min = LEVELS.indexOf(level);
  const found = Object.values(report.vulnerabilities).filter((v) => LEVELS.indexOf(v.severity) >= min);
  const counts = report.metadata?.vulnerabilities ?? {};
  const summary = LEVELS.filter((l) => counts[l] > 0)
    .map((l) => `${counts[l]} ${l}`)
    .join(", ");
  const deps = report.metadata?.dependencies?.prod ?? report.metadata?.dependencies?.total;
  if (found.length === 0) {
    process.stdout.write(
      `npm audit: passed: ${deps ?? "the"} production dependencies of ${workspaces.join(" ")}; nothing at ${level} or above${summary ? ` (${summary})` : ""}\n`,
    );
    process.exit(0);
  }
  process.stderr.write(`npm audit: FAILED: ${found.length} package(s) at ${level} or above (${summary}):\n`);
  for (const v of found) {
    const advisories = (v.via ?? [])
      .map((x) => (typeof x === "string" ? `via ${x}` : `${x.title ?? "advisory"} ${x.url ?? ""}`.trim()))
      .join("; ");
    const fix = v.fixAvailable === false ? "no fix available" : "fix available";
    process.stderr.write(`  ${v.name} ${v.range} [${v.severity}]: ${advisories} (${fix})\n`);
  }
  process.exit(1);
}

// No report: the audit service could not be used (npm prints the HTTP or network error).
// npm says "audit endpoint returned an error" and puts the HTTP status or the network error in
// the JSON's message.
const reason = (() => {
  if (report.statusCode !== undefined)
    return `the registry answered ${report.message ?? `HTTP ${report.statusCode}`}`;
  if (
    /audit endpoint returned an error/.test(r.stderr) ||
    /security\/(advisories|audits)/.test(report.message ?? "")
  )
    return report.message || report.error?.summary || "the audit endpoint returned an error";
  return undefined;
})();
if (reason !== undefined) {
  process.stdout.write(`npm audit: NOT CHECKED (${reason.replace(/\s+/g, " ").trim()})\n`);
  process.exit(0);
}
process.stderr.write(
  `audit: npm audit failed (exit ${r.status}): ${JSON.stringify(report.error ?? report)}\n`,
);
process.exit(2);
