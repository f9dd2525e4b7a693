import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { AlertStore, matches, RecentIds, severityRank } from "./alerts.js";

const alert = (id: string, severity: hangar.Severity, at: string): hangar.Alert =>
  create(hangar.AlertSchema, {
    id,
    provider: "p",
    ruleId: "r",
    severity,
    time: timestampFromDate(new Date(at)),
  });

describe("AlertStore", () => {
  it("keeps the newest up to its capacity and counts what it drops", () => {
    const s = new AlertStore(2);
    s.add(alert("a", hangar.Severity.LOW, "2026-01-01T00:00:00Z"));
    s.add(alert("b", hangar.Severity.LOW, "2026-01-02T00:00:00Z"));
    s.add(alert("c", hangar.Severity.LOW, "2026-01-03T00:00:00Z"));
    assert.deepEqual(
      s.list().map((a) => a.id),
      ["b", "c"],
    );
    assert.equal(s.dropped, 1);
  });
  it("stays within its byte bound as well, evicting the oldest, whatever the alerts' size", () => {
    const s = new AlertStore({ maxAlerts: 1_000_000, maxBytes: 64 * 1024 });
    const big = (i: number): hangar.Alert => {
      const a = alert(`a${i}`, hangar.Severity.HIGH, "2026-01-01T00:00:00Z");
      a.message = "x".repeat(500 + (i % 7) * 300);
      return a;
    };
    for (let i = 0; i < 20_000; i++) {
      s.add(big(i));
      assert.ok(s.bytes <= s.maxBytes, `${s.bytes} bytes held`);
    }
    const kept = s.list({}, 1_000_000);
    assert.equal(kept.length, s.size);
    assert.equal(s.dropped, 20_000 - s.size);
    assert.ok(s.size > 20 && s.size < 200, `${s.size} alerts of 0.5–2.3 KB in 64 KiB`);
    assert.equal(kept.at(-1)?.id, "a19999", "the newest are the ones kept, in order");
    assert.equal(kept[0]?.id, `a${20_000 - s.size}`);
  });
  it("the ring wraps and grows without losing order", () => {
    const s = new AlertStore(3000);
    for (let i = 0; i < 7777; i++) s.add(alert(String(i), hangar.Severity.LOW, "2026-01-01T00:00:00Z"));
    const ids = s.list({}, 10_000).map((a) => Number(a.id));
    assert.equal(ids.length, 3000);
    assert.deepEqual(
      ids,
      Array.from({ length: 3000 }, (_, i) => 4777 + i),
    );
    assert.equal(s.dropped, 4777);
  });
  it("severity is a minimum; names with or without the SEVERITY_ prefix; unknown ranks below all", () => {
    assert.ok(severityRank("high") > severityRank("medium"));
    assert.equal(severityRank("SEVERITY_HIGH"), severityRank("high"));
    assert.equal(severityRank("loud"), -1);
    const s = new AlertStore();
    s.add(alert("x", hangar.Severity.HIGH, "2026-01-01T00:00:00Z"));
    const [j] = s.list();
    assert.ok(j !== undefined);
    assert.equal(matches(j, { severity: "medium" }), true);
    assert.equal(matches(j, { severity: "critical" }), false);
    assert.equal(matches(j, { since: "2026-01-02T00:00:00Z" }), false);
    // The ring filters without JSON: the same answers as `matches` on the JSON.
    assert.equal(s.list({ severity: "medium" }).length, 1);
    assert.equal(s.list({ severity: "critical" }).length, 0);
    assert.equal(s.list({ since: "2026-01-02T00:00:00Z" }).length, 0);
    assert.equal(s.list({ since: "2026-01-01T00:00:00Z" }).length, 1);
    assert.equal(s.list({ provider: "p", rule: "r" }).length, 1);
    assert.equal(s.list({ provider: "q" }).length, 0);
  });
  it("subscribers see every new alert until they unsubscribe", () => {
    const s = new AlertStore();
    const seen: string[] = [];
    const off = s.subscribe((a) => seen.push(a.id ?? ""));
    s.add(alert("1", hangar.Severity.LOW, "2026-01-01T00:00:00Z"));
    off();
    s.add(alert("2", hangar.Severity.LOW, "2026-01-01T00:00:00Z"));
    assert.deepEqual(seen, ["1"]);
  });
});

describe("RecentIds", () => {
  it("recognises an id seen within the window, forgets it after", () => {
    const r = new RecentIds({ windowMs: 1000 });
    assert.equal(r.seen("a", 0), false);
    assert.equal(r.seen("a", 999), true);
    assert.equal(r.seen("a", 2001), false, "forgotten after the window, remembered again");
    assert.equal(r.forgotten, 1);
  });
  it("keeps at most maxIds however many alerts arrive in the window", () => {
    const r = new RecentIds({ windowMs: 3_600_000, maxIds: 1000 });
    for (let i = 0; i < 100_000; i++) {
      r.seen(`id-${i}`, i);
      assert.ok(r.size <= 1000);
    }
    assert.equal(r.forgotten, 99_000);
    assert.equal(r.seen("id-99999", 100_000), true, "the newest are the ones kept");
    assert.equal(r.seen("id-0", 100_000), false);
  });
});
