import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { AlertStore, matches, severityRank } from "./alerts.js";

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
  it("severity is a minimum; names with or without the SEVERITY_ prefix; unknown ranks below all", () => {
    assert.ok(severityRank("high") > severityRank("medium"));
    assert.equal(severityRank("SEVERITY_HIGH"), severityRank("high"));
    assert.equal(severityRank("loud"), -1);
    const s = new AlertStore();
    const j = s.add(alert("x", hangar.Severity.HIGH, "2026-01-01T00:00:00Z"));
    assert.equal(matches(j, { severity: "medium" }), true);
    assert.equal(matches(j, { severity: "critical" }), false);
    assert.equal(matches(j, { since: "2026-01-02T00:00:00Z" }), false);
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
