import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { BehavioralErrorCodes } from "./errors.js";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));

it("the README lists every error code of the package, and no code that does not exist", () => {
  const doc = readFileSync(README, "utf8");
  const documented = new Set([...doc.matchAll(/`(HANGAR_ERR_BASELINE_[A-Z_]+)`/g)].map((m) => m[1]));
  const codes = new Set(Object.keys(BehavioralErrorCodes));
  assert.deepEqual(
    [...codes].filter((c) => !documented.has(c)),
    [],
    "codes missing from the README",
  );
  assert.deepEqual(
    [...documented].filter((c) => c !== undefined && !codes.has(c)),
    [],
    "documented codes that do not exist",
  );
});
