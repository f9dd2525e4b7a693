import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ControllerError } from "@hangar/controller";
import { LocalCluster } from "./cluster.js";

const NP = "/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies";

describe("LocalCluster (the local stack's empty cluster)", () => {
  it("answers TokenReview for the tokens it was given, with the bound node, and rejects others", async () => {
    const c = new LocalCluster({
      tokens: [
        {
          token: "t1",
          username: "system:serviceaccount:hangar-system:hangar-agent",
          audiences: ["hangar-controller"],
          node: "local",
        },
      ],
    });
    const review = async (token: string, audiences: string[]) =>
      (
        (
          await c.call({
            method: "POST",
            path: "/apis/authentication.k8s.io/v1/tokenreviews",
            body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences } },
          })
        ).body as {
          status: {
            authenticated: boolean;
            error?: string;
            user?: { username: string; extra?: Record<string, string[]> };
          };
        }
      ).status;
    const ok = await review("t1", ["hangar-controller"]);
    assert.equal(ok.authenticated, true);
    assert.equal(ok.user?.username, "system:serviceaccount:hangar-system:hangar-agent");
    assert.deepEqual(ok.user?.extra?.["authentication.kubernetes.io/node-name"], ["local"]);
    assert.deepEqual(await review("t2", ["hangar-controller"]), {
      authenticated: false,
      error: "unknown token",
    });
    assert.equal((await review("t1", ["someone-else"])).authenticated, false);
  });

  it("is empty: objects are 404, lists are empty, no CRD is served, /version answers", async () => {
    const c = new LocalCluster();
    assert.equal(await c.get(`${NP}/x`), undefined);
    const pods = await c.call({
      method: "GET",
      path: "/api/v1/namespaces/mcp/pods",
      query: { labelSelector: "a=b" },
    });
    assert.deepEqual((pods.body as { items: unknown[] }).items, []);
    assert.equal(await c.serves("cilium.io/v2", "ciliumnetworkpolicies"), false);
    assert.equal((await c.send({ method: "GET", path: "/version" })).status, 200);
    await assert.rejects(c.call({ method: "GET", path: "/apis/unknown" }), ControllerError);
  });

  it("keeps what is applied, with resourceVersions, conflicts on a stale one, and deletes", async () => {
    const c = new LocalCluster();
    const obj = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "p", labels: { "app.kubernetes.io/managed-by": "hangar-controller" } },
    };
    const created = await c.call({
      method: "PATCH",
      path: `${NP}/p`,
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
    assert.equal(created.status, 201);
    const live = await c.get(`${NP}/p`);
    assert.equal(live?.metadata.namespace, "mcp");
    const rv = live?.metadata.resourceVersion ?? "";
    const list = await c.call({
      method: "GET",
      path: NP,
      query: { labelSelector: "app.kubernetes.io/managed-by=hangar-controller" },
    });
    assert.equal((list.body as { items: unknown[] }).items.length, 1);
    const stale = await c.send({
      method: "PATCH",
      path: `${NP}/p`,
      body: { ...obj, metadata: { ...obj.metadata, resourceVersion: "0" } },
    });
    assert.equal(stale.status, 409);
    const updated = await c.send({
      method: "PATCH",
      path: `${NP}/p`,
      body: { ...obj, metadata: { ...obj.metadata, resourceVersion: rv } },
    });
    assert.equal(updated.status, 200);
    assert.equal((await c.send({ method: "DELETE", path: `${NP}/p` })).status, 200);
    assert.equal(c.objects.size, 0);
    assert.equal((await c.send({ method: "DELETE", path: `${NP}/p` })).status, 404);
  });
});
