import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBaselineStore } from "@hangar/core";
import { hangar } from "@hangar/proto";
import { toJson } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { HangarDetector, timestampOfMs } from "./detector.js";
import { compileSources } from "./load.js";
import { testEvent, type TestValue } from "./testevents.js";

const META = `description "d" severity high mitre T1041, T1552.001 maturity stable version 3`;
let n = 0;
const ev = (kind: string, atMs: number, fields: Record<string, TestValue> = {}) =>
  testEvent(kind, atMs, n++, new Map(Object.entries(fields)));

/** A provider that enforces a baseline of one destination. */
function enforcing(): MemoryBaselineStore {
  const store = new MemoryBaselineStore();
  store.allow("test-provider", "egress", "198.51.100.7");
  return store;
}

function detector(files: Record<string, string>, baseline?: MemoryBaselineStore): HangarDetector {
  const r = compileSources(new Map(Object.entries(files)));
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  return new HangarDetector({ rules: r.rules, baseline, latenessMs: 0 });
}

const EXFIL = `rule exfil { ${META}
  sequence by session.id maxspan 60s {
    read: tool_call where tool.name = "read_file"
    conn: connect where destination.ip not in baseline(egress)
  }
  message "{read.caller} read then {conn.process.binary} sent to {conn.destination.ip}"
  except backups where read.caller = "ops:backup"
  action alert, block_egress(conn.destination.ip, 30m), quarantine(1h)
  cooldown 5m
}`;

