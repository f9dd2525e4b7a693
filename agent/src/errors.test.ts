import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AgentError, AgentErrorCodes } from "./errors.js";

describe("AgentError", () => {
  it("carries code, message, details and is an Error named AgentError", () => {
    const err = new AgentError("HANGAR_ERR_SIMULATOR", "it broke", { details: { port: 1 } });
    assert.ok(err instanceof Error);
    assert.equal(err.name, "AgentError");
    assert.equal(err.code, "HANGAR_ERR_SIMULATOR");
    assert.equal(err.message, "it broke");
    assert.deepEqual(err.details, { port: 1 });
    assert.equal(err.cause, undefined);
    assert.equal("cause" in err, false);
  });

  it("every code has a description", () => {
    for (const [code, text] of Object.entries(AgentErrorCodes)) {
      assert.match(code, /^HANGAR_ERR_[A-Z]+(_[A-Z]+)*$/);
      assert.ok(text.length > 0);
    }
  });
});

describe("AgentError.from", () => {
  it("prefixes the context to an Error's message and keeps the Error as cause", () => {
    const cause = new Error("ENOENT: no such file");
    const err = AgentError.from(cause, "HANGAR_ERR_RECORDING_READ", "cannot read tetragon recording a.json");
    assert.equal(err.code, "HANGAR_ERR_RECORDING_READ");
    assert.equal(err.message, "cannot read tetragon recording a.json: ENOENT: no such file");
    assert.equal(err.cause, cause);
  });

  it("stringifies a non-Error thrown value and keeps it as cause", () => {
    const err = AgentError.from("bad thing", "HANGAR_ERR_PLUGIN_LOAD", "loading rules");
    assert.equal(err.message, "loading rules: bad thing");
    assert.equal(err.cause, "bad thing");
    const fromObj = AgentError.from({ code: 7 }, "HANGAR_ERR_PLUGIN_LOAD", "ctx");
    assert.equal(fromObj.message, "ctx: [object Object]");
  });

  it("returns an AgentError unchanged (its code and message are already specific)", () => {
    const inner = new AgentError("HANGAR_ERR_CONFIG_INVALID", "bad address");
    const out = AgentError.from(inner, "HANGAR_ERR_INTAKE_CONNECT", "connecting");
    assert.equal(out, inner);
    assert.equal(out.code, "HANGAR_ERR_CONFIG_INVALID");
    assert.equal(out.message, "bad address");
  });
});
