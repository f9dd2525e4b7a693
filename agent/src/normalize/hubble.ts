/**
 * Hubble → RuntimeEvent. A flow with DNS L7 becomes a dns event; other flows
 * become flow events (with L7 HTTP when Hubble parsed it). The pod an event belongs
 * to is the endpoint that carries the provider label, else the side the packet's
 * direction gives (Hubble's traffic_direction is the connection's, so a reply travels
 * the other way). Flows keep the packet's source and destination and say which one is
 * the pod, and who opened the connection. lost_events and node_status become counters.
 */
import { flow, type hubbleLazy as H } from "@hangar/proto";
import {
  type Counters,
  EventKind,
  PROVIDER_LABEL,
  Sensor,
  newEvent,
  newPod,
  newProcess,
  type RuntimeEvent,
} from "@hangar/core";
import { NamedCounter, unknownFieldNames } from "./names.js";
import type { DropReason, NormalizeResult } from "./tetragon.js";

const K8S_PREFIX = "k8s:";
const PROVIDER_SELECTOR = `${K8S_PREFIX}${PROVIDER_LABEL}=`;

/** Parses Hubble's "k8s:key=value" label list into a map (other sources are skipped). */
export function parseLabels(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    if (!l.startsWith(K8S_PREFIX)) continue;
    const eq = l.indexOf("=", K8S_PREFIX.length);
    // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
    if (eq < 0) out[l.slice(K8S_PREFIX.length)] = "";
    // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
    else out[l.slice(K8S_PREFIX.length, eq)] = l.slice(eq + 1);
  }
  return out;
}

function hasProviderLabel(ep: H.Endpoint | undefined): boolean {
  if (ep === undefined) return false;
  for (const l of ep.labels) if (l.startsWith(PROVIDER_SELECTOR)) return true;
  return false;
}

const PROTOCOLS: Record<string, string> = {
  TCP: "tcp",
  UDP: "udp",
  ICMPv4: "icmpv4",
  ICMPv6: "icmpv6",
  SCTP: "sctp",
  VRRP: "vrrp",
  IGMP: "igmp",
};
const TCP_FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"] as const;

/** Label maps per endpoint are cached: the same pods produce most flows. */
class LabelCache {
  #map = new Map<string, Record<string, string>>();
  get(ep: H.Endpoint): Record<string, string> {
    const key = `${ep.namespace}/${ep.podName}#${ep.identity}#${ep.labels.length}`;
    let v = this.#map.get(key);
    if (v === undefined) {
      if (this.#map.size >= 8192) this.#map = new Map();
      v = parseLabels(ep.labels);
      this.#map.set(key, v);
    }
    return v;
  }
}

function l7Type(t: flow.L7FlowType): string {
  return t === flow.L7FlowType.REQUEST
    ? "request"
    : t === flow.L7FlowType.RESPONSE
      ? "response"
      : t === flow.L7FlowType.SAMPLE
        ? "sample"
        : "";
}

export class HubbleNormalizer {
  readonly #counters: Counters;
  readonly #labels = new LabelCache();
  readonly #unknown: NamedCounter;

  constructor(counters: Counters) {
    this.#counters = counters;
    this.#unknown = new NamedCounter(counters, "unknown_field_names", "hubble");
  }

  /** Counts unknown fields of the messages read, by message type and field number. */
  #countUnknown(msg: H.GetFlowsResponse, f: H.Flow | undefined): void {
    const names: string[] = [];
    unknownFieldNames(msg, names);
    if (f !== undefined)
      for (const m of [f, f.source, f.destination, f.IP, f.l4, f.l7, f.l7?.record.value])
        unknownFieldNames(m, names);
    if (names.length === 0) return;
    this.#counters.inc("unknown_fields", { sensor: "hubble" }, names.length);
    for (const n of names) this.#unknown.inc(n);
  }

