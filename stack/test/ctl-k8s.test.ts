/**
 * hangar-ctl against a running controller: `hangar-controller serve` as its own
 * process on a real API server; an agent (the real hub client) streams an alert
 * and an enforcement request to it; hangar-ctl lists, shows, follows and
 * reverts, with its exit codes.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { hangar, tetragon } from "@hangar/proto";
import { HubClient, defaultRulesDir, startSimulator } from "@hangar/agent";
import { apiRequest, skipUnlessControlPlane, startControlPlane, type ControlPlane } from "@hangar/testkit";
import { ctl, loadBehavioral, runAlerts, type CtlIO } from "@hangar/controller";
import { startTestServer, type TestServer } from "@hangar/testkit/mcp";
import { connect, ensureNamespace, providerPod, textOf } from "./helpers.js";

const skip = skipUnlessControlPlane();
/** Why the baseline engine cannot be used here, or undefined when it can. */
const noBehavioral = await loadBehavioral(["mergeDeltas", "listProviders", "showBaseline"]).then(
  () => undefined,
  (err: unknown) =>
    `the baseline engine is not in this build: ${err instanceof Error ? err.message : String(err)}`,
);
const ADMIN = "ctl-static-admin-token-0123456789";
const READ = "ctl-static-read-token-0123456789";
const K8S_ADMIN = "ctl-k8s-admin-token-0123456789";
const MAIN = fileURLToPath(new URL("../../../controller/dist/src/cli/main.js", import.meta.url));
const AGENT = fileURLToPath(new URL("../../../agent/dist/src/cli/main.js", import.meta.url));
const AGENT_FIXTURES = fileURLToPath(new URL("../../../agent/test/fixtures/", import.meta.url));
const CTL = fileURLToPath(new URL("../../../controller/dist/src/ctl/main.js", import.meta.url));

function capture(): CtlIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
  };
  return io;
}

