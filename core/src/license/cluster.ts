/**
 * What licensing needs to know of the cluster: its UID (the kube-system namespace's, which
 * lives as long as the cluster) and the MCP providers it runs (distinct values of the
 * `mcp-hangar.io/provider` label over all pods). The API is passed in (the agent's and the
 * controller's `CoreV1Api` fit this shape), so core stays free of a Kubernetes client.
 */
import { errorMessage } from "../errors.js";
import { PROVIDER_LABEL } from "../event.js";
import type { ClusterView } from "./policy.js";

/** The two calls of `@kubernetes/client-node`'s CoreV1Api this needs. */
export interface ClusterReader {
  readNamespace(p: { name: string }): Promise<{ metadata?: { uid?: string } }>;
  listPodForAllNamespaces(p: { labelSelector: string; limit: number; _continue?: string }): Promise<{
    items: { metadata?: { labels?: Record<string, string> } }[];
    metadata?: { _continue?: string };
  }>;
}

const statusOf = (err: unknown): number | undefined => {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  const c = e?.code ?? e?.statusCode;
  return typeof c === "number" ? c : undefined;
};

/**
 * Counts the providers (paged, 500 pods a page) and, when `uid` (a license bound to a
 * cluster), reads the cluster UID. A namespace that cannot be read leaves the UID unknown (the
 * count still stands); a pod list that fails makes the view `unknown` with the reason.
 */
export async function readClusterView(api: ClusterReader, uid = true): Promise<ClusterView> {
  const providers = new Set<string>();
  try {
    let next: string | undefined;
    do {
      const page = await api.listPodForAllNamespaces({
        labelSelector: PROVIDER_LABEL,
        limit: 500,
        ...(next === undefined ? {} : { _continue: next }),
      });
      for (const pod of page.items) {
        const name = pod.metadata?.labels?.[PROVIDER_LABEL];
        if (name !== undefined && name !== "") providers.add(name);
      }
      next = page.metadata?._continue || undefined;
    } while (next !== undefined);
  } catch (err) {
    const status = statusOf(err);
    return {
      kind: "unknown",
      error: `listing pods labelled ${PROVIDER_LABEL} failed${status === undefined ? "" : ` (HTTP ${status})`}: ${errorMessage(err).split("\n")[0] ?? ""}`,
    };
  }
  let clusterUID: string | undefined;
  try {
    if (uid) clusterUID = (await api.readNamespace({ name: "kube-system" })).metadata?.uid;
  } catch {
    clusterUID = undefined;
  }
  return { kind: "counted", uid: clusterUID, providers: [...providers].sort() };
}
