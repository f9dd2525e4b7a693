/**
 * Test helpers for the images (agent/Dockerfile, controller/Dockerfile): a small Dockerfile
 * reader (enough for the instructions these files use) and `buildLayout()`, which rebuilds a
 * runtime stage's /app from this checkout by following its COPY lines, so the tests run the
 * image's entrypoints from exactly the files the image would carry.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { basename, dirname, join, posix, relative, sep } from "node:path";

export interface Instruction {
  /** Upper-case keyword: FROM, COPY, RUN, … */
  keyword: string;
  /** The rest of the instruction, continuations joined. */
  args: string;
  /** 1-based line of the keyword in the file. */
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The image or stage it starts from, ARGs not expanded. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  path: string;
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

/** Reads a Dockerfile: comments dropped, `\` continuations joined, split into stages. */
export function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, "utf8").split("\n");
  const instructions: Instruction[] = [];
  let current: Instruction | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    const trimmed = raw.trim();
    if (trimmed.startsWith("#")) continue; // comments (also inside continuations)
    if (current === undefined) {
      if (trimmed === "") continue;
      const m = /^(\S+)\s*(.*)$/.exec(trimmed);
      if (m === null) continue;
      current = { keyword: (m[1] ?? "").toUpperCase(), args: "", line: i + 1 };
      const rest = m[2] ?? "";
      if (rest.endsWith("\\")) {
        current.args = rest.slice(0, -1).trim();
      } else {
        current.args = rest;
        instructions.push(current);
        current = undefined;
      }
      continue;
    }
    if (trimmed.endsWith("\\")) {
      current.args += ` ${trimmed.slice(0, -1).trim()}`;
    } else {
      current.args += ` ${trimmed}`;
      current.args = current.args.trim();
      instructions.push(current);
      current = undefined;
    }
  }
  if (current !== undefined)
    throw new Error(`${path}:${current.line}: continuation runs past the end of the file`);

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const asAt = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ name: asAt >= 0 ? words[asAt + 1] : undefined, from: words[0] ?? "", instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (ins.keyword === "ARG") {
        const [k, v] = splitArg(ins.args);
        globalArgs.set(k, v ?? "");
      }
      continue;
    }
    stage.instructions.push(ins);
  }
  return { path, globalArgs, stages };
}

function splitArg(args: string): [string, string | undefined] {
  const eq = args.indexOf("=");
  if (eq < 0) return [args.trim(), undefined];
  return [args.slice(0, eq).trim(), unquote(args.slice(eq + 1).trim())];
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

export function stage(df: Dockerfile, name: string): Stage {
  const s = df.stages.find((x) => x.name === name);
  if (s === undefined) throw new Error(`${df.path}: no stage named ${name}`);
  return s;
}

/** The default of `ARG name=…` in a stage (or, without a stage, before the first FROM). */
export function argDefault(df: Dockerfile, name: string, inStage?: Stage): string | undefined {
  if (inStage === undefined) return df.globalArgs.get(name);
  for (const ins of inStage.instructions) {
    if (ins.keyword !== "ARG") continue;
    const [k, v] = splitArg(ins.args);
    if (k === name) return v;
  }
  return undefined;
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}

/** The COPY instructions of a stage, flags other than --from ignored. */
export function copies(s: Stage): Copy[] {
  return s.instructions
    .filter((i) => i.keyword === "COPY")
    .map((i) => {
      const words = i.args.split(/\s+/);
      const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
      const paths = words.filter((w) => !w.startsWith("--"));
      if (paths.length < 2) throw new Error(`COPY at line ${i.line} needs a source and a destination`);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? "", line: i.line };
    });
}

