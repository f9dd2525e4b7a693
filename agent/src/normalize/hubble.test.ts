import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { flow, observer } from "@hangar/proto";
import { buildScenario } from "../simulator/scenario.js";
import { Counters, EventKind, Sensor, timeMs, type RuntimeEvent } from "@hangar/core";
import { HubbleNormalizer, parseLabels } from "./hubble.js";
import type { NormalizeResult } from "./tetragon.js";

const T0 = Date.parse("2026-03-02T09:00:00Z");
const MCP_LABELS = [
  "k8s:app=weather",
  "k8s:mcp-hangar.io/provider=weather",
  "k8s:io.kubernetes.pod.namespace=mcp",
];

/** The plain-object branch of a Flow's init shape. */
type FlowInit = Exclude<MessageInitShape<typeof flow.FlowSchema>, flow.Flow>;

function mcpEndpoint(): MessageInitShape<typeof flow.EndpointSchema> {
  return {
    ID: 2911,
    identity: 48213,
    namespace: "mcp",
    podName: "weather-6c9d7b8f4-x2x7q",
    labels: MCP_LABELS,
    workloads: [{ name: "weather", kind: "Deployment" }],
  };
}

function webEndpoint(): MessageInitShape<typeof flow.EndpointSchema> {
  return {
    ID: 17,
    identity: 30001,
    namespace: "shop",
    podName: "web-5f7d8c9b6-abcde",
    labels: ["k8s:app=web"],
  };
}

function flowResponse(f: FlowInit): observer.GetFlowsResponse {
  return create(observer.GetFlowsResponseSchema, {
    nodeName: "node-a",
    time: timestampFromMs(T0 + 999),
    responseTypes: { case: "flow", value: f },
  });
}

function tcpFlow(over: FlowInit = {}): FlowInit {
  return {
    time: timestampFromMs(T0 + 60),
    uuid: "5f1c0a3e-0000-4000-8000-000000000001",
    verdict: flow.Verdict.FORWARDED,
    IP: { source: "10.244.1.17", destination: "203.0.113.66", ipVersion: flow.IPVersion.IPv4 },
    l4: {
      protocol: { case: "TCP", value: { sourcePort: 48562, destinationPort: 443, flags: { SYN: true } } },
    },
    source: mcpEndpoint(),
    destination: { identity: 2, labels: ["reserved:world"] },
    Type: flow.FlowType.L3_L4,
    nodeName: "node-a",
    destinationNames: ["api.weather.example"],
    trafficDirection: flow.TrafficDirection.EGRESS,
    isReply: false,
    ...over,
  };
}

function normalize(msg: observer.GetFlowsResponse, counters = new Counters()): NormalizeResult {
  return new HubbleNormalizer(counters).normalize(msg);
}

function eventOf(r: NormalizeResult): RuntimeEvent {
  assert.equal(r.dropped, undefined, `unexpectedly dropped: ${r.dropped}`);
  assert.ok(r.event !== undefined);
  return r.event;
}

function flowDetail(ev: RuntimeEvent) {
  assert.equal(ev.detail.case, "flow");
  if (ev.detail.case !== "flow") throw new Error("unreachable");
  return ev.detail.value;
}

describe("parseLabels", () => {
  it("parses k8s:key=value, keeps '=' inside values, and maps a value-less label to ''", () => {
    assert.deepEqual(parseLabels(["k8s:app=web", "k8s:flag", "k8s:expr=a=b", "k8s:empty="]), {
      app: "web",
      flag: "",
      expr: "a=b",
      empty: "",
    });
  });

  it("skips labels of other sources (reserved:, cidr:, container:)", () => {
    assert.deepEqual(parseLabels(["reserved:world", "cidr:10.0.0.0/8", "container:x=y", "k8s:app=web"]), {
      app: "web",
    });
  });

  it("is empty for no labels", () => {
    assert.deepEqual(parseLabels([]), {});
  });
});

