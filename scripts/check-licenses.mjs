#!/usr/bin/env node
// Checks each image's SBOM (scripts/sbom.mjs) against package-lock.json and the license
// policy (scripts/lib/supply-chain.mjs, docs/supply-chain.md):
//   - every production dependency of the image's workspaces in the lockfile is listed, with
//     its version ("missing dependency");
//   - every component names a license;
//   - third-party licenses are permissive (the enterprise modules' own dependencies too);
//     our packages are MIT, the enterprise modules BUSL-1.1.
//
//   node scripts/check-licenses.mjs [--sbom-dir DIR] [--root DIR]   (default DIR: dist/sbom)
//
// Exit codes: 0 all pass, 1 a finding (each printed as `<image>: <package>@<version>: <what>`),
// 2 an SBOM or the lockfile cannot be read.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ALLOWED_LICENSES,
  componentLicense,
  componentName,
  firstPartyLicense,
  imageWorkspaces,
  productionClosure,
  spdxAllowed,
} from "./lib/supply-chain.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const root = arg("--root", join(fileURLToPath(import.meta.url), "..", ".."));
const dir = arg("--sbom-dir", join(root, "dist", "sbom"));

const readJson = (file, hint) => {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    process.stderr.write(`check-licenses: cannot read ${file}: ${e.message}${hint ? ` (${hint})` : ""}\n`);
    process.exit(2);
  }
};
const lock = readJson(join(root, "package-lock.json"));
const findings = [];
let components = 0;
for (const { image, workspaces } of imageWorkspaces(root)) {
  const file = join(dir, `${image}.cdx.json`);
  const bom = readJson(file, "generate it with node scripts/sbom.mjs");
  if (bom.bomFormat !== "CycloneDX" || !Array.isArray(bom.components)) {
    process.stderr.write(`check-licenses: ${file} is not a CycloneDX BOM with components\n`);
    process.exit(2);
  }
  const listed = new Map();
  for (const c of bom.components) listed.set(`${componentName(c)}@${c.version}`, c);
  let closure;
  try {
    closure = productionClosure(lock, workspaces);
  } catch (e) {
    process.stderr.write(`check-licenses: ${e.message}\n`);
    process.exit(2);
  }
  for (const [key, dep] of closure)
    if (!listed.has(key))
      findings.push(
        `${image}: ${key}: missing dependency: in package-lock.json (required by ${dep.via}) but not in ${file}`,
      );
  for (const [key, c] of listed) {
    components++;
    const license = componentLicense(c);
    if (license === undefined) {
      findings.push(
        `${image}: ${key}: no license in the SBOM (add it upstream or decide it in docs/supply-chain.md)`,
      );
      continue;
    }
    const own = firstPartyLicense(componentName(c), license);
    if (own !== undefined) {
      if (!own.ok) findings.push(`${image}: ${key}: ${own.why}`);
      continue;
    }
    let ok;
    try {
      ok = spdxAllowed(license);
    } catch (e) {
      findings.push(`${image}: ${key}: ${e.message}`);
      continue;
    }
    if (!ok) {
      const via = closure.get(key)?.via;
      findings.push(
        `${image}: ${key}: license "${license}" is not allowed (permissive only: ${[...ALLOWED_LICENSES].join(", ")})${via ? `; required by ${via}` : ""}`,
      );
    }
  }
}
if (findings.length > 0) {
  process.stderr.write(
    `check-licenses: ${findings.length} finding(s):\n${findings.map((f) => `  ${f}`).join("\n")}\n`,
  );
  process.exit(1);
}
const names = imageWorkspaces(root).map((i) => `${i.image}.cdx.json`);
process.stdout.write(
  `check-licenses: ${components} components in ${names.join(", ")}: listed, licensed, allowed\n`,
);
