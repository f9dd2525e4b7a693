/**
 * Keeps a WorkloadResolver in step with the pods scheduled on this node, using a
 * `@kubernetes/client-node` informer with the field selector `spec.nodeName=<node>`,
 * and tells `onPod` about every pod it sees (the agent reads per-provider settings
 * such as `mcp-hangar.io/learning-window` from the pod's annotations there).
 */
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "pino";
import { AgentError } from "../errors.js";
import type { Counters } from "@hangar/core";
import type { PodInfo, WorkloadResolver } from "./workloads.js";

/** Annotations under this prefix are kept in PodInfo; the others are not needed. */
export const HANGAR_ANNOTATION_PREFIX = "mcp-hangar.io/";

export function podInfo(pod: k8s.V1Pod): PodInfo | undefined {
  const uid = pod.metadata?.uid;
  if (uid === undefined) return undefined;
  // Ephemeral containers (`kubectl debug`) run inside the pod too: their processes are the pod's.
  const statuses = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  const annotations = Object.entries(pod.metadata?.annotations ?? {}).filter(([k]) =>
    k.startsWith(HANGAR_ANNOTATION_PREFIX),
  );
  return {
    namespace: pod.metadata?.namespace ?? "",
    name: pod.metadata?.name ?? "",
    uid,
    labels: pod.metadata?.labels ?? {},
    ...(annotations.length > 0 ? { annotations: Object.fromEntries(annotations) } : {}),
    ips: (pod.status?.podIPs ?? [])
      .map((p) => p.ip)
      .filter((ip): ip is string => ip !== undefined && ip !== ""),
    containers: statuses
      .filter((s) => s.containerID !== undefined && s.containerID !== "")
      .map((s) => ({ id: s.containerID ?? "", name: s.name, image: s.image })),
  };
}

export interface PodWatchOptions {
  kubeConfig: k8s.KubeConfig;
  nodeName: string;
  resolver: WorkloadResolver;
  counters: Counters;
  logger: Logger;
  /** Every pod added or updated (after the resolver has it). */
  onPod?: (pod: PodInfo) => void;
}

export interface PodWatch {
  /** Resolves after the first full list has been applied. */
  readonly synced: Promise<void>;
  isSynced(): boolean;
  stop(): Promise<void>;
}

export function watchNodePods(opts: PodWatchOptions): PodWatch {
  const { kubeConfig, nodeName, resolver, counters, logger } = opts;
  if (nodeName === "") {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "the pod watch needs the node name (set NODE_NAME or --node)",
    );
  }
  const api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  const informer = new k8s.ListWatch<k8s.V1Pod>(
    "/api/v1/pods",
    new k8s.Watch(kubeConfig),
    () => api.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  let synced = false;
  let markSynced: () => void = () => undefined;
  const syncedPromise = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  const apply = (pod: k8s.V1Pod): void => {
    const info = podInfo(pod);
    if (info !== undefined) {
      resolver.upsert(info);
      opts.onPod?.(info);
    }
    counters.set("resolver_pods", resolver.size);
  };
  informer.on("add", apply);
  informer.on("update", apply);
  informer.on("delete", (pod: k8s.V1Pod) => {
    if (pod.metadata?.uid !== undefined) resolver.remove(pod.metadata.uid);
    counters.set("resolver_pods", resolver.size);
  });
  let stopped = false;
  let failures = 0;
  // `start()` lists (firing "add" for every pod, "delete" for pods gone since the
  // last list) and then opens the watch; it resolves after both, or after the
  // "error" callbacks when either failed.
  const start = (): void => {
    const before = failures;
    informer.start().then(
      () => {
        // Stopped while the list was in flight: the informer opened its watch after stop(), so
        // stop it again, or the open watch keeps the process alive.
        if (stopped) {
          informer.stop().catch(() => undefined);
          return;
        }
        if (failures !== before) return;
        counters.set("resolver_pods", resolver.size);
        if (!synced) {
          synced = true;
          logger.info({ node: nodeName, pods: resolver.size }, "pod watch synced");
          markSynced();
        }
      },
      (err: unknown) => {
        failures++;
        counters.inc("resolver_watch_errors");
        logger.error(
          { err: AgentError.from(err, "HANGAR_ERR_RESOLVER_WATCH", "starting the pod watch") },
          "pod watch failed",
        );
      },
    );
  };
  informer.on("error", (err: unknown) => {
    failures++;
    counters.inc("resolver_watch_errors");
    const e = AgentError.from(err, "HANGAR_ERR_RESOLVER_WATCH", `watching the pods of node ${nodeName}`);
    logger.warn({ err: e }, `${e.message}; retrying in 2s`);
    if (stopped) return;
    setTimeout(() => {
      if (!stopped) start();
    }, 2000).unref();
  });
  start();
  return {
    synced: syncedPromise,
    isSynced: () => synced,
    async stop() {
      stopped = true;
      await informer.stop();
    },
  };
}
