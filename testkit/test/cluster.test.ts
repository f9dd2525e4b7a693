/**
 * startCluster(): kube-controller-manager + kube-scheduler + kwok on a real control plane.
 * A DaemonSet gets exactly one pod per fake node, bound to it and Running; a Deployment's
 * ReplicaSet makes its pods; without kwok the pods are still made and bound, but stay Pending.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/helpers.js";
import {
  apiRequest,
  clusterAvailable,
  skipUnlessCluster,
  startCluster,
  startControlPlane,
  TestkitError,
  type Cluster,
  type ControlPlane,
} from "../src/index.js";

interface PodLike {
  metadata: { name: string; ownerReferences?: { kind: string }[] };
  spec: { nodeName?: string };
  status: { phase?: string };
}

async function pods(cp: ControlPlane, ns: string, selector: string): Promise<PodLike[]> {
  const r = await apiRequest(
    cp,
    "GET",
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`,
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { items: PodLike[] }).items;
}

function daemonSet(name: string, nodeSelector: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector, containers: [{ name: "c", image: "registry.invalid/none:1" }] },
      },
    },
  };
}

test("skipUnlessCluster names the missing tool, and never skips with HANGAR_REQUIRE_K8S=1", () => {
  const env = { HANGAR_CACHE: "/nonexistent-hangar-cache" };
  const reason = skipUnlessCluster({ kwok: true }, env);
  assert.ok(typeof reason === "string" && /kube-apiserver .* is not installed/.test(reason), String(reason));
  assert.equal(skipUnlessCluster({ kwok: true }, { ...env, HANGAR_REQUIRE_K8S: "1" }), false);
  const a = clusterAvailable(env);
  assert.equal(a.ok, false);
});

describe(
  "startCluster with kwok: pods are scheduled and run on fake nodes",
  { skip: skipUnlessCluster({ kwok: true }) },
  () => {
    let cp: ControlPlane;
    let cluster: Cluster | undefined;
    before(async () => {
      cp = await startControlPlane({ disableAdmissionPlugins: [] });
    });
    after(async () => {
      await cluster?.stop();
      await cp?.stop();
    });

    test("a DaemonSet runs one pod per node, a Deployment's pods run, and stop() ends the processes", async () => {
      await assert.rejects(
        startCluster(cp, { env: { ...process.env, HANGAR_KWOK_BIN: "/nonexistent/kwok" } }),
        (e: unknown) =>
          e instanceof TestkitError && e.code === "HANGAR_ERR_TESTKIT_TOOL_MISSING" && /kwok/.test(e.message),
      );
      cluster = await startCluster(cp, { nodes: 3 });
      console.log(`# cluster ready in ${cluster.readyMs.toFixed(0)} ms (nodes ${cluster.nodes.join(", ")})`);
      assert.equal(cluster.kwok, true);
      const r = await apiRequest(cp, "POST", "/apis/apps/v1/namespaces/default/daemonsets", {
        body: daemonSet("ds"),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const running = await waitFor(
        "3 Running DaemonSet pods",
        async () => {
          const ps = await pods(cp, "default", "app=ds");
          return ps.length === 3 && ps.every((p) => p.status.phase === "Running") ? ps : undefined;
        },
        undefined,
        60_000,
        250,
      );
      assert.deepEqual(
        running.map((p) => p.spec.nodeName).sort(),
        [...cluster.nodes].sort(),
        "one pod per node",
      );

      const d = await apiRequest(cp, "POST", "/apis/apps/v1/namespaces/default/deployments", {
        body: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "web" },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: "web" } },
            template: {
              metadata: { labels: { app: "web" } },
              spec: { containers: [{ name: "c", image: "registry.invalid/none:1" }] },
            },
          },
        },
      });
      assert.equal(d.status, 201, JSON.stringify(d.body));
      const web = await waitFor(
        "2 Running Deployment pods",
        async () => {
          const ps = await pods(cp, "default", "app=web");
          return ps.length === 2 && ps.every((p) => p.status.phase === "Running") ? ps : undefined;
        },
        undefined,
        60_000,
        250,
      );
      assert.ok(web.every((p) => p.metadata.ownerReferences?.[0]?.kind === "ReplicaSet"));

      const pids = Object.values(cluster.pids);
      await cluster.stop();
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), "process ended");
    });
  },
);

describe(
  "startCluster without kwok: pods are made and bound, and stay Pending",
  { skip: skipUnlessCluster() },
  () => {
    let cp: ControlPlane;
    let cluster: Cluster | undefined;
    before(async () => {
      cp = await startControlPlane({ disableAdmissionPlugins: [] });
    });
    after(async () => {
      await cluster?.stop();
      await cp?.stop();
    });

    test("DaemonSet pods are bound to each node", async () => {
      cluster = await startCluster(cp, { nodes: ["plain-a", "plain-b"], kwok: false });
      const r = await apiRequest(cp, "POST", "/apis/apps/v1/namespaces/default/daemonsets", {
        body: daemonSet("ds2"),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const bound = await waitFor(
        "2 bound pods",
        async () => {
          const ps = await pods(cp, "default", "app=ds2");
          return ps.length === 2 && ps.every((p) => p.spec.nodeName !== undefined) ? ps : undefined;
        },
        undefined,
        60_000,
        250,
      );
      assert.deepEqual(bound.map((p) => p.spec.nodeName).sort(), ["plain-a", "plain-b"]);
      assert.ok(
        bound.every((p) => p.status.phase === "Pending"),
        "nothing runs them",
      );
    });
  },
);
