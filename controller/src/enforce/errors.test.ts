import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ControllerError, ControllerErrorCodes } from "./errors.js";

const DOC = fileURLToPath(new URL("../../../../docs/reference/errors.md", import.meta.url));

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
    const doc = readFileSync(DOC, "utf8");
    const section = doc.slice(doc.indexOf("## controller: enforcement, REST API, agent hub"));
    assert.ok(section.length > 0, "the section exists");
    const documented = new Set([...section.matchAll(/^\| `(HANGAR_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
    assert.deepEqual([...documented].sort(), Object.keys(ControllerErrorCodes).sort());
  });
});
