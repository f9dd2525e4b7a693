import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { BREAK_CASES, brokenPod, goodPod } from "../../admission/fixtures.js";
import { ctl } from "../ctl.js";

const MAIN = fileURLToPath(new URL("../main.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "hangar-admission-"));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await ctl(["admission", ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

function file(name: string, docs: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => stringify(d)).join("---\n"));
  return path;
}

const deployment = (pod: object, name: string): object => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "mcp" },
  spec: { selector: { matchLabels: { app: "weather" } }, template: pod },
});

describe("hangar-ctl admission", () => {
  it("check: exit 1 and every violation with its path; exit 0 when clean", async () => {
    const privileged = BREAK_CASES.find((c) => c.rule === "privileged")!;
    const bad = file("bad.yaml", [deployment(brokenPod(privileged), "weather")]);
    const r = await run(["check", "-f", bad]);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.out,
      /bad\.yaml:doc 1 Deployment mcp\/weather: 2 violations\n {2}spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: a privileged container, set it to false \(or leave it out\) \[privileged\]\n/,
    );
    assert.match(r.out, /1 checked, 1 with violations \(2 violations\), 0 skipped\n$/);
    const good = file("good.yaml", [deployment(goodPod(), "weather")]);
    const ok = await run(["check", "-f", good]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /Deployment mcp\/weather: ok/);
  });

  it("check: requirements from flags or a values file; JSON output", async () => {
    const digest = BREAK_CASES.find((c) => c.rule === "image-digest")!;
    const f = file("tag.yaml", [deployment(brokenPod(digest), "tagged")]);
    assert.equal((await run(["check", "-f", f])).code, 0);
    assert.equal((await run(["check", "-f", f, "--require-image-digest"])).code, 1);
    const values = join(dir, "values.yaml");
    writeFileSync(values, "admission:\n  requireImageDigest: true\n");
    const r = await run(["check", "-f", f, "--values", values, "-o", "json"]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out) as { objects: { violations: { rule: string; path: string }[] }[] };
    assert.deepEqual(report.objects[0]!.violations, [
      {
        rule: "image-digest",
        path: "spec.template.spec.containers[0].image",
        problem: "an image by tag, where this namespace requires digests",
        fix: "pin it by digest: <name>@sha256:<64 hex digits>",
      },
    ]);
    writeFileSync(values, "admission:\n  requireImageDigest: yes please\n");
    const bad = await run(["check", "-f", f, "--values", values]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /admission\.requireImageDigest: must be true or false/);
  });

  it("check: a manifest that cannot be read exits 2 naming file:doc; usage errors exit 2", async () => {
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "kind: Pod\nmetadata: {name: a}\nspec: {containers: []}\n---\nkind: [\n");
    const r = await run(["check", "-f", broken]);
    assert.equal(r.code, 2);
    assert.match(r.err, /HANGAR_ERR_ADMISSION_INPUT: .*broken\.yaml:doc 2: line \d+/);
    assert.equal((await run(["check", "-f", join(dir, "missing.yaml")])).code, 2);
    const none = await run(["check"]);
    assert.equal(none.code, 2);
    assert.match(none.err, /-f FILE/);
    assert.equal((await run(["frobnicate"])).code, 2);
    assert.equal((await run(["check", "-f", broken, "-o", "xml"])).code, 2);
  });

  it("check -f - reads standard input (the real command)", () => {
    const hostPath = BREAK_CASES.find((c) => c.rule === "host-path")!;
    const pod = brokenPod(hostPath);
    const input = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { ...pod.metadata, name: "p" },
      spec: pod.spec,
    });
    const r = spawnSync(process.execPath, [MAIN, "admission", "check", "-f", "-"], {
      input,
      encoding: "utf8",
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /<stdin>:doc 1 Pod default\/p: 1 violation\n {2}spec\.volumes\[1\]\.hostPath: /);
  });

  it("--help and rules describe every rule", async () => {
    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /check -f FILE\|-/);
    const rules = await run(["rules"]);
    assert.equal(rules.code, 0);
    for (const c of BREAK_CASES) assert.match(rules.out, new RegExp(`^${c.rule} `, "m"));
  });
});