describe("HubbleNormalizer: DNS", () => {
  it("a DNS L7 response becomes a dns event with the trailing dot stripped", () => {
    const scenario = buildScenario();
    const dns = scenario.hubble.find(
      (m) => m.responseTypes.case === "flow" && m.responseTypes.value.l7?.record.case === "dns",
    );
    assert.ok(dns !== undefined);
    const ev = eventOf(normalize(dns));
    assert.equal(ev.kind, EventKind.DNS);
    assert.equal(ev.sensor, Sensor.HUBBLE);
    assert.equal(ev.detail.case, "dns");
    if (ev.detail.case !== "dns") return;
    assert.equal(ev.detail.value.query, "api.weather.example");
    assert.deepEqual(ev.detail.value.ips, ["198.51.100.7"]);
    assert.deepEqual(ev.detail.value.qtypes, ["A"]);
    assert.equal(ev.detail.value.ttl, 30);
    assert.equal(ev.detail.value.response, true);
    // The response goes coredns → pod; the pod with the provider label is the local side.
    assert.equal(ev.pod?.namespace, "mcp");
    assert.equal(ev.pod?.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(ev.pod?.ip, "10.244.1.17");
    assert.equal(ev.pod?.labels["mcp-hangar.io/provider"], "weather");
  });

  it("a DNS request is response=false and keeps a name without a trailing dot as is", () => {
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            l4: { protocol: { case: "UDP", value: { sourcePort: 41000, destinationPort: 53 } } },
            Type: flow.FlowType.L7,
            l7: {
              type: flow.L7FlowType.REQUEST,
              record: { case: "dns", value: { query: "evil.example", qtypes: ["TXT"] } },
            },
          }),
        ),
      ),
    );
    assert.equal(ev.detail.case, "dns");
    if (ev.detail.case !== "dns") return;
    assert.equal(ev.detail.value.query, "evil.example");
    assert.equal(ev.detail.value.response, false);
  });
});

