/**
 * The container images (agent/Dockerfile, controller/Dockerfile) without a Docker engine:
 *  - hadolint, the Dockerfile linter, finds nothing (installed by scripts/setup-image-tools.sh);
 *  - the runtime stage's COPY list is enough: the same /app is rebuilt from this checkout
 *    (the production dependency tree hard-linked from node_modules) and the entrypoints run
 *    from it with the Node the image uses — `--help`, and the paths that load the enterprise
 *    engines by package name (rules, DuckDB) — writing nothing under /app;
 *  - the image settings that the chart and the docs rely on (non-root 65532, WORKDIR /app,
 *    the entrypoint names, HOME on a volume, the Node version);
 *  - .dockerignore keeps every file the build stages read; the agent's runtime stage installs
 *    the Debian packages of the probe loader's shared libraries.
 * Skips, saying why, when hadolint is missing (except under CI=true or
 * HANGAR_REQUIRE_IMAGE_TOOLS=1) or the probe loader is not built (except with
 * HANGAR_REQUIRE_BPF=1).
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { hangarCacheDir } from "@hangar/testkit";
import {
  argDefault,
  buildLayout,
  copies,
  dockerignore,
  last,
  parseDockerfile,
  symlinks,
  type Dockerfile,
} from "./dockerfile.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const required = process.env["CI"] === "true" || process.env["HANGAR_REQUIRE_IMAGE_TOOLS"] === "1";
const SETUP = "bash scripts/setup-image-tools.sh";

/** HADOLINT_VERSION from the setup script, the one place it is written. */
function hadolintVersion(): string {
  const m = /^HADOLINT_VERSION=(\S+)$/m.exec(
    readFileSync(join(repo, "scripts", "setup-image-tools.sh"), "utf8"),
  );
  if (m?.[1] === undefined) throw new Error("scripts/setup-image-tools.sh has no HADOLINT_VERSION=");
  return m[1];
}

export function hadolintPath(): string {
  return (
    process.env["HANGAR_HADOLINT_BIN"] ??
    join(hangarCacheDir(), "bin", `hadolint-${hadolintVersion()}`, "hadolint")
  );
}

function skipReason(tool: string, path: string): false | string {
  if (existsSync(path) || required) return false;
  return `${tool} is not installed (looked for ${path}); run \`${SETUP}\` from the repository root`;
}

/** Files under `dir` (relative), for "nothing was written here". */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const IMAGES = [
  {
    name: "hangar-agent",
    dockerfile: "agent/Dockerfile",
    bins: ["hangar-agent"],
    skipStages: {
      probe: "the optional eBPF loader: built with clang and the host's BTF, tested by bpf/probe",
    },
  },
  {
    name: "hangar-controller",
    dockerfile: "controller/Dockerfile",
    bins: ["hangar-controller", "hangar-ctl"],
    skipStages: {},
  },
] as const;

