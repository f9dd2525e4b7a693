import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { observer } from "@hangar/proto";
import { Counters, EventKind, type RuntimeEvent } from "@hangar/core";
import { HubbleNormalizer } from "./hubble.js";

// Flows as `hubble observe -o json` prints them (GetFlowsResponse, proto field names).
const POD_IP = "10.244.1.23";
const pod = {
  ID: 1234,
  identity: 48213,
  namespace: "mcp",
  labels: ["k8s:app.kubernetes.io/name=fs-tools", "k8s:mcp-hangar.io/provider=fs-tools"],
  pod_name: "fs-tools-5d8c7b9f6-8xk2p",
  workloads: [{ name: "fs-tools", kind: "Deployment" }],
};
const proxy = {
  ID: 77,
  identity: 31002,
  namespace: "hangar-system",
  labels: ["k8s:app.kubernetes.io/name=hangar-controller"],
  pod_name: "hangar-controller-6f7d9c8b5-2mkqz",
};
const world = { identity: 2, labels: ["reserved:world"] };

function flowOf(f: Record<string, JsonValue>): RuntimeEvent {
  const msg = fromJson(observer.GetFlowsResponseSchema, {
    flow: { time: "2026-03-02T10:00:05.200000000Z", uuid: "u1", node_name: "kind-hangar/kind-worker", ...f },
    node_name: "kind-hangar/kind-worker",
    time: "2026-03-02T10:00:05.200000000Z",
  });
  const r = new HubbleNormalizer(new Counters()).normalize(msg);
  assert.ok(r.event !== undefined);
  return r.event;
}
function flowDetail(ev: RuntimeEvent) {
  assert.equal(ev.detail.case, "flow");
  return ev.detail.value;
}

describe("direction on flows", () => {
  it("an egress SYN: the pod is the source and opened the connection", () => {
    const ev = flowOf({
      verdict: "FORWARDED",
      IP: { source: POD_IP, destination: "140.82.112.6", ipVersion: "IPv4" },
      l4: { TCP: { source_port: 51234, destination_port: 443, flags: { SYN: true } } },
      source: pod,
      destination: world,
      Type: "L3_L4",
      destination_names: ["api.github.com"],
      traffic_direction: "EGRESS",
      is_reply: false,
    });
    const d = flowDetail(ev);
    assert.equal(d.direction, "egress");
    assert.equal(d.podIsSource, true);
    assert.equal(d.trafficDirection, "egress");
    assert.equal(ev.pod?.ip, POD_IP);
  });
  it("the reply of an egress connection: the pod is the destination, the connection still the pod's", () => {
    const ev = flowOf({
      verdict: "FORWARDED",
      IP: { source: "140.82.112.6", destination: POD_IP, ipVersion: "IPv4" },
      l4: { TCP: { source_port: 443, destination_port: 51234, flags: { SYN: true, ACK: true } } },
      source: world,
      destination: pod,
      Type: "L3_L4",
      source_names: ["api.github.com"],
      traffic_direction: "EGRESS",
      is_reply: true,
    });
    const d = flowDetail(ev);
    assert.equal(d.direction, "egress");
    assert.equal(d.podIsSource, false);
    assert.equal(d.destinationIp, POD_IP, "destination stays the packet's");
    assert.deepEqual(d.sourceNames, ["api.github.com"]);
    assert.equal(ev.pod?.name, "fs-tools-5d8c7b9f6-8xk2p");
  });
  it("an ingress connection to the pod: the remote side opened it", () => {
    const ev = flowOf({
      verdict: "FORWARDED",
      IP: { source: "10.244.2.9", destination: POD_IP, ipVersion: "IPv4" },
      l4: { TCP: { source_port: 52000, destination_port: 3000, flags: { SYN: true } } },
      source: proxy,
      destination: pod,
      Type: "L3_L4",
      traffic_direction: "INGRESS",
      is_reply: false,
    });
    const d = flowDetail(ev);
    assert.equal(d.direction, "ingress");
    assert.equal(d.podIsSource, false);
    assert.equal(d.peerPod, "hangar-controller-6f7d9c8b5-2mkqz");
    assert.deepEqual(d.peerLabels, ["k8s:app.kubernetes.io/name=hangar-controller"]);
  });
  it("the pod's reply on an ingress connection: the pod is the source, the connection still ingress", () => {
    const d = flowDetail(
      flowOf({
        verdict: "FORWARDED",
        IP: { source: POD_IP, destination: "10.244.2.9", ipVersion: "IPv4" },
        l4: { TCP: { source_port: 3000, destination_port: 52000, flags: { SYN: true, ACK: true } } },
        source: pod,
        destination: proxy,
        Type: "L3_L4",
        traffic_direction: "INGRESS",
        is_reply: true,
      }),
    );
    assert.equal(d.direction, "ingress");
    assert.equal(d.podIsSource, true);
  });
  it("unlabelled endpoints: the side is the packet's direction at the endpoint Hubble saw", () => {
    const unlabelled = { ...pod, labels: ["k8s:app=web"] };
    const d = flowDetail(
      flowOf({
        IP: { source: "10.244.2.9", destination: POD_IP, ipVersion: "IPv4" },
        l4: { TCP: { source_port: 3000, destination_port: 52000 } },
        source: proxy,
        destination: unlabelled,
        traffic_direction: "EGRESS",
        is_reply: true,
      }),
    );
    assert.equal(d.podIsSource, false);
    assert.equal(d.direction, "egress");
  });
});

