/**
 * Policy generation: from an action, the provider's declared capabilities (pod
 * annotation `mcp-hangar.io/egress`) and its learned baseline to the exact
 * NetworkPolicy or CiliumNetworkPolicy to apply. Pure functions; notes say
 * what a plain NetworkPolicy cannot express.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { Action } from "./policy.js";
import type { KubeObject } from "../kube/kube.js";
import { EGRESS_ANNOTATION, PROVIDER_LABEL } from "@hangar/core";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "hangar-controller";
export const ACTION_LABEL = "mcp-hangar.io/action";
export { EGRESS_ANNOTATION };
export const ANN_ENFORCEMENT = "mcp-hangar.io/enforcement-id";
export const ANN_ALERT = "mcp-hangar.io/alert-id";
export const ANN_RULE = "mcp-hangar.io/rule-id";
export const ANN_EXPIRES = "mcp-hangar.io/expires-at";

export type Protocol = "TCP" | "UDP" | "SCTP";

/** One destination: an address block or a host name, with an optional port and protocol. */
export type Endpoint =
  | { kind: "cidr"; cidr: string; port?: number; protocol?: Protocol }
  | { kind: "host"; host: string; port?: number; protocol?: Protocol };

const DNS_NAME =
  // eslint-disable-next-line security/detect-unsafe-regex -- linear: each repetition starts with a literal dot, length capped at 253 by the lookahead
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/;

/**
 * Parses `ip`, `cidr`, `host`, with an optional `:port` and `/proto`
 * (`203.0.113.7:443/tcp`, `[2001:db8::1]:443`, `10.0.0.0/8:5432`,
 * `api.example.com:443`). Returns a message naming the problem instead of throwing.
 */
