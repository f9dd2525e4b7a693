/**
 * The controller's RBAC (controller/deploy/rbac.yaml, which the Helm chart
 * templates) is enough and no more: the whole controller — Lease, enforcement
 * with and without Cilium, revert, TTL, records, static tokens, TokenReview —
 * runs impersonating its service account without a single 403, every verb the
 * manifest grants is one the controller used, and everything else asked by a
 * SubjectAccessReview is denied.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  apiRequest,
  ciliumNetworkPolicyCrd,
  installCrd,
  skipUnlessControlPlane,
  startControlPlane,
  type ControlPlane,
} from "@hangar/testkit";
import { parseAllDocuments } from "yaml";
import { loadStaticTokens, tokenReview } from "../src/api/auth.js";
import { Enforcer } from "../src/enforce/engine.js";
import { KubeClient, type KubeRequest, type KubeResponse } from "../src/enforce/kube.js";
import { LeaseElector } from "../src/enforce/leader.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { ensureNamespace, providerPod, request } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane();
const RBAC = fileURLToPath(new URL("../../deploy/rbac.yaml", import.meta.url));
const SA = "system:serviceaccount:hangar-system:hangar-controller";
const SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:hangar-system", "system:authenticated"];

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

describe("controller RBAC on a real API server: enough and no more", { skip }, () => {
  let cp: ControlPlane;
  let docs: Record<string, unknown>[];

  before(async () => {
    cp = await startControlPlane({
      tokens: [{ token: "rbac-test-user-token-0123", user: "erin", groups: ["hangar-admins"] }],
    });
    await ensureNamespace(cp, "hangar-system");
    await ensureNamespace(cp, "mcp");
    await installCrd(cp, ciliumNetworkPolicyCrd());
    docs = parseAllDocuments(readFileSync(RBAC, "utf8")).map((d) => d.toJS() as Record<string, unknown>);
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
    await lease.release();

    const forbidden = kube.calls.filter((c) => c.res.status === 403);
    assert.deepEqual(
      forbidden.map((c) => `${c.req.method} ${c.req.path}`),
      [],
      "no 403: the RBAC is enough",
    );

    const used = new Set(kube.calls.flatMap((c) => verbOf(c.req, c.res)));
    const granted = new Set<string>();
    for (const d of docs.filter((x) => x["kind"] === "ClusterRole" || x["kind"] === "Role")) {
      for (const rule of d["rules"] as { apiGroups: string[]; resources: string[]; verbs: string[] }[])
        for (const g of rule.apiGroups)
          for (const r of rule.resources) for (const v of rule.verbs) granted.add(`${v} ${g}/${r}`);
    }
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
    }
  });
});
