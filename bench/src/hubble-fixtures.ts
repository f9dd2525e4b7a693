/**
 * Realistic Hubble GetFlowsResponse messages for `decode/hubble-lazy`, shaped like what
 * `hubble observe -o json` prints on a node with default settings: L3/L4 flows between MCP
 * pods and the outside with both endpoints' labels and workloads, ethernet, trace
 * observation point, event type, is_reply, interface; a fifth are DNS L7 answers and a tenth
 * HTTP L7. Deterministic (seeded).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { flow, observer } from "@hangar/proto";
import { PROVIDER_LABEL } from "@hangar/core";

const NODE = "ip-10-0-3-17.eu-west-1.compute.internal";
const START_MS = Date.parse("2026-03-02T09:00:00Z");

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function endpoint(rand: () => number, i: number, mcp: boolean): flow.Endpoint {
  const name = mcp ? `mcp-server-${i % 16}` : `api-gateway-${i % 5}`;
  const ns = mcp ? "mcp" : "default";
  const labels = [
    `k8s:app.kubernetes.io/name=${name}`,
    `k8s:io.kubernetes.pod.namespace=${ns}`,
    `k8s:io.cilium.k8s.policy.serviceaccount=${name}`,
    `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${ns}`,
  ];
  if (mcp) labels.push(`k8s:${PROVIDER_LABEL}=${name}`);
  return create(flow.EndpointSchema, {
    ID: 100 + (i % 200),
    identity: 20_000 + (i % 64),
    clusterName: "default",
    namespace: ns,
    labels,
    podName: `${name}-${Math.floor(rand() * 0xffffff).toString(36)}-${(i % 7).toString(36)}x9q`,
    workloads: [{ name, kind: "Deployment" }],
  });
}

/** `count` distinct flows (uuid and time differ). */
export function hubbleMessages(count: number, seed = 3): observer.GetFlowsResponse[] {
  const rand = prng(seed);
  const out: observer.GetFlowsResponse[] = [];
  for (let i = 0; i < count; i++) {
    const time = timestampFromMs(START_MS + i * 7);
    const local = endpoint(rand, i, true);
    const kind = rand();
    const value = create(flow.FlowSchema, {
      time,
      uuid: `5f0c9a2e-${i.toString(16).padStart(4, "0")}-4c1d-9b7e-${Math.floor(rand() * 2 ** 40)
        .toString(16)
        .padStart(12, "0")}`,
      verdict: flow.Verdict.FORWARDED,
      ethernet: { source: "6a:1f:03:9c:44:e2", destination: "2e:7b:aa:10:5d:01" },
      IP: {
        source: `10.244.1.${i % 250}`,
        destination: kind < 0.2 ? "10.96.0.10" : `140.82.${i % 200}.${(i * 7) % 250}`,
        ipVersion: flow.IPVersion.IPv4,
      },
      source: local,
      destination:
        kind < 0.5
          ? endpoint(rand, i + 1, false)
          : create(flow.EndpointSchema, { ID: 0, identity: 2, labels: ["reserved:world"] }),
      Type: kind < 0.3 ? flow.FlowType.L7 : flow.FlowType.L3_L4,
      nodeName: NODE,
      nodeLabels: ["kubernetes.io/hostname=node-1", "topology.kubernetes.io/zone=eu-west-1a"],
      destinationNames: kind > 0.6 ? ["api.github.com"] : [],
      eventType: { type: 4, subType: 3 },
      trafficDirection: flow.TrafficDirection.EGRESS,
      traceObservationPoint: flow.TraceObservationPoint.TO_STACK,
      isReply: rand() < 0.4,
      interface: { index: 17, name: "lxc1d2e3f4a5b6c" },
      Summary: "TCP Flags: ACK",
      cgroupId: BigInt(10_000 + (i % 32)),
    });
    if (kind < 0.2) {
      value.l4 = create(flow.Layer4Schema, {
        protocol: { case: "UDP", value: { sourcePort: 40_000 + (i % 999), destinationPort: 53 } },
      });
      value.l7 = create(flow.Layer7Schema, {
        type: flow.L7FlowType.RESPONSE,
        latencyNs: 120_000n,
        record: {
          case: "dns",
          value: {
            query: `svc-${i % 50}.example.com.`,
            ips: [`93.184.${i % 200}.34`],
            ttl: 30,
            qtypes: ["A"],
            rrtypes: ["A"],
            rcode: 0,
          },
        },
      });
    } else if (kind < 0.3) {
      value.l4 = create(flow.Layer4Schema, {
        protocol: { case: "TCP", value: { sourcePort: 50_000 + (i % 999), destinationPort: 80 } },
      });
      value.l7 = create(flow.Layer7Schema, {
        type: flow.L7FlowType.REQUEST,
        record: {
          case: "http",
          value: {
            code: 200,
            method: "GET",
            url: `http://api.internal/v1/items/${i}`,
            protocol: "HTTP/1.1",
            headers: [{ key: "user-agent", value: "curl/8.5.0" }],
          },
        },
      });
    } else {
      value.l4 = create(flow.Layer4Schema, {
        protocol: {
          case: "TCP",
          value: {
            sourcePort: 50_000 + (i % 999),
            destinationPort: 443,
            flags: { ACK: true, PSH: rand() < 0.5 },
          },
        },
      });
    }
    out.push(
      create(observer.GetFlowsResponseSchema, {
        nodeName: NODE,
        time,
        responseTypes: { case: "flow", value },
      }),
    );
  }
  return out;
}

export function hubblePool(count: number): Uint8Array[] {
  return hubbleMessages(count).map((m) => toBinary(observer.GetFlowsResponseSchema, m));
}
