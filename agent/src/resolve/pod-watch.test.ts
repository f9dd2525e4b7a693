import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { podInfo } from "./pod-watch.js";

function pod(): V1Pod {
  return {
    metadata: {
      namespace: "mcp",
      name: "weather-6c9d7b8f4-x2x7q",
      uid: "3b0f6a2e-6d3c-4b7e-9a51-0c4c1f9e2d11",
      labels: { app: "weather", "mcp-hangar.io/provider": "weather" },
    },
    status: {
      podIP: "10.244.1.17",
      podIPs: [{ ip: "10.244.1.17" }, { ip: "fd00::17" }],
      containerStatuses: [
        {
          name: "server",
          image: "ghcr.io/example/weather-mcp:1.2.0",
          imageID: "ghcr.io/example/weather-mcp@sha256:4b82",
          containerID: "containerd://9f2c4e1ab03d",
          ready: true,
          restartCount: 0,
        },
        // Not started yet: no container id.
        { name: "sidecar", image: "envoy:1", imageID: "", ready: false, restartCount: 0 },
      ],
      initContainerStatuses: [
        {
          name: "init",
          image: "busybox:1",
          imageID: "",
          containerID: "containerd://1111aaaa",
          ready: false,
          restartCount: 0,
        },
      ],
      ephemeralContainerStatuses: [
        {
          name: "debugger",
          image: "busybox:1",
          imageID: "",
          containerID: "containerd://2222bbbb",
          ready: false,
          restartCount: 0,
        },
      ],
    },
  };
}

describe("podInfo", () => {
  it("takes namespace, name, uid and labels from the metadata", () => {
    const info = podInfo(pod());
    assert.ok(info !== undefined);
    assert.equal(info.namespace, "mcp");
    assert.equal(info.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(info.uid, "3b0f6a2e-6d3c-4b7e-9a51-0c4c1f9e2d11");
    assert.deepEqual(info.labels, { app: "weather", "mcp-hangar.io/provider": "weather" });
  });

  it("lists every pod IP (dual stack)", () => {
    assert.deepEqual(podInfo(pod())?.ips, ["10.244.1.17", "fd00::17"]);
  });

  it("lists containers, init containers and ephemeral (debug) containers that have an id", () => {
    assert.deepEqual(podInfo(pod())?.containers, [
      { id: "containerd://9f2c4e1ab03d", name: "server", image: "ghcr.io/example/weather-mcp:1.2.0" },
      { id: "containerd://1111aaaa", name: "init", image: "busybox:1" },
      { id: "containerd://2222bbbb", name: "debugger", image: "busybox:1" },
    ]);
  });

  it("keeps the pod's mcp-hangar.io/ annotations and no others", () => {
    const p = pod();
    (p.metadata ??= {}).annotations = {
      "mcp-hangar.io/learning-window": "30m",
      "kubectl.kubernetes.io/last-applied-configuration": "{…}",
    };
    assert.deepEqual(podInfo(p)?.annotations, { "mcp-hangar.io/learning-window": "30m" });
    assert.equal(podInfo(pod())?.annotations, undefined);
  });

  it("is undefined for a pod without uid", () => {
    const p = pod();
    delete p.metadata?.uid;
    assert.equal(podInfo(p), undefined);
    assert.equal(podInfo({}), undefined);
  });

  it("copes with a pending pod: no status, no labels, empty IP entries", () => {
    const info = podInfo({ metadata: { uid: "u1", name: "p" }, status: { podIPs: [{ ip: "" }] } });
    assert.deepEqual(info, { namespace: "", name: "p", uid: "u1", labels: {}, ips: [], containers: [] });
  });
});
