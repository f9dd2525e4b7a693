/**
 * `helm install` of the chart into a real control plane that runs things: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler and three kwok nodes. The DaemonSet
 * gets exactly one agent pod per node, the Deployment's ReplicaSet its two controller pods on
 * two nodes; the RBAC binds (each service account can do what it needs and nothing else, and
 * the agent's own pod watch works with the agent's real service-account token); `helm
 * upgrade` rolls a changed value out and keeps the generated tokens and certificate; `helm
 * uninstall` leaves no object of the release behind.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Counters } from "@hangar/core";
import { WorkloadResolver, watchNodePods, type PodInfo } from "@hangar/agent";
import {
  apiRequest,
  installCrd,
  skipUnlessCluster,
  startCluster,
  startControlPlane,
  type Cluster,
  type ControlPlane,
  waitFor,
} from "@hangar/testkit";
import { pino } from "pino";
import { parse } from "yaml";
import {
  CHART,
  ensureNamespace,
  releaseObjects,
  runHelm,
  skipUnlessHelm,
  tracingPolicyCrd,
} from "./helpers.js";
import { materialize, podToken, rewriteArgs, run, type PodObject, type Running } from "./pods.js";

const AGENT_CLI = fileURLToPath(new URL("../../../agent/dist/src/cli/main.js", import.meta.url));
const CONTROLLER_CLI = fileURLToPath(new URL("../../../controller/dist/src/cli/main.js", import.meta.url));

/** `n` distinct free loopback ports. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const NS = "hangar-system";
const RELEASE = "hangar";
const AGENT_SA = `system:serviceaccount:${NS}:hangar-agent`;
const CONTROLLER_SA = `system:serviceaccount:${NS}:hangar-controller`;
const groupsOf = (ns: string): string[] => [
  "system:serviceaccounts",
  `system:serviceaccounts:${ns}`,
  "system:authenticated",
];

interface Pod {
  metadata: {
    name: string;
    labels: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: { nodeName?: string; serviceAccountName?: string; volumes?: { name: string; projected?: unknown }[] };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

describe(
  "helm install/upgrade/uninstall on a control plane with kube-controller-manager, kube-scheduler and kwok nodes",
  { skip: skipUnlessHelm() || skipUnlessCluster({ kwok: true }) },
  () => {
    let cp: ControlPlane;
    let cluster: Cluster;
    const helm = (...args: string[]) => runHelm(args, { kubeconfig: cp.kubeconfigPath });
    const pods = async (selector: string, ns = NS): Promise<Pod[]> => {
      const r = await apiRequest(
        cp,
        "GET",
        `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { items: Pod[] }).items;
    };
    const secretData = async (name: string): Promise<Record<string, string>> => {
      const r = await apiRequest(cp, "GET", `/api/v1/namespaces/${NS}/secrets/${name}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { data: Record<string, string> }).data;
    };
    const can = async (user: string, attrs: Record<string, string>): Promise<boolean> => {
      const r = await apiRequest(cp, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: { user, groups: groupsOf(NS), resourceAttributes: attrs },
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return (r.body as { status: { allowed: boolean } }).status.allowed;
    };

    before(async () => {
      const t0 = performance.now();
      cp = await startControlPlane({ disableAdmissionPlugins: [] });
      cluster = await startCluster(cp, { nodes: 3 });
      await ensureNamespace(cp, NS, { "pod-security.kubernetes.io/enforce": "privileged" });
      await ensureNamespace(cp, "mcp");
      await installCrd(cp, tracingPolicyCrd());
      console.log(`# control plane + cluster ready in ${(performance.now() - t0).toFixed(0)} ms`);
    });
    after(async () => {
      await cluster?.stop();
      await cp?.stop();
    });

    test("install: one agent pod per node, two controller pods, TracingPolicies, NOTES with the next commands", async () => {
      const r = await helm("install", RELEASE, CHART, "--namespace", NS, "--wait", "--timeout", "120s");
      assert.equal(r.code, 0, r.stderr);
      for (const cmd of [
        "hangar-ctl -n hangar-system providers",
        "hangar-ctl -n hangar-system baseline show <provider>",
        "hangar-ctl -n hangar-system alerts --follow",
      ])
        assert.ok(r.stdout.includes(cmd), `NOTES lack ${cmd}:\n${r.stdout}`);
      assert.doesNotMatch(r.stdout, /TracingPolicy API is not served/, "Tetragon's API is installed here");

      const agents = await waitFor(
        "3 ready agent pods",
        async () => {
          const ps = await pods("app.kubernetes.io/name=hangar-agent");
          return ps.length === 3 &&
            ps.every((p) => p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
            ? ps
            : undefined;
        },
        undefined,
        60_000,
        250,
      );
      assert.deepEqual(
        agents.map((p) => p.spec.nodeName).sort(),
        [...cluster.nodes].sort(),
        "exactly one agent per node",
      );
      for (const p of agents) {
        assert.equal(p.metadata.ownerReferences?.[0]?.kind, "DaemonSet");
        assert.equal(p.spec.serviceAccountName, "hangar-agent");
        assert.ok(p.spec.volumes?.some((v) => v.name === "hub-token" && v.projected !== undefined));
      }
      const ds = await apiRequest(cp, "GET", `/apis/apps/v1/namespaces/${NS}/daemonsets/hangar-agent`);
      const dsStatus = (ds.body as { status: Record<string, number> }).status;
      assert.equal(dsStatus["desiredNumberScheduled"], 3);
      assert.equal(dsStatus["numberReady"], 3);

      const controllers = await pods("app.kubernetes.io/name=hangar-controller");
      assert.equal(controllers.length, 2);
      assert.ok(
        controllers.every(
          (p) => p.metadata.ownerReferences?.[0]?.kind === "ReplicaSet" && p.status.phase === "Running",
        ),
      );
      assert.equal(
        new Set(controllers.map((p) => p.spec.nodeName)).size,
        2,
        "anti-affinity spreads the replicas",
      );

      const tps = await apiRequest(cp, "GET", "/apis/cilium.io/v1alpha1/tracingpolicies");
      assert.deepEqual(
        (tps.body as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name).sort(),
        ["mcp-hangar-privileges", "mcp-hangar-sensitive-files", "mcp-hangar-tcp-connect"],
      );
    });

    test("RBAC binds: each service account may do what it needs and nothing else", async () => {
      const allowed = async (user: string, list: Record<string, string>[]): Promise<string[]> => {
        const out: string[] = [];
        for (const a of list) if (await can(user, a)) out.push(JSON.stringify(a));
        return out;
      };
      const agentNeeds = [
        { verb: "list", resource: "pods" },
        { verb: "watch", resource: "pods" },
        { verb: "list", resource: "pods", namespace: "mcp" },
      ];
      const agentMustNot = [
        { verb: "get", resource: "pods", namespace: "mcp" },
        { verb: "delete", resource: "pods", namespace: "mcp" },
        { verb: "list", resource: "secrets" },
        { verb: "get", resource: "secrets", namespace: NS, name: "hangar-controller-tokens" },
        { verb: "list", resource: "nodes" },
        { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" },
        { verb: "patch", group: "networking.k8s.io", resource: "networkpolicies", namespace: "mcp" },
        {
          verb: "update",
          group: "coordination.k8s.io",
          resource: "leases",
          namespace: NS,
          name: "hangar-controller",
        },
        { verb: "list", resource: "configmaps", namespace: NS },
      ];
      assert.equal(
        (await allowed(AGENT_SA, agentNeeds)).length,
        agentNeeds.length,
        "the agent may watch pods",
      );
      assert.deepEqual(await allowed(AGENT_SA, agentMustNot), [], "and nothing else");

      const ctlNeeds = [
        { verb: "patch", group: "networking.k8s.io", resource: "networkpolicies", namespace: "mcp" },
        { verb: "delete", group: "cilium.io", resource: "ciliumnetworkpolicies", namespace: "mcp" },
        { verb: "list", resource: "pods", namespace: "mcp" },
        { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" },
        { verb: "create", resource: "configmaps", namespace: NS },
        {
          verb: "update",
          group: "coordination.k8s.io",
          resource: "leases",
          namespace: NS,
          name: "hangar-controller",
        },
        { verb: "get", resource: "secrets", namespace: NS, name: "hangar-controller-tokens" },
      ];
      const ctlMustNot = [
        { verb: "get", resource: "secrets", namespace: NS, name: "hangar-hub-tls" },
        { verb: "list", resource: "secrets", namespace: NS },
        { verb: "watch", resource: "pods", namespace: "mcp" },
        { verb: "create", resource: "configmaps", namespace: "mcp" },
        { verb: "list", group: "discovery.k8s.io", resource: "endpointslices", namespace: "mcp" },
        { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings" },
      ];
      assert.equal(
        (await allowed(CONTROLLER_SA, ctlNeeds)).length,
        ctlNeeds.length,
        "the controller may do its job",
      );
      assert.deepEqual(await allowed(CONTROLLER_SA, ctlMustNot), [], "and nothing else");

      // The agent's own pod watch, with a real token of its service account (TokenRequest), sees
      // the provider pod on its node and not the one on another node.
      for (const [name, node] of [
        ["weather-0", cluster.nodes[0]!],
        ["weather-1", cluster.nodes[1]!],
      ] as const) {
        const p = await apiRequest(cp, "POST", "/api/v1/namespaces/mcp/pods", {
          body: {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, labels: { "mcp-hangar.io/provider": "weather" } },
            spec: { nodeName: node, containers: [{ name: "mcp", image: "registry.invalid/weather:1" }] },
          },
        });
        assert.equal(p.status, 201, JSON.stringify(p.body));
      }
      const tr = await apiRequest(cp, "POST", `/api/v1/namespaces/${NS}/serviceaccounts/hangar-agent/token`, {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      });
      assert.equal(tr.status, 201, JSON.stringify(tr.body));
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(
        await cp.writeKubeconfig(
          (tr.body as { status: { token: string } }).status.token,
          "agent-sa.kubeconfig",
        ),
      );
      const seen = new Map<string, PodInfo>();
      const counters = new Counters();
      const watch = watchNodePods({
        kubeConfig: kc,
        nodeName: cluster.nodes[0]!,
        resolver: new WorkloadResolver(counters),
        counters,
        logger: pino({ level: "silent" }),
        onPod: (p) => seen.set(`${p.namespace}/${p.name}`, p),
      });
      try {
        await waitFor(
          "the agent's pod watch to sync",
          () => Promise.resolve(watch.isSynced() ? true : undefined),
          undefined,
          20_000,
          250,
        );
        assert.ok(seen.has("mcp/weather-0"), `seen: ${[...seen.keys()].join(", ")}`);
        assert.ok(!seen.has("mcp/weather-1"), "a pod of another node is not the agent's");
      } finally {
        await watch.stop();
      }
    });

    test("the chart's commands run: the controller leads with its config, the agent reaches its hub over TLS", async () => {
      // The pods kwok "runs" are real Pod objects; their containers are run here as local
      // processes with the volumes the chart gave them (pods.ts), ports moved to free ones.
      const tmp = await mkdtemp(join(tmpdir(), "hangar-chart-run-"));
      const procs: Running[] = [];
      try {
        const full = async (selector: string): Promise<PodObject[]> =>
          (await pods(selector)) as unknown as PodObject[];
        const ctlPod = (await full("app.kubernetes.io/name=hangar-controller"))[0]!;
        const agentPod = (await full("app.kubernetes.io/name=hangar-agent")).find(
          (p) => p.spec.nodeName === cluster.nodes[0],
        )!;
        const [apiPort, hubPort, healthPort] = await freePorts(3);

        const ctlArgs = rewriteArgs(
          ctlPod.spec.containers[0]!.args ?? [],
          await materialize(cp, ctlPod, "controller", join(tmp, "controller")),
        ).map((a) =>
          a.startsWith("--api-listen=")
            ? `--api-listen=127.0.0.1:${apiPort}`
            : a.startsWith("--hub-listen=")
              ? `--hub-listen=127.0.0.1:${hubPort}`
              : a,
        );
        const ctlKubeconfig = await cp.writeKubeconfig(
          await podToken(cp, ctlPod),
          "controller-pod.kubeconfig",
        );
        const ctl = run(CONTROLLER_CLI, [...ctlArgs, `--kubeconfig=${ctlKubeconfig}`], {
          POD_NAME: ctlPod.metadata.name,
          POD_NAMESPACE: NS,
        });
        procs.push(ctl);
        await ctl.waitFor(/REST API listening/);
        await ctl.waitFor(/leading: this replica enforces/);
        const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
        assert.equal(ready.status, 200, await ready.text());
        const lease = await apiRequest(
          cp,
          "GET",
          `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/hangar-controller`,
        );
        assert.equal(
          (lease.body as { spec: { holderIdentity: string } }).spec.holderIdentity,
          ctlPod.metadata.name,
        );
        // The generated static token (read from the Secret under the chart's RBAC) opens the API.
        const admin = Buffer.from(
          (await secretData("hangar-controller-tokens"))["admin.admin"]!,
          "base64",
        ).toString();
        const providers = await fetch(`http://127.0.0.1:${apiPort}/v1/providers`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        assert.equal(providers.status, 200, await providers.text());
        const anon = await fetch(`http://127.0.0.1:${apiPort}/v1/providers`, {
          headers: { authorization: "Bearer nope" },
        });
        assert.equal(anon.status, 401);

        const agentArgs = rewriteArgs(
          agentPod.spec.containers[0]!.args ?? [],
          await materialize(cp, agentPod, "agent", join(tmp, "agent")),
        ).map((a) =>
          a.startsWith("--hub=")
            ? `--hub=127.0.0.1:${hubPort}`
            : a.startsWith("--health-port=")
              ? `--health-port=${healthPort}`
              : a.startsWith("--prometheus-port=")
                ? "--prometheus-port=0"
                : a,
        );
        const agentKubeconfig = await cp.writeKubeconfig(
          await podToken(cp, agentPod),
          "agent-pod.kubeconfig",
        );
        const agent = run(AGENT_CLI, [...agentArgs, `--kubeconfig=${agentKubeconfig}`], {
          NODE_NAME: agentPod.spec.nodeName!,
        });
        procs.push(agent);
        // The hub accepted the agent (TLS with the generated CA and server name, its projected
        // token checked by TokenReview) and sent it the chart's rule packs.
        await agent.waitFor(/rule update from the controller applied/, 60_000);
        // The hub's first message can arrive before the agent's health server listens.
        await agent.waitFor(/hangar-agent running/, 60_000);
        const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
        assert.equal(health.status, 200, await health.text());
      } catch (err) {
        for (const p of procs) console.log(`# output of ${String(p.child.spawnargs[1])}:\n${p.output()}`);
        throw err;
      } finally {
        for (const p of procs.reverse()) await p.stop();
        await rm(tmp, { recursive: true, force: true });
      }
    });

    test("upgrade: a changed value rolls out; tokens and the hub certificate stay the same", async () => {
      const tokens = await secretData("hangar-controller-tokens");
      const tls = await secretData("hangar-hub-tls");
      const before = await pods("app.kubernetes.io/name=hangar-controller");
      const r = await helm(
        "upgrade",
        RELEASE,
        CHART,
        "--namespace",
        NS,
        "--set",
        "enforcement.mode=enforce",
        "--wait",
        "--timeout",
        "120s",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /REVISION: 2/);
      const cm = await apiRequest(cp, "GET", `/api/v1/namespaces/${NS}/configmaps/hangar-controller-config`);
      assert.equal(
        (parse((cm.body as { data: Record<string, string> }).data["policy.yaml"]!) as { mode: string }).mode,
        "enforce",
      );
      assert.deepEqual(await secretData("hangar-controller-tokens"), tokens, "API tokens kept (lookup)");
      assert.deepEqual(await secretData("hangar-hub-tls"), tls, "hub CA and certificate kept (lookup)");
      // The config checksum annotation changed, so the controller pods were replaced.
      const names = new Set(before.map((p) => p.metadata.name));
      await waitFor(
        "new controller pods",
        async () => {
          const ps = await pods("app.kubernetes.io/name=hangar-controller");
          const fresh = ps.filter((p) => !names.has(p.metadata.name) && p.status.phase === "Running");
          return fresh.length === 2 && ps.length === 2 ? fresh : undefined;
        },
        undefined,
        60_000,
        250,
      );
    });

    test("uninstall leaves no object of the release, namespaced or cluster-scoped", async () => {
      assert.ok(
        (await releaseObjects(cp, RELEASE)).length > 10,
        "the release's objects are found by its label",
      );
      const r = await helm("uninstall", RELEASE, "--namespace", NS, "--wait", "--timeout", "120s");
      assert.equal(r.code, 0, r.stderr);
      const left = await waitFor(
        "every object of the release to be gone",
        async () => {
          const objs = await releaseObjects(cp, RELEASE);
          return objs.length === 0 ? objs : undefined;
        },
        undefined,
        60_000,
        250,
      ).catch(async (err: unknown) => {
        throw new Error(`${String(err)}; left: ${(await releaseObjects(cp, RELEASE)).join(", ")}`);
      });
      assert.deepEqual(left, []);
      const releases = await apiRequest(
        cp,
        "GET",
        `/api/v1/namespaces/${NS}/secrets?labelSelector=owner%3Dhelm`,
      );
      assert.deepEqual(
        (releases.body as { items: unknown[] }).items,
        [],
        "helm's release records are gone too",
      );
      const crs = await apiRequest(cp, "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles");
      assert.deepEqual(
        (crs.body as { items: { metadata: { name: string } }[] }).items.filter((i) =>
          i.metadata.name.startsWith("hangar-"),
        ),
        [],
      );
    });
  },
);
