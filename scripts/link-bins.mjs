#!/usr/bin/env node
// Makes the workspaces' commands (hangar-agent, hangar-controller, hangar-ctl) usable after a
// build: `npm ci` on a fresh clone runs before anything is compiled, so npm could neither link
// node_modules/.bin/<name> to the not-yet-built dist/ files nor make them executable. This does
// both for every "bin" of every workspace, so `npx hangar-ctl …` works after `npm run build` or
// `npm start`. Idempotent; prints nothing unless it changed something.
//
// Usage: node scripts/link-bins.mjs [--root DIR]
// Exit codes: 0 done (a bin whose file is not built yet is skipped and named), 2 bad usage or a
// package.json that cannot be read.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
let root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--root" && args[i + 1] !== undefined) root = resolve(args[++i]);
  else {
    process.stderr.write(`link-bins: unknown argument ${JSON.stringify(args[i])} (usage: [--root DIR])\n`);
    process.exit(2);
  }
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    process.stderr.write(`link-bins: ${path}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}

const rootPkg = readJson(join(root, "package.json"));
const binDir = join(root, "node_modules", ".bin");
for (const ws of rootPkg.workspaces ?? []) {
  const pkgPath = join(root, ws, "package.json");
  if (!existsSync(pkgPath)) continue;
  const pkg = readJson(pkgPath);
  const bins = typeof pkg.bin === "string" ? { [pkg.name.split("/").at(-1)]: pkg.bin } : (pkg.bin ?? {});
  for (const [name, file] of Object.entries(bins)) {
    const target = join(root, ws, file);
    if (!existsSync(target)) {
      process.stderr.write(
        `link-bins: ${name}: ${relative(root, target)} is not built yet (run npm run build)\n`,
      );
      continue;
    }
    if ((lstatSync(target).mode & 0o111) !== 0o111) {
      chmodSync(target, 0o755);
      process.stdout.write(`link-bins: made ${relative(root, target)} executable\n`);
    }
    const link = join(binDir, name);
    const want = relative(binDir, target);
    let have;
    try {
      have = readlinkSync(link);
    } catch {
      have = undefined;
    }
    if (have === want) continue;
    mkdirSync(binDir, { recursive: true });
    if (have !== undefined || existsSync(link)) rmSync(link, { force: true });
    symlinkSync(want, link);
    process.stdout.write(`link-bins: node_modules/.bin/${name} → ${relative(root, target)}\n`);
  }
}
