import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  generate,
  parseEgressAnnotation,
  parseEndpoint,
  policyName,
  type GenerateInput,
} from "./generate.js";

const base: GenerateInput = {
  enforcementId: "e1",
  alertId: "a1",
  ruleId: "r1",
  provider: "weather",
  namespace: "mcp",
  action: "tighten_egress",
  declared: [],
  baseline: { egress: [], dns: [] },
  cilium: false,
  expiresAt: "2026-11-22T00:00:00.000Z",
  dns: { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } },
  controller: { namespace: "hangar-system", podLabels: { app: "c" } },
};

describe("parseEndpoint", () => {
  it("reads ips, cidrs, hosts, ports, protocols and bracketed IPv6", () => {
    assert.deepEqual(parseEndpoint("203.0.113.7"), { kind: "cidr", cidr: "203.0.113.7/32" });
    assert.deepEqual(parseEndpoint("203.0.113.7:443/tcp"), {
      kind: "cidr",
      cidr: "203.0.113.7/32",
      port: 443,
      protocol: "TCP",
    });
    assert.deepEqual(parseEndpoint("10.0.0.0/8:5432"), { kind: "cidr", cidr: "10.0.0.0/8", port: 5432 });
    assert.deepEqual(parseEndpoint("[2001:db8::1]:443/any"), {
      kind: "cidr",
      cidr: "2001:db8::1/128",
      port: 443,
    });
    assert.deepEqual(parseEndpoint("2001:db8::/32"), { kind: "cidr", cidr: "2001:db8::/32" });
    assert.deepEqual(parseEndpoint("API.Weather.gov.:443"), {
      kind: "host",
      host: "api.weather.gov",
      port: 443,
    });
  });
  it("names what is wrong", () => {
    assert.equal(parseEndpoint(""), "empty destination");
    assert.match(parseEndpoint("1.2.3.4:99999") as string, /port "99999" is not 1\.\.65535/);
    assert.match(parseEndpoint("1.2.3.4:80/icmp") as string, /protocol "icmp"/);
    assert.match(parseEndpoint("300.1.1.1/8") as string, /is not a valid CIDR/);
    assert.match(parseEndpoint("10.0.0.0/33") as string, /is not a valid CIDR/);
    assert.match(parseEndpoint("bad_host!") as string, /is not an IP, CIDR or DNS name/);
    assert.match(parseEndpoint("[::1") as string, /missing "]"/);
  });
  it("the egress annotation: separators, and errors kept apart from good entries", () => {
    const r = parseEgressAnnotation("api.example.com:443, 10.0.0.0/8:5432\n bad!:1");
    assert.equal(r.endpoints.length, 2);
    assert.equal(r.errors.length, 1);
  });
});

describe("generate", () => {
  it("names: one per provider and action; one per destination for blocks", () => {
    assert.equal(policyName("weather", "quarantine"), "hangar-quarantine-weather");
    const a = policyName("weather", "block_egress", { kind: "cidr", cidr: "1.2.3.4/32" });
    const b = policyName("weather", "block_egress", { kind: "cidr", cidr: "1.2.3.5/32" });
    assert.match(a, /^hangar-block-weather-[0-9a-f]{10}$/);
    assert.notEqual(a, b);
  });
  it("labels and annotations say who owns it, why, and until when", () => {
    const g = generate(base);
    assert.deepEqual(g.object.metadata.labels, {
      "app.kubernetes.io/managed-by": "hangar-controller",
      "mcp-hangar.io/provider": "weather",
      "mcp-hangar.io/action": "tighten-egress",
    });
    assert.deepEqual(g.object.metadata.annotations, {
      "mcp-hangar.io/enforcement-id": "e1",
      "mcp-hangar.io/alert-id": "a1",
      "mcp-hangar.io/rule-id": "r1",
      "mcp-hangar.io/expires-at": "2026-11-22T00:00:00.000Z",
    });
  });
  it("plain NetworkPolicy: DNS always first; ports without a protocol allow TCP and UDP; hosts only noted", () => {
    const g = generate({
      ...base,
      declared: [
        { kind: "cidr", cidr: "192.0.2.1/32", port: 53 },
        { kind: "host", host: "api.example.com", port: 443 },
      ],
    });
    const egress = (g.object["spec"] as { egress: { to: unknown[]; ports?: unknown[] }[] }).egress;
    assert.equal(egress.length, 2);
    assert.deepEqual(egress[1], {
      to: [{ ipBlock: { cidr: "192.0.2.1/32" } }],
      ports: [
        { protocol: "TCP", port: 53 },
        { protocol: "UDP", port: 53 },
      ],
    });
    assert.ok(g.notes.some((n) => n.includes("api.example.com")));
  });
  it("Cilium tighten: toFQDNs for names with their ports, toCIDR for addresses, the DNS proxy rule", () => {
    const g = generate({
      ...base,
      cilium: true,
      declared: [{ kind: "host", host: "api.example.com", port: 443, protocol: "TCP" }],
      baseline: {
        egress: [{ kind: "cidr", cidr: "198.51.100.0/24", port: 5432, protocol: "TCP" }],
        dns: ["other.example.org."],
      },
    });
    const spec = g.object["spec"] as { egress: Record<string, unknown>[] };
    assert.deepEqual(spec.egress.slice(1), [
      { toCIDR: ["198.51.100.0/24"], toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }] },
      {
        toFQDNs: [{ matchName: "api.example.com" }],
        toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }],
      },
      { toFQDNs: [{ matchName: "other.example.org" }] },
    ]);
    assert.deepEqual((spec.egress[0] as { toPorts: unknown[] }).toPorts, [
      { ports: [{ port: "53", protocol: "ANY" }], rules: { dns: [{ matchPattern: "*" }] } },
    ]);
  });
  it("block without Cilium leaves the destination out of the allow-list; with Cilium it is an egressDeny", () => {
    const destination = { kind: "cidr" as const, cidr: "203.0.113.10/32", port: 443 };
    const input = {
      ...base,
      action: "block_egress" as const,
      destination,
      baseline: {
        egress: [
          { kind: "cidr" as const, cidr: "203.0.113.10/32", port: 443 },
          { kind: "cidr" as const, cidr: "203.0.113.11/32", port: 443 },
        ],
        dns: [],
      },
    };
    const plain = JSON.stringify(generate(input).object["spec"]);
    assert.ok(!plain.includes("203.0.113.10/32") && plain.includes("203.0.113.11/32"));
    const cil = generate({ ...input, cilium: true }).object["spec"] as Record<string, unknown>;
    assert.deepEqual(cil["egressDeny"], [
      { toCIDR: ["203.0.113.10/32"], toPorts: [{ ports: [{ port: "443", protocol: "ANY" }] }] },
    ]);
    assert.equal(cil["egress"], undefined, "a deny-only policy adds no allow rules");
  });
  it("a host cannot be blocked (no toFQDNs in egressDeny, no names in NetworkPolicy)", () => {
    const input = {
      ...base,
      action: "block_egress" as const,
      destination: { kind: "host" as const, host: "evil.example.com" },
    };
    assert.throws(() => generate(input), /cannot name host/);
    assert.throws(() => generate({ ...input, cilium: true }), /egressDeny has no toFQDNs/);
  });
});
