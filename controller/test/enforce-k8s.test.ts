/**
 * The enforcer on a real kube-apiserver (testkit): audit vs enforce, block and
 * quarantine with and without the CiliumNetworkPolicy CRD, unmanaged objects
 * left alone, exact revert, TTL expiry, rate limits, idempotence.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  apiRequest,
  ciliumNetworkPolicyCrd,
  installCrd,
  skipUnlessControlPlane,
  startControlPlane,
  uninstallCrd,
  type ControlPlane,
} from "@hangar/testkit";
import { comparable } from "../src/enforce/diff.js";
import { Enforcer } from "../src/enforce/engine.js";
import type { KubeClient, KubeObject } from "../src/kube/kube.js";
import { MemoryBaselineView } from "../src/baselines/baselines.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { adminClient, ensureNamespace, providerPod, request } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane();
const NP = "/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies";
const CNP = "/apis/cilium.io/v2/namespaces/mcp/ciliumnetworkpolicies";

describe("enforcement on a real API server", { skip }, () => {
  let cp: ControlPlane;
  let kube: KubeClient;
  const baseline = new MemoryBaselineView();

  before(async () => {
    cp = await startControlPlane();
    kube = adminClient(cp);
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
    baseline.set({
      provider: "weather",
      state: "enforcing",
      facets: {
        egress: [{ value: "203.0.113.10:443/tcp" }, { value: "198.51.100.0/24:5432/tcp" }],
        dns: [{ value: "api.weather.gov" }],
      },
    });
  });
  after(async () => {
    await cp?.stop();
  });

  function enforcer(config: unknown = { mode: "enforce" }, now?: () => number): Enforcer {
    return new Enforcer({
      kube,
      store: new ConfigMapStore(kube, "hangar-system"),
      config: parseConfig(config),
      baseline,
      ...(now !== undefined ? { now } : {}),
    });
  }
  const get = async (path: string): Promise<KubeObject | undefined> => {
    const r = await apiRequest(cp, "GET", path);
    return r.status === 200 ? (r.body as KubeObject) : undefined;
  };

  it("audit (the default) records the exact object and the diff, and applies nothing", async () => {
    await providerPod(cp, "mcp", "weather", "api.weather.gov:443, 192.0.2.5:8443/tcp");
    const e = enforcer({});
    const r = await e.submit(request({ provider: "weather", action: "tighten_egress" }));
    assert.equal(r.state, "audited");
    assert.equal(r.mode, "audit");
    assert.equal(r.objectKind, "NetworkPolicy");
    assert.equal(r.objectName, "hangar-egress-weather");
    assert.match(r.diff, /^--- \/dev\/null\n\+\+\+ new\/NetworkPolicy\/hangar-egress-weather\n/);
    assert.match(r.diff, /\+\s+"cidr": "192\.0\.2\.5\/32"/);
    assert.equal(await get(`${NP}/hangar-egress-weather`), undefined, "audit applied nothing");
    // The record says what enforce would do: the same object, server-side dry run accepts it.
    const dry = await apiRequest(cp, "PATCH", `${NP}/hangar-egress-weather?dryRun=All&fieldManager=t`, {
      body: r.manifest,
      contentType: "application/apply-patch+yaml",
    });
    assert.equal(dry.status, 201, JSON.stringify(dry.body));
    const stored = await new ConfigMapStore(kube, "hangar-system").get(r.id);
    assert.equal(stored?.state, "audited");
  });

  it("enforce writes the allow-list NetworkPolicy: DNS, declared IPs, baseline IPs; names only noted", async () => {
    const e = enforcer();
    const events: string[] = [];
    e.onEvent((ev) => events.push(`${ev.outcome}:${ev.objectName}`));
    const r = await e.submit(request({ provider: "weather", action: "tighten_egress" }));
    assert.equal(r.state, "applied", r.error);
    const live = await get(`${NP}/hangar-egress-weather`);
    assert.ok(live);
    assert.equal(live.metadata.labels?.["app.kubernetes.io/managed-by"], "hangar-controller");
    assert.equal(live.metadata.annotations?.["mcp-hangar.io/enforcement-id"], r.id);
    assert.equal(live.metadata.annotations?.["mcp-hangar.io/expires-at"], r.expiresAt);
    const spec = live["spec"] as { egress: { to: { ipBlock?: { cidr: string } }[]; ports?: unknown[] }[] };
    const cidrs = spec.egress.flatMap((x) => x.to.map((t) => t.ipBlock?.cidr)).filter(Boolean);
    assert.deepEqual(cidrs.sort(), ["192.0.2.5/32", "198.51.100.0/24", "203.0.113.10/32"]);
    assert.deepEqual(spec.egress[0]?.ports, [
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    assert.ok(
      r.notes.some((x) => /api\.weather\.gov/.test(x)),
      r.notes.join("; "),
    );
    const managers = (live.metadata["managedFields"] as { manager: string; operation: string }[]).map(
      (m) => `${m.manager}/${m.operation}`,
    );
    assert.deepEqual(managers, ["hangar-controller/Apply"]);
    assert.deepEqual(events, ["applied:hangar-egress-weather"]);
    // The same request again is the same enforcement: nothing new.
    const again = await e.submit(r.request);
    assert.equal(again.id, r.id);
    assert.deepEqual(events, ["applied:hangar-egress-weather"]);
    await e.revert(r.id, "test");
  });

  it("block and quarantine without the Cilium CRD: plain NetworkPolicies; a host cannot be blocked", async () => {
    const e = enforcer();
    const block = await e.submit(
      request({ provider: "weather", action: "block_egress", destination: "203.0.113.10:443" }),
    );
    assert.equal(block.state, "applied", block.error);
    assert.equal(block.objectKind, "NetworkPolicy");
    const live = await get(`${NP}/${block.objectName}`);
    const cidrs = JSON.stringify(live?.["spec"]);
    assert.ok(!cidrs.includes("203.0.113.10"), "the blocked destination is not in the allow-list");
    assert.ok(cidrs.includes("198.51.100.0/24"));
    assert.ok(block.notes.some((x) => /cannot deny/.test(x)));

    const host = await e.submit(
      request({ provider: "weather", action: "block_egress", destination: "evil.example.com" }),
    );
    assert.equal(host.state, "failed");
    assert.match(host.error ?? "", /cannot name host evil\.example\.com/);

    const q = await e.submit(request({ provider: "weather", action: "quarantine" }));
    assert.equal(q.state, "applied", q.error);
    const ql = await get(`${NP}/hangar-quarantine-weather`);
    assert.deepEqual((ql?.["spec"] as { egress: unknown[] }).egress, [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
          },
        ],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "hangar-system" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "hangar-controller" } },
          },
        ],
      },
    ]);
    await e.revert(block.id, "test");
    await e.revert(q.id, "test");
    assert.equal(await get(`${NP}/hangar-quarantine-weather`), undefined);
  });

  it("block and quarantine with the Cilium CRD: egressDeny for the one destination; quarantine denies the world", async () => {
    await installCrd(cp, ciliumNetworkPolicyCrd());
    try {
      const e = enforcer();
      const block = await e.submit(
        request({ provider: "weather", action: "block_egress", destination: "203.0.113.66:443/tcp" }),
      );
      assert.equal(block.state, "applied", block.error);
      assert.equal(block.objectKind, "CiliumNetworkPolicy");
      const live = await get(`${CNP}/${block.objectName}`);
      assert.deepEqual(live?.["spec"], {
        endpointSelector: { matchLabels: { "k8s:mcp-hangar.io/provider": "weather" } },
        enableDefaultDeny: { egress: false, ingress: false },
        egressDeny: [
          { toCIDR: ["203.0.113.66/32"], toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }] },
        ],
      });
      const host = await e.submit(
        request({ provider: "weather", action: "block_egress", destination: "evil.example.com" }),
      );
      assert.equal(host.state, "failed");
      assert.match(host.error ?? "", /egressDeny has no toFQDNs/);

      const q = await e.submit(request({ provider: "weather", action: "quarantine" }));
      assert.equal(q.state, "applied", q.error);
      const ql = await get(`${CNP}/hangar-quarantine-weather`);
      const spec = ql?.["spec"] as { egress: unknown[]; egressDeny: unknown[] };
      assert.deepEqual(spec.egressDeny, [{ toEntities: ["world"] }]);
      assert.equal(spec.egress.length, 2);

      const t = await e.submit(request({ provider: "weather", action: "tighten_egress" }));
      assert.equal(t.state, "applied", t.error);
      const tl = await get(`${CNP}/hangar-egress-weather`);
      const fq = JSON.stringify(tl?.["spec"]);
      assert.ok(fq.includes(`"toFQDNs":[{"matchName":"api.weather.gov"}]`), fq);
      assert.ok(fq.includes(`"rules":{"dns":[{"matchPattern":"*"}]}`), fq);
      for (const r of [block, q, t]) assert.equal((await e.revert(r.id, "test")).state, "reverted");
      assert.equal(await get(`${CNP}/${block.objectName}`), undefined);
    } finally {
      await uninstallCrd(cp, ciliumNetworkPolicyCrd());
    }
  });

  it("an unmanaged policy with the same name is left untouched, in audit and enforce", async () => {
    const mine = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "hangar-quarantine-billing", labels: { team: "billing" } },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    };
    const created = await apiRequest(cp, "POST", NP, { body: mine });
    assert.equal(created.status, 201);
    const before = await get(`${NP}/hangar-quarantine-billing`);
    for (const mode of ["audit", "enforce"]) {
      const r = await enforcer({ mode }).submit(request({ provider: "billing", action: "quarantine" }));
      assert.equal(r.state, "failed");
      assert.match(
        r.error ?? "",
        /not labelled app\.kubernetes\.io\/managed-by=hangar-controller: left untouched/,
      );
      assert.equal(r.errorCode, "HANGAR_ERR_ENFORCE_UNMANAGED");
    }
    const afterwards = await get(`${NP}/hangar-quarantine-billing`);
    assert.equal(afterwards?.metadata.resourceVersion, before?.metadata.resourceVersion);
    assert.deepEqual(afterwards, before);
  });

  it("revert restores the exact prior object; a newer enforcement must be reverted first", async () => {
    await providerPod(cp, "mcp", "maps", "192.0.2.20:443");
    const e = enforcer();
    const first = await e.submit(request({ provider: "maps", action: "tighten_egress" }));
    assert.equal(first.state, "applied", first.error);
    const v1 = comparable(await get(`${NP}/hangar-egress-maps`));
    // The declared capabilities change; a second enforcement changes the object.
    await apiRequest(cp, "DELETE", "/api/v1/namespaces/mcp/pods/maps-0?gracePeriodSeconds=0");
    await providerPod(cp, "mcp", "maps", "192.0.2.21:443", "maps-1");
    const second = await e.submit(request({ provider: "maps", action: "tighten_egress" }));
    assert.equal(second.state, "applied", second.error);
    assert.deepEqual(second.prior, v1);
    assert.match(second.diff, /-\s+"cidr": "192\.0\.2\.20\/32"/);
    assert.match(second.diff, /\+\s+"cidr": "192\.0\.2\.21\/32"/);

    await assert.rejects(e.revert(first.id, "test"), /changed NetworkPolicy mcp\/hangar-egress-maps after/);
    const r2 = await e.revert(second.id, "hangar-ctl");
    assert.equal(r2.state, "reverted");
    assert.deepEqual(
      comparable(await get(`${NP}/hangar-egress-maps`)),
      v1,
      "exactly the first version again",
    );
    const r1 = await e.revert(first.id, "hangar-ctl");
    assert.equal(r1.state, "reverted");
    assert.equal(await get(`${NP}/hangar-egress-maps`), undefined, "created by the enforcer: deleted");
    await assert.rejects(e.revert(first.id, "again"), /is reverted/);
    await assert.rejects(e.revert("e000000000000", "x"), /no enforcement e000000000000/);
  });

  it("TTL expiry undoes the change at the expiry time, not before", async () => {
    let clock = Date.parse("2026-11-22T00:00:00Z");
    const e = enforcer({ mode: "enforce", defaultTtlSeconds: 600 }, () => clock);
    const r = await e.submit(request({ provider: "weather", action: "quarantine", ttlSeconds: 120 }));
    assert.equal(r.state, "applied", r.error);
    assert.equal(r.expiresAt, "2026-11-22T00:02:00.000Z");
    clock += 119_000;
    assert.equal(await e.expireDue(), 0);
    assert.ok(await get(`${NP}/hangar-quarantine-weather`));
    clock += 1_000;
    assert.equal(await e.expireDue(), 1);
    assert.equal(await get(`${NP}/hangar-quarantine-weather`), undefined);
    const rec = await e.get(r.id);
    assert.equal(rec?.state, "expired");
    assert.equal(rec?.history.at(-1)?.actor, "ttl");
  });

  it("TTL of an enforcement covered by a newer one: marked expired, undone when the newer one goes", async () => {
    let clock = Date.parse("2026-11-22T01:00:00Z");
    const e = enforcer({ mode: "enforce" }, () => clock);
    const older = await e.submit(request({ provider: "stack", action: "quarantine", ttlSeconds: 60 }));
    const newer = await e.submit(request({ provider: "stack", action: "quarantine", ttlSeconds: 600 }));
    assert.equal(newer.state, "applied", newer.error);
    assert.equal(newer.prior?.metadata.annotations?.["mcp-hangar.io/enforcement-id"], older.id);
    clock += 61_000;
    assert.equal(await e.expireDue(), 1);
    const o = await e.get(older.id);
    assert.equal(o?.state, "expired");
    assert.match(o?.history.at(-1)?.message ?? "", new RegExp(`covered by enforcement ${newer.id}`));
    const live = await get(`${NP}/hangar-quarantine-stack`);
    assert.equal(
      live?.metadata.annotations?.["mcp-hangar.io/enforcement-id"],
      newer.id,
      "the newer one stays in force",
    );
    // Reverting the newer one does not bring back the expired older one: the object goes.
    assert.equal((await e.revert(newer.id, "test")).state, "reverted");
    assert.equal(await get(`${NP}/hangar-quarantine-stack`), undefined);
  });

  it("audit keeps the real verdict: a refused or impossible action is recorded as such, never as audited", async () => {
    const e = enforcer({
      mode: "audit",
      rateLimitPerProvider: { max: 1, windowSeconds: 60 },
      allowedActions: ["block_egress", "tighten_egress"],
    });
    const first = await e.submit(
      request({ provider: "shadow", action: "block_egress", destination: "203.0.113.1" }),
    );
    assert.equal(first.state, "audited");
    const limited = await e.submit(
      request({ provider: "shadow", action: "block_egress", destination: "203.0.113.2" }),
    );
    assert.equal(limited.state, "refused");
    const notAllowed = await e.submit(request({ provider: "shadow2", action: "quarantine" }));
    assert.equal(notAllowed.state, "refused");
    const impossible = await e.submit(
      request({ provider: "shadow3", action: "block_egress", destination: "evil.example.com" }),
    );
    assert.equal(impossible.state, "failed");
    const items = ((await apiRequest(cp, "GET", NP)).body as { items: { metadata: { name: string } }[] })
      .items;
    assert.ok(!items.some((i) => i.metadata.name.includes("shadow")), "audit applied nothing");
  });

  it("finished records are pruned after the retention; active ones are kept", async () => {
    let clock = Date.parse("2026-11-22T02:00:00Z");
    const store = new ConfigMapStore(kube, "hangar-system");
    const e = new Enforcer({
      kube,
      store,
      config: parseConfig({ mode: "enforce", recordRetentionSeconds: 3600 }),
      now: () => clock,
    });
    const active = await e.submit(request({ provider: "keep", action: "quarantine", ttlSeconds: 86_400 }));
    const done = await e.submit(request({ provider: "keep2", action: "quarantine" }));
    await e.revert(done.id, "test");
    clock += 3_601_000;
    const before = (await store.list()).length;
    const n = await e.prune();
    assert.ok(n >= 1);
    assert.equal((await store.list()).length, before - n);
    assert.equal(await store.get(done.id), undefined);
    assert.equal((await store.get(active.id))?.state, "applied", "an applied enforcement is never pruned");
    await e.revert(active.id, "test");
  });

  it("rate limits per provider: the change over the limit is refused and nothing is written", async () => {
    const e = enforcer({ mode: "enforce", rateLimitPerProvider: { max: 2, windowSeconds: 60 } });
    const dests = ["203.0.113.1", "203.0.113.2", "203.0.113.3"];
    const rs = [];
    for (const d of dests)
      rs.push(await e.submit(request({ provider: "weather", action: "block_egress", destination: d })));
    assert.deepEqual(
      rs.map((r) => r.state),
      ["applied", "applied", "refused"],
    );
    assert.match(rs[2]?.error ?? "", /rate limit: 2 per 60 s for provider mcp\/weather/);
    assert.equal(await get(`${NP}/${rs[2]?.objectName ?? "x"}`), undefined);
    for (const r of rs.slice(0, 2)) await e.revert(r.id, "test");
  });

  it("actions not allowed for a namespace are refused; provider entries override namespace entries", async () => {
    const e = enforcer({
      mode: "enforce",
      namespaces: { mcp: { allowedActions: ["block_egress"] } },
      providers: { "mcp/weather": { mode: "audit" } },
    });
    const q = await e.submit(request({ provider: "maps", action: "quarantine" }));
    assert.equal(q.state, "refused");
    assert.match(q.error ?? "", /not allowed \(namespace:mcp\)/);
    const b = await e.submit(
      request({ provider: "weather", action: "block_egress", destination: "203.0.113.9" }),
    );
    assert.equal(b.state, "audited");
    assert.equal(b.modeSource, "provider:mcp/weather");
  });
});
