/**
 * `hangar-agent replay`: the live pipeline (normalize → resolve → correlate →
 * detect → outputs) over recordings merged by event time.
 */
import { accessSync, constants } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { Counters, NoDetector, type BaselineStore, type Detector, type RuntimeEvent } from "@hangar/core";
import { CefLinesAlertSink, JsonLinesAlertSink, eventJson } from "@hangar/export";
import { loadBaselineStore, loadRuleEngine } from "../bootstrap/plugins.js";
import { AgentError } from "../errors.js";
import { createPipeline } from "../pipeline/pipeline.js";
import {
  mergeByTime,
  readRecording,
  type Malformed,
  type RecordingFormat,
  type TimedRecord,
} from "./recording.js";

export interface ReplayOptions {
  tetragon: readonly string[];
  hubble: readonly string[];
  traces: readonly string[];
  rules: readonly string[];
  db?: string;
  learn: boolean;
  format: "json" | "cef";
  strict: boolean;
  /** Correlation grace after a call ends, ms. */
  graceMs?: number;
  /** Where to write every kept event (after correlation) as JSON lines. */
  events?: Writable;
  stdout: Writable;
  logger: Logger;
}

export interface ReplaySummary {
  read: number;
  kept: number;
  dropped: Record<string, number>;
  malformed: Malformed[];
  alerts: number;
  /** Rule alerts not sent because a baseline deviation about the same event was (by rule id). */
  folded: Record<string, number>;
}

export interface ReplayResult {
  summary: ReplaySummary;
  exitCode: number;
}

/**
 * The rule packs `replay --default-rules` loads: $HANGAR_RULES_DIR, else the
 * repository's `rules/` directory (next to agent/ in a checkout or an image
 * built from it).
 */
export function defaultRulesDir(): string {
  return process.env.HANGAR_RULES_DIR ?? fileURLToPath(new URL("../../../../rules/", import.meta.url));
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const inputs: { path: string; format: RecordingFormat }[] = [
    ...opts.tetragon.map((path) => ({ path, format: "tetragon" as const })),
    ...opts.hubble.map((path) => ({ path, format: "hubble" as const })),
    ...opts.traces.map((path) => ({ path, format: "traces" as const })),
  ];
  for (const input of inputs) {
    try {
      accessSync(input.path, constants.R_OK);
    } catch (err) {
      throw AgentError.from(err, "HANGAR_ERR_RECORDING_READ", `cannot read --${input.format} ${input.path}`);
    }
  }
  if (inputs.length === 0) {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "replay needs at least one of --tetragon, --hubble or --traces",
    );
  }
  if (opts.learn && opts.db === undefined) {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "--learn needs --db FILE (the baseline database to learn into)",
    );
  }
  let baseline: BaselineStore | undefined;
  if (opts.db !== undefined)
    baseline = await loadBaselineStore({
      db: opts.db,
      learn: opts.learn,
      onWarning: (message) => opts.logger.warn(message),
    });
  let detector: Detector = new NoDetector();
  if (opts.rules.length > 0) {
    try {
      detector = await loadRuleEngine(
        baseline === undefined ? { paths: opts.rules } : { paths: opts.rules, baseline },
      );
    } catch (err) {
      // Rule-file errors carry path:line:col diagnostics in their message: keep them whole.
      throw AgentError.from(err, "HANGAR_ERR_PLUGIN_LOAD", "the rule engine did not start");
    }
  }

  const counters = new Counters();
  const malformed: Malformed[] = [];
  let read = 0;
  const sink =
    opts.format === "cef" ? new CefLinesAlertSink(opts.stdout) : new JsonLinesAlertSink(opts.stdout);
  const streams: AsyncIterable<TimedRecord>[] = inputs.map((input, fileIndex) =>
    readRecording({
      path: input.path,
      format: input.format,
      fileIndex,
      counters,
      malformed,
      onLine: () => {
        read++;
      },
    }),
  );
  const pipeline = createPipeline({
    counters,
    detector,
    ...(baseline === undefined ? {} : { baseline }),
    sinks: [sink],
    ...(opts.events === undefined ? {} : { onEvent: eventWriter(opts.events) }),
    ...(opts.graceMs === undefined ? {} : { correlate: { graceMs: opts.graceMs } }),
  });
  await pipeline.run(mergeByTime(streams));
  await sink.shutdown();
  await detector.close?.();
  // --learn: every provider learned for the whole recording; freeze them before writing.
  if (opts.learn) baseline?.finishLearning();
  await baseline?.close?.();
  const alerts = Object.values(counters.byLabel("alerts", "rule")).reduce((a, b) => a + b, 0);
  const summary: ReplaySummary = {
    read,
    kept: counters.get("kept"),
    dropped: counters.byLabel("dropped", "reason"),
    malformed,
    alerts,
    folded: counters.byLabel("alerts_folded", "rule"),
  };
  for (const m of malformed) opts.logger.warn(`${m.file}:${m.line}: ${m.error}`);
  return { summary, exitCode: opts.strict && malformed.length > 0 ? 1 : 0 };
}

function eventWriter(out: Writable): (ev: RuntimeEvent) => void {
  return (ev) => {
    out.write(`${eventJson(ev)}\n`);
  };
}
