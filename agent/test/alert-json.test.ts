/**
 * Alerts and events leave the agent as proto-JSON lines written by core's compiled writer
 * (core/src/proto-json.ts): over the upstream-shaped corpus through `replay --default-rules`,
 * every line is exactly the text @bufbuild/protobuf's `toJsonString` gives for the same message.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { pino } from "pino";
import { hangar } from "@hangar/proto";
import { CORPUS_FILES, corpusPath } from "@hangar/testkit";
import { defaultRulesDir, replay } from "../src/replay/replay.js";

function lines(): { stream: Writable; lines: string[] } {
  const out: string[] = [];
  let rest = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      out.push(...parts.filter((l) => l !== ""));
      done();
    },
  });
  return { stream, lines: out };
}

describe("alert and event JSON lines", () => {
  it("are the library's proto-JSON text for every alert and event of the corpus", async () => {
    const alerts = lines();
    const events = lines();
    await replay({
      tetragon: [CORPUS_FILES.tetragon, CORPUS_FILES.tetragonPretty, CORPUS_FILES.tetragonEnterprise].map(
        corpusPath,
      ),
      hubble: [CORPUS_FILES.hubble, CORPUS_FILES.hubbleBare, CORPUS_FILES.hubblePretty].map(corpusPath),
      traces: [corpusPath(CORPUS_FILES.traces)],
      rules: [defaultRulesDir()],
      learn: false,
      format: "json",
      strict: false,
      events: events.stream,
      stdout: alerts.stream,
      logger: pino({ level: "silent" }),
    });
    assert.ok(alerts.lines.length >= 5, `${alerts.lines.length} alerts`);
    assert.ok(events.lines.length >= 50, `${events.lines.length} events`);
    for (const line of alerts.lines)
      assert.equal(line, toJsonString(hangar.AlertSchema, fromJsonString(hangar.AlertSchema, line)));
    for (const line of events.lines)
      assert.equal(
        line,
        toJsonString(hangar.RuntimeEventSchema, fromJsonString(hangar.RuntimeEventSchema, line)),
      );
  });
});
