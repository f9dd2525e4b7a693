/**
 * What the assembled controller does as the Lease moves: the Services select the pod labelled
 * leader, so this replica's pod is labelled `leader` or `standby`, and a replica that loses
 * the Lease ends its agents' streams so that they reconnect, through the Service, to the
 * leader.
 */
import { errorMessage } from "@hangar/core";
import type { AgentHub } from "../hub/hub.js";
import type { KubeApi } from "../kube/kube.js";
import { PodRoleLabel, type LeaseElector } from "../leader/leader.js";
import type { ControllerLog } from "./log.js";

export interface LeadershipOptions {
  readonly lease: LeaseElector;
  readonly kube: KubeApi;
  readonly namespace: string;
  /** This replica's pod; without it nothing is labelled (the Services must not select on it). */
  readonly pod: string | undefined;
  /** The hub, once it exists (its agents' streams end when this replica loses the Lease). */
  readonly hub: () => AgentHub | undefined;
  readonly log: ControllerLog;
}

/**
 * Labels the pod `standby` now and follows the Lease from here on; the returned loop writes
 * a label that could not be written again every 5 s until `signal` aborts.
 */
export function followLease(o: LeadershipOptions): { labelLoop: (signal: AbortSignal) => Promise<void> } {
  const { lease, log } = o;
  const label =
    o.pod !== undefined && o.pod !== "" ? new PodRoleLabel(o.kube, o.namespace, o.pod) : undefined;
  if (label === undefined)
    log(
      "info",
      "no --pod or $POD_NAME: this pod is not labelled leader/standby (Services must not select on it)",
      {},
    );
  const labelPod = (leader: boolean): void =>
    void label?.set(leader).then((ok) => {
      if (!ok)
        log("warn", "pod role label not written; retried every 5 s", {
          pod: o.pod,
          error: errorMessage(label.lastError),
        });
    });
  labelPod(false);
  lease.onChange((leader) => {
    log("info", leader ? "leading: this replica enforces and serves" : "standby", {
      identity: lease.identity,
    });
    labelPod(leader);
    const hub = o.hub();
    if (!leader && hub !== undefined) {
      const ended = hub.disconnectAll();
      if (ended > 0) log("info", "standby: agent streams ended, agents reconnect to the leader", { ended });
    }
  });
  return {
    labelLoop: async (signal) => {
      while (!signal.aborted && label !== undefined) {
        await new Promise((r) => setTimeout(r, 5_000).unref());
        await label.sync();
      }
    },
  };
}
