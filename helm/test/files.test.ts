/**
 * The chart's copies of rules/ and bpf/tracingpolicies/ are current, every value in
 * values.yaml is documented, and the README's values table is the generated one. Each check
 * is also run on a temp copy with a defect, to show it fails and names the place.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CHART, REPO } from "./helpers.js";

function run(script: string, ...args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [join(REPO, "scripts", script), ...args], { encoding: "utf8" });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("chart files", () => {
  const tmp = mkdtempSync(join(tmpdir(), "hangar-chart-files-"));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("files/rules and files/tracingpolicies equal rules/ and bpf/tracingpolicies/", () => {
    const r = run("sync-chart-files.mjs", "--check");
    assert.equal(r.code, 0, r.out);
  });

  test("a changed, a missing and a stale copy are each reported (and fixed by a sync)", () => {
    const root = join(tmp, "sync");
    cpSync(join(REPO, "rules"), join(root, "rules"), {
      recursive: true,
      filter: (s) => !s.includes("dist") && !s.includes("node_modules"),
    });
    cpSync(join(REPO, "bpf", "tracingpolicies"), join(root, "bpf", "tracingpolicies"), { recursive: true });
    cpSync(join(CHART, "files"), join(root, "helm", "hangar-agent", "files"), { recursive: true });
    writeFileSync(
      join(root, "rules", "stable.rules"),
      readFileSync(join(root, "rules", "stable.rules"), "utf8") + "\n# edited\n",
    );
    rmSync(join(root, "helm", "hangar-agent", "files", "tracingpolicies", "mcp-privileges.yaml"));
    writeFileSync(join(root, "helm", "hangar-agent", "files", "rules", "gone.rules"), "");
    const r = run("sync-chart-files.mjs", "--check", "--root", root);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /files\/rules\/stable\.rules: differs from rules\/stable\.rules/);
    assert.match(r.out, /files\/tracingpolicies\/mcp-privileges\.yaml: missing/);
    assert.match(r.out, /files\/rules\/gone\.rules: no rules\/gone\.rules any more/);
    assert.equal(run("sync-chart-files.mjs", "--root", root).code, 0);
    assert.equal(run("sync-chart-files.mjs", "--check", "--root", root).code, 0);
  });

  test("every value is documented and README.md's values table is current", () => {
    const r = run("helm-docs.mjs", "--check");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /is current \(\d+ values\)/);
  });

  test("an undocumented value fails with values.yaml:line, a stale table fails the check", () => {
    const root = join(tmp, "docs");
    const chart = join(root, "helm", "hangar-agent");
    cpSync(join(CHART, "README.md"), join(chart, "README.md"));
    const values = readFileSync(join(CHART, "values.yaml"), "utf8");
    writeFileSync(
      join(chart, "values.yaml"),
      values.replace("  # -- Port of the agent hub", "  # Port of the agent hub"),
    );
    const undocumented = run("helm-docs.mjs", "--check", "--root", root);
    assert.equal(undocumented.code, 2, undocumented.out);
    const line = values.split("\n").findIndex((l) => l.startsWith("  port: 8443")) + 1;
    assert.match(undocumented.out, new RegExp(`values\\.yaml:${line}: hub\\.port has no "# --" comment`));

    writeFileSync(join(chart, "values.yaml"), values.replace("Port of the agent hub", "Port of the hub"));
    const stale = run("helm-docs.mjs", "--check", "--root", root);
    assert.equal(stale.code, 1, stale.out);
    assert.match(stale.out, /out of date; run `node scripts\/helm-docs\.mjs`/);
    assert.equal(run("helm-docs.mjs", "--root", root).code, 0);
    assert.match(
      readFileSync(join(chart, "README.md"), "utf8"),
      /\| `hub\.port` \| int \| `8443` \| Port of the hub /,
    );
  });
});
