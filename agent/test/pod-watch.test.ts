/**
 * The workload resolver's pod watch against a real kube-apiserver (etcd +
 * kube-apiserver from @hangar/testkit): only this node's pods, updates and
 * deletions, and RBAC that really applies.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  skipUnlessControlPlane,
  startControlPlane,
  type ControlPlane,
  memoryLogger,
  waitFor,
} from "@hangar/testkit";
import { newPod, Counters, type RuntimeEvent } from "@hangar/core";
import { watchNodePods } from "../src/resolve/pod-watch.js";
import { WorkloadResolver } from "../src/resolve/workloads.js";
import { hangar } from "@hangar/proto";

const skip = skipUnlessControlPlane();

function kubeConfig(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

function probeLikeEvent(containerId: string, ip = ""): RuntimeEvent {
  // What the eBPF probe knows: a container id (from the cgroup path) and nothing else.
  const pod = newPod("", "", {});
  pod.ip = ip;
  if (containerId !== "")
    pod.container = {
      $typeName: "hangar.v1.Container",
      id: containerId,
      name: "",
      image: "",
      imageId: "",
      privileged: false,
    };
  return {
    $typeName: "hangar.v1.RuntimeEvent",
    id: "e",
    kind: hangar.EventKind.EXEC,
    sensor: hangar.Sensor.PROBE,
    node: "node-a",
    provider: "",
    pod,
    detail: { case: undefined },
    policyName: "",
    tags: [],
    ancestors: [],
    attributions: [],
  };
}

describe("pod watch on a real kube-apiserver", { skip }, () => {
  let cp: ControlPlane;
  let core: k8s.CoreV1Api;

  async function createPod(
    name: string,
    node: string,
    labels: Record<string, string>,
    containerId: string,
    ip: string,
  ) {
    await core.createNamespacedPod({
      namespace: "mcp",
      body: {
        metadata: { name, labels },
        spec: { nodeName: node, containers: [{ name: "server", image: "ghcr.io/example/server:1" }] },
      },
    });
    // Status is what a kubelet would report: the pod IP and the container id.
    const pod = await core.readNamespacedPod({ namespace: "mcp", name });
    pod.status = {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      containerStatuses: [
        {
          name: "server",
          image: "ghcr.io/example/server:1",
          imageID: "",
          containerID: containerId,
          ready: true,
          restartCount: 0,
        },
      ],
    };
    await core.replaceNamespacedPodStatus({ namespace: "mcp", name, body: pod });
  }

  before(async () => {
    cp = await startControlPlane({
      tokens: [{ token: "agent-token", user: "system:serviceaccount:hangar:agent" }],
    });
    core = kubeConfig(cp.kubeconfigPath).makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "mcp" } } });
  });
  after(async () => {
    await cp.stop();
  });

  it("resolves probe events by container id and pod IP for this node's pods only, and follows deletes", async () => {
    await createPod(
      "weather-0",
      "node-a",
      { "mcp-hangar.io/provider": "weather" },
      "containerd://aaaa1111bbbb2222cccc3333",
      "10.1.0.7",
    );
    await createPod(
      "other-node",
      "node-b",
      { "mcp-hangar.io/provider": "files" },
      "containerd://dddd4444eeee5555ffff6666",
      "10.1.0.8",
    );
    await createPod("plain", "node-a", { app: "web" }, "containerd://9999888877776666", "10.1.0.9");
    const counters = new Counters();
    const resolver = new WorkloadResolver(counters);
    const { logger } = memoryLogger();
    const watch = watchNodePods({
      kubeConfig: kubeConfig(cp.kubeconfigPath),
      nodeName: "node-a",
      resolver,
      counters,
      logger,
    });
    try {
      await watch.synced;
      assert.equal(resolver.size, 2, "only node-a's pods");
      const byContainer = probeLikeEvent("aaaa1111bbbb2222");
      assert.equal(resolver.resolve(byContainer), true);
      assert.equal(byContainer.provider, "weather");
      assert.equal(byContainer.pod?.name, "weather-0");
      assert.equal(byContainer.pod?.namespace, "mcp");
      const byIp = probeLikeEvent("", "10.1.0.7");
      assert.equal(resolver.resolve(byIp), true);
      assert.equal(byIp.provider, "weather");
      assert.equal(
        resolver.resolve(probeLikeEvent("dddd4444eeee5555")),
        false,
        "a pod on another node is not known",
      );
      assert.equal(
        resolver.resolve(probeLikeEvent("9999888877776666")),
        false,
        "a pod without the label is not an MCP pod",
      );
      assert.equal(counters.get("dropped", { reason: "not_mcp_pod" }), 2);

      // A pod created after the list arrives through the watch.
      await createPod(
        "weather-1",
        "node-a",
        { "mcp-hangar.io/provider": "weather" },
        "containerd://1212121234343434",
        "10.1.0.10",
      );
      await waitFor("the new pod", () => resolver.resolve(probeLikeEvent("1212121234343434")), counters);
      // A deleted pod is forgotten.
      await core.deleteNamespacedPod({ namespace: "mcp", name: "weather-0", gracePeriodSeconds: 0 });
      await waitFor("the deletion", () => !resolver.resolve(probeLikeEvent("aaaa1111bbbb2222")), counters);
    } finally {
      await watch.stop();
    }
  });

  it("fails visibly without RBAC, and works once a Role allows list/watch pods", async () => {
    const agentKc = kubeConfig(await cp.writeKubeconfig("agent-token", "agent"));
    const counters = new Counters();
    const resolver = new WorkloadResolver(counters);
    const { logger, lines } = memoryLogger();
    const denied = watchNodePods({ kubeConfig: agentKc, nodeName: "node-a", resolver, counters, logger });
    try {
      await waitFor("a watch error", () => counters.get("resolver_watch_errors") >= 1, counters);
      assert.equal(denied.isSynced(), false);
      assert.ok(
        lines.some((l) => /forbidden|403/i.test(l)),
        "the reason is logged",
      );
    } finally {
      await denied.stop();
    }
    const rbac = kubeConfig(cp.kubeconfigPath).makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: {
        metadata: { name: "hangar-agent-pods" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: "hangar-agent-pods" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "hangar-agent-pods" },
        subjects: [
          { kind: "User", name: "system:serviceaccount:hangar:agent", apiGroup: "rbac.authorization.k8s.io" },
        ],
      },
    });
    const allowed = watchNodePods({ kubeConfig: agentKc, nodeName: "node-a", resolver, counters, logger });
    try {
      await allowed.synced;
      assert.ok(resolver.size >= 1);
    } finally {
      await allowed.stop();
    }
  });
});
