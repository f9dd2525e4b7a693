/**
 * hangar-ctl without --server: it reads the kubeconfig, finds a ready pod behind the
 * controller's Service and port-forwards to it through the API server's
 * `pods/portforward`, as `kubectl port-forward svc/hangar-controller` does. The API server
 * is real; the kubelet at the other end is kwok, which forwards the pod's port to the
 * controller's REST API listening on loopback. Nothing in hangar-ctl knows about kwok.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import {
  apiRequest,
  skipUnlessCluster,
  startCluster,
  startControlPlane,
  type Cluster,
  type ControlPlane,
} from "@hangar/testkit";
import { AlertStore } from "../src/api/alerts.js";
import { Authenticator } from "../src/api/auth.js";
import { startApi, type RunningApi } from "../src/api/server.js";
import type { CtlIO } from "../src/ctl/command.js";
import { ctl } from "../src/ctl/ctl.js";
import { MemoryBaselineView } from "../src/baselines/baselines.js";
import { Enforcer } from "../src/enforce/engine.js";
import { parseConfig } from "../src/enforce/policy.js";
import { MemoryStore } from "../src/enforce/store.js";
import { adminClient, ensureNamespace } from "./enforce-helpers.js";

const skip = skipUnlessCluster({ kwok: true });
const READ = "pf-read-token-0123456789";

function capture(): CtlIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
  };
  return io;
}

describe("hangar-ctl finds the controller through the kubeconfig (port-forward)", { skip }, () => {
  let cp: ControlPlane;
  let cluster: Cluster;
  let api: RunningApi;
  let dir = "";

  before(async () => {
    const baseline = new MemoryBaselineView();
    baseline.set({
      provider: "weather",
      state: "enforcing",
      version: "v3",
      facets: { egress: [{ value: "203.0.113.10:443/tcp", count: 4 }] },
    });
    // The controller's REST API, on loopback: what the pod's port is forwarded to.
    cp = await startControlPlane({
      disableAdmissionPlugins: [],
      apiserverArgs: ["--kubelet-preferred-address-types=InternalIP"],
    });
    const kube = adminClient(cp);
    api = await startApi({
      listen: "127.0.0.1:0",
      enforcer: new Enforcer({
        kube,
        store: new MemoryStore(),
        config: parseConfig({ mode: "audit" }),
        baseline,
      }),
      alerts: new AlertStore(),
      baseline,
      auth: new Authenticator({ staticTokens: [{ user: "viewer", role: "read", token: READ }] }),
      ready: () => Promise.resolve({ ready: true, checks: {} }),
    });
    const apiPort = Number(new URL(api.url).port);
    cluster = await startCluster(cp, {
      nodes: 1,
      portForwards: [{ namespaces: ["hangar-system"], ports: [8080], address: "127.0.0.1", port: apiPort }],
    });
    await ensureNamespace(cp, "hangar-system");
    const labels = { "app.kubernetes.io/name": "hangar-controller" };
    const svc = await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/services", {
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "hangar-controller" },
        spec: { selector: labels, ports: [{ name: "api", port: 80, targetPort: "api" }] },
      },
    });
    assert.equal(svc.status, 201, JSON.stringify(svc.body));
    const pod = await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/pods", {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hangar-controller-0", labels },
        spec: {
          nodeName: cluster.nodes[0],
          containers: [
            { name: "controller", image: "hangar-controller", ports: [{ name: "api", containerPort: 8080 }] },
          ],
        },
      },
    });
    assert.equal(pod.status, 201, JSON.stringify(pod.body));
    // kwok marks the pod Running and Ready.
    for (let i = 0; ; i++) {
      const r = await apiRequest(cp, "GET", "/api/v1/namespaces/hangar-system/pods/hangar-controller-0");
      const conditions = (r.body as { status?: { conditions?: { type: string; status: string }[] } }).status
        ?.conditions;
      if (conditions?.some((c) => c.type === "Ready" && c.status === "True") === true) break;
      if (i > 150) assert.fail(`pod never became Ready: ${JSON.stringify(r.body)}`);
      await sleep(200);
    }
    dir = mkdtempSync(join(tmpdir(), "hangar-ctl-pf-"));
  });

  after(async () => {
    await cluster?.stop();
    await api?.close();
    await cp?.stop();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("reaches the REST API through the API server's pods/portforward, with the kubeconfig only", async () => {
    const io = capture();
    const code = await ctl(
      ["providers", "--kubeconfig", cp.kubeconfigPath, "--token", READ, "-o", "json"],
      io,
    );
    assert.equal(code, 0, io.err);
    const out = JSON.parse(io.out) as { provider: string; state: string }[];
    assert.deepEqual(
      out.map((p) => [p.provider, p.state]),
      [["weather", "enforcing"]],
    );
  });

  it("the forwarded API still checks the token: a wrong one is refused with the auth exit code", async () => {
    const io = capture();
    const code = await ctl(["providers", "--kubeconfig", cp.kubeconfigPath, "--token", "wrong-token"], io);
    assert.notEqual(code, 0);
    assert.match(io.err, /401|token/i);
  });

  it("names the Service when it is not there (wrong namespace)", async () => {
    const io = capture();
    const code = await ctl(["providers", "--kubeconfig", cp.kubeconfigPath, "--namespace", "elsewhere"], io);
    assert.notEqual(code, 0);
    assert.match(io.err, /Service elsewhere\/hangar-controller not found/);
  });
});
