/**
 * The workload resolver: maps each event to its provider. Events that carry pod
 * labels (Tetragon, Hubble) resolve from those; events that carry only a pod uid,
 * a container id or an IP (the eBPF probe, Tetragon events with `process.docker` and
 * no pod yet) resolve through the pods of this node, kept current by a Kubernetes watch
 * (`resolve/pod-watch.ts`), seeded from a pod list (`replay --pods`), or learned from
 * the labelled events seen so far (bounded). Pods without the label can be mapped to a
 * provider by namespace and name prefix (`replay --provider`). Events of other pods are
 * dropped here and counted as `dropped{reason="not_mcp_pod"}`.
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

/** A provider for pods without the label: `namespace/podNamePrefix=provider` (prefix optional). */
export interface ProviderMapping {
  namespace: string;
  podPrefix: string;
  provider: string;
}

/** Parses `--provider` values: "mcp/fs-tools-=fs-tools" or "mcp=fs-tools" (every pod of the namespace). */
export function parseProviderMapping(text: string): ProviderMapping {
  const eq = text.lastIndexOf("=");
  const left = eq < 0 ? "" : text.slice(0, eq);
  const provider = eq < 0 ? "" : text.slice(eq + 1);
  const slash = left.indexOf("/");
  const namespace = slash < 0 ? left : left.slice(0, slash);
  const podPrefix = slash < 0 ? "" : left.slice(slash + 1);
  if (namespace === "" || provider === "")
    throw new Error(
      `"${text}" is not NAMESPACE[/POD-PREFIX]=PROVIDER (e.g. mcp/fs-tools-=fs-tools, or mcp=fs-tools)`,
    );
  return { namespace, podPrefix, provider };
}

/** Pods learned from labelled events (no watch) are bounded; the oldest go first. */
const MAX_LEARNED = 4096;

export class WorkloadResolver {
  readonly #counters: Counters;
  readonly #byUid = new Map<string, PodInfo>();
  readonly #byIp = new Map<string, PodInfo>();
  readonly #byContainer = new Map<string, PodInfo[]>();
  readonly #learned: string[] = [];
  #lastLearned = "";
  readonly #mappings: readonly ProviderMapping[];
  /** Pods whose events were dropped as not MCP pods (the first few, for replay's hint). */
  readonly #unlabelled = new Set<string>();

  constructor(counters: Counters, options: { mappings?: readonly ProviderMapping[] } = {}) {
    this.#counters = counters;
    this.#mappings = options.mappings ?? [];
  }

  get size(): number {
    return this.#byUid.size;
  }

  /** Up to 8 pods ("namespace/name") whose events were dropped because they carry no provider label. */
  unlabelled(): string[] {
    return [...this.#unlabelled];
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
    this.#lastLearned = "";
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
   * Remembers the pod of a labelled event that carries its container id, so that later
   * events of that container which carry nothing else (Tetragon before it enriched them)
   * resolve without a pod watch. Pods the watch knows are left alone.
   */
  #learn(pod: hangar.PodIdentity): void {
    const c = pod.container;
    // Most events come from the container the last one came from: nothing to learn, nothing to allocate.
    if (c === undefined || pod.name === "" || c.id === this.#lastLearned) return;
    this.#lastLearned = c.id;
    const key = bareContainerId(c.id).slice(0, CONTAINER_PREFIX);
    if (key === "" || this.#byContainer.has(key)) return;
    const uid = pod.uid !== "" ? pod.uid : `learned:${pod.namespace}/${pod.name}`;
    const known = this.#byUid.get(uid);
    if (known !== undefined) {
      // Another container of a pod we know: add it.
      known.containers.push({ id: c.id, name: c.name, image: c.image });
      this.#byContainer.set(key, [known]);
      return;
    }
    if (this.#learned.length >= MAX_LEARNED) {
      const oldest = this.#learned.shift();
      if (oldest !== undefined) this.remove(oldest);
    }
    this.#learned.push(uid);
    this.upsert({
      namespace: pod.namespace,
      name: pod.name,
      uid,
      labels: { ...pod.labels },
      ips: pod.ip === "" ? [] : [pod.ip],
      containers: [{ id: c.id, name: c.name, image: c.image }],
    });
  }

  #mapped(pod: hangar.PodIdentity | undefined): string | undefined {
    if (pod === undefined || this.#mappings.length === 0) return undefined;
    for (const m of this.#mappings)
      if (m.namespace === pod.namespace && pod.name.startsWith(m.podPrefix)) return m.provider;
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
      if (event.pod !== undefined && event.pod.container !== undefined) this.#learn(event.pod);
      return true;
    }
    const info = this.#lookup(event.pod);
    const provider = info?.labels[PROVIDER_LABEL];
    if (info === undefined || provider === undefined || provider === "") {
      const mapped = this.#mapped(event.pod);
      if (mapped !== undefined) {
        event.provider = mapped;
        this.#counters.inc("resolved_by_mapping");
        return true;
      }
      this.#counters.inc("dropped", { reason: "not_mcp_pod" });
      const p = event.pod;
      if (p !== undefined && p.name !== "" && this.#unlabelled.size < 8)
        this.#unlabelled.add(`${p.namespace}/${p.name}`);
      return false;
    }
    const pod = event.pod ?? newPod(info.namespace, info.name, info.labels);
    if (pod.namespace === "") pod.namespace = info.namespace;
    if (pod.name === "") pod.name = info.name;
    if (pod.uid === "" && !info.uid.startsWith("learned:")) pod.uid = info.uid;
    if (pod.ip === "" && info.ips[0] !== undefined) pod.ip = info.ips[0];
    pod.labels = { ...info.labels };
    // The container's name and image, where the event had only its id (kept as the sensor gave
    // it: the probe's full id from the cgroup, Tetragon's short docker id) or nothing.
    const cid = pod.container === undefined ? "" : bareContainerId(pod.container.id);
    const c =
      cid !== ""
        ? info.containers.find((x) => bareContainerId(x.id).startsWith(cid))
        : info.containers.length === 1
          ? info.containers[0]
          : undefined;
    if (c !== undefined) {
      if (pod.container === undefined) pod.container = newContainer(c.id, c.name, c.image, "");
      else if (pod.container.name === "") {
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
