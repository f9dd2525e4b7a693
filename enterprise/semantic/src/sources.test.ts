import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SemanticError } from "./diagnostics.js";
import { createDetectorFromSources } from "./index.js";
import { testEvent } from "./testevents.js";

const rule = (field: string): string => `rule test.tool.delete_everything {
  description "A test rule."
  severity high
  mitre T1485
  maturity sandbox
  event tool_call where ${field} = "delete_everything"
  message "tool {call.tool} called"
  action alert
}
`;

describe("createDetectorFromSources", () => {
  it("compiles rule text given by file name into a working detector", async () => {
    const d = await createDetectorFromSources({ sources: new Map([["update.rules", rule("call.tool")]]) });
    // Events wait up to the allowed lateness before single-event rules see them: flush at the end.
    const ids = [
      d.process(testEvent("tool_call", 0, 1, new Map([["tool.name", "search"]]))),
      d.process(testEvent("tool_call", 1, 2, new Map([["tool.name", "delete_everything"]]))),
      d.flush?.(),
    ].flatMap((x) => x?.alerts.map((a) => a.ruleId) ?? []);
    assert.deepEqual(ids, ["test.tool.delete_everything"]);
  });

  it("rejects text that does not compile with file:line:col diagnostics", async () => {
    await assert.rejects(
      createDetectorFromSources({ sources: new Map([["update.rules", rule("call.toool")]]) }),
      (err: unknown) =>
        err instanceof SemanticError &&
        /update\.rules:6:25: HANGAR_ERR_RULE_UNKNOWN_FIELD: unknown field "call\.toool"/.test(err.message),
    );
  });
});
