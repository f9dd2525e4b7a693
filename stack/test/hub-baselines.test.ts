/**
 * What the controller sends agents through the hub, over real gRPC (mTLS on loopback) with
 * the agent's real client: merged baselines (the real baseline engine on both sides, DuckDB
 * files on disk, loaded through the bootstraps) and rule updates into a running agent's
 * detector (the real rule engine). Skips, saying why, when this build lacks an engine or
 * openssl is missing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import {
  Counters,
  MemoryAlertSink,
  type BaselineStore,
  type BaselineSync,
  type Detection,
} from "@hangar/core";
import {
  HubClient,
  HubInbox,
  RuleUpdates,
  SwappableDetector,
  compileRuleSources,
  startAgent,
} from "@hangar/agent";
import { pino } from "pino";
import { events, runtimeEvent, waitFor, writeTestCerts } from "@hangar/testkit";
import {
  AgentHub,
  MergedBaselineFanout,
  behavioralBaselineMerge,
  loadBehavioral,
  loadSemantic,
  type BaselineMergePort,
} from "@hangar/controller";

interface StoreOptions {
  db: string;
  learn: boolean;
  node: string;
  syncIntervalMs: number;
  learningWindowMs: number;
}
type Store = BaselineStore & BaselineSync;
interface Behavioral {
  createBaselineStore(o: StoreOptions): Promise<Store>;
}

const why = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
const noOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "openssl is not installed (the test makes its mTLS certificates with it)";
  }
})();
const noBehavioral = await why(loadBehavioral(["createBaselineStore", "mergeDeltas", "mergedBaselines"]));
const noSemantic = await why(loadSemantic(["createDetectorFromSources"]));

const T0 = Date.parse("2026-03-02T10:00:00Z");
const MIN = 60_000;
const ts = (ms: number) => timestampFromMs(ms);

/** Events of provider "notes", as the agent's pipeline hands them to the baseline. */
const toolEv = (ms: number, tool: string): hangar.RuntimeEvent =>
  runtimeEvent(
    hangar.EventKind.TOOL_CALL,
    {
      case: "toolCall",
      value: create(hangar.ToolCallDetailSchema, {
        trace: create(hangar.CallTraceSchema, {
          provider: "notes",
          tool,
          method: "tools/call",
          startTime: ts(ms),
        }),
      }),
    },
    { id: `t${ms}`, at: ms, provider: "notes", sensor: hangar.Sensor.PROXY },
  );
const connectEv = (ms: number, ip: string, port: number): hangar.RuntimeEvent =>
  events.connect(ip, port, { id: `c${ms}${ip}`, at: ms, provider: "notes" });

function certs(dir: string): {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
} {
  // One client certificate for the test's agents: it names every node they speak for.
  const c = writeTestCerts(dir, {
    serverSan: "IP:127.0.0.1",
    clientSan: "DNS:node-a,DNS:node-b,DNS:node-r,DNS:node-x",
  });
  return { ca: c.ca, cert: c.serverCert, key: c.serverKey, clientCert: c.clientCert, clientKey: c.clientKey };
}

