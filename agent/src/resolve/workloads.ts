/**
 * The workload resolver: maps each event to its provider. Events that carry pod
 * labels (Tetragon, Hubble) resolve from those; events that carry only a pod uid,
 * a container id or an IP (the eBPF probe, pods Tetragon has not enriched yet)
 * resolve through the pods of this node, kept current by a Kubernetes watch
 * (`resolve/pod-watch.ts`). Events of pods without the provider label are dropped
 * here and counted as `dropped{reason="not_mcp_pod"}`.
 */
import type { hangar } from "@hangar/proto";
import { PROVIDER_LABEL, newContainer, newPod, type RuntimeEvent, type Counters } from "@hangar/core";

export interface PodContainer {
  id: string;
  name: string;
  image: string;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  /** The pod's `mcp-hangar.io/*` annotations (only those are kept), e.g. `mcp-hangar.io/learning-window`. */
  annotations?: Record<string, string>;
  ips: string[];
  containers: PodContainer[];
}

/** Strips the runtime prefix: "containerd://abc" → "abc". */
export function bareContainerId(id: string): string {
  const i = id.indexOf("://");
  return i < 0 ? id : id.slice(i + 3);
}

/** Tetragon reports container ids truncated; index by a fixed-length prefix. */
const CONTAINER_PREFIX = 12;

export class WorkloadResolver {
  readonly #counters: Counters;
  readonly #byUid = new Map<string, PodInfo>();
  readonly #byIp = new Map<string, PodInfo>();
  readonly #byContainer = new Map<string, PodInfo[]>();

  constructor(counters: Counters) {
    this.#counters = counters;
  }

  get size(): number {
    return this.#byUid.size;
  }

  upsert(pod: PodInfo): void {
    this.remove(pod.uid);
    this.#byUid.set(pod.uid, pod);
    for (const ip of pod.ips) this.#byIp.set(ip, pod);
    for (const c of pod.containers) {
      const key = bareContainerId(c.id).slice(0, CONTAINER_PREFIX);
      if (key === "") continue;
      const list = this.#byContainer.get(key);
      if (list === undefined) this.#byContainer.set(key, [pod]);
      else list.push(pod);
    }
  }

  remove(uid: string): void {
    const old = this.#byUid.get(uid);
    if (old === undefined) return;
    this.#byUid.delete(uid);
    for (const ip of old.ips) if (this.#byIp.get(ip) === old) this.#byIp.delete(ip);
    for (const c of old.containers) {
      const key = bareContainerId(c.id).slice(0, CONTAINER_PREFIX);
      const list = this.#byContainer.get(key)?.filter((p) => p !== old);
      if (list === undefined || list.length === 0) this.#byContainer.delete(key);
      else this.#byContainer.set(key, list);
    }
  }

  #lookup(pod: hangar.PodIdentity | undefined): PodInfo | undefined {
    if (pod === undefined) return undefined;
    if (pod.uid !== "") {
      const p = this.#byUid.get(pod.uid);
      if (p !== undefined) return p;
    }
    const cid = pod.container === undefined ? "" : bareContainerId(pod.container.id);
    if (cid !== "") {
      const list = this.#byContainer.get(cid.slice(0, CONTAINER_PREFIX));
      if (list !== undefined) {
        for (const p of list) {
          if (
            p.containers.some(
              (c) => bareContainerId(c.id).startsWith(cid) || cid.startsWith(bareContainerId(c.id)),
            )
          ) {
            return p;
          }
        }
      }
    }
    if (pod.ip !== "") return this.#byIp.get(pod.ip);
    return undefined;
  }

  /**
   * Fills `event.provider` (and missing pod identity). Returns false, counting the
   * drop, when the event does not belong to an MCP provider pod.
   */
  resolve(event: RuntimeEvent): boolean {
    if (event.provider !== "") return true;
    const labelled = event.pod?.labels[PROVIDER_LABEL];
    if (labelled !== undefined && labelled !== "") {
      event.provider = labelled;
      return true;
    }
    const info = this.#lookup(event.pod);
    const provider = info?.labels[PROVIDER_LABEL];
    if (info === undefined || provider === undefined || provider === "") {
      this.#counters.inc("dropped", { reason: "not_mcp_pod" });
      return false;
    }
    const pod = event.pod ?? newPod(info.namespace, info.name, info.labels);
    if (pod.namespace === "") pod.namespace = info.namespace;
    if (pod.name === "") pod.name = info.name;
    if (pod.uid === "") pod.uid = info.uid;
    pod.labels = { ...info.labels };
    if (pod.container === undefined && info.containers.length === 1) {
      const c = info.containers[0] as PodContainer;
      pod.container = newContainer(c.id, c.name, c.image, "");
    } else if (pod.container !== undefined && pod.container.name === "") {
      // A sensor that knows only the container's id (the eBPF probe, from its cgroup): the
      // pod's status names it.
      const bare = bareContainerId(pod.container.id);
      const c = info.containers.find((x) => bare !== "" && bareContainerId(x.id) === bare);
      if (c !== undefined) {
        pod.container.name = c.name;
        if (pod.container.image === "") pod.container.image = c.image;
      }
    }
    event.pod = pod;
    event.provider = provider;
    this.#counters.inc("resolved_by_watch");
    return true;
  }
}
