import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { Counters, type RuntimeEvent } from "@hangar/core";
import { DnsNames, MIN_KEEP_MS } from "./names.js";

const T0 = Date.parse("2026-03-02T10:00:00Z");
const POD = { namespace: "mcp", name: "fs-tools-5d8c7b9f6-8xk2p" };

function ev(atMs: number, detail: RuntimeEvent["detail"], pod = POD): RuntimeEvent {
  return create(hangar.RuntimeEventSchema, { time: timestampFromMs(T0 + atMs), pod, detail });
}
const answer = (atMs: number, query: string, ips: string[], ttl = 30, pod = POD, cnames: string[] = []) =>
  ev(
    atMs,
    { case: "dns", value: create(hangar.DnsDetailSchema, { query, ips, ttl, response: true, cnames }) },
    pod,
  );
const connect = (atMs: number, ip: string, pod = POD) =>
  ev(
    atMs,
    {
      case: "connect",
      value: create(hangar.ConnectDetailSchema, { destinationIp: ip, destinationPort: 443 }),
    },
    pod,
  );
const names = (e: RuntimeEvent) => (e.detail.case === "connect" ? e.detail.value.destinationNames : []);

describe("names on connections", () => {
  it("a connect gets the names the pod's own DNS answers gave for its address (CNAMEs too)", () => {
    const counters = new Counters();
    const n = new DnsNames(counters);
    n.process(answer(0, "kubernetes.default.svc.cluster.local", ["10.0.0.1"]));
    n.process(answer(10, "cdn.example.com", ["203.0.113.9"], 30, POD, ["edge.cdn.example.net"]));
    const c = connect(50, "10.0.0.1");
    n.process(c);
    assert.deepEqual(names(c), ["kubernetes.default.svc.cluster.local"]);
    const d = connect(60, "203.0.113.9");
    n.process(d);
    assert.deepEqual(names(d), ["cdn.example.com", "edge.cdn.example.net"]);
    assert.deepEqual(counters.byLabel("dns_names_attached", "kind"), { connect: 2 });
  });
  it("another pod's answers do not name this pod's connections", () => {
    const n = new DnsNames(new Counters());
    n.process(answer(0, "c2.evil.example", ["203.0.113.52"], 30, { namespace: "default", name: "xwing" }));
    const c = connect(10, "203.0.113.52");
    n.process(c);
    assert.deepEqual(names(c), []);
  });
  it("answers are kept for their TTL, at least 5 minutes, by event time", () => {
    const n = new DnsNames(new Counters());
    n.process(answer(0, "short.example", ["198.51.100.1"], 5));
    n.process(answer(0, "long.example", ["198.51.100.2"], 3600));
    const early = connect(MIN_KEEP_MS - 1, "198.51.100.1");
    n.process(early);
    assert.deepEqual(names(early), ["short.example"]);
    const late = connect(MIN_KEEP_MS + 1, "198.51.100.1");
    n.process(late);
    assert.deepEqual(names(late), []);
    const longLived = connect(MIN_KEEP_MS + 1, "198.51.100.2");
    n.process(longLived);
    assert.deepEqual(names(longLived), ["long.example"]);
  });
  it("a flow gets names for its remote side when Hubble gave none", () => {
    const n = new DnsNames(new Counters());
    n.process(answer(0, "objects.example.net", ["198.51.100.7"]));
    const reply = ev(5, {
      case: "flow",
      value: create(hangar.FlowDetailSchema, {
        sourceIp: "198.51.100.7",
        destinationIp: "10.244.1.23",
        podIsSource: false,
      }),
    });
    n.process(reply);
    assert.equal(reply.detail.case, "flow");
    if (reply.detail.case === "flow") {
      assert.deepEqual(reply.detail.value.sourceNames, ["objects.example.net"]);
      assert.deepEqual(reply.detail.value.destinationNames, []);
    }
  });
  it("is bounded: the oldest answers go first", () => {
    const n = new DnsNames(new Counters(), 2);
    n.process(answer(0, "a.example", ["192.0.2.1"]));
    n.process(answer(1, "b.example", ["192.0.2.2"]));
    n.process(answer(2, "c.example", ["192.0.2.3"]));
    assert.equal(n.size, 2);
    const c = connect(3, "192.0.2.1");
    n.process(c);
    assert.deepEqual(names(c), []);
  });
});
