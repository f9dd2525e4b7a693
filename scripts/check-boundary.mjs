#!/usr/bin/env node
// The one-way boundary: the MIT code (core/, export/, agent/, controller/, proto/,
// stack/) never imports enterprise/ (or the enterprise packages by name), except
// the bootstrap modules that load enterprise implementations by package name when
// enabled.
// Exit 1 with every offending file:line.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const CORE = ["core", "export", "agent", "controller", "proto", "stack"];
const ALLOWED = new Set(["agent/src/bootstrap/plugins.ts", "controller/src/bootstrap/plugins.ts"]);
const ENTERPRISE_PACKAGES = ["@hangar/semantic", "@hangar/behavioral"];
const SKIP_DIRS = new Set(["node_modules", "dist", "gen"]);
const EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"];

// import ... from "x" | import "x" | import("x") | require("x") | export ... from "x"
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'`]([^"'`]+)["'`]/g;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* files(p);
    else if (EXTENSIONS.some((e) => name.endsWith(e))) yield p;
  }
}

export function violations(rootDir = root) {
  const found = [];
  for (const part of CORE) {
    let dir;
    try {
      dir = statSync(join(rootDir, part)).isDirectory() ? join(rootDir, part) : undefined;
    } catch {
      dir = undefined;
    }
    if (dir === undefined) continue;
    for (const file of files(dir)) {
      const rel = relative(rootDir, file).split("\\").join("/");
      if (ALLOWED.has(rel)) continue;
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments
        for (const m of line.matchAll(SPECIFIER)) {
          const spec = m[1];
          const crosses =
            ENTERPRISE_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`)) ||
            /(^|\/)enterprise(\/|$)/.test(spec);
          if (crosses) found.push(`${rel}:${i + 1}: imports "${spec}"`);
        }
        // A dynamic import of a computed name could hide the package: flag the names too.
        for (const p of ENTERPRISE_PACKAGES) {
          if (line.includes(`"${p}"`) && !line.match(SPECIFIER))
            found.push(`${rel}:${i + 1}: names "${p}" outside the bootstrap`);
        }
      });
    }
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rootArg = process.argv[2];
  const found = violations(rootArg ?? root);
  if (found.length > 0) {
    process.stderr.write(
      `core must not import enterprise/ (only agent/src/bootstrap/plugins.ts may load it by package name):\n${found.join("\n")}\n`,
    );
    process.exit(1);
  }
  process.stdout.write("boundary: core does not import enterprise/\n");
}
