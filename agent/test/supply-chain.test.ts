/**
 * The supply-chain checks of CI, on both outcomes: `scripts/audit.mjs` (real npm against a
 * local fake registry: a high finding fails, a moderate one passes, an audit endpoint that
 * refuses or cannot be reached is NOT CHECKED), `scripts/sbom.mjs` (the images' CycloneDX SBOMs
 * from the lockfile) and `scripts/check-licenses.mjs` (every production dependency listed with
 * an allowed license; a missing one, a copyleft one and an unlicensed one fail, named).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { tempDir } from "@hangar/testkit";

// The enterprise packages' names, assembled at run time: the boundary check is lexical and
// scans agent/ too (agent/test/boundary.test.ts does the same).
const SEMANTIC = ["@hangar", "semantic"].join("/");
const BEHAVIORAL = ["@hangar", "behavioral"].join("/");
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const script = (name: string): string => join(ROOT, "scripts", name);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
/** Runs a script with this Node, asynchronously (the fake registry answers in this process). */
function run(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script(name), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return (req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw).toString("utf8");
}

describe("scripts/audit.mjs: npm audit of the production dependencies against a fake registry", () => {
  type Mode = "high" | "moderate" | "405";
  let mode: Mode = "high";
  let server: Server;
  let registry = "";
  const bulkBodies: Record<string, string[]>[] = [];
  let project: { dir: string; cleanup: () => void };

  before(async () => {
    server = createServer((req, res) => {
      void (async () => {
        const text = await body(req);
        if (req.method === "POST" && req.url === "/-/npm/v1/security/advisories/bulk") {
          if (mode === "405") {
            res.writeHead(405, { allow: "GET,HEAD" }).end();
            return;
          }
          bulkBodies.push(JSON.parse(text) as Record<string, string[]>);
          res.writeHead(200, { "content-type": "application/json" }).end(
            JSON.stringify({
              leftish: [
                {
                  id: 1099,
                  url: "https://advisories.example/GHSA-left-ish1",
                  title: "Prototype pollution in leftish",
                  severity: mode,
                  vulnerable_versions: "<1.0.1",
                  cwe: ["CWE-1321"],
                  cvss: { score: mode === "high" ? 7.5 : 5.3, vectorString: null },
                },
              ],
              // Advisories for a dev dependency must not count (it is not even asked about).
              devthing: [
                {
                  id: 1100,
                  url: "https://advisories.example/GHSA-dev-thing",
                  title: "RCE in devthing",
                  severity: "critical",
                  vulnerable_versions: "<2.0.0",
                  cwe: [],
                  cvss: { score: 9.8, vectorString: null },
                },
              ],
            }),
          );
          return;
        }
        const name = decodeURIComponent((req.url ?? "/").slice(1));
        if (req.method === "GET" && (name === "leftish" || name === "devthing")) {
          const versions = Object.fromEntries(
            ["1.0.0", "1.0.1", "2.0.0"].map((v) => [
              v,
              { name, version: v, dist: { tarball: `${registry}/${name}/-/${name}-${v}.tgz`, shasum: "0" } },
            ]),
          );
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ name, "dist-tags": { latest: "2.0.0" }, versions }));
          return;
        }
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      })();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // A workspace project like ours: an image workspace with a production and a dev dependency.
    project = tempDir("hangar-audit-");
    const d = project.dir;
    mkdirSync(join(d, "app"));
    writeFileSync(
      join(d, "package.json"),
      JSON.stringify({ name: "fixture", version: "1.0.0", private: true, workspaces: ["app"] }),
    );
    writeFileSync(
      join(d, "app", "package.json"),
      JSON.stringify({
        name: "app",
        version: "1.0.0",
        dependencies: { leftish: "^1.0.0" },
        devDependencies: { devthing: "1.0.0" },
      }),
    );
    const integrity = `sha512-${Buffer.alloc(64, 1).toString("base64")}`;
    writeFileSync(
      join(d, "package-lock.json"),
      JSON.stringify({
        name: "fixture",
        version: "1.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: {
          "": { name: "fixture", version: "1.0.0", workspaces: ["app"] },
          app: {
            name: "app",
            version: "1.0.0",
            dependencies: { leftish: "^1.0.0" },
            devDependencies: { devthing: "1.0.0" },
          },
          "node_modules/app": { resolved: "app", link: true },
          "node_modules/leftish": {
            version: "1.0.0",
            resolved: `${registry}/leftish/-/leftish-1.0.0.tgz`,
            integrity,
            license: "MIT",
          },
          "node_modules/devthing": {
            version: "1.0.0",
            resolved: `${registry}/devthing/-/devthing-1.0.0.tgz`,
            integrity,
            dev: true,
            license: "MIT",
          },
        },
      }),
    );
  });
  after(() => {
    server?.close();
    project?.cleanup();
  });

  // A fresh npm cache for each run: npm keeps registry answers in its cache.
  let runs = 0;
  const audit = (reg = registry) =>
    run("audit.mjs", ["--root", project.dir, "--workspace", "app", "--registry", `${reg}/`], {
      npm_config_cache: join(project.dir, `.npm-cache-${++runs}`),
    });

  it("fails on a finding at high severity, naming the package and the advisory", async () => {
    mode = "high";
    const r = await audit();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /npm audit: FAILED: 1 package\(s\) at high or above \(1 high\)/);
    assert.match(
      r.stderr,
      /leftish 1\.0\.0 \[high\]: Prototype pollution in leftish https:\/\/advisories\.example\/GHSA-left-ish1 \(fix available\)/,
    );
    // Only production dependencies were asked about.
    assert.deepEqual(bulkBodies.at(-1), { leftish: ["1.0.0"] });
  });

  it("passes below high, saying what it found", async () => {
    mode = "moderate";
    const r = await audit();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /npm audit: passed: .*app; nothing at high or above \(1 moderate\)/);
  });

  it("an audit endpoint that refuses (405) or cannot be reached is NOT CHECKED, and passes", async () => {
    mode = "405";
    const refused = await audit();
    assert.equal(refused.code, 0, refused.stdout + refused.stderr);
    assert.match(
      refused.stdout,
      /^npm audit: NOT CHECKED \(the registry answered 405 Method Not Allowed - POST http:\/\/127\.0\.0\.1:\d+\/-\/npm\/v1\/security\/advisories\/bulk\)$/m,
    );
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await audit(`http://127.0.0.1:${port}`);
    assert.equal(unreachable.code, 0, unreachable.stdout + unreachable.stderr);
    assert.match(unreachable.stdout, /npm audit: NOT CHECKED \(.*ECONNREFUSED/);
  });

  it("fails (exit 2) when npm cannot audit for another reason: no lockfile", async () => {
    const empty = tempDir("hangar-audit-empty-");
    try {
      writeFileSync(join(empty.dir, "package.json"), JSON.stringify({ name: "x", version: "1.0.0" }));
      const r = await run("audit.mjs", [
        "--root",
        empty.dir,
        "--workspace",
        "x",
        "--registry",
        `${registry}/`,
      ]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /NOT CHECKED/);
    } finally {
      empty.cleanup();
    }
  });
});

