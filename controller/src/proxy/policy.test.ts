import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ToolPolicy, toolNameProblem } from "./policy.js";

describe("ToolPolicy", () => {
  it("deny wins over allow; globs match whole names; regexes between slashes", () => {
    const p = new ToolPolicy({
      mode: "enforce",
      allow: ["get_*", "/^list_(files|dirs)$/"],
      deny: ["get_secret*"],
    });
    assert.deepEqual(p.decide("get_weather"), { allowed: true, rule: 'allow "get_*"', enforced: false });
    assert.deepEqual(p.decide("get_secret_key"), {
      allowed: false,
      rule: 'deny "get_secret*"',
      enforced: true,
    });
    assert.deepEqual(p.decide("list_dirs"), {
      allowed: true,
      rule: 'allow "/^list_(files|dirs)$/"',
      enforced: false,
    });
    assert.deepEqual(p.decide("xget_weather"), { allowed: false, rule: "not in allow list", enforced: true });
  });

  it("audit mode decides the same and enforces nothing", () => {
    const p = new ToolPolicy({ deny: ["exec_?hell"] });
    assert.equal(p.mode, "audit");
    assert.deepEqual(p.decide("exec_shell"), { allowed: false, rule: 'deny "exec_?hell"', enforced: false });
  });

  it("no patterns: everything allowed", () => {
    const p = new ToolPolicy();
    assert.ok(p.empty);
    assert.deepEqual(p.decide("anything"), { allowed: true, rule: "no policy", enforced: false });
  });

  it("names a bad pattern by its place", () => {
    assert.throws(
      () => new ToolPolicy({ deny: ["ok", "/(unclosed/"] }, "providers[2].policy"),
      /providers\[2\]\.policy\.deny\[1\]: \/\(unclosed\/ is not a valid regular expression/,
    );
    assert.throws(() => new ToolPolicy({ allow: [""] }), /policy\.allow\[0\]: an empty pattern/);
  });

  it("treats regex metacharacters in globs literally", () => {
    const p = new ToolPolicy({ deny: ["a.b+c"] });
    assert.equal(p.decide("a.b+c").allowed, false);
    assert.equal(p.decide("axbbc").allowed, true);
  });

  it("matches names ignoring case and compatibility forms, and refuses names no tool has", () => {
    const p = new ToolPolicy({ mode: "enforce", deny: ["run_report", "/^exec_/"] });
    for (const name of ["RUN_REPORT", "Run_Report", "ｒｕｎ_ｒｅｐｏｒｔ", "EXEC_shell"])
      assert.equal(p.decide(name).enforced, true, name);
    for (const name of [
      "run_report\n",
      "run\u200breport",
      " run_report",
      "run_report\u202e",
      "exec\u2060_x",
    ]) {
      const d = p.decide(name);
      assert.equal(d.enforced, true, JSON.stringify(name));
      assert.match(d.rule, /^refused name: /);
    }
    assert.equal(p.decide("get_weather").allowed, true);
    assert.equal(p.decide("café").allowed, true, "NFC text is a fine name");
    // Without a policy nothing is refused.
    assert.equal(new ToolPolicy().decide("odd\nname").allowed, true);
    assert.equal(toolNameProblem("ok_name"), undefined);
    assert.match(toolNameProblem("ﬁle") ?? "", /NFKC/);
  });
});
