/**
 * Every route of the REST API (buildApp + inject), with the enforcer on a real
 * API server and both kinds of bearer tokens: static tokens from a Secret and
 * Kubernetes tokens checked by TokenReview. `?follow` is tested over a real
 * socket as server-sent events.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { apiRequest, skipUnlessControlPlane, startControlPlane, type ControlPlane } from "@hangar/testkit";
import type { FastifyInstance } from "fastify";
import { AlertStore } from "../src/api/alerts.js";
import { buildApp } from "../src/api/app.js";
import { Authenticator, loadStaticTokens, parseTokenSecret } from "../src/api/auth.js";
import { startApi } from "../src/api/server.js";
import { MemoryBaselineView } from "../src/baselines/baselines.js";
import { Enforcer } from "../src/enforce/engine.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { adminClient, ensureNamespace } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane();
const READ = "static-read-token-0123456789";
const ADMIN = "static-admin-token-0123456789";
const K8S_READER = "k8s-reader-token-0123456789";
const K8S_ADMIN = "k8s-admin-token-0123456789";
const K8S_NOBODY = "k8s-nobody-token-0123456789";

export function alert(
  id: string,
  provider: string,
  severity: hangar.Severity,
  rule = "r.shell",
  at = new Date(),
): hangar.Alert {
  return create(hangar.AlertSchema, {
    id,
    ruleId: rule,
    provider,
    severity,
    message: `alert ${id}`,
    time: timestampFromDate(at),
    node: "node-a",
  });
}

describe("REST API", { skip }, () => {
  let cp: ControlPlane;
  let app: FastifyInstance;
  let alerts: AlertStore;
  let enforcer: Enforcer;

  before(async () => {
    cp = await startControlPlane({
      tokens: [
        { token: K8S_READER, user: "alice", groups: ["hangar-readers"] },
        { token: K8S_ADMIN, user: "bob", groups: ["hangar-admins"] },
        { token: K8S_NOBODY, user: "carol", groups: ["others"] },
      ],
    });
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    const secret = await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/secrets", {
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "hangar-controller-tokens" },
        data: { "read.grafana": b64(READ), "admin.ops": b64(`${ADMIN}\n`) },
      },
    });
    assert.equal(secret.status, 201);
    const kube = adminClient(cp);
    const auth = new Authenticator({
      staticTokens: await loadStaticTokens(kube, "hangar-system", "hangar-controller-tokens"),
      tokenReview: {
        kube,
        roles: { admin: { groups: ["hangar-admins"] }, read: { groups: ["hangar-readers"] } },
      },
    });
    const baseline = new MemoryBaselineView();
    baseline.set({
      provider: "weather",
      state: "enforcing",
      version: "v7",
      facets: { egress: [{ value: "203.0.113.10:443/tcp", count: 4 }] },
    });
    alerts = new AlertStore();
    alerts.add(alert("a1", "weather", hangar.Severity.HIGH, "r.shell", new Date("2026-11-01T00:00:00Z")));
    alerts.add(alert("a2", "maps", hangar.Severity.LOW, "r.dns", new Date("2026-11-02T00:00:00Z")));
    alerts.add(alert("a3", "weather", hangar.Severity.CRITICAL, "r.exfil", new Date("2026-11-03T00:00:00Z")));
    enforcer = new Enforcer({
      kube,
      store: new ConfigMapStore(kube, "hangar-system"),
      config: parseConfig({ mode: "enforce" }),
      baseline,
    });
    app = buildApp({
      enforcer,
      alerts,
      baseline,
      auth,
      ready: () => Promise.resolve({ ready: true, checks: { kube: "ok" } }),
    });
  });
  after(async () => {
    await app?.close();
    await cp?.stop();
  });

  const call = async (method: "GET" | "POST", url: string, token?: string, body?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}),
    });
    return {
      status: res.statusCode,
      body: res.body === "" ? undefined : res.json<Record<string, unknown>>(),
      headers: res.headers,
    };
  };

  it("/healthz, /readyz and /openapi.json need no token", async () => {
    assert.deepEqual((await call("GET", "/healthz")).body, { status: "ok" });
    const ready = await call("GET", "/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: "ready", leader: true, checks: { kube: "ok" } });
    const doc = (await call("GET", "/openapi.json")).body as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/healthz",
      "/openapi.json",
      "/readyz",
      "/v1/alerts",
      "/v1/enforcements",
      "/v1/enforcements/{id}",
      "/v1/enforcements/{id}/revert",
      "/v1/providers",
      "/v1/providers/{name}/baseline",
    ]);
  });

  it("/readyz says 503 when not ready", async () => {
    const a = buildApp({
      enforcer,
      alerts,
      baseline: new MemoryBaselineView(),
      auth: new Authenticator(),
      ready: () => Promise.resolve({ ready: false, checks: { kube: "GET /version: connection refused" } }),
      isLeader: () => false,
    });
    const res = await a.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), {
      status: "not ready",
      leader: false,
      checks: { kube: "GET /version: connection refused" },
    });
    await a.close();
  });

  const readRoutes = [
    "/v1/providers",
    "/v1/providers/weather/baseline",
    "/v1/alerts",
    "/v1/enforcements",
    "/v1/enforcements/e000000000000",
  ];
  it("every /v1 route: 401 without or with an unknown token, 403 for a user without a role", async () => {
    for (const url of [
      ...readRoutes,
      "POST /v1/enforcements",
      "POST /v1/enforcements/e000000000000/revert",
    ]) {
      const [method, path] = url.startsWith("POST ")
        ? (["POST", url.slice(5)] as const)
        : (["GET", url] as const);
      const none = await call(method, path);
      assert.equal(none.status, 401, url);
      assert.equal(none.headers["www-authenticate"], 'Bearer realm="hangar-controller"');
      assert.equal((none.body as { error: { code: string } }).error.code, "HANGAR_ERR_API_UNAUTHENTICATED");
      const unknown = await call(method, path, "not-a-known-token-at-all");
      assert.equal(unknown.status, 401, url);
      assert.match(
        (unknown.body as { error: { message: string } }).error.message,
        /token rejected by TokenReview/,
      );
      const nobody = await call(method, path, K8S_NOBODY);
      assert.equal(nobody.status, 403, url);
      assert.match(
        (nobody.body as { error: { message: string } }).error.message,
        /carol is authenticated but has no hangar role/,
      );
    }
  });

  it("read tokens (static and TokenReview) may read and may not revert or enforce", async () => {
    for (const token of [READ, K8S_READER]) {
      for (const url of readRoutes.slice(0, 4))
        assert.equal((await call("GET", url, token)).status, 200, url);
      const post = await call("POST", "/v1/enforcements", token, {
        provider: "weather",
        namespace: "mcp",
        action: "quarantine",
      });
      assert.equal(post.status, 403);
      assert.match(
        (post.body as { error: { message: string } }).error.message,
        /has role read; this needs admin/,
      );
      assert.equal((await call("POST", "/v1/enforcements/e000000000000/revert", token)).status, 403);
    }
  });

  it("/v1/providers and /v1/providers/:name/baseline", async () => {
    const list = await call("GET", "/v1/providers", READ);
    assert.deepEqual(list.body, {
      providers: [{ provider: "weather", state: "enforcing", version: "v7", items: { egress: 1 } }],
    });
    const b = await call("GET", "/v1/providers/weather/baseline", READ);
    assert.equal((b.body as { facets: { egress: unknown[] } }).facets.egress.length, 1);
    const missing = await call("GET", "/v1/providers/nope/baseline", READ);
    assert.equal(missing.status, 404);
    assert.match(
      (missing.body as { error: { message: string } }).error.message,
      /provider nope has no baseline/,
    );
    const bad = await call("GET", "/v1/providers/-bad-/baseline", READ);
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: { message: string } }).error.message, /params\/name/);
  });

  it("/v1/alerts with filters; bad filters are 400 naming the field", async () => {
    const ids = async (q: string): Promise<string[]> =>
      ((await call("GET", `/v1/alerts${q}`, READ)).body as { alerts: { id: string }[] }).alerts.map(
        (a) => a.id,
      );
    assert.deepEqual(await ids(""), ["a1", "a2", "a3"]);
    assert.deepEqual(await ids("?provider=weather"), ["a1", "a3"]);
    assert.deepEqual(await ids("?severity=high"), ["a1", "a3"]);
    assert.deepEqual(await ids("?rule=r.dns"), ["a2"]);
    assert.deepEqual(await ids("?since=2026-11-02T00:00:00Z"), ["a2", "a3"]);
    assert.deepEqual(await ids("?limit=1"), ["a3"]);
    const bad = await call("GET", "/v1/alerts?severity=urgent", READ);
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: { message: string } }).error.message, /querystring\/severity/);
    assert.equal((await call("GET", "/v1/alerts?colour=red", READ)).status, 400);
    assert.equal((await call("GET", "/v1/alerts?limit=0", READ)).status, 400);
  });

  it("/v1/alerts?follow streams the backlog, then new matching alerts, as server-sent events", async () => {
    const api = await startApi({
      listen: "127.0.0.1:0",
      enforcer,
      alerts,
      baseline: new MemoryBaselineView(),
      auth: new Authenticator({
        staticTokens: parseTokenSecret({ "read.t": Buffer.from(READ).toString("base64") }, "test"),
      }),
    });
    try {
      const events: { event: string; data: { id: string } }[] = [];
      const req = httpRequest(`${api.url}/v1/alerts?follow&provider=weather`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      const got = new Promise<{ type: string | undefined }>((resolve, reject) => {
        req.on("response", (res) => {
          let buf = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buf += chunk;
            let i;
            while ((i = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, i);
              buf = buf.slice(i + 2);
              const ev = /^event: (.*)$/m.exec(block)?.[1];
              const data = /^data: (.*)$/m.exec(block)?.[1];
              if (ev !== undefined && data !== undefined)
                events.push({ event: ev, data: JSON.parse(data) as { id: string } });
              if (block === ": following") {
                alerts.add(alert("a4", "maps", hangar.Severity.HIGH));
                alerts.add(alert("a5", "weather", hangar.Severity.HIGH));
              }
              if (events.length === 3) resolve({ type: res.headers["content-type"] });
            }
          });
        });
        req.on("error", reject);
      });
      req.end();
      const { type } = await got;
      assert.equal(type, "text/event-stream; charset=utf-8");
      assert.deepEqual(
        events.map((e) => `${e.event}:${e.data.id}`),
        ["alert:a1", "alert:a3", "alert:a5"],
      );
      req.destroy();
    } finally {
      await api.close();
    }
  });

  it("/v1/enforcements: POST (admin), list, get, revert, with errors", async () => {
    for (const token of [ADMIN, K8S_ADMIN]) {
      const post = await call("POST", "/v1/enforcements", token, {
        provider: "weather",
        namespace: "mcp",
        action: "block_egress",
        destination: token === ADMIN ? "203.0.113.50" : "203.0.113.51",
        ttlSeconds: 600,
      });
      assert.equal(post.status, 201, JSON.stringify(post.body));
      const rec = post.body as { id: string; state: string; actor: string };
      assert.equal(rec.state, "applied");
      assert.equal(rec.actor, token === ADMIN ? "hangar-ctl:ops" : "hangar-ctl:bob");
      const list = (await call("GET", "/v1/enforcements?provider=weather&state=applied", READ)).body as {
        enforcements: { id: string; object: string }[];
      };
      assert.ok(
        list.enforcements.some(
          (e) => e.id === rec.id && e.object.startsWith("NetworkPolicy/hangar-block-weather-"),
        ),
      );
      const one = await call("GET", `/v1/enforcements/${rec.id}`, READ);
      assert.equal((one.body as { manifest: { kind: string } }).manifest.kind, "NetworkPolicy");
      const rev = await call("POST", `/v1/enforcements/${rec.id}/revert`, token);
      assert.equal(rev.status, 200, JSON.stringify(rev.body));
      assert.equal((rev.body as { state: string }).state, "reverted");
      const again = await call("POST", `/v1/enforcements/${rec.id}/revert`, token);
      assert.equal(again.status, 409);
      assert.equal((again.body as { error: { code: string } }).error.code, "HANGAR_ERR_ENFORCE_CONFLICT");
    }
    assert.equal((await call("GET", "/v1/enforcements/e000000000000", READ)).status, 404);
    assert.equal((await call("POST", "/v1/enforcements/e000000000000/revert", ADMIN)).status, 404);
    const badId = await call("GET", "/v1/enforcements/DROP", READ);
    assert.equal(badId.status, 400);
    const badBody = await call("POST", "/v1/enforcements", ADMIN, {
      provider: "weather",
      namespace: "mcp",
      action: "nuke",
    });
    assert.equal(badBody.status, 400);
    assert.match((badBody.body as { error: { message: string } }).error.message, /body\/action/);
    const badDest = await call("POST", "/v1/enforcements", ADMIN, {
      provider: "weather",
      namespace: "mcp",
      action: "block_egress",
      destination: "300.1.1.1/99",
    });
    assert.equal(badDest.status, 400);
    assert.match(
      (badDest.body as { error: { message: string } }).error.message,
      /destination: "300\.1\.1\.1\/99"/,
    );
    assert.equal((await call("GET", "/v1/enforcements?state=bogus", READ)).status, 400);
    const nf = await call("GET", "/v1/nothing", READ);
    assert.equal(nf.status, 404);
    assert.equal((nf.body as { error: { code: string } }).error.code, "HANGAR_ERR_API_NOT_FOUND");
  });

  it("static tokens: a Secret with a bad key or a short token is refused, naming the key", () => {
    assert.throws(
      () => parseTokenSecret({ "root.x": Buffer.from("0123456789abcdefg").toString("base64") }, "Secret s/t"),
      /Secret s\/t: data key "root\.x" is not <role>\.<user>/,
    );
    assert.throws(
      () => parseTokenSecret({ "read.x": Buffer.from("short").toString("base64") }, "Secret s/t"),
      /data key read\.x: the token is shorter than 16/,
    );
  });
});
