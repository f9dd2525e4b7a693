/**
 * Merged baselines back to the agents. The hub merges every agent's
 * `BaselineDelta` into the controller's baseline file; this sends the result,
 * a `hangar.v1.MergedBaseline` per provider, to every agent hosting that
 * provider, so that a destination one node learned is known on the others.
 *
 * Which nodes host a provider: the nodes whose agents sent deltas for it (kept
 * in the merged baseline, so they survive a controller restart), and the nodes
 * the MCP proxy sent a call trace of the provider to (the pod that served the
 * call runs there). When it is sent: after a merge changed it (debounced, so a
 * burst of deltas from many nodes is one message per node), when a node is
 * first seen hosting the provider, and on every agent (re)connect. Each
 * provider's message replaces an older one still waiting in a node's outbox.
 */
import type { hangar } from "@hangar/proto";
import type { BaselineMergePort } from "../baselines/baselines.js";
import type { AgentHub } from "./hub.js";

export interface MergedBaselineFanoutOptions {
  hub: Pick<AgentHub, "sendLatest">;
  merge: Pick<BaselineMergePort, "merged">;
  /** Wait this long after a merge for more before sending (ms, default 1000). */
  debounceMs?: number;
  /** A merged baseline could not be read (it is tried again at the next change or connect). */
  onError?: (err: unknown, provider: string | undefined) => void;
}

const key = (provider: string): string => `baseline/${provider}`;

export class MergedBaselineFanout {
  readonly #o: MergedBaselineFanoutOptions;
  /** provider → the newest merged baseline read from the file. */
  readonly #latest = new Map<string, hangar.MergedBaseline>();
  /** provider → nodes hosting it. */
  readonly #hosts = new Map<string, Set<string>>();
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #loaded: Promise<void> = Promise.resolve();
  #closed = false;
  /** Merged baselines handed to the hub (one per node and provider). */
  sent = 0;

  constructor(options: MergedBaselineFanoutOptions) {
    this.#o = options;
  }

  /** Reads every provider's merged baseline from the file (hosts from the nodes that contributed). */
  load(): Promise<void> {
    this.#loaded = this.#o.merge.merged().then(
      (all) => {
        for (const m of all) this.#remember(m);
      },
      (err: unknown) => this.#o.onError?.(err, undefined),
    );
    return this.#loaded;
  }

  /** The merged baseline of `provider` changed (a delta from `node` was merged into it). */
  changed(provider: string, node: string): void {
    this.#host(provider, node);
    this.#dirty.add(provider);
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#o.debounceMs ?? 1000);
    this.#timer.unref();
  }

  /** `node` runs a pod of `provider` (the proxy sent it a call trace): it gets the merged baseline too. */
  hosted(provider: string, node: string): void {
    if (node === "" || !this.#host(provider, node)) return;
    const m = this.#latest.get(provider);
    if (m !== undefined) this.#send(node, m);
  }

  /** An agent (re)connected: it gets the newest merged baseline of every provider it hosts. */
  hello(node: string): void {
    void this.#loaded.then(() => {
      for (const [provider, nodes] of this.#hosts) {
        const m = this.#latest.get(provider);
        if (m !== undefined && nodes.has(node)) this.#send(node, m);
      }
    });
  }

  /** Reads what changed since the last flush and sends it to every node hosting it. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const providers = [...this.#dirty];
      this.#dirty.clear();
      for (const provider of providers) {
        let merged: hangar.MergedBaseline | undefined;
        try {
          [merged] = await this.#o.merge.merged(provider);
        } catch (err) {
          this.#dirty.add(provider); // tried again with the next change
          this.#o.onError?.(err, provider);
          continue;
        }
        if (merged === undefined) continue;
        this.#remember(merged);
        for (const node of this.#hosts.get(provider) ?? []) this.#send(node, merged);
      }
    });
    return this.#flushing;
  }

  /** Nodes known to host `provider`. */
  hostsOf(provider: string): string[] {
    return [...(this.#hosts.get(provider) ?? [])].sort();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #remember(m: hangar.MergedBaseline): void {
    this.#latest.set(m.provider, m);
    for (const n of m.nodes) this.#host(m.provider, n);
  }

  /** Adds a host; true when it is new. */
  #host(provider: string, node: string): boolean {
    if (node === "") return false;
    let nodes = this.#hosts.get(provider);
    if (nodes === undefined) this.#hosts.set(provider, (nodes = new Set()));
    if (nodes.has(node)) return false;
    nodes.add(node);
    return true;
  }

  #send(node: string, m: hangar.MergedBaseline): void {
    this.#o.hub.sendLatest(node, key(m.provider), { case: "mergedBaseline", value: m });
    this.sent++;
  }
}