export function parseEndpoint(input: string): Endpoint | string {
  const s = input.trim().toLowerCase();
  if (s === "") return "empty destination";
  let host: string;
  let rest = "";
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return `${JSON.stringify(input)}: missing "]"`;
    host = s.slice(1, close);
    rest = s.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return `${JSON.stringify(input)}: expected ":port" after "]"`;
    rest = rest.slice(1);
  } else {
    const colons = s.split(":").length - 1;
    if (colons >= 2) host = s;
    else if (colons === 1) [host, rest] = s.split(":") as [string, string];
    else host = s;
  }
  let port: number | undefined;
  let protocol: Protocol | undefined;
  if (rest !== "") {
    const [p, proto] = rest.split("/");
    if (!/^\d{1,5}$/.test(p ?? "") || Number(p) < 1 || Number(p) > 65535)
      return `${JSON.stringify(input)}: port ${JSON.stringify(p)} is not 1..65535`;
    port = Number(p);
    if (proto !== undefined && proto !== "any") {
      const up = proto.toUpperCase();
      if (up !== "TCP" && up !== "UDP" && up !== "SCTP")
        return `${JSON.stringify(input)}: protocol ${JSON.stringify(proto)} is not tcp, udp, sctp or any`;
      protocol = up;
    }
  }
  const withPort = <T extends object>(e: T): T & { port?: number; protocol?: Protocol } => ({
    ...e,
    ...(port !== undefined ? { port } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
  });
  if (host.includes("/")) {
    const [addr, bits] = host.split("/") as [string, string];
    const v = isIP(addr);
    const max = v === 4 ? 32 : 128;
    if (v === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
      return `${JSON.stringify(input)}: ${JSON.stringify(host)} is not a valid CIDR`;
    return withPort({ kind: "cidr" as const, cidr: `${addr}/${Number(bits)}` });
  }
  const v = isIP(host);
  if (v !== 0) return withPort({ kind: "cidr" as const, cidr: `${host}/${v === 4 ? 32 : 128}` });
  if (!DNS_NAME.test(host))
    return `${JSON.stringify(input)}: ${JSON.stringify(host)} is not an IP, CIDR or DNS name`;
  return withPort({ kind: "host" as const, host: host.replace(/\.$/, "") });
}

/** Parses the `mcp-hangar.io/egress` annotation: entries separated by commas, spaces or newlines. */
export function parseEgressAnnotation(value: string): { endpoints: Endpoint[]; errors: string[] } {
  const endpoints: Endpoint[] = [];
  const errors: string[] = [];
  for (const part of value.split(/[\s,]+/).filter((p) => p !== "")) {
    const e = parseEndpoint(part);
    if (typeof e === "string") errors.push(e);
    else endpoints.push(e);
  }
  return { endpoints, errors };
}

export interface GenerateInput {
  enforcementId: string;
  alertId: string;
  ruleId: string;
  provider: string;
  namespace: string;
  action: Action;
  /** block_egress only. */
  destination?: Endpoint;
  /** Declared capabilities of the provider's pods. */
  declared: Endpoint[];
  /** Learned baseline: egress entries and DNS names. */
  baseline: { egress: Endpoint[]; dns: string[] };
  cilium: boolean;
  expiresAt: string;
  dns: { namespace: string; podLabels: Record<string, string> };
  controller: { namespace: string; podLabels: Record<string, string> };
}

export interface Generated {
  kind: PolicyKind;
  object: KubeObject;
  /** What could not be expressed, in words (recorded with the enforcement). */
  notes: string[];
}

export class NotExpressible extends Error {
  override readonly name = "NotExpressible";
}

const ACTION_SLUG: Record<Action, string> = {
  block_egress: "block",
  quarantine: "quarantine",
  tighten_egress: "egress",
};

/** The object name for an action (one per provider, one per destination for blocks). */
export function policyName(provider: string, action: Action, destination?: Endpoint): string {
  const base = `hangar-${ACTION_SLUG[action]}-${provider}`;
  if (action !== "block_egress" || destination === undefined) return base.slice(0, 253);
  const key = destination.kind === "cidr" ? destination.cidr : destination.host;
  const h = createHash("sha256")
    .update(`${key}:${destination.port ?? ""}/${destination.protocol ?? ""}`)
    .digest("hex")
    .slice(0, 10);
  return `${base.slice(0, 240)}-${h}`;
}

export function generate(input: GenerateInput): Generated {
  const kind: PolicyKind = input.cilium ? "CiliumNetworkPolicy" : "NetworkPolicy";
  const name = policyName(input.provider, input.action, input.destination);
  const metadata: KubeObject["metadata"] = {
    name,
    namespace: input.namespace,
    labels: {
      [MANAGED_BY_LABEL]: MANAGED_BY,
      [PROVIDER_LABEL]: input.provider,
      [ACTION_LABEL]: input.action.replace("_", "-"),
    },
    annotations: {
      [ANN_ENFORCEMENT]: input.enforcementId,
      [ANN_ALERT]: input.alertId,
      [ANN_RULE]: input.ruleId,
      [ANN_EXPIRES]: input.expiresAt,
    },
  };
  const notes: string[] = [];
  const spec = input.cilium ? ciliumSpec(input, notes) : networkPolicySpec(input, notes);
  const object: KubeObject = input.cilium
    ? { apiVersion: "cilium.io/v2", kind: "CiliumNetworkPolicy", metadata, spec }
    : { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata, spec };
  return { kind, object, notes };
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  const ka = a.kind === "cidr" ? a.cidr : a.host;
  const kb = b.kind === "cidr" ? b.cidr : b.host;
  if (ka !== kb) return false;
  return b.port === undefined || a.port === undefined || a.port === b.port;
}

/** Declared capabilities plus the baseline, without the blocked destination (for block_egress). */
function allowList(input: GenerateInput): Endpoint[] {
  const all = [...input.declared, ...input.baseline.egress];
  const dest = input.destination;
  const seen = new Set<string>();
  const out: Endpoint[] = [];
  for (const e of all) {
    if (dest !== undefined && sameEndpoint(e, dest)) continue;
    const key = JSON.stringify(e);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

// ---- plain NetworkPolicy ---------------------------------------------------------------------

function dnsPeerNp(input: GenerateInput): Record<string, unknown> {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": input.dns.namespace } },
        podSelector: { matchLabels: input.dns.podLabels },
      },
    ],
    ports: [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ],
  };
}

function npPorts(e: Endpoint): Record<string, unknown>[] | undefined {
  if (e.port === undefined) return undefined;
  const protocols: Protocol[] = e.protocol !== undefined ? [e.protocol] : ["TCP", "UDP"];
  return protocols.map((protocol) => ({ protocol, port: e.port }));
}

function networkPolicySpec(input: GenerateInput, notes: string[]): Record<string, unknown> {
  const podSelector = { matchLabels: { [PROVIDER_LABEL]: input.provider } };
  const egress: Record<string, unknown>[] = [dnsPeerNp(input)];
  if (input.action === "quarantine") {
    egress.push({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": input.controller.namespace } },
          podSelector: { matchLabels: input.controller.podLabels },
        },
      ],
    });
    notes.push(
      "NetworkPolicies only add allowances: another policy selecting these pods that allows more egress still allows it",
    );
    return { podSelector, policyTypes: ["Egress"], egress };
  }
  if (input.action === "block_egress") {
    const dest = input.destination;
    if (dest === undefined) throw new NotExpressible("block_egress needs a destination");
    if (dest.kind === "host")
      throw new NotExpressible(
        `a plain NetworkPolicy cannot name host ${dest.host}; install Cilium (toFQDNs) or use quarantine`,
      );
    notes.push(
      `a plain NetworkPolicy cannot deny: applied as an allow-list of declared capabilities and the baseline without ${dest.cidr}`,
    );
  }
  for (const e of allowList(input)) {
    if (e.kind === "host") {
      notes.push(`host ${e.host} left out: a plain NetworkPolicy has no host names (Cilium toFQDNs has)`);
      continue;
    }
    const rule: Record<string, unknown> = { to: [{ ipBlock: { cidr: e.cidr } }] };
    const ports = npPorts(e);
    if (ports !== undefined) rule["ports"] = ports;
    egress.push(rule);
  }
  if (input.baseline.dns.length > 0)
    notes.push(
      `${input.baseline.dns.length} DNS name(s) of the baseline left out: a plain NetworkPolicy has no host names`,
    );
  return { podSelector, policyTypes: ["Egress"], egress };
}

