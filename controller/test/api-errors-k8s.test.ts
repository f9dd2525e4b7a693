/**
 * One error shape for every status the REST API can return, checked against
 * docs/reference/errors.md: each status is provoked over a real socket (the enforcer on a real
 * API server), the body is `{"error":{"code","message"}}` and nothing else, the code is a
 * documented one, and its row in the docs names that HTTP status. Framework errors (body too
 * large, media type, invalid JSON, header fields too large, a request the parser refused)
 * come out as documented codes, never as `FST_ERR_*`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { skipUnlessControlPlane, startControlPlane, type ControlPlane } from "@hangar/testkit";
import { AlertStore } from "../src/api/alerts.js";
import { Authenticator } from "../src/api/auth.js";
import { startApi, type RunningApi } from "../src/api/server.js";
import type { BaselineViewPort } from "../src/baselines/baselines.js";
import { MemoryBaselineView } from "../src/baselines/baselines.js";
import { Enforcer } from "../src/enforce/engine.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { KubeClient } from "../src/kube/kube.js";
import { adminClient, ensureNamespace } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane();
const READ = "static-read-token-0123456789";
const ADMIN = "static-admin-token-0123456789";
const DOC = fileURLToPath(new URL("../../../docs/reference/errors.md", import.meta.url));

/** The controller section's rows: code → the row's text. */
function documentedRows(): Map<string, string> {
  const md = readFileSync(DOC, "utf8");
  const start = md.indexOf("## controller: enforcement, REST API, agent hub");
  const end = md.indexOf("\n## ", start + 1);
  const rows = new Map<string, string>();
  for (const line of md.slice(start, end).split("\n")) {
    const m = /^\| `(HANGAR_ERR_[A-Z_]+)` \|(.*)$/.exec(line);
    if (m !== null) rows.set(m[1] as string, m[2] as string);
  }
  return rows;
}

/** One HTTP/1.1 exchange over a raw socket: the status and the body as text. */
function raw(url: string, text: string): Promise<{ status: number; body: string; head: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => {
      const out = Buffer.concat(chunks).toString("utf8");
      const split = out.indexOf("\r\n\r\n");
      const head = out.slice(0, split);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        body: out.slice(split + 4),
        head,
      });
    });
    s.write(text);
  });
}

const request = (
  method: string,
  path: string,
  opts: { token?: string; contentType?: string; body?: string; extra?: string } = {},
): string =>
  `${method} ${path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n` +
  (opts.token !== undefined ? `authorization: Bearer ${opts.token}\r\n` : "") +
  (opts.contentType !== undefined ? `content-type: ${opts.contentType}\r\n` : "") +
  (opts.body !== undefined ? `content-length: ${Buffer.byteLength(opts.body)}\r\n` : "") +
  (opts.extra ?? "") +
  `\r\n${opts.body ?? ""}`;

