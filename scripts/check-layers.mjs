#!/usr/bin/env node
// The layering check `npm test` runs: the import graph of the repository has no import
// from a lower layer to a higher one and no cycle.
//
// - Packages: each workspace has a layer (PACKAGE_LAYERS); a package imports only packages
//   of lower layers. Tests (`*.test.ts`, `test/`) may also import @hangar/testkit.
//   Enterprise packages are never imported by name from MIT code (scripts/check-boundary.mjs
//   checks that, with the one bootstrap exception).
// - Folders: inside a package, the first folder under `src/` (or a top-level file) is a
//   node; the folder graph of every package must be free of cycles, and where a package
//   declares an order (FOLDER_LAYERS: the agent's stages in the order of the README's flow
//   diagram; the controller's shared ground, subsystems and assembly) a folder imports only
//   folders of lower layers.
// - Files: no import cycle between the files of a package.
//
// Usage: node scripts/check-layers.mjs [ROOT] [--graph]
//   --graph   print the package and folder graphs (what imports what, with counts)
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SKIP_DIRS = new Set(["node_modules", "dist", "gen", ".git"]);

/** Lower imports nothing above it. Same layer: no imports between the two. */
export const PACKAGE_LAYERS = {
  "@hangar/proto": 0,
  "@hangar/rules": 0,
  "@hangar/core": 1,
  "@hangar/testkit": 2,
  "@hangar/export": 2,
  "@hangar/semantic": 2,
  "@hangar/behavioral": 2,
  "@hangar/agent": 3,
  "@hangar/controller": 3,
  "@hangar/stack": 4,
  "@hangar/bench": 5,
  "@hangar/helm": 5,
  "@hangar/e2e": 5,
};

/** Packages that exist for measuring and testing: their sources may use the testkit. */
const TEST_PACKAGES = new Set(["@hangar/bench", "@hangar/helm", "@hangar/e2e"]);

/**
 * Folder order inside a package, lowest first; folders on one line share a layer and do
 * not import each other. A package not listed here only has to be free of cycles.
 */
export const FOLDER_LAYERS = {
  "@hangar/agent": [
    ["errors.ts"],
    // the stages, in the order of the flow: sources → hold → normalize → resolve →
    // correlate → detect (baseline, rules) → explain → outputs
    ["sources"],
    ["hold"],
    ["normalize"],
    ["resolve"],
    ["correlate"],
    ["detect"],
    ["explain"],
    ["outputs"],
    // the assembly and what runs around it
    ["pipeline", "bootstrap", "hub", "health.ts"],
    ["replay"],
    ["simulator"],
    ["agent.ts"],
    ["selftest"],
    ["cli"],
    ["index.ts"],
  ],
  "@hangar/controller": [
    // the shared ground
    ["errors.ts"],
    ["listen.ts", "kube", "bootstrap"],
    ["leader", "baselines", "admission", "events"],
    // the subsystems; the REST API and telemetry serve the enforcer
    ["proxy", "hub", "enforce", "ctl", "sample"],
    ["api", "telemetry"],
    // what puts them together
    ["assembly"],
    ["cli"],
    ["index.ts"],
  ],
};

const SPECIFIER =
  /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[\w*${},\s]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function* walk(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* walk(p);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) yield p;
  }
}

function workspaces(root) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return pkg.workspaces.map((dir) => {
    const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
    return { dir, name: manifest.name };
  });
}

function isTest(rel) {
  return /\.test\.ts$/.test(rel) || /(^|\/)test\//.test(rel);
}

/** The folder node of a file: the first path part under src/ (a file at the top is its own node). */
function folderOf(relInPackage) {
  const parts = relInPackage.split("/");
  if (parts[0] !== "src") return undefined;
  return parts.length === 2 ? parts[1] : parts[1];
}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Strongly connected components with more than one node (or a self loop): the cycles. */
function cycles(nodes, edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? new Set()).has(v)) out.push(comp.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  return out;
}

