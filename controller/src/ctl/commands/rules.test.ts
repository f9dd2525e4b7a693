/**
 * `hangar-ctl rules` over the real rule engine (loaded through loadSemantic)
 * and the real packs in rules/, plus broken files written for the test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import type { CtlIO } from "../command.js";
import { ctl } from "../ctl.js";
import { rulesCommand } from "./rules.js";

const RULES = fileURLToPath(new URL("../../../../../rules/", import.meta.url));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io: CtlIO & { out: string; err: string } = {
    out: "",
    err: "",
    stdout(t) {
      io.out += t;
    },
    stderr(t) {
      io.err += t;
    },
  };
  const code = await ctl(["rules", ...args], io, [rulesCommand]);
  return { code, out: io.out, err: io.err };
}

describe("hangar-ctl rules", () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-ctl-rules-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const META = `description "d. Tuning: none." severity low mitre T1059 maturity sandbox`;

  it("lint rules/ passes (exit 0) and says what it checked", async () => {
    const r = await run("lint", RULES);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^\d+ files, \d+ rules: 0 errors, 0 warnings$/m);
  });

  it("lint prints path:line:col: code: message with a caret, and exits 1", async () => {
    const bad = join(dir, "bad.rules");
    writeFileSync(bad, `rule x {\n  ${META}\n  event connect where destination.port = "443"\n}\n`);
    const r = await run("lint", bad);
    assert.equal(r.code, 1);
    assert.ok(
      r.out.includes(
        `${bad}:3:40: HANGAR_ERR_RULE_TYPE: cannot compare destination.port (number) with "443" (string)\n    event connect where destination.port = "443"\n                                         ^\n`,
      ),
      r.out,
    );
    const syntax = join(dir, "syntax.rules");
    writeFileSync(syntax, `rule x {\n  ${META}\n  event exec where\n}\n`);
    const s = await run("lint", syntax);
    assert.equal(s.code, 1);
    assert.match(
      s.out,
      new RegExp(
        `${syntax.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:1: HANGAR_ERR_RULE_SYNTAX: unexpected "}"`,
      ),
    );
  });

  it("lint --strict fails on warnings; -o json is for programs", async () => {
    const warn = join(dir, "warn.rules");
    writeFileSync(
      warn,
      `list unused = ["a"]\nrule x { ${META} event exec test "t" { at 0s exec { } expect match } }\n`,
    );
    assert.equal((await run("lint", warn)).code, 0);
    assert.equal((await run("lint", "--strict", warn)).code, 1);
    const j = await run("lint", "-o", "json", warn);
    const parsed = JSON.parse(j.out) as { warnings: number; diagnostics: { code: string; line: number }[] };
    assert.equal(parsed.warnings, 1);
    assert.deepEqual(parsed.diagnostics[0], {
      file: warn,
      line: 1,
      col: 1,
      code: "HANGAR_WARN_RULE_UNUSED",
      message: 'list "unused" is not used',
      severity: "warning",
    });
  });

  it("test rules/ passes every rule's tests", async () => {
    const r = await run("test", RULES);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /(\d+) of \1 tests passed; (\d+) of \2 rules pass/);
    assert.match(r.out, /^PASS hangar\.exec\.shell_from_server \(3 tests\)$/m);
  });

  it("test reports each failing test with its place and why, and exits 1", async () => {
    const f = join(dir, "failing.rules");
    writeFileSync(
      f,
      `rule x { ${META}\n  event exec where process.binary = "/bin/sh"\n  test "fires" { at 0s exec { process.binary: "/bin/sh" } expect match }\n  test "wrong" { at 0s exec { process.binary: "/bin/sh" } expect no match }\n}\n`,
    );
    const r = await run("test", "-v", f);
    assert.equal(r.code, 1);
    assert.match(r.out, /^FAIL x \(1 of 2 tests failed\)$/m);
    assert.match(r.out, /^ {2}ok {3}"fires"$/m);
    assert.ok(r.out.includes(`  FAIL "wrong" (${f}:4:3)\n       line 4: expected no match, got 1`), r.out);
    assert.match(r.out, /1 of 2 tests passed; 0 of 1 rules pass/);
  });

  it("test counts rules that did not compile as failing, naming them", async () => {
    const f = join(dir, "uncompiled.rules");
    writeFileSync(
      f,
      `rule good { ${META}\n  event exec where process.binary = "/bin/sh"\n  test "fires" { at 0s exec { process.binary: "/bin/sh" } expect match }\n}\n` +
        `rule bad { ${META}\n  event exec where proc.name = "sh"\n  test "fires" { at 0s exec { process.binary: "/bin/sh" } expect match }\n}\n`,
    );
    const r = await run("test", f);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /HANGAR_ERR_RULE_UNKNOWN_FIELD: unknown field "proc\.name" \(Falco's proc\.name is process\.name here\)/,
    );
    assert.match(r.out, /^FAIL bad \(did not compile: see the errors above\)$/m);
    assert.match(r.out, /1 of 1 tests passed; 1 of 2 rules pass \(1 did not compile\)/);
    const broken = join(dir, "broken.rules");
    writeFileSync(broken, "rule nope {\n");
    const b = await run("test", f, broken);
    assert.match(b.out, /1 of 2 rules pass \(1 did not compile; 1 file did not parse: .*broken\.rules\)/);
  });

  it("explain prints a rule in words with its source; unknown ids exit 1", async () => {
    const r = await run("explain", "hangar.exfil.secret_read_then_new_egress", "--rules", RULES);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /critical, stable/);
    assert.match(r.out, /1\. read: a tool_call event\n {2}2\. conn: a connect event/);
    assert.match(
      r.out,
      /baseline: conn\.destination\.ip not in egress; while the provider's baseline is learning: skip/,
    );
    assert.match(r.out, /exceptions:\n {2}backup_uploads \(.*stable\.rules:\d+:\d+\)/);
    assert.match(r.out, /block_egress\(conn\.destination\.ip, 1800s\)/);
    const none = await run("explain", "nope", "--rules", RULES);
    assert.equal(none.code, 1);
    assert.match(none.err, /no rule "nope"/);
  });

  it("usage errors exit 2", async () => {
    assert.equal((await run()).code, 2);
    assert.equal((await run("lint")).code, 2);
    assert.equal((await run("frob")).code, 2);
    assert.equal((await run("lint", "-o", "yaml", RULES)).code, 2);
    const help = await run("--help");
    assert.equal(help.code, 0);
    assert.match(help.out, /Exit codes:/);
  });
});
