import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { celString, chartFile, policyParts } from "./policy.js";
import { ADMISSION_RULES } from "./rules.js";

const CHART_FILE = fileURLToPath(
  new URL("../../../../helm/hangar-agent/files/admission/policies.yaml", import.meta.url),
);

describe("admission policy generation", () => {
  it("the chart's files/admission/policies.yaml is generated from the rule table and current", () => {
    assert.equal(
      readFileSync(CHART_FILE, "utf8"),
      chartFile(),
      "helm/hangar-agent/files/admission/policies.yaml is not current: run node scripts/gen-admission-policy.mjs",
    );
  });

  it("one policy per place a kind keeps its pod, each with every rule's CEL and id", () => {
    const parts = policyParts();
    assert.deepEqual(
      parts.map((p) => p.name),
      ["pods", "workloads", "cronjobs"],
    );
    for (const p of parts) {
      assert.equal(p.validations.length, 1);
      const v = p.validations[0]!;
      for (const r of ADMISSION_RULES) {
        assert.ok(v.expression.includes(r.cel), `${p.name}: ${r.id}'s CEL is not in the expression`);
        assert.ok(v.messageExpression.includes(`[${r.id}]`), `${p.name}: ${r.id} has no message`);
      }
    }
  });

  it("CEL string literals escape quotes and backslashes", () => {
    assert.equal(celString("node's \\ x"), "'node\\'s \\\\ x'");
  });
});
