import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { HangarError } from "@hangar/core";
import { sectionText } from "@hangar/testkit";
import { diag, SemanticError, SemanticErrorCodes } from "./diagnostics.js";

const ERRORS_MD = fileURLToPath(new URL("../../../../docs/reference/errors.md", import.meta.url));

describe("SemanticError", () => {
  const loc = { line: 2, col: 5, offset: 20 };
  const diagnostics = [
    diag("a.rules", loc, "HANGAR_ERR_RULE_UNKNOWN_FIELD", 'unknown field "process.binry"'),
    diag("a.rules", loc, "HANGAR_WARN_RULE_NO_TEST", "rule x has no test"),
  ];

  it("is core's error class with the diagnostics in details, and only the errors in its message", () => {
    const err = new SemanticError(
      "rule files in a.rules do not load",
      diagnostics,
      new Map([["a.rules", "\n    x"]]),
    );
    assert.ok(err instanceof HangarError);
    assert.equal(err.name, "SemanticError");
    assert.equal(err.code, "HANGAR_ERR_PLUGIN_LOAD");
    assert.equal(err.details["diagnostics"], diagnostics);
    assert.equal(err.diagnostics, diagnostics);
    assert.equal(
      err.message,
      'rule files in a.rules do not load\na.rules:2:5: HANGAR_ERR_RULE_UNKNOWN_FIELD: unknown field "process.binry"\n      x\n      ^',
    );
  });

  it("docs/reference/errors.md names the code SemanticError raises in the rule files section", () => {
    const err = new SemanticError("rule files do not load", []);
    const section = sectionText(ERRORS_MD, "rule files (`@hangar/semantic`)");
    assert.ok(section.includes(`\`${err.code}\``), `${err.code} is not in the rule files section`);
    assert.deepEqual(Object.keys(SemanticErrorCodes), [], "its own table is empty: it raises core's code");
  });
});