export function check(root) {
  const problems = [];
  const graph = { packages: new Map(), folders: new Map() };
  const byName = new Map(workspaces(root).map((w) => [w.name, w]));
  for (const { dir, name } of byName.values()) {
    const pkgRoot = join(root, dir);
    const fileEdges = new Map();
    const folderEdges = new Map();
    const folderCounts = new Map();
    const files = [...walk(pkgRoot)];
    for (const file of files) {
      const rel = relative(pkgRoot, file).split("\\").join("/");
      const test = isTest(rel);
      const text = stripComments(readFileSync(file, "utf8"));
      for (const m of text.matchAll(SPECIFIER)) {
        const spec = m[1] ?? m[2];
        if (spec === undefined) continue;
        if (spec.startsWith("@hangar/")) {
          const target = spec.split("/").slice(0, 2).join("/");
          if (target === name) {
            problems.push(`${dir}/${rel}: imports its own package "${spec}" by name`);
            continue;
          }
          const key = `${name} → ${target}`;
          graph.packages.set(key, (graph.packages.get(key) ?? 0) + 1);
          const from = PACKAGE_LAYERS[name];
          const to = PACKAGE_LAYERS[target];
          if (from === undefined) problems.push(`${dir}: package ${name} has no layer in PACKAGE_LAYERS`);
          else if (to === undefined) problems.push(`${dir}/${rel}: imports ${target}, which has no layer`);
          else if (target === "@hangar/testkit" && !test && !TEST_PACKAGES.has(name))
            problems.push(
              `${dir}/${rel}: only tests (and the test packages: bench, helm, e2e) may import @hangar/testkit`,
            );
          else if (to >= from && !(test && target === "@hangar/testkit"))
            problems.push(
              `${dir}/${rel}: ${name} (layer ${from}) imports ${target} (layer ${to}): a package imports only lower layers`,
            );
          continue;
        }
        if (!spec.startsWith(".")) continue;
        const target = resolve(dirname(file), spec).replace(/\.js$/, ".ts");
        const targetRel = relative(pkgRoot, target).split("\\").join("/");
        if (targetRel.startsWith("..")) {
          problems.push(`${dir}/${rel}: reaches out of its package with "${spec}"`);
          continue;
        }
        if (test) continue;
        if (!fileEdges.has(rel)) fileEdges.set(rel, new Set());
        fileEdges.get(rel).add(targetRel);
        const a = folderOf(rel);
        const b = folderOf(targetRel);
        if (a === undefined || b === undefined || a === b) continue;
        if (!folderEdges.has(a)) folderEdges.set(a, new Set());
        folderEdges.get(a).add(b);
        const k = `${a} → ${b}`;
        folderCounts.set(k, (folderCounts.get(k) ?? 0) + 1);
      }
    }
    graph.folders.set(name, folderCounts);
    for (const c of cycles(fileEdges.keys(), fileEdges))
      problems.push(`${dir}: import cycle between files: ${c.join(" ⇄ ")}`);
    const folderNodes = new Set([...folderEdges.keys(), ...[...folderEdges.values()].flatMap((s) => [...s])]);
    for (const c of cycles(folderNodes, folderEdges))
      problems.push(`${dir}/src: import cycle between folders: ${c.join(" ⇄ ")}`);
    const order = FOLDER_LAYERS[name];
    if (order !== undefined) {
      const rank = new Map(order.flatMap((layer, i) => layer.map((f) => [f, i])));
      for (const f of folderNodes)
        if (!rank.has(f)) problems.push(`${dir}/src/${f}: not placed in FOLDER_LAYERS["${name}"]`);
      for (const [a, targets] of folderEdges)
        for (const b of targets) {
          const ra = rank.get(a);
          const rb = rank.get(b);
          if (ra !== undefined && rb !== undefined && rb >= ra)
            problems.push(
              `${dir}/src/${a} imports ${dir}/src/${b}: ${b} is not below ${a} in the order of the stages (FOLDER_LAYERS)`,
            );
        }
    }
  }
  return { problems, graph };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const root = args.find((a) => !a.startsWith("--")) ?? join(fileURLToPath(import.meta.url), "..", "..");
  const { problems, graph } = check(root);
  if (args.includes("--graph")) {
    process.stdout.write("packages:\n");
    for (const [k, n] of [...graph.packages].sort()) process.stdout.write(`  ${k} (${n})\n`);
    for (const [pkg, edges] of graph.folders) {
      if (edges.size === 0) continue;
      process.stdout.write(`${pkg} folders:\n`);
      for (const [k, n] of [...edges].sort()) process.stdout.write(`  ${k} (${n})\n`);
    }
  }
  if (problems.length > 0) {
    process.stderr.write(
      `layering: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join("\n")}\n`,
    );
    process.exit(1);
  }
  process.stdout.write("layering: no import from a lower layer to a higher one, no cycle\n");
}
