/** Reference docs that must stay in step with the code. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { COUNTER_FAMILIES, CoreErrorCodes } from "@hangar/core";
import { codeDrift, documentedCodes } from "@hangar/testkit";
import { AgentErrorCodes } from "../src/errors.js";

const ERRORS_MD = fileURLToPath(new URL("../../../docs/reference/errors.md", import.meta.url));
const README = fileURLToPath(new URL("../../README.md", import.meta.url));

it("docs/reference/errors.md lists every agent error code, and no code that does not exist", () => {
  // The agent's own section; other parts (core, export, controller, rule engine) keep theirs in step themselves.
  const drift = codeDrift(Object.keys(AgentErrorCodes), documentedCodes(ERRORS_MD, "agent"));
  assert.deepEqual(drift, { missing: [], unknown: [] });
});

it("docs/reference/errors.md lists every core error code (the codes every package raises), and no other", () => {
  const drift = codeDrift(Object.keys(CoreErrorCodes), documentedCodes(ERRORS_MD, "core (every command)"));
  assert.deepEqual(drift, { missing: [], unknown: [] });
});

it("the README's counters are counter families of core, with their labels", () => {
  const text = readFileSync(README, "utf8");
  const table = text.slice(text.indexOf("\n## Counters\n"), text.indexOf("\n## Commands\n"));
  const rows = [...table.matchAll(/^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| ([^|]*) \|/gm)];
  assert.ok(rows.length > 10, "the Counters table has rows");
  const families: Readonly<Record<string, { readonly labels: readonly string[] }>> = COUNTER_FAMILIES;
  for (const [, names, labels] of rows) {
    const counters = [...(names ?? "").matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string);
    for (const c of counters) assert.ok(families[c] !== undefined, `${c} is not in COUNTER_FAMILIES`);
    const known = new Set(counters.flatMap((c) => families[c]?.labels ?? []));
    for (const [, l] of (labels ?? "").matchAll(/`([a-z_]+)`/g))
      assert.ok(
        known.has(l as string),
        `${counters.join(", ")}: label ${l} is not one of ${[...known].join(", ")}`,
      );
  }
});
