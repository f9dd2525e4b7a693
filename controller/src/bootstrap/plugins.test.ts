import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ControllerError } from "../errors.js";
import { loadEnterprise } from "./plugins.js";

describe("loadEnterprise", () => {
  it("returns the module when it exports every named function", async () => {
    const mod = await loadEnterprise<{ join: (...p: string[]) => string }>("node:path", ["join"], "paths");
    assert.equal(mod.join("a", "b"), "a/b");
  });

  it("names the missing exports", async () => {
    await assert.rejects(
      loadEnterprise("node:path", ["join", "lintRules", "testRules"], "the rule engine"),
      (err: unknown) =>
        err instanceof ControllerError &&
        err.code === "HANGAR_ERR_PLUGIN_LOAD" &&
        err.message ===
          "the rule engine (node:path) is not available in this build: it does not export lintRules(), testRules()",
    );
  });

  it("says which package could not be loaded, and why", async () => {
    await assert.rejects(
      loadEnterprise("@hangar/no-such-package", ["x"], "the thing"),
      /^ControllerError: the thing \(@hangar\/no-such-package\) could not be loaded: Cannot find package/,
    );
  });
});
