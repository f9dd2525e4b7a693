import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters } from "@hangar/core";
import { McpPodTracker } from "./mcp-pods.js";

describe("McpPodTracker", () => {
  it("tracks pods with the provider label and tells listeners", () => {
    const t = new McpPodTracker(new Counters());
    let changes = 0;
    const off = t.onChange(() => changes++);
    const pod = {
      namespace: "a",
      name: "b",
      uid: "u1",
      labels: { "mcp-hangar.io/provider": "p" },
      ips: [],
      containers: [],
    };
    t.upsert(pod);
    t.upsert({ ...pod, uid: "u2", labels: {} });
    assert.deepEqual([...t.mcpPodUids()], ["u1"]);
    assert.ok(changes >= 2);
    t.remove("u1");
    assert.deepEqual([...t.mcpPodUids()], []);
    off();
    const before = changes;
    t.upsert(pod);
    assert.equal(changes, before);
    assert.equal(t.size, 2, "still a WorkloadResolver");
  });
});
