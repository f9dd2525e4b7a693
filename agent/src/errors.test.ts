import assert from "node:assert/strict";
import { it } from "node:test";
import { CoreErrorCodes } from "@hangar/core";
import { AgentError, AgentErrorCodes } from "./errors.js";

it("every agent code is well-formed, described, and not a core code", () => {
  for (const [code, text] of Object.entries(AgentErrorCodes)) {
    assert.match(code, /^HANGAR_ERR_[A-Z]+(_[A-Z]+)*$/);
    assert.ok(text.length > 0);
    assert.equal(code in CoreErrorCodes, false, code);
  }
  assert.equal(new AgentError("HANGAR_ERR_PROBE_SELFTEST", "x").name, "AgentError");
});