describe("detector", () => {
  it("turns a match into an explained alert and enforcement requests", () => {
    const store = new MemoryBaselineStore();
    store.allow("test-provider", "egress", "198.51.100.7");
    const d = detector({ "x.rules": EXFIL }, store);
    assert.equal(
      d.process(
        ev("tool_call", 0, {
          "tool.name": "read_file",
          "session.id": "s1",
          caller: "agent:a",
          "tool.args.path": "/app/.env",
        }),
      ),
      undefined,
    );
    const out = d.process(
      ev("connect", 2000, { "destination.ip": "203.0.113.9", "destination.port": 443, "session.id": "s1" }),
    );
    assert.ok(out !== undefined);
    const [a] = out.alerts;
    assert.ok(a !== undefined);
    assert.equal(a.ruleId, "exfil");
    assert.equal(a.ruleVersion, "3");
    assert.equal(a.severity, hangar.Severity.HIGH);
    assert.deepEqual(a.mitre, ["T1041", "T1552.001"]);
    assert.equal(a.message, "agent:a read then /usr/local/bin/node sent to 203.0.113.9");
    assert.equal(a.evidence.length, 2);
    assert.equal(a.toolCalls[0]?.tool, "read_file");
    assert.equal(a.baselineVersion, "mem-1");
    assert.equal(a.provider, "test-provider");
    assert.equal(a.source, hangar.AlertSource.RULE);
    assert.match(
      a.explanation,
      /step read: .*tool_call tools\/call read_file.*caller agent:a, session s1, arguments \{"path":"\/app\/.env"\}/,
    );
    assert.match(a.explanation, /step conn: .*203\.0\.113\.9:443/);
    assert.match(
      a.explanation,
      /baseline mem-1: conn\.destination\.ip=203\.0\.113\.9 in egress baseline of provider test-provider: new/,
    );
    assert.match(a.explanation, /exceptions checked, none matched: backups/);
    assert.deepEqual(
      out.enforcement?.map((e) => [
        e.action,
        e.destination,
        Number(e.ttl?.seconds),
        e.alertId === a.id,
        e.ruleId,
        e.namespace,
      ]),
      [
        [hangar.EnforcementAction.BLOCK_EGRESS, "203.0.113.9", 1800, true, "exfil", "mcp"],
        [hangar.EnforcementAction.QUARANTINE, "", 3600, true, "exfil", "mcp"],
      ],
    );
  });

  it("cooldown: one alert per key and period", () => {
    const d = detector({ "x.rules": EXFIL }, enforcing());
    const alerts: hangar.Alert[] = [];
    for (const t of [0, 10_000, 400_000]) {
      d.process(ev("tool_call", t, { "tool.name": "read_file", "session.id": "s1" }));
      alerts.push(
        ...(d.process(ev("connect", t + 1, { "destination.ip": "203.0.113.9", "session.id": "s1" }))
          ?.alerts ?? []),
      );
    }
    assert.equal(alerts.length, 2);
    assert.equal(d.stats().deduped, 1);
  });

  it("an exception suppresses the match and says which one, with its place", () => {
    const d = detector({ "x.rules": EXFIL }, enforcing());
    d.process(ev("tool_call", 0, { "tool.name": "read_file", "session.id": "s1", caller: "ops:backup" }));
    assert.equal(
      d.process(ev("connect", 1, { "destination.ip": "203.0.113.9", "session.id": "s1" })),
      undefined,
    );
    assert.deepEqual(
      d.suppressed.map((s) => [s.ruleId, s.exception, s.file, s.loc.line, s.steps]),
      [["exfil", "backups", "x.rules", 7, ["read", "conn"]]],
    );
    assert.deepEqual(d.stats().suppressed, { "exfil/backups": 1 });
  });

  it("a patch in another file adds an exception, disables or re-rates a rule by id", () => {
    const patch = `patch exfil { except lab where conn.destination.ip cidr "203.0.113.0/24" severity low }`;
    const d = detector({ "a.rules": EXFIL, "b.rules": patch }, enforcing());
    d.process(ev("tool_call", 0, { "tool.name": "read_file", "session.id": "s1" }));
    assert.equal(
      d.process(ev("connect", 1, { "destination.ip": "203.0.113.9", "session.id": "s1" })),
      undefined,
    );
    assert.equal(d.suppressed[0]?.file, "b.rules", "the exception names the file that added it");
    d.process(ev("tool_call", 10, { "tool.name": "read_file", "session.id": "s2" }));
    const a = d.process(ev("connect", 11, { "destination.ip": "198.18.0.1", "session.id": "s2" }))?.alerts[0];
    assert.equal(a?.severity, hangar.Severity.LOW);
    const off = detector({ "a.rules": EXFIL, "b.rules": `patch exfil { disabled }` }, enforcing());
    off.process(ev("tool_call", 0, { "tool.name": "read_file", "session.id": "s1" }));
    assert.equal(
      off.process(ev("connect", 1, { "destination.ip": "203.0.113.9", "session.id": "s1" })),
      undefined,
    );
  });

  it("learning: skip by default, or alert at the stated severity", () => {
    const store = new MemoryBaselineStore();
    store.setLearning("test-provider", true);
    const skip = detector({ "x.rules": EXFIL }, store);
    skip.process(ev("tool_call", 0, { "tool.name": "read_file", "session.id": "s1" }));
    assert.equal(
      skip.process(ev("connect", 1, { "destination.ip": "203.0.113.9", "session.id": "s1" })),
      undefined,
    );
    assert.equal(skip.stats().learningSkipped, 1);
    const lower = detector({ "x.rules": EXFIL.replace("cooldown 5m", "learning severity info") }, store);
    lower.process(ev("tool_call", 0, { "tool.name": "read_file", "session.id": "s1" }));
    const a = lower.process(ev("connect", 1, { "destination.ip": "203.0.113.9", "session.id": "s1" }))
      ?.alerts[0];
    assert.equal(a?.severity, hangar.Severity.INFO);
    assert.match(a?.explanation ?? "", /still learning: severity lowered to info/);
  });

  it("without a baseline store, baseline predicates never hold", () => {
    const d = detector({ "x.rules": EXFIL });
    d.process(ev("tool_call", 0, { "tool.name": "read_file", "session.id": "s1" }));
    assert.equal(
      d.process(ev("connect", 1, { "destination.ip": "203.0.113.9", "session.id": "s1" })),
      undefined,
    );
  });

  it("stamps alerts with valid timestamps when event times carry nanoseconds", () => {
    const ts = timestampOfMs(1772443711958.1125);
    assert.equal(ts.seconds, 1772443711n);
    assert.ok(
      Number.isInteger(ts.nanos) && ts.nanos >= 958_112_000 && ts.nanos <= 958_113_000,
      String(ts.nanos),
    );
    const iso = String(toJson(TimestampSchema, ts));
    assert.match(iso, /^2026-03-02T09:28:31\.958\d+Z$/);
    assert.equal(timestampOfMs(999.9999999).nanos <= 999_999_999, true);
    assert.equal(timestampOfMs(-1.5).seconds, -1n, "before the epoch: floor, positive nanos");
  });
});