/** The value of the last instruction `keyword` of a stage (WORKDIR, USER, …). */
export function last(s: Stage, keyword: string): Instruction | undefined {
  return s.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** `ln -s TARGET LINK` pairs in a stage's RUN instructions. */
export function symlinks(s: Stage): { target: string; link: string }[] {
  const out: { target: string; link: string }[] = [];
  for (const i of s.instructions) {
    if (i.keyword !== "RUN") continue;
    for (const m of i.args.matchAll(/\bln -s (\S+) (\S+)/g))
      out.push({ target: m[1] ?? "", link: m[2] ?? "" });
  }
  return out;
}

export interface Layout {
  /** The image's root (`<root>/app` is its WORKDIR /app). */
  root: string;
  /** COPY lines that were not reproduced, with the reason. */
  skipped: string[];
}

export interface LayoutOptions {
  /** Repository root: the build context, and what the `build` stage's /src holds after tsc -b. */
  repo: string;
  /** Where to build the image's root file system (empty directory). */
  root: string;
  /** The npm to run. */
  npm: string;
  /** Its environment (PATH with the test's Node first). */
  env?: NodeJS.ProcessEnv;
  /** Stages whose COPY sources are not reproduced (e.g. the optional eBPF probe), with why. */
  skipStages?: Record<string, string>;
}

/**
 * Rebuilds the runtime (last) stage's file system under `root`: `COPY --from=build /src/X`
 * takes X from the checkout (compiled by tsc -b), `COPY --from=deps /src/` is the manifests
 * the `manifests` stage copies plus the production dependencies of the deps stage's
 * WORKSPACES (see installProductionDeps), and `ln -s` lines of the runtime stage become the
 * same links.
 */
export function buildLayout(df: Dockerfile, opts: LayoutOptions): Layout {
  const runtime = df.stages.at(-1);
  if (runtime === undefined) throw new Error(`${df.path}: no stages`);
  const workdir = last(runtime, "WORKDIR")?.args ?? "/";
  const skipped: string[] = [];
  const inRoot = (p: string): string => join(opts.root, p);
  for (const c of copies(runtime)) {
    const where = `${df.path}:${c.line}`;
    const destAbs = posix.isAbsolute(c.dest) ? c.dest : posix.join(workdir, c.dest);
    const destIsDir = c.dest.endsWith("/") || c.sources.length > 1 || c.sources.some((s) => s.includes("*"));
    if (c.from !== undefined && opts.skipStages?.[c.from] !== undefined) {
      skipped.push(`${where}: COPY --from=${c.from} (${opts.skipStages[c.from]})`);
      continue;
    }
    if (c.from === "deps") {
      if (c.sources.length !== 1 || c.sources[0] !== "/src/") {
        throw new Error(
          `${where}: the deps stage is expected to give its whole /src/ (manifests and node_modules)`,
        );
      }
      const tree = installProductionDeps(df, opts);
      const to = inRoot(destAbs);
      if (existsSync(to)) cpSync(tree, to, { recursive: true, verbatimSymlinks: true });
      else {
        mkdirSync(dirname(to), { recursive: true });
        renameSync(tree, to);
      }
      continue;
    }
    if (c.from !== "build")
      throw new Error(`${where}: COPY from ${c.from ?? "the context"} is not reproduced`);
    for (const src of c.sources) {
      if (!src.startsWith("/src/")) throw new Error(`${where}: ${src} is not under the build stage's /src`);
      const rel = src.slice("/src/".length);
      const matches = expand(opts.repo, rel);
      if (matches.length === 0) throw new Error(`${where}: ${src} matches nothing in ${opts.repo}`);
      for (const m of matches) {
        const from = join(opts.repo, m);
        const isDir = statSync(from).isDirectory();
        // COPY dir dest → the directory's contents in dest; COPY file dest/ → dest/name.
        const to = isDir ? inRoot(destAbs) : destIsDir ? join(inRoot(destAbs), basename(m)) : inRoot(destAbs);
        mkdirSync(isDir ? to : dirname(to), { recursive: true });
        cpSync(from, to, { recursive: true });
      }
    }
  }
  // `chmod MODE FILE…` in the build stage's RUN lines (the entry points made executable there)
  // applies to the files the runtime copied from it: the checkout's dist may lack the bits
  // (npm ci sets them on bin targets only when they exist, i.e. before a fresh clone's build).
  const build = df.stages.find((st) => st.name === "build");
  const fromBuild = copies(runtime).filter((c) => c.from === "build");
  for (const i of build?.instructions.filter((x) => x.keyword === "RUN") ?? []) {
    for (const m of i.args.matchAll(/\bchmod ([0-7]{3,4}) ((?:[^\s&;|\\]+[ \t]*)+)/g)) {
      const mode = parseInt(m[1] ?? "755", 8);
      for (const file of (m[2] ?? "").trim().split(/\s+/)) {
        const c = fromBuild.find((x) =>
          x.sources.some((src) => `${file}/`.startsWith(`${src.slice("/src/".length)}/`)),
        );
        const src = c?.sources.find((x) => `${file}/`.startsWith(`${x.slice("/src/".length)}/`));
        if (c === undefined || src === undefined) continue;
        const destAbs = posix.isAbsolute(c.dest) ? c.dest : posix.join(workdir, c.dest);
        const target = inRoot(posix.join(destAbs, file.slice(src.length - "/src/".length)));
        if (existsSync(target)) chmodSync(target, mode);
      }
    }
  }
  for (const { target, link } of symlinks(runtime)) {
    mkdirSync(dirname(inRoot(link)), { recursive: true });
    symlinkSync(inRoot(target), inRoot(link));
  }
  return { root: opts.root, skipped };
}

/** Paths under `repo` matching `rel`, where only the last segment may hold `*`. */
function expand(repo: string, rel: string): string[] {
  const name = posix.basename(rel);
  if (!name.includes("*")) return existsSync(join(repo, rel)) ? [rel] : [];
  const dir = posix.dirname(rel);
  const re = new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
  return readdirSync(join(repo, dir))
    .filter((f) => re.test(f))
    .sort()
    .map((f) => posix.join(dir, f));
}

/**
 * What the deps stage gives, built fast and offline: the manifests stage's files, and under
 * them the production dependency tree of the deps stage's WORKSPACES as `npm ls --omit=dev`
 * reports it for this checkout's node_modules (installed from the same package-lock.json),
 * hard-linked into place, nested node_modules and workspace links included. The image's
 * `npm ci --omit=dev --workspace=…` installs these (npm may add a few packages that another
 * workspace needs in production, never fewer). Returns that tree (the stage's /src).
 */
function installProductionDeps(df: Dockerfile, opts: LayoutOptions): string {
  const deps = stage(df, "deps");
  const workspaces = argDefault(df, "WORKSPACES", deps);
  if (workspaces === undefined) throw new Error(`${df.path}: the deps stage has no ARG WORKSPACES=…`);
  const dir = join(opts.root, ".deps");
  for (const c of copies(stage(df, "manifests"))) {
    for (const src of c.sources) {
      const to = c.dest.endsWith("/") ? join(dir, c.dest, basename(src)) : join(dir, c.dest);
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(opts.repo, src), to);
    }
  }
  const args = [
    "ls",
    "--omit=dev",
    "--all",
    "--parseable",
    "--include-workspace-root=false",
    ...workspaces.split(/\s+/).map((w) => `--workspace=${w}`),
  ];
  const r = spawnSync(opts.npm, args, { cwd: opts.repo, encoding: "utf8", env: opts.env ?? process.env });
  if (r.status !== 0) {
    throw new Error(
      `npm ${args.join(" ")} failed (is node_modules current? run npm ci):\n${r.stderr}${r.stdout}`,
    );
  }
  for (const abs of r.stdout.split("\n")) {
    const rel = relative(opts.repo, abs);
    if (abs === "" || !rel.split(sep).includes("node_modules")) continue;
    const to = join(dir, rel);
    mkdirSync(dirname(to), { recursive: true });
    if (lstatSync(abs).isSymbolicLink()) symlinkSync(readlinkSync(abs), to);
    else linkTree(abs, to);
  }
  return dir;
}

/** Hard-links the files of a package directory, without its nested node_modules. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const a = join(from, e.name);
    const b = join(to, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules") linkTree(a, b);
    } else if (e.isSymbolicLink()) {
      symlinkSync(readlinkSync(a), b);
    } else {
      linkSync(a, b);
    }
  }
}

/**
 * The patterns of a .dockerignore as matchers of context-relative paths, with Docker's rules
 * for what this repository uses: `*` and `?` within a segment, `**` across segments, a
 * pattern that matches a directory excludes everything under it, `!` re-includes.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      let re = "";
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i] as string;
        if (c === "*" && pattern[i + 1] === "*") {
          const slash = pattern[i + 2] === "/";
          re += slash ? "(?:.*/)?" : ".*";
          i += slash ? 2 : 1;
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path: string): boolean => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const r of rules) {
      if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    }
    return excluded;
  };
}
