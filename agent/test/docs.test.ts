/** Reference docs that must stay in step with the code. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { AgentErrorCodes } from "../src/errors.js";

const ERRORS_MD = fileURLToPath(new URL("../../../docs/reference/errors.md", import.meta.url));

it("docs/reference/errors.md lists every agent error code, and no code that does not exist", () => {
  const doc = readFileSync(ERRORS_MD, "utf8");
  // The agent's own section; other parts (controller, rule engine) keep theirs in step themselves.
  const start = doc.indexOf("\n## agent\n");
  assert.ok(start >= 0, "errors.md has a '## agent' section");
  const end = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  const documented = new Set([...section.matchAll(/`(HANGAR_ERR_[A-Z_]+)`/g)].map((m) => m[1]));
  const codes = new Set(Object.keys(AgentErrorCodes));
  assert.deepEqual(
    [...codes].filter((c) => !documented.has(c)),
    [],
    "codes missing from the docs",
  );
  assert.deepEqual(
    [...documented].filter((c) => c !== undefined && !codes.has(c)),
    [],
    "documented codes that do not exist",
  );
});
