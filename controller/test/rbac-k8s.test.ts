/**
 * The RBAC of the Helm chart (helm/hangar-agent/templates/rbac.yaml, rendered by the real
 * `helm template`, with the MCP proxy on so every rule is there) is enough and no more:
 * - the whole controller — Lease, enforcement with and without Cilium, revert, TTL, records,
 *   static tokens, TokenReview — runs impersonating its service account without a single
 *   403, and the proxy's EndpointSlice watch runs with a real token of that account; every
 *   verb the chart grants it is one the controller used;
 * - the agent's pod watch (list + watch of pods with its node's field selector) works
 *   impersonating the agent's service account, which is granted nothing else;
 * - everything else asked by a SubjectAccessReview is denied to both.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  alert,
  apiRequest,
  ciliumNetworkPolicyCrd,
  helmTemplate,
  installCrd,
  skipUnlessControlPlane,
  skipUnlessHelm,
  startControlPlane,
  type ControlPlane,
} from "@hangar/testkit";
import { parseAllDocuments } from "yaml";
import { create } from "@bufbuild/protobuf";
import { Counters } from "@hangar/core";
import { hangar } from "@hangar/proto";
import { loadStaticTokens, tokenReview } from "../src/api/auth.js";
import { EventRecorder } from "../src/events/recorder.js";
import { ViolationEvents } from "../src/events/violations.js";
import { Enforcer } from "../src/enforce/engine.js";
import { KubeClient, type KubeRequest, type KubeResponse } from "../src/kube/kube.js";
import { LeaseElector, PodRoleLabel, ROLE_LABEL } from "../src/leader/leader.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { EndpointDirectory, watchEndpointSlices } from "../src/proxy/endpoints.js";
import { ensureNamespace, providerPod, request } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane() || skipUnlessHelm();
const CHART = fileURLToPath(new URL("../../../helm/hangar-agent", import.meta.url));
const SA = "system:serviceaccount:hangar-system:hangar-controller";
const AGENT_SA = "system:serviceaccount:hangar-system:hangar-agent";
const SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:hangar-system", "system:authenticated"];

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type Binding = {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace: string }[];
};

/** `verb group/resource` for every rule of every role bound to the service account `ns:name`. */
function grantedTo(docs: Record<string, unknown>[], ns: string, name: string): Set<string> {
  const granted = new Set<string>();
  for (const b of docs.filter((d) => d["kind"] === "ClusterRoleBinding" || d["kind"] === "RoleBinding")) {
    const binding = b as unknown as Binding;
    if (!binding.subjects.some((s) => s.kind === "ServiceAccount" && s.name === name && s.namespace === ns))
      continue;
    const role = docs.find(
      (d) =>
        d["kind"] === binding.roleRef.kind &&
        (d["metadata"] as { name: string }).name === binding.roleRef.name,
    );
    assert.ok(
      role !== undefined,
      `${String(b["kind"])} refers to a missing ${binding.roleRef.kind} ${binding.roleRef.name}`,
    );
    for (const rule of role["rules"] as Rule[])
      for (const g of rule.apiGroups)
        for (const r of rule.resources) for (const v of rule.verbs) granted.add(`${v} ${g}/${r}`);
  }
  return granted;
}

/** `verb group/resource` as RBAC sees a request. */
function verbOf(req: KubeRequest, res: KubeResponse): string[] {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/[^/]+)?\/([^/]+)(\/[^/]+)?$/.exec(req.path);
  if (m === null) return [];
  const group = m[1] ?? "";
  const resource = m[2] ?? "";
  const item = m[3] !== undefined;
  const verb = {
    GET: item ? "get" : "list",
    POST: "create",
    PUT: "update",
    PATCH: "patch",
    DELETE: "delete",
  }[req.method];
  const out = [`${verb} ${group}/${resource}`];
  // Server-side apply of an object that does not exist yet is a create too.
  if (req.method === "PATCH" && res.status === 201) out.push(`create ${group}/${resource}`);
  return out;
}

