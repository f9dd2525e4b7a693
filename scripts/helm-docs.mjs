#!/usr/bin/env node
// Generates the values table of helm/hangar-agent/README.md from the `# --` comments of
// helm/hangar-agent/values.yaml, between the markers <!-- values:start --> and
// <!-- values:end -->.
//
//   node scripts/helm-docs.mjs           rewrite the README
//   node scripts/helm-docs.mjs --check   exit 1 (and say so) when the README is not current
//   --root DIR                           work on another checkout (default: this one)
//
// Every value must be documented: a key is documented by a comment block starting with
// `# --` right above it. A documented map is one row (its whole default); an undocumented map
// is walked into; an undocumented leaf is an error naming values.yaml:line and the key path.
// Exit codes: 0 done/current, 1 README out of date, 2 undocumented value or bad input.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

// --root DIR: another checkout (tests use a temp copy).
const rootArg = process.argv.indexOf("--root");
const root = rootArg > 0 ? process.argv[rootArg + 1] : join(fileURLToPath(import.meta.url), "..", "..");
const chart = join(root, "helm", "hangar-agent");
const valuesPath = join(chart, "values.yaml");
const readmePath = join(chart, "README.md");
const START = "<!-- values:start -->";
const END = "<!-- values:end -->";

/** The `-- ` block of a comment (text after the last line that starts with "--"), or undefined. */
function docOf(comment) {
  if (comment === undefined || comment === null) return undefined;
  const lines = comment.split("\n").map((l) => l.replace(/^ ?/, ""));
  let start = -1;
  for (let i = 0; i < lines.length; i++) if (lines[i].startsWith("-- ")) start = i;
  if (start < 0) return undefined;
  const block = [];
  for (let i = start; i < lines.length; i++) {
    if (lines[i].trim() === "") break;
    block.push(i === start ? lines[i].slice(3) : lines[i]);
  }
  return block.join(" ").replace(/\s+/g, " ").trim();
}

function typeOf(node) {
  if (isMap(node)) return "object";
  if (isSeq(node)) return "list";
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "boolean") return "bool";
    if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
    if (v === null) return "null";
    return "string";
  }
  return "unknown";
}

export function collectRows(text) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw Object.assign(new Error(`values.yaml:${pos.line}:${pos.col}: ${e.message}`), { exitCode: 2 });
  }
  const rows = [];
  const missing = [];
  const walk = (map, prefix, inherited) => {
    map.items.forEach((pair, i) => {
      const key = String(pair.key.value);
      const path = prefix === "" ? key : `${prefix}.${key}`;
      let comment = pair.key.commentBefore;
      if ((comment === undefined || comment === null) && i === 0) comment = inherited;
      const doc = docOf(comment);
      const value = pair.value;
      if (doc !== undefined) {
        rows.push({
          key: path,
          type: typeOf(value),
          default: JSON.stringify(value?.toJSON?.() ?? null),
          doc,
        });
      } else if (isMap(value) && value.items.length > 0) {
        walk(value, path, value.commentBefore);
      } else {
        const line = lineCounter.linePos(pair.key.range[0]).line;
        missing.push(`helm/hangar-agent/values.yaml:${line}: ${path} has no "# --" comment`);
      }
    });
  };
  if (!isMap(doc.contents)) throw Object.assign(new Error("values.yaml: not a map"), { exitCode: 2 });
  walk(doc.contents, "", doc.commentBefore ?? doc.contents.commentBefore);
  if (missing.length > 0)
    throw Object.assign(new Error(`undocumented values:\n${missing.join("\n")}`), { exitCode: 2, missing });
  return rows;
}

const cell = (s) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function renderTable(rows) {
  const out = ["| key | type | default | description |", "| --- | --- | --- | --- |"];
  for (const r of rows) out.push(`| \`${r.key}\` | ${r.type} | \`${cell(r.default)}\` | ${cell(r.doc)} |`);
  return out.join("\n");
}

export function updateReadme(readme, table) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a)
    throw Object.assign(new Error(`helm/hangar-agent/README.md: markers ${START} … ${END} not found`), {
      exitCode: 2,
    });
  return `${readme.slice(0, a + START.length)}\n${table}\n${readme.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  try {
    const rows = collectRows(readFileSync(valuesPath, "utf8"));
    const readme = readFileSync(readmePath, "utf8");
    const next = updateReadme(readme, renderTable(rows));
    if (check) {
      if (next !== readme) {
        process.stderr.write(
          "helm/hangar-agent/README.md: the values table is out of date; run `node scripts/helm-docs.mjs`\n",
        );
        process.exit(1);
      }
      process.stdout.write(`helm/hangar-agent/README.md is current (${rows.length} values)\n`);
    } else {
      if (next !== readme) writeFileSync(readmePath, next);
      process.stdout.write(`helm/hangar-agent/README.md: ${rows.length} values\n`);
    }
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.exitCode ?? 2);
  }
}