describe("scripts/sbom.mjs and scripts/check-licenses.mjs on the images", () => {
  let out: { dir: string; cleanup: () => void };
  before(async () => {
    out = tempDir("hangar-sbom-");
    const r = await run("sbom.mjs", ["--out", out.dir]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => out?.cleanup());

  interface Component {
    group?: string;
    name: string;
    version: string;
    licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
  }
  interface Bom {
    bomFormat: string;
    specVersion: string;
    components: Component[];
  }
  const read = (image: string): Bom =>
    JSON.parse(readFileSync(join(out.dir, `${image}.cdx.json`), "utf8")) as Bom;
  const full = (c: Component) => (c.group ? `${c.group}/${c.name}` : c.name);
  /** check-licenses on a copy of the SBOMs with one image's changed by `edit`. */
  const checkEdited = async (image: string, edit: (b: Bom) => void): Promise<Run> => {
    const copy = tempDir("hangar-sbom-edit-");
    try {
      for (const i of ["hangar-agent", "hangar-controller"]) {
        const b = read(i);
        if (i === image) edit(b);
        writeFileSync(join(copy.dir, `${i}.cdx.json`), JSON.stringify(b));
      }
      return await run("check-licenses.mjs", ["--sbom-dir", copy.dir]);
    } finally {
      copy.cleanup();
    }
  };

  it("one CycloneDX 1.6 SBOM per image, with its own workspaces and every runtime dependency", async () => {
    const agent = read("hangar-agent");
    const controller = read("hangar-controller");
    assert.equal(agent.bomFormat, "CycloneDX");
    assert.equal(agent.specVersion, "1.6");
    const names = (b: Bom) => new Set(b.components.map(full));
    for (const n of ["@hangar/agent", "@hangar/core", SEMANTIC, "@duckdb/node-api", "@grpc/grpc-js"])
      assert.ok(names(agent).has(n), `agent SBOM lists ${n}`);
    assert.ok(!names(agent).has("@hangar/controller"), "the agent image does not ship the controller");
    assert.ok(names(controller).has("@hangar/controller"));
    assert.ok(!names(controller).has("@hangar/agent"));
    for (const dev of ["typescript", "eslint", "@hangar/testkit", "prettier"])
      assert.ok(!names(agent).has(dev) && !names(controller).has(dev), `${dev} is a dev dependency`);
    const r = await run("check-licenses.mjs", ["--sbom-dir", out.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /check-licenses: \d+ components in hangar-agent\.cdx\.json, hangar-controller\.cdx\.json/,
    );
  });

  it("a production dependency missing from the SBOM fails, named with what requires it", async () => {
    const r = await checkEdited("hangar-agent", (b) => {
      b.components = b.components.filter((c) => c.name !== "grpc-js");
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /hangar-agent: @grpc\/grpc-js@[\d.]+: missing dependency: in package-lock\.json \(required by [^)]+\) but not in /,
    );
  });

  it("a copyleft license fails, also for a dependency only the BSL modules use", async () => {
    const r = await checkEdited("hangar-controller", (b) => {
      const nearley = b.components.find((c) => c.name === "nearley");
      assert.ok(nearley !== undefined, "nearley (a dependency of @hangar/semantic) is in the SBOM");
      nearley.licenses = [{ license: { id: "GPL-3.0-only" } }];
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /hangar-controller: nearley@[\d.]+: license "GPL-3\.0-only" is not allowed \(permissive only: MIT, .*\); required by @hangar\/semantic/,
    );
    const dual = await checkEdited("hangar-agent", (b) => {
      b.components.find((c) => c.name === "argparse")!.licenses = [{ expression: "(MIT OR GPL-2.0-only)" }];
      b.components.find((c) => c.name === "debug")!.licenses = [{ expression: "MIT AND AGPL-3.0-only" }];
    });
    assert.equal(dual.code, 1);
    assert.doesNotMatch(dual.stderr, /argparse/, "MIT OR GPL: MIT can be chosen");
    assert.match(dual.stderr, /debug@[\d.]+: license "MIT AND AGPL-3\.0-only" is not allowed/);
  });

  it("a component without a license, and our own packages under the wrong license, fail", async () => {
    const r = await checkEdited("hangar-agent", (b) => {
      delete b.components.find((c) => c.name === "moo")!.licenses;
      b.components.find((c) => full(c) === "@hangar/core")!.licenses = [{ license: { id: "BUSL-1.1" } }];
      b.components.find((c) => full(c) === BEHAVIORAL)!.licenses = [{ license: { id: "MIT" } }];
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /hangar-agent: moo@[\d.]+: no license in the SBOM/);
    assert.match(r.stderr, /@hangar\/core@[\d.]+: a core package must be MIT, declares BUSL-1\.1/);
    assert.match(
      r.stderr,
      /@hangar\/behavioral@[\d.]+: an enterprise module must be BUSL-1\.1, declares MIT/,
    );
    assert.match(r.stderr, /check-licenses: 3 finding\(s\)/);
  });

  it("an unreadable SBOM is a usage error (exit 2) naming the file and how to make it", async () => {
    const empty = tempDir("hangar-sbom-none-");
    try {
      const r = await run("check-licenses.mjs", ["--sbom-dir", empty.dir]);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /cannot read .*hangar-agent\.cdx\.json: .*generate it with node scripts\/sbom\.mjs/,
      );
    } finally {
      empty.cleanup();
    }
  });
});
