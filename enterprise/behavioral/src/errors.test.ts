import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { HangarError } from "@hangar/core";
import { codeDrift, documentedCodes } from "@hangar/testkit";
import { BehavioralError, BehavioralErrorCodes } from "./errors.js";

const ERRORS_MD = fileURLToPath(new URL("../../../../docs/reference/errors.md", import.meta.url));

it("docs/reference/errors.md lists every error code of the package, and no code that does not exist", () => {
  const drift = codeDrift(
    Object.keys(BehavioralErrorCodes),
    documentedCodes(ERRORS_MD, "baselines (`@hangar/behavioral`)"),
  );
  assert.deepEqual(drift, { missing: [], unknown: [] });
});

it("BehavioralError is core's error class: code, cause and details, told apart by instanceof", () => {
  const cause = new Error("IO Error: disk full");
  const err = new BehavioralError("HANGAR_ERR_BASELINE_DB_WRITE", "writing to b.db failed", {
    cause,
    details: { path: "b.db" },
  });
  assert.ok(err instanceof BehavioralError && err instanceof HangarError);
  assert.equal(err.name, "BehavioralError");
  assert.equal(err.code, "HANGAR_ERR_BASELINE_DB_WRITE");
  assert.equal(err.cause, cause);
  assert.deepEqual(err.details, { path: "b.db" });
  assert.deepEqual(BehavioralError.codes, BehavioralErrorCodes);
});