describe("HubbleNormalizer: flows", () => {
  it("a TCP flow carries ports, protocol, SYN flag, verdict, names and peer", () => {
    const ev = eventOf(normalize(flowResponse(tcpFlow())));
    assert.equal(ev.kind, EventKind.FLOW);
    const d = flowDetail(ev);
    assert.equal(d.protocol, "tcp");
    assert.equal(d.direction, "egress");
    assert.equal(d.verdict, "FORWARDED");
    assert.equal(d.sourceIp, "10.244.1.17");
    assert.equal(d.sourcePort, 48562);
    assert.equal(d.destinationIp, "203.0.113.66");
    assert.equal(d.destinationPort, 443);
    assert.deepEqual(d.tcpFlags, ["SYN"]);
    assert.deepEqual(d.destinationNames, ["api.weather.example"]);
    assert.deepEqual(d.destinationLabels, ["reserved:world"]);
    assert.equal(d.isReply, false);
    assert.equal(d.dropReason, "");
    assert.equal(d.peerNamespace, "");
    assert.equal(d.peerPod, "");
    assert.equal(ev.id, "flow:5f1c0a3e-0000-4000-8000-000000000001");
    assert.equal(ev.node, "node-a");
    // The flow's own time wins over the response's.
    assert.equal(timeMs(ev.time), T0 + 60);
  });

  it("lists several TCP flags in a fixed order", () => {
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            l4: {
              protocol: {
                case: "TCP",
                value: { sourcePort: 1, destinationPort: 2, flags: { ACK: true, FIN: true, PSH: true } },
              },
            },
          }),
        ),
      ),
    );
    assert.deepEqual(flowDetail(ev).tcpFlags, ["FIN", "PSH", "ACK"]);
  });

  it("egress from the provider pod: the local pod is the source, the peer the destination", () => {
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            source: mcpEndpoint(),
            destination: webEndpoint(),
            IP: { source: "10.244.1.17", destination: "10.244.2.5" },
            trafficDirection: flow.TrafficDirection.EGRESS,
          }),
        ),
      ),
    );
    assert.equal(ev.pod?.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(ev.pod?.ip, "10.244.1.17");
    assert.equal(ev.pod?.workload, "weather");
    assert.equal(ev.pod?.workloadKind, "Deployment");
    assert.deepEqual(ev.pod?.labels, {
      app: "weather",
      "mcp-hangar.io/provider": "weather",
      "io.kubernetes.pod.namespace": "mcp",
    });
    const d = flowDetail(ev);
    assert.equal(d.peerNamespace, "shop");
    assert.equal(d.peerPod, "web-5f7d8c9b6-abcde");
    assert.equal(d.destinationNamespace, "shop");
    assert.equal(d.destinationPod, "web-5f7d8c9b6-abcde");
  });

  it("ingress to the provider pod: the local pod is the destination, the peer the source", () => {
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            source: webEndpoint(),
            destination: mcpEndpoint(),
            IP: { source: "10.244.2.5", destination: "10.244.1.17" },
            l4: {
              protocol: {
                case: "TCP",
                value: { sourcePort: 50000, destinationPort: 8080, flags: { SYN: true } },
              },
            },
            trafficDirection: flow.TrafficDirection.INGRESS,
          }),
        ),
      ),
    );
    assert.equal(ev.pod?.namespace, "mcp");
    assert.equal(ev.pod?.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(ev.pod?.ip, "10.244.1.17");
    const d = flowDetail(ev);
    assert.equal(d.direction, "ingress");
    assert.equal(d.peerNamespace, "shop");
    assert.equal(d.peerPod, "web-5f7d8c9b6-abcde");
    assert.equal(d.destinationPort, 8080);
  });

  it("the provider label decides the local side even against the direction", () => {
    // Egress seen from the web pod towards the provider: the provider is still "ours".
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            source: webEndpoint(),
            destination: mcpEndpoint(),
            IP: { source: "10.244.2.5", destination: "10.244.1.17" },
            trafficDirection: flow.TrafficDirection.EGRESS,
          }),
        ),
      ),
    );
    assert.equal(ev.pod?.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(ev.pod?.ip, "10.244.1.17");
    assert.equal(flowDetail(ev).peerPod, "web-5f7d8c9b6-abcde");
  });

  it("without a provider label on either side, the direction picks the local pod", () => {
    const egress = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            source: webEndpoint(),
            destination: { identity: 2, labels: ["reserved:world"] },
            trafficDirection: flow.TrafficDirection.EGRESS,
          }),
        ),
      ),
    );
    assert.equal(egress.pod?.name, "web-5f7d8c9b6-abcde");
    const ingress = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            source: { identity: 2, labels: ["reserved:world"] },
            destination: webEndpoint(),
            trafficDirection: flow.TrafficDirection.INGRESS,
          }),
        ),
      ),
    );
    assert.equal(ingress.pod?.name, "web-5f7d8c9b6-abcde");
    assert.equal(ingress.pod?.ip, "203.0.113.66");
  });

  it("a flow whose local side is a world endpoint has no pod", () => {
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({
            source: { identity: 2, labels: ["reserved:world"] },
            destination: webEndpoint(),
            trafficDirection: flow.TrafficDirection.EGRESS,
          }),
        ),
      ),
    );
    assert.equal(ev.pod, undefined);
  });

  it("a DROPPED flow names its drop reason", () => {
    const ev = eventOf(
      normalize(
        flowResponse(
          tcpFlow({ verdict: flow.Verdict.DROPPED, dropReasonDesc: flow.DropReason.POLICY_DENIED }),
        ),
      ),
    );
    const d = flowDetail(ev);
    assert.equal(d.verdict, "DROPPED");
    assert.equal(d.dropReason, "POLICY_DENIED");
  });

  it("a UDP flow has ports and no TCP flags; an ICMP flow has neither", () => {
    const udp = flowDetail(
      eventOf(
        normalize(
          flowResponse(
            tcpFlow({ l4: { protocol: { case: "UDP", value: { sourcePort: 5353, destinationPort: 53 } } } }),
          ),
        ),
      ),
    );
    assert.equal(udp.protocol, "udp");
    assert.equal(udp.destinationPort, 53);
    assert.deepEqual(udp.tcpFlags, []);
    const icmp = flowDetail(
      eventOf(normalize(flowResponse(tcpFlow({ l4: { protocol: { case: "ICMPv4", value: { type: 8 } } } })))),
    );
    assert.equal(icmp.protocol, "icmpv4");
    assert.equal(icmp.sourcePort, 0);
    assert.equal(icmp.destinationPort, 0);
  });

  it("uses the response's node and time when the flow has none, and builds an id without uuid", () => {
    const msg = flowResponse(tcpFlow({ uuid: "", nodeName: "" }));
    if (msg.responseTypes.case === "flow") msg.responseTypes.value.time = undefined;
    const ev = eventOf(normalize(msg));
    assert.equal(ev.node, "node-a");
    assert.equal(timeMs(ev.time), T0 + 999);
    assert.match(ev.id, /^flow:\d+\.\d+:10\.244\.1\.17>203\.0\.113\.66$/);
  });

  it("keeps the cgroup id as a process identity", () => {
    const ev = eventOf(normalize(flowResponse(tcpFlow({ cgroupId: 12345n }))));
    assert.equal(ev.process?.cgroupId, 12345n);
    const none = eventOf(normalize(flowResponse(tcpFlow())));
    assert.equal(none.process, undefined);
  });
});

