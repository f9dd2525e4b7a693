import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { codeDrift, documentedCodes } from "@hangar/testkit";
import { ControllerError, ControllerErrorCodes } from "./errors.js";

const DOC = fileURLToPath(new URL("../../../docs/reference/errors.md", import.meta.url));

describe("ControllerError", () => {
  it("carries code, message, details and cause", () => {
    const cause = new Error("x");
    const e = new ControllerError("HANGAR_ERR_ENFORCE_KUBE", "GET /a: HTTP 500", {
      cause,
      details: { status: 500 },
    });
    assert.equal(e.name, "ControllerError");
    assert.equal(e.code, "HANGAR_ERR_ENFORCE_KUBE");
    assert.equal(e.cause, cause);
    assert.deepEqual(e.details, { status: 500 });
  });

  it("docs/reference/errors.md lists exactly the controller's codes", () => {
    const documented = documentedCodes(DOC, "controller: enforcement, REST API, agent hub");
    assert.deepEqual(codeDrift(Object.keys(ControllerErrorCodes), documented), { missing: [], unknown: [] });
  });
});
