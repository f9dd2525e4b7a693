import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { comparable, unifiedDiff } from "./diff.js";
import type { KubeObject } from "../kube/kube.js";

const obj = (cidr: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "n", namespace: "mcp", ...extra },
  spec: { egress: [{ to: [{ ipBlock: { cidr } }] }] },
});

describe("diff", () => {
  it("equal objects (server fields aside) have no diff", () => {
    assert.equal(
      unifiedDiff(obj("1.1.1.1/32", { resourceVersion: "5", managedFields: [] }), obj("1.1.1.1/32"), "n"),
      "",
    );
    assert.deepEqual(
      comparable(obj("1.1.1.1/32", { uid: "u", creationTimestamp: "t" })),
      comparable(obj("1.1.1.1/32")),
    );
  });
  it("a change is one hunk with context, old and new lines", () => {
    const d = unifiedDiff(obj("1.1.1.1/32"), obj("2.2.2.2/32"), "NetworkPolicy/n");
    assert.match(d, /^--- live\/NetworkPolicy\/n\n\+\+\+ new\/NetworkPolicy\/n\n@@ -\d+,\d+ \+\d+,\d+ @@\n/);
    assert.match(d, /\n-\s+"cidr": "1\.1\.1\.1\/32"\n\+\s+"cidr": "2\.2\.2\.2\/32"\n/);
    assert.equal(d.split("\n").filter((l) => l.startsWith("@@")).length, 1);
  });
  it("creation and deletion diff against /dev/null", () => {
    assert.match(
      unifiedDiff(undefined, obj("1.1.1.1/32"), "n"),
      /^--- \/dev\/null\n\+\+\+ new\/n\n@@ -0,0 \+1,\d+ @@\n\+\{/,
    );
    assert.match(
      unifiedDiff(obj("1.1.1.1/32"), undefined, "n"),
      /^--- live\/n\n\+\+\+ \/dev\/null\n@@ -1,\d+ \+0,0 @@\n-\{/,
    );
  });
});