describe("hangar-ctl against a running controller", { skip }, () => {
  let cp: ControlPlane;
  let dir: string;
  let controller: ChildProcess;
  let api = "";
  let hubPort = 0;
  let proxyUrl = "";
  let mcp: TestServer;
  const events: Record<string, unknown>[] = [];
  let agent: HubClient;
  const ruleUpdates: hangar.RuleUpdate[] = [];

  before(async () => {
    cp = await startControlPlane({ tokens: [{ token: K8S_ADMIN, user: "dana", groups: ["hangar-admins"] }] });
    await ensureNamespace(cp, "mcp");
    await ensureNamespace(cp, "hangar-system");
    await providerPod(cp, "mcp", "weather", "192.0.2.7:443");
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/secrets", {
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "hangar-controller-tokens" },
        data: { "admin.ops": b64(ADMIN), "read.viewer": b64(READ) },
      },
    });
    await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/serviceaccounts", {
      body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "hangar-agent" } },
    });
    const tr = await apiRequest(
      cp,
      "POST",
      "/api/v1/namespaces/hangar-system/serviceaccounts/hangar-agent/token",
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: ["hangar-controller"] },
        },
      },
    );
    dir = mkdtempSync(join(tmpdir(), "hangar-ctl-"));
    writeFileSync(join(dir, "token"), (tr.body as { status: { token: string } }).status.token);
    writeFileSync(join(dir, "policy.yaml"), "mode: audit\nnamespaces:\n  mcp:\n    mode: enforce\n");
    mkdirSync(join(dir, "rules"));
    // The repository's packs, as the chart's rules ConfigMap holds them: the agent run below
    // starts with --default-rules and then runs what the hub sends (the same packs).
    for (const f of readdirSync(defaultRulesDir()).filter((n) => n.endsWith(".rules")))
      writeFileSync(join(dir, "rules", f), readFileSync(join(defaultRulesDir(), f), "utf8"));
    mcp = await startTestServer({ pod: "weather-0" });
    writeFileSync(
      join(dir, "proxy.json"),
      JSON.stringify({
        listen: "127.0.0.1:0",
        providers: [{ provider: "weather", namespace: "mcp", service: "weather" }],
        staticEndpoints: { weather: [{ url: mcp.url, pod: "weather-0", namespace: "mcp", node: "node-a" }] },
      }),
    );
    controller = spawn(
      process.execPath,
      [
        MAIN,
        "serve",
        "--kubeconfig",
        cp.kubeconfigPath,
        "--namespace",
        "hangar-system",
        "--identity",
        "ctl-test",
        "--config",
        join(dir, "policy.yaml"),
        "--api-listen",
        "127.0.0.1:0",
        "--hub-listen",
        "127.0.0.1:0",
        "--lease-duration",
        "2",
        "--admin-group",
        "hangar-admins",
        "--proxy-config",
        join(dir, "proxy.json"),
        "--rules",
        join(dir, "rules"),
        ...(noBehavioral === undefined ? ["--baseline-db", join(dir, "controller.duckdb")] : []),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    createInterface({ input: controller.stdout! }).on("line", (l) =>
      events.push(JSON.parse(l) as Record<string, unknown>),
    );
    const logs: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: controller.stderr! }).on("line", (l) => {
        logs.push(l);
        const m = JSON.parse(l) as { msg?: string; api?: string; hub?: string };
        if (m.msg === "agent hub listening") hubPort = Number(m.hub?.split(":").at(-1));
        if (m.msg === "MCP proxy listening") proxyUrl = (m as { proxy?: string }).proxy ?? "";
        if (m.msg === "REST API listening" && m.api !== undefined) {
          api = m.api;
          resolve();
        }
      });
      controller.once("exit", (code) => reject(new Error(`controller exited ${code}: ${logs.join("\n")}`)));
    });
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${api}/readyz`);
      if (((await r.json()) as { leader: boolean }).leader) break;
      await sleep(50);
    }
    agent = new HubClient({
      address: `127.0.0.1:${hubPort}`,
      node: "node-a",
      tokenFile: join(dir, "token"),
      onRuleUpdate: (u) => ruleUpdates.push(u),
      backoff: { initialMs: 20, maxMs: 200 },
    });
  });
  after(async () => {
    agent?.close();
    await mcp?.close();
    if (controller !== undefined && controller.exitCode === null) {
      controller.kill("SIGTERM");
      await new Promise((r) => controller.once("exit", r));
    }
    await cp?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const io = capture();
    const code = await ctl(args, io);
    return { code, out: io.out, err: io.err };
  };

  it("an agent's alert and enforcement request reach the controller through the hub", async () => {
    agent.write(
      create(hangar.AlertSchema, {
        id: "al-1",
        ruleId: "r.exfil",
        provider: "weather",
        severity: hangar.Severity.HIGH,
        message: "curl to 203.0.113.66 during tools/call fetch",
        node: "node-a",
      }),
    );
    agent.requestEnforcement(
      create(hangar.EnforcementRequestSchema, {
        id: "req-1",
        alertId: "al-1",
        ruleId: "r.exfil",
        provider: "weather",
        namespace: "mcp",
        action: hangar.EnforcementAction.BLOCK_EGRESS,
        destination: "203.0.113.66:443",
        ttl: durationFromMs(600_000),
      }),
    );
    await agent.flush();
    const list = await apiRequest(cp, "GET", "/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies");
    const names = ((list.body as { items: { metadata: { name: string } }[] }).items ?? []).map(
      (i) => i.metadata.name,
    );
    assert.equal(names.length, 1);
    assert.match(names[0] ?? "", /^hangar-block-weather-/);
    assert.ok(
      events.some((e) => e["outcome"] === "applied" && e["alertId"] === "al-1"),
      "an EnforcementEvent on stdout",
    );
    // And the rule packs of --rules came to the agent when it connected.
    assert.equal(ruleUpdates.length, 1);
    assert.deepEqual(Object.keys(ruleUpdates[0]?.files ?? {}).sort(), readdirSync(join(dir, "rules")).sort());
  });

  it("call traces of the in-process MCP proxy reach the agent on the pod's node", async () => {
    const ac = new AbortController();
    const traces: hangar.CallTrace[] = [];
    const pump = (async () => {
      for await (const t of agent.traces(ac.signal)) traces.push(t);
    })();
    const { client } = await connect(new URL(`${proxyUrl}/mcp/weather`));
    try {
      const res = await client.callTool({ name: "echo", arguments: { text: "hi" } });
      assert.equal(textOf(res), "hi");
    } finally {
      await client.close();
    }
    for (let i = 0; i < 200 && !traces.some((t) => t.tool === "echo"); i++) await sleep(20);
    ac.abort();
    await pump;
    const t = traces.find((x) => x.tool === "echo");
    assert.ok(t, `a trace for tools/call echo (got ${traces.map((x) => x.method).join(", ")})`);
    assert.equal(t.node, "node-a");
    assert.equal(t.podName, "weather-0");
  });

  it(
    "an agent's baseline delta is merged (--baseline-db) and served by /v1/providers",
    { skip: noBehavioral ?? false },
    async () => {
      const now = timestampFromDate(new Date());
      agent.sendBaselineDelta(
        create(hangar.BaselineDeltaSchema, {
          provider: "weather",
          node: "node-a",
          version: 1n,
          time: now,
          items: [
            {
              facet: hangar.BaselineFacet.EGRESS,
              value: "203.0.113.10:443/tcp",
              count: 2n,
              firstSeen: now,
              lastSeen: now,
            },
          ],
        }),
      );
      await agent.flush();
      const res = await fetch(`${api}/v1/providers`, { headers: { authorization: `Bearer ${READ}` } });
      const body = (await res.json()) as { providers: { provider: string }[] };
      assert.deepEqual(
        body.providers.map((p) => p.provider),
        ["weather"],
      );
      const b = await fetch(`${api}/v1/providers/weather/baseline`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      const baseline = (await b.json()) as { facets: { egress: { value: string }[] } };
      assert.deepEqual(
        baseline.facets.egress.map((e) => e.value),
        ["203.0.113.10:443/tcp"],
      );
    },
  );

  it("alerts: table, json, yaml, filters", async () => {
    const t = await run("alerts", "--server", api, "--token", READ);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^TIME\s+SEVERITY\s+PROVIDER\s+RULE\s+NODE\s+MESSAGE\n/);
    assert.match(t.out, /high\s+weather\s+r\.exfil\s+node-a\s+curl to 203\.0\.113\.66/);
    const j = await run("alerts", "--server", api, "--token", READ, "-o", "json", "--provider", "weather");
    assert.deepEqual(
      (JSON.parse(j.out) as { id: string }[]).map((a) => a.id),
      ["al-1"],
    );
    const y = await run("alerts", "--server", api, "--token", READ, "-o", "yaml", "--provider", "other");
    assert.equal(y.out, "[]\n");
    const none = await run("alerts", "--server", api, "--token", READ, "--severity", "critical");
    assert.equal(none.out, "No alerts.\n");
  });

  it("alerts --follow prints new alerts as they arrive", async () => {
    const io = capture();
    const ac = new AbortController();
    const done = runAlerts(
      ["--server", api, "--token", READ, "--follow", "-o", "json", "--provider", "weather"],
      io,
      ac.signal,
    );
    await sleep(200);
    agent.write(
      create(hangar.AlertSchema, {
        id: "al-2",
        ruleId: "r.shell",
        provider: "weather",
        severity: hangar.Severity.CRITICAL,
      }),
    );
    agent.write(create(hangar.AlertSchema, { id: "al-3", ruleId: "r.shell", provider: "maps" }));
    await agent.flush();
    for (let i = 0; i < 100 && !io.out.includes("al-2"); i++) await sleep(20);
    ac.abort();
    assert.equal(await done, 0);
    assert.deepEqual(
      io.out
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { id: string }).id),
      ["al-1", "al-2"],
    );
  });

  it("enforcement list, show and revert; exit codes for not found, auth, conflict, usage, unreachable", async () => {
    const list = await run("enforcement", "list", "--server", api, "--token", READ);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^ID\s+STATE\s+MODE\s+ACTION/);
    const id =
      /^(e[0-9a-f]{12})\s+applied\s+enforce\s+block_egress\s+mcp\/weather\s+203\.0\.113\.66:443\s+NetworkPolicy\/hangar-block-weather-/m.exec(
        list.out,
      )?.[1];
    assert.ok(id, list.out);
    const show = await run("enforcement", "show", id, "--server", api, "--token", READ);
    assert.match(show.out, /State:\s+applied/);
    assert.match(show.out, /Diff:\n--- \/dev\/null\n\+\+\+ new\/NetworkPolicy\/hangar-block-weather-/);
    const showJson = await run("enforcement", "show", id, "--server", api, "--token", READ, "-o", "json");
    assert.equal((JSON.parse(showJson.out) as { request: { alertId: string } }).request.alertId, "al-1");

    assert.equal(
      (await run("enforcement", "show", "e000000000000", "--server", api, "--token", READ)).code,
      3,
    );
    const denied = await run("enforcement", "revert", id, "--server", api, "--token", READ);
    assert.equal(denied.code, 4);
    assert.match(denied.err, /HANGAR_ERR_API_FORBIDDEN: viewer has role read; this needs admin/);
    assert.equal(
      (await run("enforcement", "list", "--server", api, "--token", "wrong-token-0123456789")).code,
      4,
    );

    // The kubeconfig's own user (TokenReview, group hangar-admins) may revert.
    const kubeconfig = await cp.writeKubeconfig(K8S_ADMIN, "dana.kubeconfig");
    const rev = await run("enforcement", "revert", id, "--server", api, "--kubeconfig", kubeconfig);
    assert.equal(rev.code, 0, rev.err);
    assert.match(rev.out, new RegExp(`^${id} reverted: NetworkPolicy mcp/hangar-block-weather-`));
    const gone = await apiRequest(cp, "GET", "/apis/networking.k8s.io/v1/namespaces/mcp/networkpolicies");
    assert.deepEqual((gone.body as { items: unknown[] }).items, []);
    const again = await run("enforcement", "revert", id, "--server", api, "--token", ADMIN);
    assert.equal(again.code, 5);
    assert.match(again.err, /HANGAR_ERR_ENFORCE_CONFLICT/);

    assert.equal((await run("enforcement", "frobnicate", "--server", api)).code, 2);
    assert.equal((await run("enforcement", "show", "not-an-id", "--server", api)).code, 2);
    assert.equal((await run("alerts", "--severity", "loud", "--server", api)).code, 2);
    const down = await run("alerts", "--server", "http://127.0.0.1:1", "--token", READ);
    assert.equal(down.code, 1);
    assert.match(down.err, /127\.0\.0\.1:1/);
  });

  it("without --server: finds the controller's Service through the kubeconfig, and says what is missing", async (t) => {
    // The environment must not name a server for this test.
    const saved = process.env["HANGAR_SERVER"];
    delete process.env["HANGAR_SERVER"];
    t.after(() => {
      if (saved !== undefined) process.env["HANGAR_SERVER"] = saved;
    });
    const noSvc = await run("alerts", "--kubeconfig", cp.kubeconfigPath, "-n", "hangar-system");
    assert.equal(noSvc.code, 1);
    assert.match(noSvc.err, /Service hangar-system\/hangar-controller not found through the kubeconfig/);
    await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/services", {
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "hangar-controller" },
        spec: { selector: { app: "hangar-controller" }, ports: [{ name: "api", port: 8080 }] },
      },
    });
    // A pod exists but is not Ready (no kubelet here): nothing to forward to.
    await apiRequest(cp, "POST", "/api/v1/namespaces/hangar-system/pods", {
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hangar-controller-0", labels: { app: "hangar-controller" } },
        spec: {
          containers: [
            { name: "c", image: "example.invalid/c:1", ports: [{ name: "api", containerPort: 8080 }] },
          ],
        },
      },
    });
    const notReady = await run("enforcement", "list", "--kubeconfig", cp.kubeconfigPath);
    assert.equal(notReady.code, 1);
    assert.match(notReady.err, /no ready pod behind Service hangar-system\/hangar-controller/);
  });

  it("the hangar-ctl executable: --help, completion, exit codes", () => {
    const help = spawnSync(process.execPath, [CTL, "enforcement", "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Exit codes: 0 done, 1 failed/);
    const comp = spawnSync(process.execPath, [CTL, "completion", "bash"], { encoding: "utf8" });
    assert.equal(comp.status, 0);
    assert.match(comp.stdout, /complete -F _hangar_ctl hangar-ctl/);
    assert.match(comp.stdout, /enforcement\) opts="list show revert/);
    const bash = spawnSync(
      "bash",
      [
        "-c",
        `${comp.stdout}\nCOMP_WORDS=(hangar-ctl enf); COMP_CWORD=1; _hangar_ctl; echo "\${COMPREPLY[@]}"`,
      ],
      { encoding: "utf8" },
    );
    assert.equal(bash.stdout.trim(), "enforcement");
    const nf = spawnSync(
      process.execPath,
      [CTL, "enforcement", "show", "e000000000000", "--server", api, "--token", READ],
      { encoding: "utf8" },
    );
    assert.equal(nf.status, 3, nf.stderr);
  });

  // After the listings: it adds alerts and enforcements that the listings above do not expect. The agent
  // process is a new incarnation on node-a, after the HubClient above: its messages must not
  // be taken for duplicates of that client's.
  it("hangar-agent run with the rule packs: a rule's block_egress reaches the enforcer through the hub", async () => {
    // A Tetragon tcp_connect from a weather pod to the cloud metadata endpoint, as the
    // sensor streams it: hangar.net.cloud_metadata_access asks for block_egress.
    const line = readFileSync(join(AGENT_FIXTURES, "realistic-tetragon.jsonl"), "utf8")
      .split("\n")
      .find((l) => l.includes('"process_kprobe"') && l.includes('"tcp_connect"'));
    assert.ok(line, "the fixture has a tcp_connect kprobe");
    const json = JSON.parse(line) as {
      process_kprobe: {
        process: { pod: { name: string; pod_labels: Record<string, string> } };
        args: { sock_arg?: { daddr: string; dport: number } }[];
      };
    };
    const kp = json.process_kprobe;
    kp.process.pod.name = "weather-0";
    kp.process.pod.pod_labels["mcp-hangar.io/provider"] = "weather";
    const sock = kp.args.find((a) => a.sock_arg !== undefined)?.sock_arg;
    assert.ok(sock);
    sock.daddr = "169.254.169.254";
    sock.dport = 80;
    const msg = fromJson(tetragon.GetEventsResponseSchema, json as unknown as JsonValue, {
      ignoreUnknownFields: true,
    });
    const sim = await startSimulator({
      tetragon: { address: `unix://${join(dir, "tetragon.sock")}`, messages: [msg], holdOpen: true },
    });
    const run = spawn(
      process.execPath,
      [AGENT, "run", "--tetragon", sim.tetragonAddress ?? "", "--hubble", "none", "--no-kube"]
        .concat(["--health-port", "0", "--node", "node-a", "--default-rules", "--log-level", "warn"])
        .concat(["--hub", `127.0.0.1:${hubPort}`, "--hub-token-file", join(dir, "token")])
        .concat(["--spool-dir", join(dir, "agent-spool")]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    run.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    run.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => run.once("exit", (code) => resolve(code)));
    try {
      const byRule = (): Record<string, unknown> | undefined =>
        events.find((e) => e["actor"] === "hangar.net.cloud_metadata_access");
      for (let i = 0; i < 300 && byRule() === undefined; i++) await sleep(50);
      const ev = byRule();
      assert.ok(
        ev,
        `an EnforcementEvent for the rule; controller events: ${JSON.stringify(events)}\nagent stderr: ${stderr}`,
      );
      assert.equal(ev["provider"], "weather");
      assert.equal(ev["action"], "block_egress");
      assert.match(String(ev["destination"]), /^169\.254\.169\.254/);
      assert.match(stdout, /hangar\.net\.cloud_metadata_access/, "the alert is on the agent's stdout too");
    } finally {
      run.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
      await sim.stop();
    }
  });

  it(
    "hangar-agent run --db: the controller, holding none of the node's baseline, asks for it in full at hello",
    { skip: noBehavioral },
    async () => {
      // A baseline learned on the node before (replay --learn), for provider "fs" of the fixture.
      const db = join(dir, "node-b.duckdb");
      const learn = spawnSync(
        process.execPath,
        [
          AGENT,
          "replay",
          "--learn",
          "--db",
          db,
          "--tetragon",
          join(AGENT_FIXTURES, "realistic-tetragon.jsonl"),
        ],
        { encoding: "utf8" },
      );
      assert.equal(learn.status, 0, learn.stderr);
      const sim = await startSimulator({
        tetragon: { address: `unix://${join(dir, "tetragon-b.sock")}`, messages: [], holdOpen: true },
      });
      const run = spawn(
        process.execPath,
        [AGENT, "run", "--tetragon", sim.tetragonAddress ?? "", "--hubble", "none", "--no-kube"]
          .concat(["--health-port", "0", "--node", "node-b", "--db", db, "--log-level", "info"])
          .concat(["--hub", `127.0.0.1:${hubPort}`, "--hub-token-file", join(dir, "token")])
          .concat(["--spool-dir", join(dir, "agent-b-spool")]),
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      run.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => run.once("exit", (code) => resolve(code)));
      try {
        // Deltas otherwise go out every 30 s; the resync answers the hello at once.
        let providers: { provider: string; state: string }[] = [];
        for (let i = 0; i < 200; i++) {
          const res = await fetch(`${api}/v1/providers`, { headers: { authorization: `Bearer ${READ}` } });
          providers = ((await res.json()) as { providers?: typeof providers }).providers ?? [];
          if (providers.some((p) => p.provider === "fs")) break;
          await sleep(50);
        }
        assert.ok(
          providers.some((p) => p.provider === "fs" && p.state === "enforcing"),
          `fs in /v1/providers: ${JSON.stringify(providers)}\nagent stderr: ${stderr}`,
        );
        assert.match(stderr, /sent every provider's baseline in full to the controller/);
      } finally {
        run.kill("SIGTERM");
        assert.equal(await exited, 0, stderr);
        await sim.stop();
      }
    },
  );

  it("SIGTERM: the controller releases its Lease and exits 0", async () => {
    controller.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => controller.once("exit", r));
    assert.equal(code, 0);
    const lease = await apiRequest(
      cp,
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/hangar-system/leases/hangar-controller",
    );
    assert.equal((lease.body as { spec: { holderIdentity?: string } }).spec.holderIdentity ?? "", "");
  });
});
