/** Shared setup for the enforcement tests on a real API server (testkit). */
import * as k8s from "@kubernetes/client-node";
import type { ControlPlane } from "@hangar/testkit";
import { KubeClient } from "../src/kube/kube.js";
import type { EnforcementInput } from "../src/enforce/store.js";

export { ensureNamespace, providerPod } from "@hangar/testkit";

export function adminClient(cp: ControlPlane): KubeClient {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return new KubeClient(kc);
}

let n = 0;
export function request(
  over: Partial<EnforcementInput> & Pick<EnforcementInput, "provider" | "action">,
): EnforcementInput {
  n++;
  return {
    id: `req-${process.pid}-${n}`,
    alertId: `alert-${n}`,
    ruleId: "test.rule",
    namespace: "mcp",
    ...over,
  };
}