const hadolint = hadolintPath();
describe("Dockerfiles pass hadolint", { skip: skipReason(`hadolint ${hadolintVersion()}`, hadolint) }, () => {
  for (const image of IMAGES) {
    it(image.dockerfile, () => {
      // No config file: every rule at its default severity; a finding of any level fails.
      // Deliberate exceptions are inline `# hadolint ignore=…` comments with the reason.
      const r = spawnSync(hadolint, ["--no-color", "--failure-threshold", "style", image.dockerfile], {
        cwd: repo,
        encoding: "utf8",
      });
      assert.equal(r.error, undefined, `could not run ${hadolint}: ${String(r.error)}`);
      assert.equal(r.status, 0, `hadolint found problems in ${image.dockerfile}:\n${r.stdout}${r.stderr}`);
    });
  }
  it("reports what it should (an untagged base image, unpinned apt packages)", () => {
    const r = spawnSync(hadolint, ["--no-color", "--failure-threshold", "style", "-"], {
      input: "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
      encoding: "utf8",
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /DL3006/);
    assert.match(r.stdout, /DL3008/);
  });
});

describe(".dockerignore keeps what the builds read", () => {
  const excluded = dockerignore(readFileSync(join(repo, ".dockerignore"), "utf8"));
  it("matches the way Docker does (checked on known cases)", () => {
    assert.equal(excluded("agent/node_modules/x/index.js"), true);
    assert.equal(excluded("agent/dist/src/cli/main.js"), true);
    assert.equal(excluded("rules/README.md"), true);
    assert.equal(excluded("bpf/probe/build/hangar-probe"), true);
    assert.equal(excluded("agent/src/cli/main.ts"), false);
  });
  it("sends every source, manifest and rule file the build stages use", () => {
    const needed: string[] = [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.base.json",
      "LICENSE",
    ];
    const walk = (dir: string): void => {
      for (const e of readdirSync(join(repo, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) {
          if (!["node_modules", "dist", "build"].includes(e.name)) walk(rel);
        } else if (/\.(ts|json|rules|ne|c|h)$|^Makefile$|^LICENSE/.test(e.name)) needed.push(rel);
      }
    };
    for (const dir of [
      "proto",
      "core",
      "export",
      "agent",
      "controller",
      "stack",
      "enterprise",
      "rules",
      "bench",
      "testkit",
      "bpf/probe",
    ]) {
      walk(dir);
    }
    // And every file a stage COPYs straight from the context.
    for (const image of IMAGES) {
      const df = parseDockerfile(join(repo, image.dockerfile));
      for (const s of df.stages)
        for (const c of copies(s))
          if (c.from === undefined) needed.push(...c.sources.filter((p) => p !== "."));
    }
    const lost = needed.filter((p) => excluded(p));
    assert.deepEqual(lost, [], "excluded from the build context by .dockerignore");
  });
});

describe("image settings", () => {
  for (const image of IMAGES) {
    it(`${image.dockerfile}: non-root, WORKDIR /app, entrypoint ${image.bins[0]}, HOME on a volume`, () => {
      const df = parseDockerfile(join(repo, image.dockerfile));
      const runtime = df.stages.at(-1)!;
      assert.equal(runtime.name, "runtime", "the last stage is the runtime stage");
      // The base is a build argument whose default is the public node:<NODE_VERSION>-bookworm-slim
      // (scripts/build-images.sh passes a locally made one).
      assert.equal(runtime.from, "${NODE_IMAGE}");
      assert.equal(df.globalArgs.get("NODE_IMAGE"), "node:${NODE_VERSION}-${DEBIAN}-slim");
      assert.equal(last(runtime, "USER")?.args, "65532:65532");
      assert.equal(last(runtime, "WORKDIR")?.args, "/app");
      assert.deepEqual(JSON.parse(last(runtime, "ENTRYPOINT")?.args ?? "null"), [image.bins[0]]);
      const links = symlinks(runtime).map((l) => l.link);
      for (const bin of image.bins)
        assert.ok(links.includes(`/usr/local/bin/${bin}`), `${bin} is on the PATH`);
      // With a read-only root filesystem, HOME (DuckDB's extension directory) must be a volume.
      assert.match(last(runtime, "ENV")?.args ?? "", /\bHOME=\/tmp\b/);
    });
    it(`${image.dockerfile}: the manifests stage copies the package.json of every workspace`, () => {
      const df = parseDockerfile(join(repo, image.dockerfile));
      const root = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { workspaces: string[] };
      const copied = copies(df.stages.find((x) => x.name === "manifests")!).flatMap((c) => c.sources);
      const want = ["package.json", "package-lock.json", ...root.workspaces.map((w) => `${w}/package.json`)];
      assert.deepEqual([...copied].sort(), [...want].sort(), "npm ci needs the manifest of every workspace");
    });
    it(`${image.dockerfile}: the build stage compiles every workspace whose dist/ the runtime copies`, () => {
      const df = parseDockerfile(join(repo, image.dockerfile));
      const run = df.stages
        .find((x) => x.name === "build")!
        .instructions.find((i) => /\btsc -b\b/.test(i.args));
      const built = (/\btsc -b ([^&;]*)/.exec(run?.args ?? "")?.[1] ?? "").trim().split(/\s+/);
      const copiedDist = copies(df.stages.at(-1)!)
        .filter((c) => c.from === "build")
        .flatMap((c) => c.sources)
        .map((src) => /^\/src\/(.+)\/dist\/src$/.exec(src)?.[1])
        .filter((w): w is string => w !== undefined);
      assert.ok(copiedDist.length >= 4, `dist/src COPY lines found: ${copiedDist.join(", ")}`);
      for (const w of copiedDist)
        assert.ok(built.includes(w), `${w} is copied from dist/ but not in tsc -b ${built.join(" ")}`);
    });
    it(`${image.dockerfile}: the image's Node is the Node the tests run on`, () => {
      const df = parseDockerfile(join(repo, image.dockerfile));
      const pinned = argDefault(df, "NODE_VERSION");
      const nodePkg = JSON.parse(
        readFileSync(join(repo, "node_modules", "node", "package.json"), "utf8"),
      ) as {
        version: string;
      };
      assert.equal(
        pinned,
        nodePkg.version,
        `ARG NODE_VERSION in ${image.dockerfile} should be the node devDependency's version (package-lock.json)`,
      );
    });
  }
});

/** Packages a runtime stage's RUN lines `apt-get install`. */
function aptInstalled(df: Dockerfile): string[] {
  const runtime = df.stages.at(-1)!;
  const out: string[] = [];
  for (const i of runtime.instructions.filter((x) => x.keyword === "RUN")) {
    for (const m of i.args.matchAll(/apt-get install ([^;&|]*)/g)) {
      out.push(...(m[1] ?? "").split(/\s+/).filter((w) => w !== "" && !w.startsWith("-")));
    }
  }
  return out;
}

const probeLoader = join(repo, "bpf", "probe", "build", "hangar-probe");
const probeSkip =
  existsSync(probeLoader) || process.env["HANGAR_REQUIRE_BPF"] === "1"
    ? spawnSync("sh", ["-c", "command -v ldd && command -v dpkg-query"]).status === 0
      ? false
      : "ldd and dpkg-query are needed to map the loader's libraries to Debian packages"
    : `the probe loader is not built (${probeLoader}); run \`bash scripts/setup-bpf-tools.sh\``;
it(
  "agent/Dockerfile: the runtime stage installs the Debian packages of the probe loader's shared libraries",
  { skip: probeSkip },
  () => {
    /** Shared libraries of a binary → the Debian packages that hold them. */
    const packagesOf = (binary: string): Map<string, string> => {
      const ldd = spawnSync("ldd", [binary], { encoding: "utf8" });
      assert.equal(ldd.status, 0, `ldd ${binary}: ${ldd.stderr}`);
      const out = new Map<string, string>();
      for (const m of ldd.stdout.matchAll(/^\s*(\S+\.so[.\d]*) => /gm)) {
        const so = m[1] ?? "";
        const owner = spawnSync("dpkg-query", ["-S", `*/${so}`], { encoding: "utf8" });
        const pkg = /^([^:\s,]+)(?::[a-z0-9]+)?: \/(?:usr\/)?lib\/[^/]+-linux-gnu\//m.exec(owner.stdout)?.[1];
        assert.ok(
          pkg !== undefined,
          `no Debian package holds ${so} (of ${binary}): ${owner.stdout}${owner.stderr}`,
        );
        out.set(so, pkg);
      }
      return out;
    };
    const loader = packagesOf(probeLoader);
    assert.ok(loader.has("libbpf.so.1"), "the loader links libbpf");
    // What the node:…-slim base has anyway: the libraries of node itself (the same official
    // build as the tests' Node), and dpkg's pre-dependencies (in every Debian image).
    const preDepends = spawnSync("dpkg-query", ["-W", "-f=${Pre-Depends}", "dpkg"], {
      encoding: "utf8",
    }).stdout;
    const base = new Set([
      ...packagesOf(process.execPath).values(),
      ...preDepends.split(",").map((d) => d.trim().split(/[\s:(]/)[0] ?? ""),
    ]);
    const installed = aptInstalled(parseDockerfile(join(repo, "agent", "Dockerfile")));
    for (const [so, pkg] of loader) {
      assert.ok(
        installed.includes(pkg) || base.has(pkg),
        `${so} comes from ${pkg}, which neither the base image has nor the runtime stage installs (it installs: ${installed.join(" ")})`,
      );
    }
  },
);

describe("the runtime stage's files are enough", () => {
  const roots: string[] = [];
  after(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });
  const nodeDir = dirname(process.execPath);
  const env = {
    PATH: `${nodeDir}${delimiter}${process.env["PATH"] ?? ""}`,
    NODE_ENV: "production",
  };

  for (const image of IMAGES) {
    describe(image.name, () => {
      let df: Dockerfile;
      let root = "";
      let app = "";
      let before_: string[] = [];
      let runEnv: NodeJS.ProcessEnv = {};
      const run = (bin: string, args: string[]): SpawnSyncReturns<string> =>
        spawnSync(join(root, "usr", "local", "bin", bin), args, {
          cwd: app,
          encoding: "utf8",
          env: runEnv,
          timeout: 60_000,
        });

      before(() => {
        df = parseDockerfile(join(repo, image.dockerfile));
        for (const dir of ["proto", "agent", "controller", "enterprise/semantic", "enterprise/behavioral"]) {
          assert.ok(
            existsSync(join(repo, dir, "dist", "src")),
            `${dir}/dist/src is missing: run \`npx tsc -b\` first`,
          );
        }
        root = mkdtempSync(join(tmpdir(), `hangar-image-${image.name}-`));
        roots.push(root);
        const layout = buildLayout(df, {
          repo,
          root,
          npm: "npm",
          env: { ...process.env, PATH: env.PATH },
          skipStages: image.skipStages,
        });
        for (const s of layout.skipped) process.stdout.write(`# not reproduced: ${s}\n`);
        app = join(root, "app");
        // The volumes the chart mounts: HOME/TMPDIR (an emptyDir at /tmp) and the state directory.
        for (const d of ["tmp", "state"]) mkdirSync(join(root, d));
        runEnv = { ...env, HOME: join(root, "tmp"), TMPDIR: join(root, "tmp") };
        before_ = tree(app);
      });

      for (const bin of image.bins) {
        it(`${bin} --help`, () => {
          const r = run(bin, ["--help"]);
          assert.equal(r.status, 0, `${bin} --help exited ${r.status}: ${r.stderr}`);
          assert.match(r.stdout, new RegExp(`Usage: ${bin}`));
        });
      }

      if (image.name === "hangar-agent") {
        it("hangar-agent replay --default-rules --db: the rule engine, the rule packs and DuckDB load", () => {
          const empty = join(root, "tmp", "traces.jsonl");
          writeFileSync(empty, "");
          const db = join(root, "state", "baseline.duckdb");
          const r = run("hangar-agent", [
            "replay",
            "--traces",
            empty,
            "--default-rules",
            "--db",
            db,
            "--learn",
          ]);
          assert.equal(r.status, 0, `replay exited ${r.status}: ${r.stderr}`);
          const summary = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}") as { read?: number };
          assert.equal(summary.read, 0);
          assert.ok(statSync(db).size > 0, "the baseline database was written on the volume");
        });
      } else {
        it("hangar-ctl rules lint /app/rules: the rule engine and the rule packs load", () => {
          const r = run("hangar-ctl", ["rules", "lint", join(app, "rules")]);
          assert.equal(r.status, 0, `rules lint exited ${r.status}: ${r.stdout}${r.stderr}`);
          assert.match(r.stdout, /\d+ files?, \d+ rules: 0 errors/);
        });
      }

      it("writes nothing under /app (read-only root filesystem)", () => {
        assert.deepEqual(tree(app), before_);
      });
    });
  }
});