describe("Hubble's L7", () => {
  it("HTTP request and response keep method, url and status code", () => {
    const req = flowDetail(
      flowOf({
        verdict: "FORWARDED",
        IP: { source: POD_IP, destination: "10.244.3.41", ipVersion: "IPv4" },
        l4: { TCP: { source_port: 46620, destination_port: 8080 } },
        source: pod,
        destination: {
          namespace: "shop",
          pod_name: "inventory-7b9d5c4f8-lq2zt",
          labels: ["k8s:app=inventory"],
        },
        Type: "L7",
        l7: {
          type: "REQUEST",
          http: {
            method: "GET",
            url: "http://inventory.shop.svc.cluster.local:8080/v1/items",
            protocol: "HTTP/1.1",
          },
        },
        traffic_direction: "EGRESS",
        is_reply: false,
      }),
    );
    assert.equal(req.l7Type, "request");
    assert.equal(req.http?.method, "GET");
    assert.equal(req.http?.url, "http://inventory.shop.svc.cluster.local:8080/v1/items");
    const resp = flowDetail(
      flowOf({
        IP: { source: "10.244.3.41", destination: POD_IP, ipVersion: "IPv4" },
        source: { namespace: "shop", pod_name: "inventory-7b9d5c4f8-lq2zt" },
        destination: pod,
        Type: "L7",
        l7: { type: "RESPONSE", latency_ns: "2934112", http: { code: 200, method: "GET", url: "http://x/" } },
        traffic_direction: "EGRESS",
        is_reply: true,
      }),
    );
    assert.equal(resp.http?.code, 200);
    assert.equal(resp.l7Type, "response");
  });
  it("a DNS answer keeps query types and answer record types", () => {
    const ev = flowOf({
      IP: { source: "10.244.0.5", destination: POD_IP, ipVersion: "IPv4" },
      l4: { UDP: { source_port: 53, destination_port: 43811 } },
      source: {
        namespace: "kube-system",
        pod_name: "coredns-7db6d8ff4d-4lq9m",
        labels: ["k8s:k8s-app=kube-dns"],
      },
      destination: pod,
      Type: "L7",
      l7: {
        type: "RESPONSE",
        dns: {
          query: "api.github.com.",
          ips: ["140.82.112.6"],
          ttl: 30,
          rrtypes: ["A"],
          qtypes: ["A"],
          observation_source: "proxy",
        },
      },
      traffic_direction: "EGRESS",
      is_reply: true,
    });
    assert.equal(ev.kind, EventKind.DNS);
    assert.equal(ev.detail.case, "dns");
    if (ev.detail.case !== "dns") return;
    assert.deepEqual(ev.detail.value.rrtypes, ["A"]);
    assert.deepEqual(ev.detail.value.qtypes, ["A"]);
    assert.equal(ev.detail.value.query, "api.github.com");
    assert.equal(ev.pod?.name, "fs-tools-5d8c7b9f6-8xk2p", "the DNS answer belongs to the pod that asked");
  });
});
