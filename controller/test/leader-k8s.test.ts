/**
 * Leader election between two controller instances on a real API server: one
 * enforces, the other stores requests for it; when the leader goes (released
 * or crashed), the other takes over the Lease and the active enforcements,
 * including their TTLs.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { apiRequest, skipUnlessControlPlane, startControlPlane, type ControlPlane } from "@hangar/testkit";
import { Enforcer } from "../src/enforce/engine.js";
import { LeaseElector } from "../src/leader/leader.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { adminClient, ensureNamespace, request } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane();
const NP = "/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies";

describe("leader handover between two controller instances (Lease)", { skip }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
  });
  after(async () => {
    await cp?.stop();
  });

  function instance(identity: string, clock: () => number): { lease: LeaseElector; enforcer: Enforcer } {
    const kube = adminClient(cp);
    const lease = new LeaseElector({
      kube,
      namespace: "hangar-system",
      identity,
      leaseDurationSeconds: 1,
      retryMs: 100,
    });
    const enforcer = new Enforcer({
      kube,
      store: new ConfigMapStore(kube, "hangar-system"),
      config: parseConfig({ mode: "enforce" }),
      isLeader: () => lease.isLeader(),
      now: clock,
    });
    return { lease, enforcer };
  }

  it("one leader; the follower's requests are applied by the leader; handover on release and on crash", async () => {
    let clock = Date.now();
    const a = instance("controller-a", () => clock);
    const b = instance("controller-b", () => clock);
    assert.equal(await a.lease.tryAcquireOrRenew(), true);
    assert.equal(await b.lease.tryAcquireOrRenew(), false);
    assert.equal(a.lease.isLeader(), true);
    assert.equal(b.lease.isLeader(), false);

    // The follower takes a request: stored as pending, applied by the leader.
    const pending = await b.enforcer.submit(
      request({ provider: "weather", action: "quarantine", ttlSeconds: 60 }),
    );
    assert.equal(pending.state, "pending");
    assert.equal((await apiRequest(cp, "GET", `${NP}/hangar-quarantine-weather`)).status, 404);
    assert.equal(await b.enforcer.processPending(), 0, "a follower applies nothing");
    assert.equal(await a.enforcer.processPending(), 1);
    const applied = await a.enforcer.get(pending.id);
    assert.equal(applied?.state, "applied", applied?.error);
    assert.equal((await apiRequest(cp, "GET", `${NP}/hangar-quarantine-weather`)).status, 200);
    // A revert asked on the follower is handed to the leader through the record: the follower
    // waits, the leader carries it out on its tick, and the follower answers with the result.
    const asked = b.enforcer.revert(pending.id, "hangar-ctl:dana", { waitMs: 5_000 });
    for (let i = 0; i < 100 && (await a.enforcer.get(pending.id))?.revertRequest === undefined; i++)
      await sleep(50);
    assert.equal((await a.enforcer.get(pending.id))?.revertRequest?.actor, "hangar-ctl:dana");
    assert.equal(await b.enforcer.processRevertRequests(), 0, "a follower reverts nothing");
    // (The lease lasts 1 s here: the leader renews before each step, as its loop would.)
    assert.equal(await a.lease.tryAcquireOrRenew(), true);
    assert.equal(await a.enforcer.processRevertRequests(), 1);
    const reverted = await asked;
    assert.equal(reverted.state, "reverted");
    assert.equal(reverted.revertRequest, undefined);
    assert.equal(reverted.history.at(-1)?.actor, "hangar-ctl:dana");
    assert.equal((await apiRequest(cp, "GET", `${NP}/hangar-quarantine-weather`)).status, 404);
    // Nobody carries it out within the wait: the follower answers with the request still on it.
    const again = await b.enforcer.submit(
      request({ provider: "weather", action: "quarantine", ttlSeconds: 60 }),
    );
    assert.equal(await a.lease.tryAcquireOrRenew(), true);
    assert.equal(await a.enforcer.processPending(), 1);
    const waiting = await b.enforcer.revert(again.id, "hangar-ctl:dana", { waitMs: 300 });
    assert.equal(waiting.state, "applied");
    assert.equal(waiting.revertRequest?.actor, "hangar-ctl:dana");
    assert.equal(await a.lease.tryAcquireOrRenew(), true);
    assert.equal(await a.enforcer.processRevertRequests(), 1);
    assert.equal((await a.enforcer.get(again.id))?.state, "reverted");
    await assert.rejects(b.enforcer.revert(again.id, "x"), /HANGAR_ERR_ENFORCE_CONFLICT|is reverted/);
    // Re-apply for the handover checks below.
    assert.equal(await a.lease.tryAcquireOrRenew(), true);
    const third = await a.enforcer.submit(
      request({ provider: "weather", action: "quarantine", ttlSeconds: 60 }),
    );
    assert.equal(third.state, "applied", third.error);
    // A revert the leader refuses (a newer enforcement sits on the object) comes back to the
    // follower's caller as a conflict with the leader's reason.
    const fourth = await a.enforcer.submit(
      request({ provider: "weather", action: "quarantine", ttlSeconds: 60 }),
    );
    assert.equal(fourth.state, "applied", fourth.error);
    const refused = b.enforcer.revert(third.id, "hangar-ctl:dana", { waitMs: 5_000 });
    for (let i = 0; i < 100 && (await a.enforcer.get(third.id))?.revertRequest === undefined; i++)
      await sleep(50);
    assert.equal(await a.lease.tryAcquireOrRenew(), true);
    assert.equal(await a.enforcer.processRevertRequests(), 0, "refused, so not counted");
    await assert.rejects(refused, (e: Error & { code?: string }) => {
      assert.equal(e.code, "HANGAR_ERR_ENFORCE_CONFLICT");
      assert.match(e.message, /revert .* first/);
      return true;
    });
    assert.equal((await a.enforcer.get(third.id))?.state, "applied");
    assert.equal((await a.enforcer.revert(fourth.id, "test")).state, "reverted");

    // a shuts down cleanly: the lease is released and b takes it at once.
    await a.lease.release();
    assert.equal(a.lease.isLeader(), false);
    assert.equal(await b.lease.tryAcquireOrRenew(), true);
    const lease = (
      await apiRequest(
        cp,
        "GET",
        "/apis/coordination.k8s.io/v1/namespaces/hangar-system/leases/hangar-controller",
      )
    ).body as { spec: { holderIdentity: string; leaseTransitions: number } };
    assert.equal(lease.spec.holderIdentity, "controller-b");
    assert.equal(lease.spec.leaseTransitions, 1);

    // The new leader owns the TTL of what the old one applied.
    clock += 61_000;
    assert.equal(await a.enforcer.expireDue(), 0, "the old leader does nothing");
    assert.equal(await b.enforcer.expireDue(), 1);
    assert.equal((await apiRequest(cp, "GET", `${NP}/hangar-quarantine-weather`)).status, 404);
    assert.equal((await b.enforcer.get(third.id))?.state, "expired");

    // b "crashes" (stops renewing, no release): a waits a full lease duration, then takes over.
    assert.equal(await a.lease.tryAcquireOrRenew(), false, "b's lease is fresh");
    const t0 = Date.now();
    let took = false;
    while (Date.now() - t0 < 5_000 && !(took = await a.lease.tryAcquireOrRenew())) await sleep(100);
    assert.ok(took, "a took over after b stopped renewing");
    assert.ok(Date.now() - t0 >= 900, `not before the lease duration (${Date.now() - t0} ms)`);
    assert.equal(b.lease.isLeader(), false, "b no longer acts as leader once its lease ran out");
    const after2 = (
      await apiRequest(
        cp,
        "GET",
        "/apis/coordination.k8s.io/v1/namespaces/hangar-system/leases/hangar-controller",
      )
    ).body as { spec: { holderIdentity: string; leaseTransitions: number } };
    assert.equal(after2.spec.holderIdentity, "controller-a");
    assert.equal(after2.spec.leaseTransitions, 2);
  });

  it("run() renews in the background and releases on abort", async () => {
    const kube = adminClient(cp);
    const x = new LeaseElector({
      kube,
      namespace: "hangar-system",
      name: "run-test",
      identity: "x",
      leaseDurationSeconds: 1,
      retryMs: 100,
    });
    const y = new LeaseElector({
      kube,
      namespace: "hangar-system",
      name: "run-test",
      identity: "y",
      leaseDurationSeconds: 1,
      retryMs: 100,
    });
    const changes: boolean[] = [];
    x.onChange((l) => changes.push(l));
    const ac = new AbortController();
    const running = x.run(ac.signal);
    await sleep(1_500);
    assert.equal(x.isLeader(), true, "still leader after more than a lease duration");
    assert.equal(await y.tryAcquireOrRenew(), false);
    ac.abort();
    await running;
    assert.deepEqual(changes, [true, false]);
    assert.equal(await y.tryAcquireOrRenew(), true, "released: y takes it without waiting");
  });
});
