/**
 * `hangar-agent replay`: the live pipeline (normalize → resolve → correlate →
 * detect → outputs) over recordings merged by event time.
 */
import { accessSync, constants } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { readFileSync } from "node:fs";
import {
  Counters,
  NoDetector,
  PROVIDER_LABEL,
  type BaselineStore,
  type Detector,
  type RuntimeEvent,
} from "@hangar/core";
import { CefLinesAlertSink, JsonLinesAlertSink, eventJson } from "@hangar/export";
import { loadBaselineStore, loadRuleEngine } from "../bootstrap/plugins.js";
import { AgentError } from "../errors.js";
import { createPipeline } from "../pipeline/pipeline.js";
import { WorkloadResolver, type PodInfo, type ProviderMapping } from "../resolve/workloads.js";
import { MalformedList, boundedAlertOutput, escapeControls, escapeJsonControls } from "./bounded.js";
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
  /** Pods for the resolver (`kubectl get pods -o json`), so that events with only a container id, uid or IP resolve. */
  pods?: readonly PodInfo[];
  /** Providers for pods without the label, by namespace and name prefix. */
  providers?: readonly ProviderMapping[];
  stdout: Writable;
  logger: Logger;
}

export interface ReplaySummary {
  read: number;
  kept: number;
  dropped: Record<string, number>;
  /** The first MAX_MALFORMED_LISTED malformed records (messages cut to MAX_ERROR_CHARS). */
  malformed: Malformed[];
  /** Malformed records beyond those listed (counted, not listed). */
  malformed_omitted: number;
  alerts: number;
  /** Rule alerts not sent because a baseline deviation about the same event was (by rule id). */
  folded: Record<string, number>;
  /** Fields this build does not know, by "message type.field" (skipped; the rest of each event is used). */
  unknown_fields: Record<string, number>;
  /** Hook events dropped as unsupported_hook, by function name. */
  unsupported_hooks: Record<string, number>;
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
  const resolver = new WorkloadResolver(counters, { mappings: opts.providers ?? [] });
  for (const p of opts.pods ?? []) resolver.upsert(p);
  const malformed = new MalformedList();
  let read = 0;
  // Alert lines carry input (arguments, paths): bounded in size, control characters escaped.
  const stdout = boundedAlertOutput(opts.stdout, opts.format);
  const sink = opts.format === "cef" ? new CefLinesAlertSink(stdout) : new JsonLinesAlertSink(stdout);
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
    resolver,
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
    malformed: malformed.listed,
    malformed_omitted: malformed.omitted,
    alerts,
    folded: counters.byLabel("alerts_folded", "rule"),
    unknown_fields: counters.byLabel("unknown_field_names", "field"),
    unsupported_hooks: counters.byLabel("unsupported_hooks", "hook"),
  };
  // File names, messages and pod names come from input: escaped before they reach a terminal.
  for (const m of malformed.listed) opts.logger.warn(escapeControls(`${m.file}:${m.line}: ${m.error}`));
  if (malformed.omitted > 0)
    opts.logger.warn(
      `… and ${malformed.omitted} more malformed records (only the first ${malformed.listed.length} are listed)`,
    );
  const hint = keptNothingHint(summary, resolver.unlabelled());
  if (hint !== undefined) opts.logger.warn(escapeControls(hint));
  return { summary, exitCode: opts.strict && malformed.total > 0 ? 1 : 0 };
}

/**
 * Said once, when nothing was kept because no event came from an MCP pod: which pods the
 * events came from, and how to label or map them.
 */
export function keptNothingHint(summary: ReplaySummary, unlabelled: readonly string[]): string | undefined {
  const notMcp = summary.dropped["not_mcp_pod"] ?? 0;
  if (summary.kept > 0 || notMcp === 0) return undefined;
  const [first] = unlabelled;
  const example = first === undefined ? "NAMESPACE/POD" : first;
  const [ns, pod] = example.includes("/") ? example.split("/", 2) : ["NAMESPACE", "POD"];
  return (
    `kept 0 events: only events of pods labelled ${PROVIDER_LABEL}=<provider> are kept, and the ${notMcp} ` +
    `event(s) of these recordings came from pods without that label` +
    (unlabelled.length > 0 ? ` (${unlabelled.join(", ")})` : "") +
    `. Label the MCP server's pods before recording (kubectl label pod -n ${ns ?? "NAMESPACE"} ${pod ?? "POD"} ` +
    `${PROVIDER_LABEL}=<provider>, or in the workload's pod template), or map them for this replay: ` +
    `--provider ${ns ?? "NAMESPACE"}/${(pod ?? "POD").replace(/-[a-z0-9]{5}$/, "-")}=<provider> ` +
    `(NAMESPACE[/POD-PREFIX]=PROVIDER), or give the pod list with --pods (kubectl get pods -o json)`
  );
}

/**
 * Pods for `--pods FILE`: `kubectl get pods -o json` (a List), one Pod object, or one Pod per
 * line. Throws HANGAR_ERR_RECORDING_READ naming the file and what is wrong.
 */
export async function readPods(path: string): Promise<PodInfo[]> {
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the recording file the operator names
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw AgentError.from(err, "HANGAR_ERR_RECORDING_READ", `cannot read --pods ${path}`);
  }
  const docs: unknown[] = [];
  try {
    const t = text.trim();
    if (t.startsWith("{") && !/}\s*\n\s*{/.test(t)) docs.push(JSON.parse(t));
    else for (const line of t.split("\n")) if (line.trim() !== "") docs.push(JSON.parse(line));
  } catch (err) {
    throw AgentError.from(
      err,
      "HANGAR_ERR_RECORDING_READ",
      `--pods ${path} is not JSON: give the output of kubectl get pods -o json (or one Pod per line)`,
    );
  }
  const { podInfo } = await import("../resolve/pod-watch.js");
  const out: PodInfo[] = [];
  for (const d of docs) {
    const o = d as { kind?: string; items?: unknown[] };
    const pods = Array.isArray(o.items) ? o.items : [o];
    for (const p of pods) {
      const info = podInfo(p as Parameters<typeof podInfo>[0]);
      if (info === undefined)
        throw new AgentError(
          "HANGAR_ERR_RECORDING_READ",
          `--pods ${path}: an item without metadata.uid is not a Pod (kind ${JSON.stringify((p as { kind?: unknown }).kind ?? null)})`,
        );
      out.push(info);
    }
  }
  return out;
}

function eventWriter(out: Writable): (ev: RuntimeEvent) => void {
  return (ev) => {
    out.write(`${escapeJsonControls(eventJson(ev))}\n`);
  };
}
