import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { EndpointDirectory, endpointsFromSlices, type PodEndpoint } from "./endpoints.js";

const svc = { provider: "weather", namespace: "mcp", service: "weather", port: "mcp" };

function slice(
  endpoints: V1EndpointSlice["endpoints"],
  extra: Partial<V1EndpointSlice> = {},
): V1EndpointSlice {
  return {
    metadata: { name: "weather-abc", namespace: "mcp" },
    addressType: "IPv4",
    ports: [
      { name: "metrics", port: 9090, protocol: "TCP" },
      { name: "mcp", port: 8080, protocol: "TCP" },
    ],
    endpoints,
    ...extra,
  };
}

const pod = (name: string) => ({ kind: "Pod", namespace: "mcp", name, uid: `uid-${name}` });

describe("endpointsFromSlices", () => {
  it("dials a provider with tls over https", () => {
    const eps = endpointsFromSlices({ ...svc, tls: { ca: "/etc/hangar/pods-ca.crt" } }, [
      slice([{ addresses: ["10.0.0.1"], targetRef: pod("w-1") }]),
    ]);
    assert.deepEqual(
      eps.map((e) => e.url),
      ["https://10.0.0.1:8080/mcp"],
    );
  });

  it("takes address, named port, pod identity, node and readiness", () => {
    const eps = endpointsFromSlices(svc, [
      slice([
        { addresses: ["10.0.0.1"], conditions: { ready: true }, nodeName: "n1", targetRef: pod("w-1") },
        {
          addresses: ["10.0.0.2"],
          conditions: { ready: false, serving: true, terminating: true },
          targetRef: pod("w-2"),
        },
        {
          addresses: ["10.0.0.3"],
          conditions: { ready: false, serving: false, terminating: true },
          targetRef: pod("w-3"),
        },
      ]),
    ]);
    assert.deepEqual(
      eps.map((e) => [e.key, e.url, e.node, e.podUid, e.ready, e.slice]),
      [
        ["mcp/w-1", "http://10.0.0.1:8080/mcp", "n1", "uid-w-1", true, "weather-abc"],
        ["mcp/w-2", "http://10.0.0.2:8080/mcp", "", "uid-w-2", false, "weather-abc"],
      ],
      "a terminating pod that still serves keeps its sessions but gets no new ones; one that stopped serving is gone",
    );
  });

  it("handles IPv6, endpoints without a pod, a missing port, and the address override", () => {
    const v6 = endpointsFromSlices({ ...svc, path: "/rpc" }, [
      slice([{ addresses: ["fd00::7"] }], { addressType: "IPv6" }),
    ]);
    assert.deepEqual(
      v6.map((e) => [e.key, e.url]),
      [["[fd00::7]:8080", "http://[fd00::7]:8080/rpc"]],
    );
    assert.deepEqual(
      endpointsFromSlices({ ...svc, port: "nope" }, [slice([{ addresses: ["10.0.0.1"] }])]),
      [],
    );
    const mapped = endpointsFromSlices(svc, [slice([{ addresses: ["192.0.2.10"], targetRef: pod("w-1") }])], {
      "192.0.2.10:8080": "http://127.0.0.1:45678",
    });
    assert.equal(mapped[0]?.url, "http://127.0.0.1:45678/mcp");
    assert.equal(mapped[0]?.address, "192.0.2.10", "the identity stays the slice's");
  });
});

describe("EndpointDirectory", () => {
  const ep = (key: string, ready = true): PodEndpoint => ({
    key,
    podNamespace: "mcp",
    podName: key,
    podUid: "",
    node: "",
    address: "10.0.0.1",
    port: 1,
    url: "http://10.0.0.1:1/mcp",
    ready,
    slice: "",
  });

  it("picks the least loaded ready endpoint and reports the ones that leave", () => {
    const d = new EndpointDirectory();
    const lost: string[] = [];
    d.onLoss((provider, e, reason) => lost.push(`${provider}:${e.key}:${reason}`));
    d.set("w", [ep("a"), ep("b"), ep("c", false)]);
    const load = new Map([
      ["a", 3],
      ["b", 1],
    ]);
    assert.equal(d.pick("w", (k) => load.get(k) ?? 0)?.key, "b");
    assert.equal(
      d.pick("nope", () => 0),
      undefined,
    );
    d.set("w", [ep("b"), ep("c")]);
    assert.deepEqual(lost, ["w:a:it left the provider's EndpointSlices"]);
    d.set("w", [ep("b", false)]);
    assert.equal(
      d.pick("w", () => 0),
      undefined,
      "no ready endpoint",
    );
  });
});
