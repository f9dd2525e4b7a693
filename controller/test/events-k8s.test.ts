/**
 * Alerts and enforcement actions as Kubernetes Events (events.k8s.io/v1) on the MCP pod, on a
 * real kube-apiserver: the Event regards the pod (uid included) with the documented reason and
 * a note carrying the alert id; repeats of the same reason on the same pod grow one Event's
 * `series.count`; the token bucket per object drops what is over it and counts it; enforcement
 * events land on the alert's pod (or on the provider's pods), relate to the NetworkPolicy, and
 * only on the Lease holder; the assembled controller records its enforcer's decisions; and
 * `kubectl describe pod` shows them.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { Counters } from "@hangar/core";
import { hangar } from "@hangar/proto";
import {
  alert,
  apiRequest,
  findNodeTool,
  skipUnlessControlPlane,
  startControlPlane,
  waitFor,
  type ControlPlane,
} from "@hangar/testkit";
import { AlertStore } from "../src/api/alerts.js";
import { createController } from "../src/assembly/controller.js";
import { hubHandlers } from "../src/assembly/hub.js";
import { EventRecorder } from "../src/events/recorder.js";
import { ViolationEvents, type EnforcementFacts } from "../src/events/violations.js";
import { Enforcer } from "../src/enforce/engine.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { adminClient, ensureNamespace, providerPod, request } from "./enforce-helpers.js";

const skip = skipUnlessControlPlane();
const execFileAsync = promisify(execFile);

interface Ev {
  metadata: { name: string; annotations?: Record<string, string> };
  reason: string;
  type: string;
  action: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { kind: string; name: string; namespace: string; uid?: string };
  related?: { kind: string; name: string; apiVersion: string };
  series?: { count: number; lastObservedTime: string };
}

async function eventsOf(cp: ControlPlane, ns: string, pod: string): Promise<Ev[]> {
  const r = await apiRequest(
    cp,
    "GET",
    `/apis/events.k8s.io/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`regarding.name=${pod}`)}`,
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { items: Ev[] }).items;
}

async function podUid(cp: ControlPlane, ns: string, name: string): Promise<string> {
  const r = await apiRequest(cp, "GET", `/api/v1/namespaces/${ns}/pods/${name}`);
  return (r.body as { metadata: { uid: string } }).metadata.uid;
}

function alertOn(
  id: string,
  pod: { name: string; uid: string },
  ruleId = "hangar.exec.reverse_shell",
): hangar.Alert {
  const a = alert({ ruleId, severity: hangar.Severity.CRITICAL });
  a.id = id;
  a.message = `shell /bin/bash connected to 203.0.113.66:443`;
  a.pod = create(hangar.PodIdentitySchema, { namespace: "mcp", name: pod.name, uid: pod.uid });
  return a;
}

function facts(over: Partial<EnforcementFacts>): EnforcementFacts {
  return {
    id: "e1-1",
    alertId: "",
    provider: "weather",
    namespace: "mcp",
    action: "block_egress",
    mode: "audit",
    outcome: "audited",
    objectKind: "NetworkPolicy",
    objectName: "hangar-block-weather-1",
    destination: "203.0.113.66",
    error: "",
    actor: "hangar.exec.reverse_shell",
    ...over,
  };
}

describe("violation events on a real API server", { skip }, () => {
  let cp: ControlPlane;
  let weather0: { name: string; uid: string };

  before(async () => {
    cp = await startControlPlane();
    await ensureNamespace(cp, "mcp");
    await providerPod(cp, "mcp", "weather");
    await providerPod(cp, "mcp", "weather", undefined, "weather-1");
    await providerPod(cp, "mcp", "notes");
    await providerPod(cp, "mcp", "maps");
    weather0 = { name: "weather-0", uid: await podUid(cp, "mcp", "weather-0") };
  });
  after(async () => {
    await cp?.stop();
  });

  function setup(
    opts: { burst?: number; refillMs?: number; now?: () => number; isLeader?: () => boolean } = {},
  ): {
    counters: Counters;
    recorder: EventRecorder;
    events: ViolationEvents;
  } {
    const counters = new Counters();
    const kube = adminClient(cp);
    const recorder = new EventRecorder({
      kube,
      counters,
      instance: "hangar-controller-abc12",
      ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
      ...(opts.refillMs !== undefined ? { refillMs: opts.refillMs } : {}),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
      onError: (err) => assert.fail(String(err)),
    });
    const events = new ViolationEvents({
      recorder,
      kube,
      isLeader: opts.isLeader ?? (() => true),
      noPod: () => counters.inc("k8s_events_dropped", { reason: "no_pod" }),
      onError: (err) => assert.fail(String(err)),
    });
    return { counters, recorder, events };
  }

  it("an alert becomes a Warning Event on its pod with the reason and the alert id; repeats grow its series", async () => {
    const { counters, recorder, events } = setup();
    events.alert(alertOn("a-1", weather0));
    await recorder.flush();
    let evs = await eventsOf(cp, "mcp", "weather-0");
    assert.equal(evs.length, 1);
    const ev = evs[0]!;
    assert.equal(ev.reason, "RuleMatched");
    assert.equal(ev.type, "Warning");
    assert.equal(ev.action, "Detect");
    assert.equal(ev.reportingController, "mcp-hangar.io/hangar-controller");
    assert.equal(ev.reportingInstance, "hangar-controller-abc12");
    assert.deepEqual(
      {
        kind: ev.regarding.kind,
        name: ev.regarding.name,
        namespace: ev.regarding.namespace,
        uid: ev.regarding.uid,
      },
      { kind: "Pod", name: "weather-0", namespace: "mcp", uid: weather0.uid },
    );
    assert.equal(
      ev.note,
      "CRITICAL hangar.exec.reverse_shell: shell /bin/bash connected to 203.0.113.66:443 (alert a-1)",
    );
    assert.equal(ev.series, undefined);

    events.alert(alertOn("a-2", weather0));
    events.alert(alertOn("a-3", weather0));
    await recorder.flush();
    evs = await eventsOf(cp, "mcp", "weather-0");
    assert.equal(evs.length, 1, "repeats join the first Event");
    assert.equal(evs[0]!.series?.count, 3);
    assert.match(evs[0]!.note, /\(alert a-1\)$/, "the note names the first alert (the API server keeps it)");
    assert.equal(
      evs[0]!.metadata.annotations?.["mcp-hangar.io/alert-id"],
      "a-3",
      "the annotation the latest",
    );
    // Another rule on the same pod is a series of its own; a baseline deviation has its reason.
    events.alert(alertOn("a-4", weather0, "hangar.cred.service_account_token_read"));
    const dev = alertOn("a-5", weather0, "baseline/new-egress");
    dev.source = hangar.AlertSource.BASELINE;
    events.alert(dev);
    await recorder.flush();
    evs = await eventsOf(cp, "mcp", "weather-0");
    assert.deepEqual(evs.map((e) => e.reason).sort(), ["BaselineDeviation", "RuleMatched", "RuleMatched"]);
    assert.deepEqual(counters.snapshot(), {
      'k8s_events{outcome="created"}': 3,
      'k8s_events{outcome="updated"}': 2,
    });
  });

  it("a noisy rule is rate limited per pod: writes over the bucket are dropped and counted, the series count stays true", async () => {
    let t = Date.now();
    const { counters, recorder, events } = setup({ burst: 3, refillMs: 60_000, now: () => t });
    const notes = { name: "notes-0", uid: await podUid(cp, "mcp", "notes-0") };
    for (let i = 1; i <= 10; i++) events.alert(alertOn(`n-${i}`, notes, "hangar.recon.port_scan"));
    // Another rule on the same pod shares the pod's bucket.
    events.alert(alertOn("n-other", notes, "hangar.recon.dns_burst"));
    await recorder.flush();
    let evs = await eventsOf(cp, "mcp", "notes-0");
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.series?.count, 3, "three writes: the create and two patches");
    assert.deepEqual(counters.snapshot(), {
      'k8s_events{outcome="created"}': 1,
      'k8s_events{outcome="updated"}': 2,
      'k8s_events_dropped{reason="rate_limited"}': 8,
    });
    // Another pod has a bucket of its own.
    const maps = { name: "maps-0", uid: await podUid(cp, "mcp", "maps-0") };
    events.alert(alertOn("m-1", maps));
    await recorder.flush();
    assert.equal((await eventsOf(cp, "mcp", "maps-0")).length, 1);
    // A minute later one token is back: the next repeat writes the true count (11), not 4.
    t += 60_000;
    events.alert(alertOn("n-11", notes, "hangar.recon.port_scan"));
    await recorder.flush();
    evs = await eventsOf(cp, "mcp", "notes-0");
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.series?.count, 11);
    assert.equal(evs[0]!.metadata.annotations?.["mcp-hangar.io/alert-id"], "n-11");
  });

  it("an alert without a pod is counted, not written", async () => {
    const { counters, recorder, events } = setup();
    const a = alert({ ruleId: "x" });
    a.id = "nopod";
    events.alert(a);
    await recorder.flush();
    assert.deepEqual(counters.snapshot(), { 'k8s_events_dropped{reason="no_pod"}': 1 });
  });

  it("enforcement: on the alert's pod with the NetworkPolicy as related; without an alert on the provider's pods; pending and standby write none", async () => {
    const { counters, recorder, events } = setup();
    events.alert(alertOn("enf-1", weather0, "hangar.exfil.large_upload"));
    await events.enforcement(facts({ id: "e1-1", alertId: "enf-1" }));
    await recorder.flush();
    const on0 = (await eventsOf(cp, "mcp", "weather-0")).filter((e) => e.reason.startsWith("Enforcement"));
    assert.equal(on0.length, 1);
    assert.equal(on0[0]!.reason, "EnforcementAudited");
    assert.equal(on0[0]!.type, "Normal");
    assert.equal(on0[0]!.action, "block_egress");
    assert.deepEqual(
      { kind: on0[0]!.related?.kind, name: on0[0]!.related?.name, apiVersion: on0[0]!.related?.apiVersion },
      { kind: "NetworkPolicy", name: "hangar-block-weather-1", apiVersion: "networking.k8s.io/v1" },
    );
    assert.match(
      on0[0]!.note,
      /^block_egress 203\.0\.113\.66 audited \(audit mode\) on NetworkPolicy\/hangar-block-weather-1; alert enf-1; enforcement e1-1/,
    );
    assert.equal((await eventsOf(cp, "mcp", "weather-1")).length, 0, "only the alert's pod");

    // By hand (no alert): every pod of the provider, a Warning when it failed.
    await events.enforcement(
      facts({
        id: "e2-1",
        action: "quarantine",
        outcome: "failed",
        destination: "",
        error: "HANGAR_ERR_ENFORCE_UNMANAGED: not ours",
        actor: "hangar-ctl",
      }),
    );
    await recorder.flush();
    for (const pod of ["weather-0", "weather-1"]) {
      const f = (await eventsOf(cp, "mcp", pod)).filter((e) => e.reason === "EnforcementFailed");
      assert.equal(f.length, 1, pod);
      assert.equal(f[0]!.type, "Warning");
      assert.match(f[0]!.note, /enforcement e2-1 by hangar-ctl: HANGAR_ERR_ENFORCE_UNMANAGED: not ours$/);
    }
    const before = counters.snapshot();
    await events.enforcement(facts({ id: "e3-1", outcome: "pending" }));
    const standby = setup({ isLeader: () => false });
    await standby.events.enforcement(facts({ id: "e4-1", outcome: "applied" }));
    await standby.recorder.flush();
    await recorder.flush();
    assert.deepEqual(counters.snapshot(), before);
    assert.deepEqual(standby.counters.snapshot(), {});
  });

  it("the hub's handler records each alert once (a redelivery is not a repeat)", async () => {
    const { recorder, events } = setup();
    const kube = adminClient(cp);
    const handlers = hubHandlers({
      alerts: new AlertStore(),
      enforcer: new Enforcer({ kube, store: new ConfigMapStore(kube, "hangar-system") }),
      merge: undefined,
      fanout: undefined,
      telemetry: undefined,
      events,
      log: () => undefined,
    });
    const who = {
      node: "node-a",
      principal: "system:serviceaccount:hangar-system:hangar-agent",
      via: "token" as const,
    };
    const a = alertOn("hub-1", { name: "maps-0", uid: await podUid(cp, "mcp", "maps-0") }, "hangar.hub.once");
    await handlers.alert?.(a, who);
    await handlers.alert?.(a, who);
    await recorder.flush();
    const evs = (await eventsOf(cp, "mcp", "maps-0")).filter((e) => e.note.includes("hub-1"));
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.series, undefined);
  });

  it("the assembled controller records its enforcer's decisions as Events (and kubectl describe pod shows them)", async () => {
    await ensureNamespace(cp, "hangar-system");
    const running = await createController({
      kube: adminClient(cp),
      namespace: "hangar-system",
      identity: "hangar-controller-test",
      api: { listen: "127.0.0.1:0" },
      k8sEvents: true,
      log: () => undefined,
    });
    try {
      await running.enforcer.submit(
        request({ provider: "maps", action: "quarantine", alertId: "" }),
        "hangar-ctl",
      );
      await waitFor("the EnforcementAudited Event on maps-0", async () =>
        (await eventsOf(cp, "mcp", "maps-0")).some((e) => e.reason === "EnforcementAudited"),
      );
      assert.deepEqual(running.counters.snapshot(), { 'k8s_events{outcome="created"}': 1 });
    } finally {
      await running.stop();
    }
    const kubectl = findNodeTool("kubectl");
    if (!kubectl.ok) {
      // The API's answers above are the proof; describe is shown where the node tools are.
      process.stdout.write(`kubectl describe skipped: ${kubectl.reason}\n`);
      return;
    }
    const { stdout } = await execFileAsync(kubectl.path, [
      "--kubeconfig",
      cp.kubeconfigPath,
      "describe",
      "pod",
      "-n",
      "mcp",
      "maps-0",
    ]);
    if (process.env["SHOW_DESCRIBE"] === "1") process.stdout.write(stdout);
    assert.match(stdout, /Events:/);
    assert.match(stdout, /Warning\s+RuleMatched/);
    assert.match(stdout, /Normal\s+EnforcementAudited/);
  });
});
