/**
 * The agent hub over real gRPC sockets, with the agent's real client
 * (agent/src/hub): projected service-account tokens checked by TokenReview on a
 * real API server, mTLS with client certificates, transparent reconnects, and
 * nothing that the hub acknowledged lost.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { HubClient, HubRefusal } from "@hangar/agent";
import {
  apiRequest,
  skipUnlessControlPlane,
  startControlPlane,
  writeTestCerts,
  type ControlPlane,
  waitFor,
} from "@hangar/testkit";
import { AgentHub, type HubHandlers } from "@hangar/controller";
import { adminClient, ensureNamespace } from "./helpers.js";

const skip = skipUnlessControlPlane();
const AGENT_USER = "system:serviceaccount:hangar-system:hangar-agent";

function alert(i: number): hangar.Alert {
  return create(hangar.AlertSchema, { id: `a${i}`, ruleId: "r", provider: "weather", message: `m${i}` });
}

describe("agent hub", { skip }, () => {
  let cp: ControlPlane;
  let dir: string;
  let tokenFile: string;
  let wrongAudience: string;

  before(async () => {
    cp = await startControlPlane();
    await ensureNamespace(cp, "hangar-system");
    dir = mkdtempSync(join(tmpdir(), "hangar-hub-"));
    for (const sa of ["hangar-agent", "someone-else"]) {
      const r = await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/serviceaccounts", {
        body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa } },
      });
      assert.equal(r.status, 201);
    }
    const token = async (sa: string, audience: string): Promise<string> => {
      const r = await apiRequest(cp, "POST", `/api/v1/namespaces/hangar-system/serviceaccounts/${sa}/token`, {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: [audience], expirationSeconds: 3600 },
        },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return (r.body as { status: { token: string } }).status.token;
    };
    tokenFile = join(dir, "token");
    writeFileSync(tokenFile, await token("hangar-agent", "hangar-controller"));
    wrongAudience = join(dir, "wrong-audience");
    writeFileSync(wrongAudience, await token("hangar-agent", "something-else"));
    writeFileSync(join(dir, "other-sa"), await token("someone-else", "hangar-controller"));
  });
  after(async () => {
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function hub(handlers: HubHandlers, listen = "127.0.0.1:0"): AgentHub {
    return new AgentHub({ listen, handlers, token: { kube: adminClient(cp), allowedUsers: [AGENT_USER] } });
  }

  it("an agent with a projected token connects; alerts and enforcement requests arrive in order and are acknowledged", async () => {
    const got: string[] = [];
    const h = hub({
      alert: (a, who) => {
        got.push(`${who.node}/${who.principal}/${a.id}`);
      },
      enforcementRequest: (r) => {
        got.push(`enforce/${r.id}`);
      },
    });
    const port = await h.start();
    const client = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-a",
      tokenFile,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    try {
      for (let i = 1; i <= 3; i++) client.write(alert(i));
      client.requestEnforcement(
        create(hangar.EnforcementRequestSchema, { id: "r1", provider: "weather", namespace: "mcp" }),
      );
      await client.flush();
      assert.deepEqual(got, [
        `node-a/${AGENT_USER}/a1`,
        `node-a/${AGENT_USER}/a2`,
        `node-a/${AGENT_USER}/a3`,
        "enforce/r1",
      ]);
      assert.equal(client.pending, 0);
      assert.deepEqual(h.connected(), ["node-a"]);
    } finally {
      await client.shutdown();
      await h.stop();
    }
  });

  it("disconnectAll (the replica lost the Lease) ends the streams; agents reconnect and nothing is lost", async () => {
    const got: string[] = [];
    const h = hub({ alert: (a) => void got.push(a.id) });
    const port = await h.start();
    const client = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-d",
      tokenFile,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    try {
      client.write(alert(1));
      await client.flush();
      assert.deepEqual(h.connected(), ["node-d"]);
      assert.equal(h.disconnectAll(), 1);
      await waitFor("stream ended", () => h.connected().length === 0);
      client.write(alert(2));
      await client.flush();
      assert.deepEqual(got, ["a1", "a2"]);
      assert.deepEqual(h.connected(), ["node-d"], "reconnected");
    } finally {
      await client.shutdown();
      await h.stop();
    }
  });

  it("asks each agent for its baselines in full until it has them (resync_baselines)", async () => {
    const deltas: boolean[] = [];
    const mk = (listen = "127.0.0.1:0"): AgentHub =>
      new AgentHub({
        listen,
        handlers: { baselineDelta: (d) => void deltas.push(d.full) },
        token: { kube: adminClient(cp), allowedUsers: [AGENT_USER] },
        resyncBaselines: true,
      });
    let h = mk();
    const port = await h.start();
    let asked = 0;
    const client = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-s",
      tokenFile,
      backoff: { initialMs: 20, maxMs: 100 },
      onResyncBaselines: () => {
        asked++;
        client.sendBaselineDelta(
          create(hangar.BaselineDeltaSchema, { provider: "notes", node: "node-s", full: true }),
        );
      },
    });
    try {
      await waitFor("asked once, answered in full", () => asked === 1 && deltas.length === 1);
      assert.deepEqual(deltas, [true]);
      // A reconnect to the same hub: it has the full baseline, nothing is asked.
      h.disconnectAll();
      await waitFor("reconnected", () => h.connected().length === 1);
      await client.flush();
      assert.equal(asked, 1);
      // A restarted controller (a new hub on the same port) holds nothing of this node: asked again.
      await h.stop();
      h = mk(`127.0.0.1:${port}`);
      await h.start();
      await waitFor("asked again after the restart", () => asked === 2 && deltas.length === 2);
    } finally {
      await client.shutdown();
      await h.stop();
    }
  });

  it("tokens with the wrong audience or of another service account are refused", async () => {
    const h = hub({ alert: () => undefined });
    const port = await h.start();
    try {
      for (const [file, reason] of [
        [wrongAudience, /token rejected by TokenReview/],
        [join(dir, "other-sa"), /system:serviceaccount:hangar-system:someone-else may not connect/],
      ] as const) {
        const errors: unknown[] = [];
        const client = new HubClient({
          address: `127.0.0.1:${port}`,
          node: "node-x",
          tokenFile: file,
          onError: (e) => errors.push(e),
          backoff: { initialMs: 50, maxMs: 100 },
        });
        client.write(alert(1));
        await waitFor("an auth error", () => errors.length > 0);
        const e = errors[0] as HubRefusal;
        assert.ok(e instanceof HubRefusal, String(e));
        assert.equal(e.status, "UNAUTHENTICATED");
        assert.match(e.details, reason);
        assert.equal(client.acked, 0n);
        client.close();
      }
      assert.ok(h.stats.get("hub_auth_failures") >= 2);
    } finally {
      await h.stop();
    }
  });

  it("reconnects are transparent: a failed handler, then a controller restart; nothing acknowledged is lost", async () => {
    const received: string[] = [];
    let failOnce = true;
    const handlers: HubHandlers = {
      alert: (a) => {
        if (a.id === "a5" && failOnce) {
          failOnce = false;
          throw new Error("exporter hiccup");
        }
        received.push(a.id);
      },
    };
    const h1 = hub(handlers);
    const port = await h1.start();
    const client = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-b",
      tokenFile,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    const traces: string[] = [];
    const ac = new AbortController();
    const pump = (async () => {
      for await (const t of client.traces(ac.signal)) traces.push(t.traceId);
    })();
    try {
      for (let i = 1; i <= 10; i++) client.write(alert(i));
      await client.flush();
      // The first controller sends a trace: the agent has controller sequence 1.
      h1.send("node-b", { case: "callTrace", value: create(hangar.CallTraceSchema, { traceId: "t0" }) });
      await waitFor("the first trace", () => traces.length === 1);
      // a5 failed once: not acknowledged, sent again after the reconnect, handled once.
      assert.deepEqual(received, ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"]);
      assert.ok(client.connects >= 2, `reconnected (${client.connects} connects)`);
      const ackedBefore = client.acked;

      // The controller goes away; the agent keeps writing; a new controller comes up on the same port.
      await h1.stop(100);
      for (let i = 11; i <= 20; i++) client.write(alert(i));
      await sleep(100);
      assert.ok(client.pending >= 10, "kept until acknowledged");
      const after: string[] = [];
      const h2 = hub({ alert: (a) => void after.push(a.id) }, `127.0.0.1:${port}`);
      await h2.start();
      try {
        await client.flush();
        assert.deepEqual(
          after,
          Array.from({ length: 10 }, (_, i) => `a${i + 11}`),
          "only the unacknowledged ones, in order",
        );
        assert.ok(client.acked > ackedBefore);
        assert.equal(client.pending, 0);

        // Controller → agent from the new controller, whose numbering starts again: the traces
        // are not mistaken for ones the agent already has; each arrives once.
        h2.send("node-b", { case: "callTrace", value: create(hangar.CallTraceSchema, { traceId: "t1" }) });
        h2.send("node-b", { case: "callTrace", value: create(hangar.CallTraceSchema, { traceId: "t2" }) });
        await waitFor("two more traces", () => traces.length === 3);
        assert.deepEqual(traces, ["t0", "t1", "t2"]);
      } finally {
        await client.shutdown();
        await h2.stop();
      }
    } finally {
      ac.abort();
      await pump;
      client.close();
    }
  });

  it("a token bound to a pod speaks only for that pod's node", async () => {
    await apiRequest(cp, "POST", "/api/v1/nodes", {
      body: { apiVersion: "v1", kind: "Node", metadata: { name: "node-bound" } },
    });
    const pod = await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/pods", {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hangar-agent-x" },
        spec: {
          nodeName: "node-bound",
          serviceAccountName: "hangar-agent",
          containers: [{ name: "agent", image: "example.invalid/agent:1" }],
        },
      },
    });
    assert.equal(pod.status, 201, JSON.stringify(pod.body));
    const uid = (pod.body as { metadata: { uid: string } }).metadata.uid;
    const tr = await apiRequest(
      cp,
      "POST",
      "/api/v1/namespaces/hangar-system/serviceaccounts/hangar-agent/token",
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            audiences: ["hangar-controller"],
            boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "hangar-agent-x", uid },
          },
        },
      },
    );
    assert.equal(tr.status, 201, JSON.stringify(tr.body));
    const bound = join(dir, "bound-token");
    writeFileSync(bound, (tr.body as { status: { token: string } }).status.token);
    const got: string[] = [];
    const h = hub({ alert: (a, who) => void got.push(`${who.node}/${a.id}`) });
    const port = await h.start();
    const errors: unknown[] = [];
    const right = new HubClient({ address: `127.0.0.1:${port}`, node: "node-bound", tokenFile: bound });
    const wrong = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-other",
      tokenFile: bound,
      onError: (e) => errors.push(e),
      backoff: { initialMs: 50, maxMs: 100 },
    });
    try {
      right.write(alert(1));
      await right.flush();
      wrong.write(alert(2));
      await waitFor("the refusal", () => errors.length > 0);
      const e = errors[0] as HubRefusal;
      assert.ok(e instanceof HubRefusal, String(e));
      assert.equal(e.status, "PERMISSION_DENIED");
      assert.equal(e.code, "HANGAR_ERR_HUB_NODE_DENIED");
      assert.match(
        e.details,
        /HANGAR_ERR_HUB_NODE_DENIED: .* bound to a pod on node node-bound, not node-other/,
      );
      assert.deepEqual(got, ["node-bound/a1"]);
    } finally {
      wrong.close();
      await right.shutdown();
      await h.stop();
    }
  });

  it("rule updates: every agent gets the current rules when it connects and when they change", async () => {
    const h = hub({});
    const port = await h.start();
    const seen: string[] = [];
    const mk = (node: string, into: string[]): HubClient =>
      new HubClient({
        address: `127.0.0.1:${port}`,
        node,
        tokenFile,
        onRuleUpdate: (u) => into.push(`${u.version}:${Object.keys(u.files).join(",")}`),
      });
    h.setRules(create(hangar.RuleUpdateSchema, { version: "v1", files: { "stable.rules": "rule a" } }));
    const a = mk("node-r1", seen);
    const late: string[] = [];
    try {
      await waitFor("v1 on connect", () => seen.length === 1);
      h.setRules(
        create(hangar.RuleUpdateSchema, {
          version: "v2",
          files: { "stable.rules": "rule a", "sandbox.rules": "rule b" },
        }),
      );
      await waitFor("v2 when changed", () => seen.length === 2);
      assert.deepEqual(seen, ["v1:stable.rules", "v2:stable.rules,sandbox.rules"]);
      const b = mk("node-r2", late);
      try {
        await waitFor("v2 for a later agent", () => late.length === 1);
        assert.deepEqual(late, ["v2:stable.rules,sandbox.rules"]);
      } finally {
        b.close();
      }
    } finally {
      a.close();
      await h.stop();
    }
  });

  it("mTLS: an agent with a client certificate the CA signed connects; without one it cannot; TLS with tokens", async () => {
    const pem = (name: string): string => join(dir, name);
    writeTestCerts(dir, { clientCn: "hangar-agent-node-c", clientSan: "DNS:node-c" });
    const got: string[] = [];
    const h = new AgentHub({
      listen: "127.0.0.1:0",
      tls: {
        clientCaFile: pem("ca.crt"),
        certFile: pem("srv.crt"),
        keyFile: pem("srv.key"),
        allowedSubjects: ["hangar-agent-node-c"],
      },
      handlers: { alert: (a, who) => void got.push(`${who.via}/${who.principal}/${a.id}`) },
    });
    const port = await h.start();
    const good = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-c",
      tls: {
        caFile: pem("ca.crt"),
        certFile: pem("cli.crt"),
        keyFile: pem("cli.key"),
        serverName: "hangar-controller",
      },
    });
    const errors: unknown[] = [];
    const bad = new HubClient({
      address: `127.0.0.1:${port}`,
      node: "node-d",
      tls: { caFile: pem("ca.crt"), serverName: "hangar-controller" },
      onError: (e) => errors.push(e),
      backoff: { initialMs: 50, maxMs: 100 },
    });
    try {
      good.write(alert(1));
      await good.flush();
      assert.deepEqual(got, ["mtls/hangar-agent-node-c/a1"]);
      bad.write(alert(2));
      await waitFor("a TLS error", () => errors.length > 0);
      assert.equal(bad.acked, 0n);
      assert.deepEqual(got, ["mtls/hangar-agent-node-c/a1"]);
    } finally {
      bad.close();
      await good.shutdown();
      await h.stop();
    }
    // TLS without client certificates: agents authenticate with their token over TLS.
    const tlsOnly = new AgentHub({
      listen: "127.0.0.1:0",
      tls: { certFile: pem("srv.crt"), keyFile: pem("srv.key") },
      token: { kube: adminClient(cp), allowedUsers: [AGENT_USER] },
      handlers: { alert: (a, who) => void got.push(`${who.via}/${who.principal}/${a.id}`) },
    });
    const tlsPort = await tlsOnly.start();
    const viaToken = new HubClient({
      address: `127.0.0.1:${tlsPort}`,
      node: "node-e",
      tls: { caFile: pem("ca.crt"), serverName: "hangar-controller" },
      tokenFile,
    });
    try {
      viaToken.write(alert(3));
      await viaToken.flush();
      assert.equal(got.at(-1), `token/${AGENT_USER}/a3`);
    } finally {
      await viaToken.shutdown();
      await tlsOnly.stop();
    }
  });

  it("the hub refuses to run without any authentication", () => {
    assert.throws(() => new AgentHub({ listen: "127.0.0.1:0", handlers: {} }), /refusing to run open/);
    assert.throws(
      () => new AgentHub({ listen: "127.0.0.1:0", tls: { certFile: "c", keyFile: "k" }, handlers: {} }),
      /refusing to run open/,
      "TLS without client certificates or tokens is open too",
    );
  });
});