// ---- CiliumNetworkPolicy ---------------------------------------------------------------------

function dnsRuleCilium(input: GenerateInput, withProxy: boolean): Record<string, unknown> {
  const port: Record<string, unknown> = { ports: [{ port: "53", protocol: "ANY" }] };
  if (withProxy) port["rules"] = { dns: [{ matchPattern: "*" }] };
  return {
    toEndpoints: [
      {
        matchLabels: {
          "k8s:io.kubernetes.pod.namespace": input.dns.namespace,
          ...prefixK8s(input.dns.podLabels),
        },
      },
    ],
    toPorts: [port],
  };
}

function prefixK8s(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [`k8s:${k}`, v]));
}

function ciliumPorts(e: Endpoint): Record<string, unknown>[] | undefined {
  if (e.port === undefined) return undefined;
  return [{ ports: [{ port: String(e.port), protocol: e.protocol ?? "ANY" }] }];
}

function ciliumSpec(input: GenerateInput, notes: string[]): Record<string, unknown> {
  const endpointSelector = { matchLabels: { [`k8s:${PROVIDER_LABEL}`]: input.provider } };
  if (input.action === "block_egress") {
    const dest = input.destination;
    if (dest === undefined) throw new NotExpressible("block_egress needs a destination");
    if (dest.kind === "host")
      throw new NotExpressible(
        `Cilium egressDeny has no toFQDNs: host ${dest.host} cannot be denied by name; block its addresses or use quarantine`,
      );
    const deny: Record<string, unknown> = { toCIDR: [dest.cidr] };
    const ports = ciliumPorts(dest);
    if (ports !== undefined) deny["toPorts"] = ports;
    // A deny-only policy must not switch the pods to default-deny.
    return { endpointSelector, enableDefaultDeny: { egress: false, ingress: false }, egressDeny: [deny] };
  }
  if (input.action === "quarantine") {
    return {
      endpointSelector,
      egress: [
        dnsRuleCilium(input, false),
        {
          toEndpoints: [
            {
              matchLabels: {
                "k8s:io.kubernetes.pod.namespace": input.controller.namespace,
                ...prefixK8s(input.controller.podLabels),
              },
            },
          ],
        },
      ],
      // Deny wins over any allow: nothing outside the cluster, whatever other policies say.
      egressDeny: [{ toEntities: ["world"] }],
    };
  }
  const egress: Record<string, unknown>[] = [dnsRuleCilium(input, true)];
  const hosts = new Map<string, Endpoint[]>();
  for (const e of allowList(input)) {
    if (e.kind === "host") {
      hosts.set(e.host, [...(hosts.get(e.host) ?? []), e]);
      continue;
    }
    const rule: Record<string, unknown> = { toCIDR: [e.cidr] };
    const ports = ciliumPorts(e);
    if (ports !== undefined) rule["toPorts"] = ports;
    egress.push(rule);
  }
  for (const name of input.baseline.dns)
    if (!hosts.has(name.replace(/\.$/, ""))) hosts.set(name.replace(/\.$/, ""), []);
  for (const [host, eps] of hosts) {
    const rule: Record<string, unknown> = { toFQDNs: [{ matchName: host }] };
    const ports = eps.flatMap((e) => ciliumPorts(e) ?? []);
    if (ports.length > 0 && eps.every((e) => e.port !== undefined)) rule["toPorts"] = ports;
    egress.push(rule);
  }
  if (hosts.size > 0)
    notes.push("toFQDNs needs Cilium's DNS proxy: DNS to cluster DNS goes through it (rules.dns)");
  return { endpointSelector, egress };
}

/** The REST path of a namespaced object of a known kind. */
export function objectPath(kind: PolicyKind, namespace: string, name?: string): string {
  const base =
    kind === "NetworkPolicy"
      ? `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`
      : `/apis/cilium.io/v2/namespaces/${namespace}/ciliumnetworkpolicies`;
  return name === undefined ? base : `${base}/${name}`;
}

export type PolicyKind = "NetworkPolicy" | "CiliumNetworkPolicy";
