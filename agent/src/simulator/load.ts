/** Loads JSON-lines recordings for the simulator (the replay's line parser). */
import { readFileSync } from "node:fs";
import type { observer, tetragon } from "@hangar/proto";
import { AgentError } from "../errors.js";
import { Counters } from "@hangar/core";
import { parseLine, type Malformed } from "../replay/recording.js";

export function loadTetragonRecording(
  path: string,
  malformed: Malformed[] = [],
): tetragon.GetEventsResponse[] {
  const out: tetragon.GetEventsResponse[] = [];
  forEachLine(path, (text, line) => {
    try {
      const rec = parseLine("tetragon", text, new Counters());
      if (rec.sensor === "tetragon") out.push(rec.msg);
    } catch (err) {
      malformed.push({ file: path, line, error: err instanceof Error ? err.message : String(err) });
    }
  });
  return out;
}

export function loadHubbleRecording(path: string, malformed: Malformed[] = []): observer.GetFlowsResponse[] {
  const out: observer.GetFlowsResponse[] = [];
  forEachLine(path, (text, line) => {
    try {
      const rec = parseLine("hubble", text, new Counters());
      if (rec.sensor === "hubble") out.push(rec.msg);
    } catch (err) {
      malformed.push({ file: path, line, error: err instanceof Error ? err.message : String(err) });
    }
  });
  return out;
}

function forEachLine(path: string, fn: (text: string, line: number) => void): void {
  let content: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the scenario file the operator names
    content = readFileSync(path, "utf8");
  } catch (err) {
    throw AgentError.from(err, "HANGAR_ERR_RECORDING_READ", `cannot read recording ${path}`);
  }
  const lines = content.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = (lines[i] ?? "").trim();
    if (text !== "") fn(text, i + 1);
  }
}