  normalize(msg: H.GetFlowsResponse): NormalizeResult {
    const r = msg.responseTypes;
    this.#countUnknown(msg, r.case === "flow" ? r.value : undefined);
    switch (r.case) {
      case "flow":
        return this.#flow(r.value, msg);
      case "lostEvents": {
        const source = flow.LostEventSource[r.value.source] ?? String(r.value.source);
        this.#counters.inc(
          "sensor_lost_events",
          { sensor: "hubble", reason: source.toLowerCase() },
          Number(r.value.numEventsLost),
        );
        return this.#drop("sensor_notice");
      }
      case "nodeStatus":
        this.#counters.inc("sensor_node_status", { sensor: "hubble" });
        return this.#drop("sensor_notice");
      case undefined:
        return this.#drop("unknown_variant");
    }
  }

  #flow(f: H.Flow, msg: H.GetFlowsResponse): NormalizeResult {
    const ip = f.IP;
    const reply = f.isReply ?? false;
    // Which side is "ours": the endpoint with the provider label; when both or neither carry
    // it, the endpoint Hubble saw the flow at. traffic_direction is the connection's direction
    // there: egress packets leave it, unless they are replies (and the other way for ingress).
    let localIsSource: boolean;
    const srcMcp = hasProviderLabel(f.source);
    const dstMcp = hasProviderLabel(f.destination);
    if (srcMcp !== dstMcp) localIsSource = srcMcp;
    else if (f.trafficDirection === flow.TrafficDirection.INGRESS) localIsSource = reply;
    else localIsSource = !reply;
    const local = localIsSource ? f.source : f.destination;
    const peer = localIsSource ? f.destination : f.source;
    // Who opened the connection: the source of a non-reply packet. Relative to the pod.
    const podOpened = localIsSource !== reply;

    let ev: RuntimeEvent;
    const l7 = f.l7;
    if (l7 !== undefined && l7.record.case === "dns") {
      const d = l7.record.value;
      const q = d.query.endsWith(".") ? d.query.slice(0, -1) : d.query;
      ev = newEvent(EventKind.DNS, Sensor.HUBBLE, {
        case: "dns",
        value: {
          $typeName: "hangar.v1.DnsDetail",
          query: q,
          ips: d.ips,
          qtypes: d.qtypes,
          cnames: d.cnames,
          rcode: d.rcode,
          ttl: d.ttl,
          response: l7.type === flow.L7FlowType.RESPONSE,
          rrtypes: d.rrtypes,
        },
      });
    } else {
      const l4 = f.l4?.protocol;
      let sport = 0;
      let dport = 0;
      const tcpFlags: string[] = [];
      if (l4 !== undefined && (l4.case === "TCP" || l4.case === "UDP" || l4.case === "SCTP")) {
        sport = l4.value.sourcePort;
        dport = l4.value.destinationPort;
        if (l4.case === "TCP" && l4.value.flags !== undefined) {
          const fl = l4.value.flags;
          for (const name of TCP_FLAG_NAMES) if (fl[name]) tcpFlags.push(name);
        }
      }
      ev = newEvent(EventKind.FLOW, Sensor.HUBBLE, {
        case: "flow",
        value: {
          $typeName: "hangar.v1.FlowDetail",
          verdict: flow.Verdict[f.verdict] ?? String(f.verdict),
          direction: podOpened ? "egress" : "ingress",
          protocol: l4?.case === undefined ? "" : (PROTOCOLS[l4.case] ?? l4.case.toLowerCase()),
          sourceIp: ip?.source ?? "",
          sourcePort: sport,
          destinationIp: ip?.destination ?? "",
          destinationPort: dport,
          destinationNames: f.destinationNames,
          destinationNamespace: f.destination?.namespace ?? "",
          destinationPod: f.destination?.podName ?? "",
          destinationLabels: f.destination?.labels ?? [],
          isReply: f.isReply ?? false,
          dropReason:
            f.dropReasonDesc === flow.DropReason.DROP_REASON_UNKNOWN
              ? ""
              : (flow.DropReason[f.dropReasonDesc] ?? String(f.dropReasonDesc)),
          tcpFlags,
          peerNamespace: peer?.namespace ?? "",
          peerPod: peer?.podName ?? "",
          podIsSource: localIsSource,
          trafficDirection:
            f.trafficDirection === flow.TrafficDirection.EGRESS
              ? "egress"
              : f.trafficDirection === flow.TrafficDirection.INGRESS
                ? "ingress"
                : "",
          sourceNames: f.sourceNames,
          peerLabels: peer?.labels ?? [],
          l7Type: l7 === undefined ? "" : l7Type(l7.type),
        },
      });
      if (l7 !== undefined && l7.record.case === "http" && ev.detail.case === "flow") {
        const h = l7.record.value;
        ev.detail.value.http = {
          $typeName: "hangar.v1.HttpDetail",
          method: h.method,
          url: h.url,
          code: h.code,
          protocol: h.protocol,
        };
      }
    }
    if (local !== undefined && (local.podName !== "" || local.namespace !== "")) {
      const pod = newPod(local.namespace, local.podName, this.#labels.get(local));
      pod.ip = (localIsSource ? ip?.source : ip?.destination) ?? "";
      const w = local.workloads[0];
      if (w !== undefined) {
        pod.workload = w.name;
        pod.workloadKind = w.kind;
      }
      ev.pod = pod;
    }
    if (f.cgroupId !== 0n) {
      const p = newProcess();
      p.cgroupId = f.cgroupId;
      ev.process = p;
    }
    ev.node = f.nodeName !== "" ? f.nodeName : msg.nodeName;
    const t = f.time ?? msg.time;
    if (t !== undefined) ev.time = t;
    ev.id =
      f.uuid !== ""
        ? `flow:${f.uuid}`
        : `flow:${t?.seconds ?? 0n}.${t?.nanos ?? 0}:${ip?.source ?? ""}>${ip?.destination ?? ""}`;
    return { event: ev };
  }

  #drop(reason: DropReason): NormalizeResult {
    this.#counters.inc("dropped", { reason });
    return { dropped: reason };
  }
}
