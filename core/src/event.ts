/**
 * Construction helpers for hangar.v1 messages on the hot path. Object literals
 * with every field set are several times cheaper than `create(Schema, init)` and
 * give V8 one stable shape per message type.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import type { RuntimeEvent } from "./ports.js";

export const { EventKind, Sensor, FileOperation } = hangar;

export function newEvent(
  kind: hangar.EventKind,
  sensor: hangar.Sensor,
  detail: RuntimeEvent["detail"],
): RuntimeEvent {
  return {
    $typeName: "hangar.v1.RuntimeEvent",
    id: "",
    kind,
    sensor,
    node: "",
    provider: "",
    detail,
    policyName: "",
    tags: [],
    ancestors: [],
    attributions: [],
  };
}

export function newProcess(): hangar.ProcessIdentity {
  return {
    $typeName: "hangar.v1.ProcessIdentity",
    pid: 0,
    execId: "",
    parentExecId: "",
    binary: "",
    arguments: "",
    uid: 0,
    cwd: "",
    cgroupId: 0n,
    capEffective: [],
    capPermitted: [],
    hostNamespaces: [],
    user: "",
    privilegesChanged: [],
  };
}

export function newPod(namespace: string, name: string, labels: Record<string, string>): hangar.PodIdentity {
  return {
    $typeName: "hangar.v1.PodIdentity",
    namespace,
    name,
    uid: "",
    labels,
    ip: "",
    workload: "",
    workloadKind: "",
  };
}

export function newContainer(
  id: string,
  name: string,
  image: string,
  imageId: string,
  privileged = false,
): hangar.Container {
  return { $typeName: "hangar.v1.Container", id, name, image, imageId, privileged };
}

/** Milliseconds since the epoch (fractional), for ordering and windows. */
export function timeMs(ts: Timestamp | undefined): number {
  if (ts === undefined) return 0;
  return Number(ts.seconds) * 1000 + ts.nanos / 1e6;
}

export function eventTimeMs(ev: RuntimeEvent): number {
  return timeMs(ev.time);
}

/** The label that makes a pod an MCP provider. */
export const PROVIDER_LABEL = "mcp-hangar.io/provider";

/** The pod annotation that declares a provider's egress (`host:port`, CIDRs; comma separated). */
export const EGRESS_ANNOTATION = "mcp-hangar.io/egress";

/** Names of the event kinds as used in output and rules ("exec", "connect", ...). */
export function kindName(kind: hangar.EventKind): string {
  return (hangar.EventKind[kind] ?? "UNSPECIFIED").toLowerCase();
}