describe("REST API errors: one shape for every status, as documented", { skip }, () => {
  let cp: ControlPlane;
  let api: RunningApi;
  let broken: RunningApi;

  before(async () => {
    cp = await startControlPlane();
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
    const kube = adminClient(cp);
    const auth = new Authenticator({
      staticTokens: [
        { user: "grafana", role: "read", token: READ },
        { user: "ops", role: "admin", token: ADMIN },
      ],
    });
    const baseline = new MemoryBaselineView();
    api = await startApi({
      listen: "127.0.0.1:0",
      enforcer: new Enforcer({
        kube,
        store: new ConfigMapStore(kube, "hangar-system"),
        config: parseConfig({ mode: "enforce" }),
        baseline,
      }),
      alerts: new AlertStore(),
      baseline,
      auth,
    });
    // A controller whose enforcer may not read its ConfigMaps (the API server answers 403) and
    // whose baseline view crashes: the 502 and 500 paths.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const nobody = new KubeClient(kc, { impersonate: { user: "nobody" } });
    const crashing: BaselineViewPort = {
      providers: () => Promise.reject(new Error("baseline engine crashed")),
      baseline: () => Promise.reject(Object.assign(new Error("disk I/O error"), { code: "EIO" })),
    };
    broken = await startApi({
      listen: "127.0.0.1:0",
      enforcer: new Enforcer({
        kube: nobody,
        store: new ConfigMapStore(nobody, "hangar-system"),
        config: parseConfig({ mode: "enforce" }),
        baseline,
      }),
      alerts: new AlertStore(),
      baseline: crashing,
      auth,
    });
  });
  after(async () => {
    await api?.close();
    await broken?.close();
    await cp?.stop();
  });

  const validBody = JSON.stringify({
    provider: "weather",
    namespace: "mcp",
    action: "block_egress",
    destination: "203.0.113.77",
  });

  const cases: [
    name: string,
    status: number,
    code: string,
    on: () => RunningApi,
    req: string,
    why?: RegExp,
  ][] = [
    [
      "a bad query value",
      400,
      "HANGAR_ERR_API_REQUEST",
      () => api,
      request("GET", "/v1/alerts?severity=loud", { token: READ }),
      /querystring\/severity/,
    ],
    [
      "invalid JSON",
      400,
      "HANGAR_ERR_API_REQUEST",
      () => api,
      request("POST", "/v1/enforcements", { token: ADMIN, contentType: "application/json", body: "{bad" }),
      /^body: not valid JSON: .*position 1/,
    ],
    [
      "an empty JSON body",
      400,
      "HANGAR_ERR_API_REQUEST",
      () => api,
      request("POST", "/v1/enforcements", { token: ADMIN, contentType: "application/json", body: "" }),
      /^body: empty/,
    ],
    [
      "a __proto__ key",
      400,
      "HANGAR_ERR_API_REQUEST",
      () => api,
      request("POST", "/v1/enforcements", {
        token: ADMIN,
        contentType: "application/json",
        body: '{"provider":"weather","namespace":"mcp","action":"block_egress","__proto__":{"admin":true}}',
      }),
      /^body: the key __proto__ is not allowed/,
    ],
    [
      "a constructor.prototype key",
      400,
      "HANGAR_ERR_API_REQUEST",
      () => api,
      request("POST", "/v1/enforcements", {
        token: ADMIN,
        contentType: "application/json; charset=utf-8",
        body: '{"constructor":{"prototype":{"x":1}}}',
      }),
      /^body: the key constructor\.prototype is not allowed/,
    ],
    [
      "an invalid enforcement",
      400,
      "HANGAR_ERR_ENFORCE_REQUEST",
      () => api,
      request("POST", "/v1/enforcements", {
        token: ADMIN,
        contentType: "application/json",
        body: JSON.stringify({
          provider: "weather",
          namespace: "Not_A_Namespace",
          action: "block_egress",
          destination: "203.0.113.9",
        }),
      }),
    ],
    [
      "not HTTP at all",
      400,
      "HANGAR_ERR_API_REQUEST",
      () => api,
      "GARBAGE\r\n\r\n",
      /not a valid HTTP request/,
    ],
    ["no token", 401, "HANGAR_ERR_API_UNAUTHENTICATED", () => api, request("GET", "/v1/alerts")],
    [
      "a read token on an admin route",
      403,
      "HANGAR_ERR_API_FORBIDDEN",
      () => api,
      request("POST", "/v1/enforcements", { token: READ, contentType: "application/json", body: validBody }),
    ],
    [
      "no such route",
      404,
      "HANGAR_ERR_API_NOT_FOUND",
      () => api,
      request("PUT", "/v1/alerts", { token: READ }),
    ],
    [
      "no such enforcement",
      404,
      "HANGAR_ERR_ENFORCE_NOT_FOUND",
      () => api,
      request("GET", "/v1/enforcements/e000000000000", { token: READ }),
    ],
    [
      "a body over 1 MiB",
      413,
      "HANGAR_ERR_API_TOO_LARGE",
      () => api,
      request("POST", "/v1/enforcements", {
        token: ADMIN,
        contentType: "application/json",
        body: JSON.stringify({ reason: "x".repeat(1024 * 1024) }),
      }),
      /^body: larger than 1048576 bytes/,
    ],
    [
      "a text/plain body",
      415,
      "HANGAR_ERR_API_MEDIA_TYPE",
      () => api,
      request("POST", "/v1/enforcements", { token: ADMIN, contentType: "text/plain", body: "block it" }),
    ],
    [
      "an XML body",
      415,
      "HANGAR_ERR_API_MEDIA_TYPE",
      () => api,
      request("POST", "/v1/enforcements", { token: ADMIN, contentType: "application/xml", body: "<a/>" }),
    ],
    [
      "header fields over 16 KiB",
      431,
      "HANGAR_ERR_API_TOO_LARGE",
      () => api,
      request("GET", "/v1/alerts", { token: READ, extra: `x-big: ${"a".repeat(20_000)}\r\n` }),
      /^headers: larger than 16384 bytes/,
    ],
    [
      "a crashing baseline view",
      500,
      "HANGAR_ERR_API_INTERNAL",
      () => broken,
      request("GET", "/v1/providers/weather/baseline", { token: READ }),
      /the controller's log has the cause/,
    ],
    [
      "an enforcer the API server refuses",
      502,
      "HANGAR_ERR_ENFORCE_KUBE",
      () => broken,
      request("GET", "/v1/enforcements", { token: READ }),
    ],
  ];

  for (const [name, status, code, on, req, why] of cases)
    it(`${status} ${name}: {"error":{"code":"${code}","message"}}, documented with HTTP ${status}`, async () => {
      const res = await raw(on().url, req);
      assert.equal(res.status, status, `${res.head}\n${res.body.slice(0, 300)}`);
      assert.match(res.head, /content-type: application\/json/i);
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      assert.deepEqual(Object.keys(body), ["error"]);
      assert.deepEqual(Object.keys(body.error).sort(), ["code", "message"]);
      assert.equal(body.error.code, code, body.error.message);
      assert.ok(body.error.message.length > 0);
      assert.doesNotMatch(res.body, /FST_ERR|statusCode/);
      if (why !== undefined) assert.match(body.error.message, why);
      const row = documentedRows().get(code);
      assert.ok(row !== undefined, `${code} is in docs/reference/errors.md`);
      assert.match(row, new RegExp(`HTTP ${status}\\b`), `the row of ${code} names HTTP ${status}`);
    });

  it("a crash's own message and code do not leak (the log has them)", async () => {
    const res = await raw(broken.url, request("GET", "/v1/providers/weather/baseline", { token: READ }));
    assert.doesNotMatch(res.body, /EIO|disk I\/O error/);
  });
});
