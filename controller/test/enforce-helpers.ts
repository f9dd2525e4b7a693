/** Shared setup for the enforcement tests on a real API server (testkit). */
import * as k8s from "@kubernetes/client-node";
import { apiRequest, type ControlPlane } from "@hangar/testkit";
import { KubeClient } from "../src/enforce/kube.js";
import type { EnforcementInput } from "../src/enforce/store.js";

export function adminClient(cp: ControlPlane): KubeClient {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return new KubeClient(kc);
}

export async function ensureNamespace(cp: ControlPlane, name: string): Promise<void> {
  const res = await apiRequest(cp, "POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: ${res.status}`);
}

/** A pod of `provider` (stored, not run) with an optional `mcp-hangar.io/egress` annotation. */
export async function providerPod(
  cp: ControlPlane,
  namespace: string,
  provider: string,
  egress?: string,
  name = `${provider}-0`,
): Promise<void> {
  const res = await apiRequest(cp, "POST", `/api/v1/namespaces/${namespace}/pods`, {
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        labels: { "mcp-hangar.io/provider": provider },
        ...(egress !== undefined ? { annotations: { "mcp-hangar.io/egress": egress } } : {}),
      },
      spec: { containers: [{ name: "mcp", image: "example.invalid/mcp:1" }], nodeName: "node-a" },
    },
  });
  if (res.status !== 201) throw new Error(`pod ${name}: ${res.status} ${JSON.stringify(res.body)}`);
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
