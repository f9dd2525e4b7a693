import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CoreError, CoreErrorCodes, HangarError, createErrorClass } from "./errors.js";

/** A package's class, as the agent declares its own. */
const AgentErrorCodes = {
  HANGAR_ERR_SIMULATOR: "the sensor simulator failed",
  HANGAR_ERR_RECORDING_READ: "a recording file could not be read",
  HANGAR_ERR_PLUGIN_LOAD: "an enterprise module could not be loaded",
  HANGAR_ERR_INTAKE_CONNECT: "could not connect to a sensor's gRPC endpoint",
} as const;
const AgentError = createErrorClass("AgentError", AgentErrorCodes);

describe("createErrorClass", () => {
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

  it("every core code has a description", () => {
    for (const [code, text] of Object.entries(CoreErrorCodes)) {
      assert.match(code, /^HANGAR_ERR_[A-Z]+(_[A-Z]+)*$/);
      assert.ok(text.length > 0);
    }
  });

  it("classes of different packages are told apart, and all are HangarErrors", () => {
    const a = new AgentError("HANGAR_ERR_SIMULATOR", "x");
    const c = new CoreError("HANGAR_ERR_SPOOL", "y");
    assert.equal(c.name, "CoreError");
    assert.match(String(c.stack), /^CoreError: y/);
    const errors: unknown[] = [a, c];
    assert.deepEqual(
      errors.map((e) => [e instanceof HangarError, e instanceof AgentError, e instanceof CoreError]),
      [
        [true, true, false],
        [true, false, true],
      ],
    );
  });

  it("a package's class raises the core codes too, and lists only its own", () => {
    const err = new AgentError("HANGAR_ERR_CONFIG_INVALID", "--node: missing");
    assert.equal(err.code, "HANGAR_ERR_CONFIG_INVALID");
    assert.deepEqual(Object.keys(AgentError.codes), Object.keys(AgentErrorCodes));
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
