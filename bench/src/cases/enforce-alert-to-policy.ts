/**
 * enforce/alert-to-policy — from an enforcement request to the object existing
 * in the API server: the controller's enforcer in enforce mode on a real
 * kube-apiserver + etcd (testkit, loopback), one block_egress per request
 * (each a new NetworkPolicy), timed from `submit()` until a GET of the object
 * answers 200. Every request does the production work: policy decision and
 * rate limit, the provider's declared capabilities (pod list), the live-object
 * check, server-side apply, and the enforcement record (a ConfigMap).
 * `detail.ssaFloorP50Us` is one bare server-side apply of a NetworkPolicy on
 * the same API server: the floor any enforcer pays.
 */
import * as k8s from "@kubernetes/client-node";
import { Enforcer, KubeClient, ConfigMapStore, parseConfig } from "@hangar/controller";
import { apiRequest, controlPlaneAvailable, startControlPlane } from "@hangar/testkit";
import { LatencyRecorder, MemoryPeak, now } from "../harness.js";
import type { BenchCase } from "./case.js";

function destination(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:443`;
}

export const enforceAlertToPolicy: BenchCase = {
  name: "enforce/alert-to-policy",
  description:
    "Enforcer.submit(block_egress) in enforce mode → NetworkPolicy created by server-side apply on a real kube-apiserver (loopback, etcd without fsync), one new object per request, sequential",
  latency:
    "every request timed from submit() until submit() resolved (object applied, its record written) and a GET of the object returned 200 (process.hrtime.bigint); nearest-rank percentiles",
  defaultEvents: 200,
  unavailable() {
    const a = controlPlaneAvailable();
    return Promise.resolve(a.ok ? undefined : `needs etcd and kube-apiserver: ${a.reason}`);
  },
  async run(ctx) {
    const cp = await startControlPlane();
    try {
      for (const ns of ["mcp", "hangar-system"])
        await apiRequest(cp, "POST", "/api/v1/namespaces", {
          body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
        });
      await apiRequest(cp, "POST", "/api/v1/namespaces/mcp/pods", {
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: {
            name: "bench-0",
            labels: { "mcp-hangar.io/provider": "bench" },
            annotations: { "mcp-hangar.io/egress": "192.0.2.1:443" },
          },
          spec: { containers: [{ name: "c", image: "example.invalid/c:1" }] },
        },
      });
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(cp.kubeconfigPath);
      const kube = new KubeClient(kc);
      const enforcer = new Enforcer({
        kube,
        store: new ConfigMapStore(kube, "hangar-system"),
        config: parseConfig({
          mode: "enforce",
          rateLimitPerProvider: { max: 1_000_000, windowSeconds: 1 },
          rateLimitGlobal: { max: 1_000_000, windowSeconds: 1 },
        }),
      });
      // SSA floor: one bare apply per object on the same API server.
      const floor = new LatencyRecorder(30);
      for (let i = 0; i < 30; i++) {
        const t = now();
        const r = await kube.send({
          method: "PATCH",
          path: `/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies/floor-${i}`,
          body: {
            apiVersion: "networking.k8s.io/v1",
            kind: "NetworkPolicy",
            metadata: { name: `floor-${i}` },
            spec: { podSelector: {} },
          },
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: "bench" },
        });
        floor.record(Number(now() - t));
        if (r.status !== 201) throw new Error(`floor apply: HTTP ${r.status}`);
      }
      const latency = new LatencyRecorder(ctx.events);
      const memory = new MemoryPeak();
      let n = 0;
      const one = async (measure: boolean): Promise<void> => {
        const i = n++;
        const t0 = now();
        const rec = await enforcer.submit({
          id: `bench-${i}`,
          alertId: `a-${i}`,
          ruleId: "bench",
          provider: "bench",
          namespace: "mcp",
          action: "block_egress",
          destination: destination(i),
        });
        if (rec.state !== "applied") throw new Error(`request ${i}: ${rec.state}: ${rec.error ?? ""}`);
        const got = await kube.send({
          method: "GET",
          path: `/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies/${rec.objectName ?? ""}`,
        });
        if (got.status !== 200)
          throw new Error(`request ${i}: object not found after apply (HTTP ${got.status})`);
        if (measure) latency.record(Number(now() - t0));
      };
      for (let i = 0; i < Math.min(ctx.warmup, 50); i++) await one(false);
      ctx.log(`control plane up; SSA floor p50 ${Math.round(floor.percentile(50) / 1000)} µs`);
      const start = now();
      for (let i = 0; i < ctx.events; i++) {
        await one(true);
        if ((i & 31) === 0) memory.sample();
      }
      const elapsedNs = Number(now() - start);
      memory.sample();
      return {
        events: ctx.events,
        elapsedNs,
        latency,
        memory,
        detail: {
          ssaFloorP50Us: Math.round(floor.percentile(50) / 1000),
          ssaFloorP99Us: Math.round(floor.percentile(99) / 1000),
        },
      };
    } finally {
      await cp.stop();
    }
  },
};
