/**
 * The workload resolver that also tells the eBPF probe which pods of this node are MCP
 * pods (the port `McpPods` the probe source defines), so the probe's in-kernel cgroup
 * filter follows them.
 */
import { PROVIDER_LABEL } from "@hangar/core";
import type { McpPods } from "../sources/probe/cgroups.js";
import { WorkloadResolver, type PodInfo } from "./workloads.js";

/** The pod watch feeds it as it feeds the plain resolver. */
export class McpPodTracker extends WorkloadResolver implements McpPods {
  readonly #mcp = new Map<string, PodInfo>();
  readonly #listeners = new Set<() => void>();

  override upsert(pod: PodInfo): void {
    super.upsert(pod);
    const provider = pod.labels[PROVIDER_LABEL];
    if (provider !== undefined && provider !== "") this.#mcp.set(pod.uid, pod);
    this.#changed();
  }

  override remove(uid: string): void {
    super.remove(uid);
    if (this.#mcp.delete(uid)) this.#changed();
  }

  mcpPodUids(): Iterable<string> {
    return this.#mcp.keys();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}