describe("HubbleNormalizer: non-flow responses", () => {
  it("lost_events are counted by source with their number", () => {
    const counters = new Counters();
    const n = new HubbleNormalizer(counters);
    const lost = (source: flow.LostEventSource, num: bigint): observer.GetFlowsResponse =>
      create(observer.GetFlowsResponseSchema, {
        responseTypes: { case: "lostEvents", value: { source, numEventsLost: num } },
      });
    assert.deepEqual(n.normalize(lost(flow.LostEventSource.HUBBLE_RING_BUFFER, 5n)), {
      dropped: "sensor_notice",
    });
    n.normalize(lost(flow.LostEventSource.PERF_EVENT_RING_BUFFER, 7n));
    n.normalize(lost(flow.LostEventSource.HUBBLE_RING_BUFFER, 1n));
    assert.deepEqual(counters.byLabel("sensor_lost_events", "reason"), {
      hubble_ring_buffer: 6,
      perf_event_ring_buffer: 7,
    });
    assert.equal(counters.get("dropped", { reason: "sensor_notice" }), 3);
  });

  it("node_status is counted", () => {
    const counters = new Counters();
    const r = normalize(
      create(observer.GetFlowsResponseSchema, {
        responseTypes: { case: "nodeStatus", value: { nodeNames: ["node-b"], message: "gone" } },
      }),
      counters,
    );
    assert.deepEqual(r, { dropped: "sensor_notice" });
    assert.equal(counters.get("sensor_node_status", { sensor: "hubble" }), 1);
  });

  it("an empty response is dropped as unknown_variant", () => {
    const counters = new Counters();
    assert.deepEqual(normalize(create(observer.GetFlowsResponseSchema), counters), {
      dropped: "unknown_variant",
    });
    assert.equal(counters.get("dropped", { reason: "unknown_variant" }), 1);
  });

  it("an unknown response variant (e.g. an agent event) is unknown_variant and counted as unknown field", () => {
    const bytes = new BinaryWriter()
      .tag(4, WireType.LengthDelimited)
      .bytes(new Uint8Array([0x08, 0x01]))
      .tag(1000, WireType.LengthDelimited)
      .string("node-a")
      .finish();
    const counters = new Counters();
    const r = normalize(fromBinary(observer.GetFlowsResponseSchema, bytes), counters);
    assert.deepEqual(r, { dropped: "unknown_variant" });
    assert.equal(counters.get("unknown_fields", { sensor: "hubble" }), 1);
  });
});
