/**
 * The agent's license decision at start (`hangar-agent run`): core's `licenseGate` over this
 * process's Kubernetes client (the cluster's UID and how many MCP providers it runs). `run`
 * asks the gate before it loads an enterprise module. Development tools (replay, local,
 * simulate) do not come here: they run under the BSL Additional Use Grant as development use.
 */
import type * as k8s from "@kubernetes/client-node";
import {
  licenseGate as coreLicenseGate,
  readClusterView,
  type LicenseGate,
  type LicenseSetup,
} from "@hangar/core";

export { LICENSE_HELP, LICENSE_OPTIONS } from "@hangar/core";

/** The gate, reading the cluster through `kubeConfig` (none configured: development use). */
export function licenseGate(
  setup: Omit<LicenseSetup, "readCluster"> & { readonly kubeConfig: k8s.KubeConfig | undefined },
): Promise<LicenseGate> {
  const { kubeConfig, ...rest } = setup;
  return coreLicenseGate({
    ...rest,
    readCluster:
      kubeConfig === undefined
        ? undefined
        : async (uid) => {
            // Loaded only with a kubeconfig: the client is ~15 MiB of heap a node without one never uses.
            const { CoreV1Api } = await import("@kubernetes/client-node");
            return readClusterView(kubeConfig.makeApiClient(CoreV1Api), uid);
          },
  });
}
