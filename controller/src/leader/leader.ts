/**
 * Leader election on a `coordination.k8s.io/v1` Lease, so that one replica
 * enforces. Like client-go's elector, a lease is taken over only when its
 * record has not changed for `leaseDurationSeconds` by this replica's own
 * clock (no trust in other clocks), and a leader that cannot renew for that long
 * stops acting as one. `release()` hands over at once on shutdown.
 */
import { type KubeApi, type KubeObject, kubeError } from "../kube/kube.js";

export interface LeaseOptions {
  kube: KubeApi;
  namespace: string;
  /** Default `hangar-controller`. */
  name?: string;
  identity: string;
  /** Default 15 s. */
  leaseDurationSeconds?: number;
  /** How often to renew or retry. Default a third of the lease duration. */
  retryMs?: number;
  now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaseElector {
  readonly #kube: KubeApi;
  readonly #path: string;
  readonly #collection: string;
  readonly #name: string;
  readonly #namespace: string;
  readonly identity: string;
  readonly #durationMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  #observed = "";
  #observedAt = 0;
  #renewedAt = -Infinity;
  #leader = false;
  readonly #listeners = new Set<(leader: boolean) => void>();
  lastError: unknown;

  constructor(opts: LeaseOptions) {
    this.#kube = opts.kube;
    this.#name = opts.name ?? "hangar-controller";
    this.#namespace = opts.namespace;
    this.#collection = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
    this.#path = `${this.#collection}/${this.#name}`;
    this.identity = opts.identity;
    this.#durationMs = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.#retryMs = opts.retryMs ?? Math.max(200, Math.floor(this.#durationMs / 3));
    this.#now = opts.now ?? Date.now;
  }

  /** True while this replica holds the lease and renewed it less than a lease duration ago. */
  isLeader(): boolean {
    if (this.#leader && this.#now() - this.#renewedAt >= this.#durationMs) this.#set(false);
    return this.#leader;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    for (const fn of this.#listeners) fn(leader);
  }

  /** One attempt to acquire or renew; resolves to whether this replica is the leader. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#now();
    const spec = (held: boolean, prev?: LeaseSpec): LeaseSpec => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: this.#durationMs / 1000,
      acquireTime: held && prev?.acquireTime !== undefined ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: held ? (prev?.leaseTransitions ?? 0) : (prev?.leaseTransitions ?? -1) + 1,
    });
    try {
      const lease = await this.#kube.get(this.#path);
      if (lease === undefined) {
        const res = await this.#kube.send({
          method: "POST",
          path: this.#collection,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.#name, namespace: this.#namespace },
            spec: spec(false),
          },
        });
        if (res.status === 409) return this.#lost();
        if (res.status !== 201) throw kubeError({ method: "POST", path: this.#collection }, res);
        return this.#won(now, res.body as KubeObject);
      }
      const cur = (lease["spec"] ?? {}) as LeaseSpec;
      const key = `${cur.holderIdentity ?? ""}|${cur.renewTime ?? ""}|${cur.leaseTransitions ?? 0}`;
      if (key !== this.#observed) {
        this.#observed = key;
        this.#observedAt = now;
      }
      const held = cur.holderIdentity === this.identity;
      const free =
        cur.holderIdentity === undefined ||
        cur.holderIdentity === "" ||
        now - this.#observedAt >= (cur.leaseDurationSeconds ?? this.#durationMs / 1000) * 1000;
      if (!held && !free) return this.#lost();
      const body = { ...lease, spec: spec(held, cur) };
      const res = await this.#kube.send({ method: "PUT", path: this.#path, body });
      if (res.status === 409) return this.#lost();
      if (res.status !== 200) throw kubeError({ method: "PUT", path: this.#path }, res);
      return this.#won(now, res.body as KubeObject);
    } catch (err) {
      this.lastError = err;
      return this.isLeader();
    }
  }

  #won(now: number, lease: KubeObject): boolean {
    const s = (lease["spec"] ?? {}) as LeaseSpec;
    this.#observed = `${s.holderIdentity ?? ""}|${s.renewTime ?? ""}|${s.leaseTransitions ?? 0}`;
    this.#observedAt = now;
    this.#renewedAt = now;
    this.#set(true);
    return true;
  }

  #lost(): boolean {
    this.#set(false);
    return false;
  }

  /** Gives the lease up (holder cleared) if this replica holds it. */
  async release(): Promise<void> {
    if (!this.#leader) return;
    this.#set(false);
    const lease = await this.#kube.get(this.#path);
    const cur = (lease?.["spec"] ?? {}) as LeaseSpec;
    if (lease === undefined || cur.holderIdentity !== this.identity) return;
    await this.#kube.send({
      method: "PUT",
      path: this.#path,
      body: { ...lease, spec: { ...cur, holderIdentity: "", renewTime: microTime(this.#now()) } },
    });
  }

  /** Acquires and renews until `signal` aborts, then releases. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.tryAcquireOrRenew();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#retryMs);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
    await this.release().catch(() => undefined);
  }
}

/** The pod label the controller's Services select on, so they route to the leader only. */
export const ROLE_LABEL = "mcp-hangar.io/controller-role";

/**
 * Keeps this replica's pod labelled `leader` or `standby` (ROLE_LABEL). The chart's
 * Services select `leader`, so agents' hub streams, MCP callers and hangar-ctl reach the
 * replica holding the Lease: one alert store, one merged baseline, every call trace on the
 * stream of the agent that needs it. A label that could not be written is written again on
 * the next `sync()`.
 */
export class PodRoleLabel {
  readonly #kube: KubeApi;
  readonly #path: string;
  #want: boolean | undefined;
  #written: boolean | undefined;
  lastError: unknown;

  constructor(kube: KubeApi, namespace: string, pod: string) {
    this.#kube = kube;
    this.#path = `/api/v1/namespaces/${namespace}/pods/${pod}`;
  }

  #chain: Promise<boolean> = Promise.resolve(true);

  /** Labels the pod as leader or standby; resolves false (and keeps `lastError`) on failure. */
  set(leader: boolean): Promise<boolean> {
    this.#want = leader;
    return this.sync();
  }

  /** Writes the wanted label if it is not written yet (one write at a time, the last wish wins). */
  sync(): Promise<boolean> {
    this.#chain = this.#chain.then(() => this.#write());
    return this.#chain;
  }

  async #write(): Promise<boolean> {
    const want = this.#want;
    if (want === undefined || want === this.#written) return true;
    try {
      const res = await this.#kube.send({
        method: "PATCH",
        path: this.#path,
        contentType: "application/merge-patch+json",
        body: { metadata: { labels: { [ROLE_LABEL]: want ? "leader" : "standby" } } },
      });
      if (res.status !== 200) throw kubeError({ method: "PATCH", path: this.#path }, res);
      this.#written = want;
      return true;
    } catch (err) {
      this.lastError = err;
      return false;
    }
  }
}
