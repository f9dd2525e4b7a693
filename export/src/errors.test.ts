import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { HangarError } from "@hangar/core";
import { codeDrift, documentedCodes } from "@hangar/testkit";
import { ExportError, ExportErrorCodes } from "./errors.js";

const ERRORS_MD = fileURLToPath(new URL("../../../docs/reference/errors.md", import.meta.url));

it("docs/reference/errors.md lists every export error code, and no code that does not exist", () => {
  const drift = codeDrift(
    Object.keys(ExportErrorCodes),
    documentedCodes(ERRORS_MD, "export (SIEM and metrics)"),
  );
  assert.deepEqual(drift, { missing: [], unknown: [] });
});

it("ExportError raises its own codes and the core ones, and is a HangarError", () => {
  const err = new ExportError("HANGAR_ERR_CONFIG_INVALID", "--siem x: needs a port");
  assert.ok(err instanceof HangarError);
  assert.equal(err.name, "ExportError");
  assert.equal(err.code, "HANGAR_ERR_CONFIG_INVALID");
});
