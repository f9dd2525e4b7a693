/** The shipped rule packs in rules/: they lint clean, every rule follows the house rules, every test passes. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { formatDiagnostic } from "../src/diagnostics.js";
import { loadRules } from "../src/load.js";
import { runTests } from "../src/testing.js";

const RULES = fileURLToPath(new URL("../../../../rules/", import.meta.url));
const loaded = loadRules([RULES]);

describe("rule packs (rules/)", () => {
  it("lint without errors or warnings", () => {
    assert.deepEqual(
      loaded.diagnostics.map((d) => formatDiagnostic(d, loaded.sources)),
      [],
    );
  });

  it("hold at least 25 rules, each with an id, tuning advice, severity, MITRE tags, maturity of its file and tests both ways", () => {
    assert.ok(loaded.rules.length >= 25, `${loaded.rules.length} rules`);
    for (const r of loaded.rules) {
      const where = `${r.meta.id} (${r.meta.file}:${r.meta.loc.line})`;
      assert.match(r.meta.id, /^hangar\.[a-z0-9]+\.[a-z0-9_]+$/, where);
      assert.match(r.meta.description, /Tuning:/, `${where}: the description says how to tune it`);
      assert.ok(r.meta.mitre.length > 0, where);
      assert.equal(`${r.meta.maturity}.rules`, basename(r.meta.file), `${where}: one file per maturity`);
      const expects = r.tests.flatMap((t) => t.expects.map((x) => x.t));
      assert.ok(expects.includes("match"), `${where}: a test that fires`);
      assert.ok(
        expects.includes("nomatch") || expects.includes("suppressed"),
        `${where}: a test that does not`,
      );
    }
  });

  it("state the engine version they need", () => {
    for (const f of loaded.files) assert.match(readFileSync(f, "utf8"), /^requires engine ">=\d+\.\d+"$/m, f);
  });

  it("cover the attack shapes the issue names", () => {
    const ids = new Set(loaded.rules.map((r) => r.meta.id));
    for (const id of [
      "hangar.exfil.secret_read_then_new_egress",
      "hangar.cred.service_account_token_read",
      "hangar.net.cloud_metadata_access",
      "hangar.exec.shell_from_server",
      "hangar.exec.download_then_execute",
      "hangar.net.egress_not_in_baseline",
      "hangar.dns.name_not_in_baseline",
      "hangar.dns.tunnel_label_shape",
      "hangar.dns.unique_name_burst",
      "hangar.recon.port_fanout",
      "hangar.recon.host_fanout",
      "hangar.k8s.api_access",
      "hangar.priv.setuid_root",
      "hangar.priv.capability_change",
      "hangar.persist.cron_write",
      "hangar.persist.startup_write",
      "hangar.tool.path_traversal_args",
      "hangar.tool.shell_metacharacters_args",
      "hangar.tool.never_called_before",
      "hangar.tool.call_burst",
    ])
      assert.ok(ids.has(id), id);
  });

  it("pass every test written next to them", () => {
    const results = runTests(loaded);
    assert.ok(results.length >= 60, `${results.length} tests`);
    assert.deepEqual(
      results.filter((r) => !r.pass).map((r) => `${r.ruleId} "${r.test}": ${r.failures.join("; ")}`),
      [],
    );
  });

  it("rules/README.md documents every diagnostic code, field, function and event kind", async () => {
    const { DiagnosticCodes } = await import("../src/diagnostics.js");
    const { FIELDS, KIND_NAMES } = await import("../src/schema.js");
    const { FUNCTIONS } = await import("../src/compile/index.js");
    const doc = readFileSync(join(RULES, "README.md"), "utf8");
    const missing = [
      ...Object.keys(DiagnosticCodes),
      ...FIELDS.map((f) => f.name),
      ...Object.keys(FUNCTIONS).map((f) => `${f}(`),
      ...KIND_NAMES,
    ].filter((x) => !doc.includes(`\`${x}`));
    assert.deepEqual(missing, [], "names missing from rules/README.md (write them in `backticks`)");
    // The field table is generated from the schema: each row must be current (type, kinds, meaning).
    const rows = FIELDS.map(
      (f) =>
        `| \`${f.name}\` | ${f.type} | ${f.kinds === undefined ? "all" : f.kinds.join(", ")} | ${f.doc} |`,
    );
    assert.deepEqual(
      rows.filter((r) => !doc.includes(r)),
      [],
      "field rows out of date in rules/README.md; the current rows are listed above",
    );
    const documented = [...doc.matchAll(/`(HANGAR_(?:ERR|WARN)_RULE_[A-Z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual(
      documented.filter((c) => c !== undefined && !(c in DiagnosticCodes)),
      [],
      "documented codes that do not exist",
    );
  });
});
