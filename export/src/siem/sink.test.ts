import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { it } from "node:test";
import { create, fromJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { pino } from "pino";
import { Counters } from "@hangar/core";
import { SiemSink } from "./sink.js";

it("several destinations at once: JSON lines to a file, LEEF to a file, CEF to stdout; enforcement events too", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-sink-"));
  try {
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    const counters = new Counters();
    const sink = await SiemSink.start({
      destinations: [
        { name: "json", format: "json", transport: "file", path: join(dir, "alerts.jsonl") },
        { name: "leef", format: "leef", transport: "file", path: join(dir, "alerts.leef") },
        { name: "cef", format: "cef", transport: "stdout", syslog: "rfc5424" },
      ],
      hostname: "node-a",
      counters,
      logger: pino({ level: "silent" }),
      stdout,
    });
    const alert = create(hangar.AlertSchema, {
      id: "a-1",
      ruleId: "r.1",
      severity: hangar.Severity.LOW,
      message: "line1\nline2",
      time: timestampFromMs(1_700_000_000_000),
    });
    sink.write(alert);
    sink.writeEnforcement(
      create(hangar.EnforcementEventSchema, {
        id: "e-1",
        action: hangar.EnforcementAction.QUARANTINE,
        outcome: hangar.EnforcementOutcome.AUDITED,
        time: timestampFromMs(1_700_000_000_500),
      }),
    );
    await sink.flush();
    await sink.shutdown();
    const json = readFileSync(join(dir, "alerts.jsonl"), "utf8").trim().split("\n");
    assert.equal(json.length, 2);
    assert.equal(fromJsonString(hangar.AlertSchema, json[0] as string).message, "line1\nline2");
    assert.equal(fromJsonString(hangar.EnforcementEventSchema, json[1] as string).id, "e-1");
    const leef = readFileSync(join(dir, "alerts.leef"), "utf8").trim().split("\n");
    assert.equal(leef.length, 2);
    assert.ok(leef[0]?.startsWith("LEEF:2.0|MCP Hangar|hangar-agent|0.1.0|r.1|x09|"));
    assert.ok(leef[1]?.includes("act=quarantine\toutcome=audited"));
    const cef = out.trim().split("\n");
    assert.equal(cef.length, 2);
    assert.match(cef[0] ?? "", /^<166>1 2023-11-14T22:13:20.000Z node-a hangar-agent \d+ alert - CEF:0\|/);
    assert.match(cef[1] ?? "", / enforcement - CEF:0\|.*\|hangar:enforcement:quarantine\|/);
    for (const d of ["json", "leef", "cef"]) assert.equal(counters.get("siem_sent", { destination: d }), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("rejects duplicate or unsafe destination names and missing hosts before starting anything", async () => {
  const base = { hostname: "n", counters: new Counters(), logger: pino({ level: "silent" }) };
  await assert.rejects(
    SiemSink.start({
      ...base,
      destinations: [
        { name: "a", format: "json", transport: "stdout" },
        { name: "a", format: "json", transport: "stdout" },
      ],
    }),
    /must be unique/,
  );
  await assert.rejects(
    SiemSink.start({ ...base, destinations: [{ name: "t", format: "cef", transport: "tcp" }] }),
    /needs a host and a port/,
  );
});