class RecordingClient extends KubeClient {
  readonly calls: { req: KubeRequest; res: KubeResponse }[] = [];
  override async send(req: KubeRequest): Promise<KubeResponse> {
    const res = await super.send(req);
    this.calls.push({ req, res });
    return res;
  }
}

describe("the chart's RBAC on a real API server: enough and no more", { skip }, () => {
  let cp: ControlPlane;
  let docs: Record<string, unknown>[];

  before(async () => {
    cp = await startControlPlane({
      tokens: [{ token: "rbac-test-user-token-0123", user: "erin", groups: ["hangar-admins"] }],
    });
    await ensureNamespace(cp, "hangar-system");
    await ensureNamespace(cp, "mcp");
    await installCrd(cp, ciliumNetworkPolicyCrd());
    const rendered = await helmTemplate({
      chart: CHART,
      namespace: "hangar-system",
      showOnly: ["templates/rbac.yaml"],
      // The proxy's rules are only rendered with the proxy on.
      set: [
        "proxy.enabled=true",
        "proxy.providers[0].provider=weather",
        "proxy.providers[0].namespace=mcp",
        "proxy.providers[0].service=weather",
      ],
    });
    docs = parseAllDocuments(rendered)
      .map((d) => d.toJS() as Record<string, unknown> | null)
      .filter((d): d is Record<string, unknown> => d !== null);
    const paths: Record<string, string> = {
      ServiceAccount: "/api/v1/namespaces/hangar-system/serviceaccounts",
      ClusterRole: "/apis/rbac.authorization.k8s.io/v1/clusterroles",
      ClusterRoleBinding: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      Role: "/apis/rbac.authorization.k8s.io/v1/namespaces/hangar-system/roles",
      RoleBinding: "/apis/rbac.authorization.k8s.io/v1/namespaces/hangar-system/rolebindings",
    };
    for (const d of docs) {
      const r = await apiRequest(cp, "POST", paths[d["kind"] as string] ?? "/x", { body: d });
      assert.equal(r.status, 201, `${String(d["kind"])}: ${JSON.stringify(r.body)}`);
    }
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/secrets", {
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "hangar-controller-tokens" },
        data: { "admin.ops": b64("rbac-static-admin-0123456789") },
      },
    });
    await providerPod(cp, "mcp", "weather", "192.0.2.9:443");
    const self = await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/pods", {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hangar-controller-0", labels: { "app.kubernetes.io/name": "hangar-controller" } },
        spec: { containers: [{ name: "controller", image: "hangar-controller" }] },
      },
    });
    assert.equal(self.status, 201, JSON.stringify(self.body));
  });
  after(async () => {
    await cp?.stop();
  });

  it("the whole controller runs as its service account without a 403, using every granted verb", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const kube = new RecordingClient(kc, { impersonate: { user: SA, groups: SA_GROUPS } });
    let clock = Date.now();
    const lease = new LeaseElector({
      kube,
      namespace: "hangar-system",
      identity: "rbac-test",
      leaseDurationSeconds: 5,
    });
    assert.equal(await lease.tryAcquireOrRenew(), true, String(lease.lastError));
    assert.equal(await lease.tryAcquireOrRenew(), true, "renewed");
    const enforcer = new Enforcer({
      kube,
      store: new ConfigMapStore(kube, "hangar-system"),
      config: parseConfig({ mode: "enforce" }),
      isLeader: () => lease.isLeader(),
      now: () => clock,
    });
    // Alerts and enforcement decisions as Events on the MCP pod: a new Event, then its series.
    const counters = new Counters();
    const recorder = new EventRecorder({ kube, counters, instance: "hangar-controller-0" });
    const events = new ViolationEvents({
      recorder,
      kube,
      isLeader: () => true,
      noPod: () => counters.inc("k8s_events_dropped", { reason: "no_pod" }),
    });
    enforcer.onEvent((e) => void events.enforcement(e));
    const a = alert({ ruleId: "hangar.exec.reverse_shell" });
    a.id = "rbac-alert";
    a.pod = create(hangar.PodIdentitySchema, { namespace: "mcp", name: "weather-0" });
    events.alert(a);
    events.alert(a);
    // Cilium is installed: block uses a CiliumNetworkPolicy …
    const block = await enforcer.submit(
      request({ provider: "weather", action: "block_egress", destination: "203.0.113.5" }),
    );
    assert.equal(block.state, "applied", block.error);
    assert.equal((await enforcer.revert(block.id, "test")).state, "reverted");
    // … and tighten, changed by a second enforcement, reverted step by step, then TTL.
    const t1 = await enforcer.submit(request({ provider: "weather", action: "tighten_egress" }));
    assert.equal(t1.state, "applied", t1.error);
    const t2 = await enforcer.submit(request({ provider: "weather", action: "quarantine", ttlSeconds: 60 }));
    assert.equal(t2.state, "applied", t2.error);
    const t3 = await enforcer.submit(request({ provider: "weather", action: "quarantine", ttlSeconds: 60 }));
    assert.equal(t3.state, "applied", t3.error);
    assert.equal(
      (await enforcer.revert(t3.id, "test")).state,
      "reverted",
      "restores t2's version (SSA patch)",
    );
    clock += 61_000;
    assert.equal(await enforcer.expireDue(), 1);
    assert.equal((await enforcer.revert(t1.id, "test")).state, "reverted");
    // Plain NetworkPolicies: create, change, restore, delete.
    const plain = new Enforcer({
      kube,
      store: new ConfigMapStore(kube, "hangar-system"),
      config: parseConfig({ mode: "enforce" }),
      policyKind: "NetworkPolicy",
    });
    const np = await plain.submit(request({ provider: "weather", action: "quarantine" }));
    assert.equal(np.state, "applied", np.error);
    const np2 = await plain.submit(request({ provider: "weather", action: "quarantine" }));
    assert.equal(np2.state, "applied", np2.error);
    await plain.revert(np2.id, "test");
    await plain.revert(np.id, "test");
    assert.equal((await plain.list()).length, 6);
    // Retention: finished records older than 7 days are deleted.
    clock += 8 * 86_400_000;
    assert.equal(await enforcer.prune(), 6);
    assert.deepEqual(await plain.list(), []);
    // REST API auth: the token Secret and TokenReview.
    assert.equal((await loadStaticTokens(kube, "hangar-system", "hangar-controller-tokens")).length, 1);
    const tr = await tokenReview(
      { kube, roles: { admin: { groups: ["hangar-admins"] } } },
      "rbac-test-user-token-0123",
    );
    assert.ok(tr.ok);
    // The Services route to the leader by a label the controller puts on its own pod.
    const podLabel = new PodRoleLabel(kube, "hangar-system", "hangar-controller-0");
    assert.equal(await podLabel.set(true), true, String(podLabel.lastError));
    const labelled = await apiRequest(cp, "GET", "/api/v1/namespaces/hangar-system/pods/hangar-controller-0");
    assert.equal(
      (labelled.body as { metadata: { labels: Record<string, string> } }).metadata.labels[ROLE_LABEL],
      "leader",
    );
    await lease.release();
    assert.equal(await podLabel.set(false), true, String(podLabel.lastError));
    await recorder.flush();
    const written = counters.snapshot();
    assert.equal(written['k8s_events{outcome="failed"}'], undefined, JSON.stringify(written));
    assert.ok((written['k8s_events{outcome="updated"}'] ?? 0) >= 1, JSON.stringify(written));

    // The MCP proxy's EndpointSlice watch, with a real token of the service account.
    const saToken = await apiRequest(
      cp,
      "POST",
      "/api/v1/namespaces/hangar-system/serviceaccounts/hangar-controller/token",
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      },
    );
    assert.equal(saToken.status, 201, JSON.stringify(saToken.body));
    const saKc = new k8s.KubeConfig();
    saKc.loadFromFile(
      await cp.writeKubeconfig((saToken.body as { status: { token: string } }).status.token, "controller-sa"),
    );
    const watchErrors: string[] = [];
    const slices = watchEndpointSlices({
      kubeConfig: saKc,
      services: [{ provider: "weather", namespace: "mcp", service: "weather" }],
      directory: new EndpointDirectory(),
      onError: (e) => watchErrors.push(e.message),
      retryMs: 60_000,
    });
    let timer: NodeJS.Timeout | undefined;
    const synced = await Promise.race([
      slices.synced.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000))),
    ]);
    clearTimeout(timer);
    const errorsBeforeStop = [...watchErrors]; // stop() aborts the watch, which is reported too
    await slices.stop();
    assert.deepEqual(errorsBeforeStop, [], "the EndpointSlice watch is allowed");
    assert.equal(synced, true, "the EndpointSlice watch synced");
    const proxyUsed = ["list discovery.k8s.io/endpointslices", "watch discovery.k8s.io/endpointslices"];

    const forbidden = kube.calls.filter((c) => c.res.status === 403);
    assert.deepEqual(
      forbidden.map((c) => `${c.req.method} ${c.req.path}`),
      [],
      "no 403: the RBAC is enough",
    );

    const used = new Set([...kube.calls.flatMap((c) => verbOf(c.req, c.res)), ...proxyUsed]);
    const granted = grantedTo(docs, "hangar-system", "hangar-controller");
    const unused = [...granted].filter((g) => !used.has(g)).sort();
    assert.deepEqual(unused, [], "every granted verb is used: no more than needed");
  });

  it("everything else is denied to the service account (SubjectAccessReview)", async () => {
    const can = async (
      verb: string,
      group: string,
      resource: string,
      namespace?: string,
      name?: string,
    ): Promise<boolean> => {
      const r = await apiRequest(cp, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: SA,
            groups: SA_GROUPS,
            resourceAttributes: {
              verb,
              group,
              resource,
              ...(namespace !== undefined ? { namespace } : {}),
              ...(name !== undefined ? { name } : {}),
            },
          },
        },
      });
      return (r.body as { status: { allowed: boolean } }).status.allowed;
    };
    const denied: [string, string, string, string?, string?][] = [
      ["list", "", "secrets", "hangar-system"],
      ["get", "", "secrets", "hangar-system", "other-secret"],
      ["get", "", "secrets", "mcp", "hangar-controller-tokens"],
      ["update", "", "secrets", "hangar-system", "hangar-controller-tokens"],
      ["delete", "", "configmaps", "mcp"],
      ["get", "", "configmaps", "mcp"],
      ["create", "", "configmaps", "mcp"],
      ["list", "networking.k8s.io", "networkpolicies", "mcp"],
      ["update", "networking.k8s.io", "networkpolicies", "mcp"],
      ["list", "cilium.io", "ciliumnetworkpolicies", "mcp"],
      ["create", "cilium.io", "ciliumclusterwidenetworkpolicies"],
      ["get", "", "pods", "mcp", "weather-0"],
      ["watch", "", "pods", "mcp"],
      ["delete", "", "pods", "mcp"],
      ["patch", "", "pods", "mcp", "weather-0"],
      ["update", "", "pods", "hangar-system", "hangar-controller-0"],
      ["create", "", "pods/exec", "mcp"],
      ["update", "coordination.k8s.io", "leases", "hangar-system", "someone-elses-lease"],
      ["delete", "coordination.k8s.io", "leases", "hangar-system", "hangar-controller"],
      ["create", "coordination.k8s.io", "leases", "kube-system"],
      ["create", "rbac.authorization.k8s.io", "clusterrolebindings"],
      ["escalate", "rbac.authorization.k8s.io", "clusterroles"],
      ["impersonate", "", "users"],
      ["create", "", "serviceaccounts/token", "hangar-system", "hangar-controller"],
      ["list", "", "namespaces"],
      ["create", "authorization.k8s.io", "subjectaccessreviews"],
      ["get", "events.k8s.io", "events", "mcp"],
      ["list", "events.k8s.io", "events", "mcp"],
      ["update", "events.k8s.io", "events", "mcp"],
      ["delete", "events.k8s.io", "events", "mcp"],
      ["create", "", "events", "mcp"],
    ];
    const wrongly: string[] = [];
    for (const [verb, group, resource, ns, name] of denied)
      if (await can(verb, group, resource, ns, name))
        wrongly.push(`${verb} ${group}/${resource} ${ns ?? ""}/${name ?? ""}`);
    assert.deepEqual(wrongly, [], "the service account may not do these");
    // And the granted ones are allowed where the controller needs them (any provider namespace).
    for (const ns of ["mcp", "another-team"]) {
      assert.equal(await can("patch", "networking.k8s.io", "networkpolicies", ns), true);
      assert.equal(await can("delete", "cilium.io", "ciliumnetworkpolicies", ns), true);
      assert.equal(await can("list", "", "pods", ns), true);
      assert.equal(await can("create", "events.k8s.io", "events", ns), true);
      assert.equal(await can("patch", "events.k8s.io", "events", ns), true);
      assert.equal(await can("watch", "discovery.k8s.io", "endpointslices", ns), true);
    }
  });

  it("the agent's service account: its pod watch works, and nothing else is allowed", async () => {
    const as = { asUser: AGENT_SA, asGroups: SA_GROUPS };
    // The agent's informer: list, then watch, pods of every namespace with its node's field selector.
    const selector = `fieldSelector=${encodeURIComponent("spec.nodeName=node-a")}`;
    const list = await apiRequest(cp, "GET", `/api/v1/pods?${selector}`, as);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const rv = (list.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const watch = await apiRequest(
      cp,
      "GET",
      `/api/v1/pods?${selector}&watch=true&timeoutSeconds=1&resourceVersion=${rv}`,
      as,
    );
    assert.equal(watch.status, 200, JSON.stringify(watch.body));
    assert.deepEqual([...grantedTo(docs, "hangar-system", "hangar-agent")].sort(), [
      "list /pods",
      "watch /pods",
    ]);
    // Each verb both ways: the two it needs are allowed, the rest denied.
    const can = async (verb: string, group: string, resource: string, namespace?: string, name?: string) => {
      const r = await apiRequest(cp, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: AGENT_SA,
            groups: SA_GROUPS,
            resourceAttributes: {
              verb,
              group,
              resource,
              ...(namespace !== undefined ? { namespace } : {}),
              ...(name !== undefined ? { name } : {}),
            },
          },
        },
      });
      return (r.body as { status: { allowed: boolean } }).status.allowed;
    };
    for (const ns of [undefined, "mcp"]) {
      assert.equal(await can("list", "", "pods", ns), true);
      assert.equal(await can("watch", "", "pods", ns), true);
    }
    const denied: [string, string, string, string?, string?][] = [
      ["get", "", "pods", "mcp", "weather-0"],
      ["delete", "", "pods", "mcp"],
      ["create", "", "pods/exec", "mcp"],
      ["list", "", "secrets"],
      ["get", "", "secrets", "hangar-system", "hangar-controller-tokens"],
      ["list", "", "nodes"],
      ["list", "", "configmaps", "hangar-system"],
      ["create", "authentication.k8s.io", "tokenreviews"],
      ["patch", "networking.k8s.io", "networkpolicies", "mcp"],
      ["update", "coordination.k8s.io", "leases", "hangar-system", "hangar-controller"],
      ["list", "discovery.k8s.io", "endpointslices", "mcp"],
      ["create", "", "serviceaccounts/token", "hangar-system", "hangar-agent"],
    ];
    const wrongly: string[] = [];
    for (const [verb, group, resource, ns, name] of denied)
      if (await can(verb, group, resource, ns, name))
        wrongly.push(`${verb} ${group}/${resource} ${ns ?? ""}/${name ?? ""}`);
    assert.deepEqual(wrongly, [], "the agent may not do these");
    // The controller's service account cannot watch pods: the grants are not mixed up.
    const ctl = await apiRequest(cp, "GET", `/api/v1/pods?${selector}&watch=true&timeoutSeconds=1`, {
      asUser: SA,
      asGroups: SA_GROUPS,
    });
    assert.equal(ctl.status, 403);
  });
});