describe("the hub sends what agents hold", { skip: noOpenssl ?? false }, () => {
  let dir: string;
  let tls: ReturnType<typeof certs>;
  const logger = pino({ level: "silent" });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "hangar-hub-baselines-"));
    tls = certs(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function hub(port: number, opts: Partial<ConstructorParameters<typeof AgentHub>[0]> = {}): AgentHub {
    return new AgentHub({
      listen: `127.0.0.1:${port}`,
      tls: { certFile: tls.cert, keyFile: tls.key, clientCaFile: tls.ca },
      handlers: {},
      ...opts,
    });
  }
  function client(
    port: number,
    node: string,
    extra: Partial<ConstructorParameters<typeof HubClient>[0]>,
  ): HubClient {
    return new HubClient({
      address: `127.0.0.1:${port}`,
      node,
      tls: { caFile: tls.ca, certFile: tls.clientCert, keyFile: tls.clientKey },
      backoff: { initialMs: 20, maxMs: 200 },
      ...extra,
    });
  }

  /** The controller's side as `hangar-controller serve --baseline-db` wires it. */
  async function controller(
    db: string,
    port = 0,
  ): Promise<{ hub: AgentHub; fanout: MergedBaselineFanout; merge: BaselineMergePort }> {
    const merge = await behavioralBaselineMerge(db);
    const late: { hub?: AgentHub } = {};
    const fanout = new MergedBaselineFanout({
      hub: { sendLatest: (n, k, m) => late.hub?.sendLatest(n, k, m) ?? 0n },
      merge,
      debounceMs: 50,
    });
    await fanout.load();
    const h = hub(port, {
      onHello: (node) => fanout.hello(node),
      handlers: {
        baselineDelta: async (d, who) => {
          await merge.merge(d);
          fanout.changed(d.provider, who.node);
        },
      },
    });
    late.hub = h;
    await h.start();
    return { hub: h, fanout, merge };
  }

  it(
    "merged baselines: what node A learned is known on node B; a new agent and a restarted controller send the current one",
    { skip: noBehavioral ?? false },
    async () => {
      const behavioral = await loadBehavioral<Behavioral>(["createBaselineStore"]);
      const store = (node: string): Promise<Store> =>
        behavioral.createBaselineStore({
          db: join(dir, `${node}.duckdb`),
          learn: false,
          node,
          syncIntervalMs: 0,
          learningWindowMs: 30 * MIN,
        });
      const db = join(dir, "controller.duckdb");
      let c = await controller(db);
      const port = c.hub.port;
      const a = await store("node-a");
      const b = await store("node-b");
      const agent = (node: string, s: Store): { client: HubClient; counters: Counters } => {
        const counters = new Counters();
        const inbox = new HubInbox({ counters, logger });
        inbox.attach({ baseline: s });
        return { client: client(port, node, { counters, ...inbox.handlers() }), counters };
      };
      const A = agent("node-a", a);
      const B = agent("node-b", b);
      try {
        // Both learn the same provider, each something of its own, and finish learning.
        for (let i = 0; i < 3; i++) {
          a.observe(toolEv(T0 + i * MIN, "search"));
          a.observe(connectEv(T0 + i * MIN + 1, "198.51.100.7", 443));
          b.observe(toolEv(T0 + i * MIN, "search"));
          b.observe(connectEv(T0 + i * MIN + 1, "203.0.113.9", 443));
        }
        a.observe(toolEv(T0 + 31 * MIN, "search"));
        b.observe(toolEv(T0 + 31 * MIN, "search"));
        assert.equal(
          b.lookup("notes", "egress", "198.51.100.7:443/tcp"),
          "new",
          "B never saw A's destination",
        );
        const deviation = (d: Detection | undefined | void): string[] =>
          (d ?? undefined)?.alerts.map((x) => `${x.ruleId} ${x.baselineVersion}`) ?? [];
        for (const d of a.deltas().deltas) A.client.sendBaselineDelta(d);
        for (const d of b.deltas().deltas) B.client.sendBaselineDelta(d);
        await waitFor(
          "A's destination known on B",
          () => b.lookup("notes", "egress", "198.51.100.7:443/tcp") === "known",
        );
        assert.equal(a.lookup("notes", "egress", "203.0.113.9:443/tcp"), "known", "and B's on A");
        assert.deepEqual(c.fanout.hostsOf("notes"), ["node-a", "node-b"]);
        assert.ok(B.counters.get("merged_baselines", { outcome: "adopted" }) >= 1);
        // B goes to A's destination: no deviation. Somewhere new: a deviation, stamped with the merged version.
        assert.deepEqual(deviation(b.observe(connectEv(T0 + 40 * MIN, "198.51.100.7", 443))), []);
        const fresh = deviation(b.observe(connectEv(T0 + 41 * MIN, "192.0.2.66", 443)));
        assert.equal(fresh.length, 1);
        assert.match(fresh[0] as string, /^baseline\/new-egress v\d+\+m\d+$/);
        const [merged] = await c.merge.merged("notes");
        assert.ok(merged !== undefined);
        assert.ok(
          b.version("notes").endsWith(`+m${merged.version}`),
          `${b.version("notes")} vs m${merged.version}`,
        );

        // A new agent process on node-b (its file lost) gets the current merged baseline when it connects.
        B.client.close();
        const b2 = await store("node-b2");
        const counters2 = new Counters();
        const inbox2 = new HubInbox({ counters: counters2, logger });
        inbox2.attach({ baseline: b2 });
        const B2 = client(port, "node-b", { counters: counters2, ...inbox2.handlers() });
        try {
          const adopted = (): number => counters2.get("merged_baselines", { outcome: "adopted" });
          await waitFor("merged baseline on connect", () => adopted() >= 1);
          assert.ok(b2.version("notes").endsWith(`+m${merged.version}`));
          // A restarted controller reads the merged baselines from its file and sends them on reconnect.
          await sleep(100); // a debounced send still under way counts before the restart, not after
          const before = adopted();
          await c.hub.stop(100);
          c.fanout.close();
          c = await controller(db, port);
          const restarted = c;
          await waitFor(
            "merged baseline from the restarted controller",
            () => restarted.fanout.sent >= 1 && adopted() > before,
          );
        } finally {
          B2.close();
          await b2.close?.();
        }
      } finally {
        A.client.close();
        B.client.close();
        c.fanout.close();
        await c.hub.stop(100);
        await a.close?.();
        await b.close?.();
      }
    },
  );

  it(
    "rule updates: a running agent starts detecting with rules it received; a broken update leaves them working",
    { skip: noSemantic ?? false },
    async () => {
      const h = hub(0);
      const port = await h.start();
      const counters = new Counters();
      const lines: string[] = [];
      const agentLogger = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
      const inbox = new HubInbox({ counters, logger: agentLogger });
      const hubClient = client(port, "node-r", { counters, ...inbox.handlers() });
      const detector = new SwappableDetector();
      inbox.attach({
        rules: new RuleUpdates({
          detector,
          compile: (sources) => compileRuleSources({ sources }),
          counters,
          logger: agentLogger,
        }),
      });
      const sink = new MemoryAlertSink();
      const agent = await startAgent({
        node: "node-r",
        namespaces: [],
        traceSource: hubClient,
        detector,
        sinks: [sink],
        counters,
        logger: agentLogger,
      });
      let n = 0;
      const call = (tool: string): void => {
        const at = ts(Date.now());
        h.send("node-r", {
          case: "callTrace",
          value: create(hangar.CallTraceSchema, {
            traceId: (++n).toString(16).padStart(32, "0"),
            spanId: n.toString(16).padStart(16, "0"),
            provider: "notes",
            tool,
            method: "tools/call",
            node: "node-r",
            startTime: at,
            endTime: at,
            status: hangar.CallStatus.OK,
          }),
        });
      };
      const rule = (field: string): string => `rule test.tool.delete_everything {
  description "A test rule: the delete_everything tool was called."
  severity high
  mitre T1485
  maturity sandbox
  event tool_call where ${field} = "delete_everything"
  message "tool {call.tool} called"
  action alert
}
`;
      try {
        await waitFor("the agent connected", () => hubClient.connected);
        call("delete_everything");
        await sleep(200);
        assert.equal(sink.alerts.length, 0, "no rules yet: no alert");
        h.setRules(
          create(hangar.RuleUpdateSchema, { version: "r1", files: { "test.rules": rule("call.tool") } }),
        );
        await waitFor("r1 applied", () => counters.get("rule_updates", { outcome: "applied" }) === 1);
        call("search");
        call("delete_everything");
        await waitFor("an alert from the received rule", () => sink.alerts.length === 1);
        assert.equal(sink.alerts[0]?.ruleId, "test.tool.delete_everything");
        // A broken update: logged with file:line:col, counted, acknowledged; the old rules keep working.
        h.setRules(
          create(hangar.RuleUpdateSchema, { version: "r2", files: { "test.rules": rule("call.toool") } }),
        );
        await waitFor("r2 rejected", () => counters.get("rule_updates", { outcome: "rejected" }) === 1);
        const err = lines.find((l) => l.includes("does not compile"));
        assert.ok(err !== undefined);
        assert.match(err, /test\.rules:6:25: HANGAR_ERR_RULE_UNKNOWN_FIELD/);
        call("delete_everything");
        await waitFor("r1 still detecting after the broken r2", () => sink.alerts.length === 2);
        // r2 was received: a reconnect does not bring it again.
        const before = counters.get("rule_updates", { outcome: "rejected" });
        await h.stop(100);
        const h2 = hub(port);
        h2.setRules(
          create(hangar.RuleUpdateSchema, { version: "r2", files: { "test.rules": rule("call.toool") } }),
        );
        await h2.start();
        try {
          await waitFor("reconnected", () => counters.get("hub_connects") >= 2);
          await sleep(200);
          assert.equal(counters.get("rule_updates", { outcome: "rejected" }), before, "not sent again");
        } finally {
          await h2.stop(100);
        }
      } finally {
        hubClient.close();
        await agent.stop();
        await h.stop(100).catch(() => undefined);
      }
    },
  );

  it("a node that is away gets only the newest merged baseline; rules it already received are not sent again", async () => {
    const h = hub(0);
    const port = await h.start();
    const mb = (version: bigint): hangar.MergedBaseline =>
      create(hangar.MergedBaselineSchema, { provider: "notes", version });
    h.setRules(create(hangar.RuleUpdateSchema, { version: "r7", files: { "a.rules": "# empty\n" } }));
    h.sendLatest("node-x", "baseline/notes", { case: "mergedBaseline", value: mb(1n) });
    h.sendLatest("node-x", "baseline/notes", { case: "mergedBaseline", value: mb(2n) });
    h.sendLatest("node-x", "baseline/files", {
      case: "mergedBaseline",
      value: create(hangar.MergedBaselineSchema, { provider: "files", version: 5n }),
    });
    const got: string[] = [];
    const c = client(port, "node-x", {
      rulesVersion: () => "r7",
      onMergedBaseline: (m) => got.push(`${m.provider} v${m.version}`),
      onRuleUpdate: (u) => got.push(`rules ${u.version}`),
    });
    try {
      await waitFor("the queued merged baselines", () => got.length >= 2);
      await sleep(200);
      assert.deepEqual(got, ["notes v2", "files v5"]);
    } finally {
      c.close();
      await h.stop(100);
    }
  });
});
