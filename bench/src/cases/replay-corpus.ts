/**
 * replay/corpus — `hangar-agent replay --default-rules` over the corpus of upstream-shaped
 * sensor output (testkit/corpus: Tetragon kprobes/LSM/tracepoint/exec/exit, Hubble L3/L4, L7,
 * DNS, reply and ingress flows, call traces), repeated until it has the case's size, each copy
 * shifted by a minute with its own exec ids, flow uuids and traces. It is the whole path a user
 * runs: files read line by line, JSON parsed (strict, lenient on unknown fields), merged by time,
 * normalized, resolved, names attached, correlated, every rule pack run, alerts written.
 * An event is one record read.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { defaultRulesDir, replay } from "@hangar/agent";
import { CORPUS_FILES, corpusPath, memoryLogger } from "@hangar/testkit";
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";
import { semanticUnavailable } from "./detect-events.js";

const FILES = [CORPUS_FILES.tetragon, CORPUS_FILES.hubble, CORPUS_FILES.traces] as const;
const TIME = /"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z"/g;
const IDS = /"(exec_id|parent_exec_id|uuid|sessionId)":"([^"]*)"/g;
const HEX_IDS = /"(traceId|spanId)":"([0-9a-f]+)"/g;

/** Copy `i` of a corpus line: times a minute later per copy, ids of its own. */
export function shiftLine(line: string, i: number): string {
  if (i === 0) return line;
  return line
    .replace(TIME, (_m, d: string, f: string | undefined) => {
      const t = new Date(Date.parse(`${d}Z`) + i * 60_000).toISOString().slice(0, 19);
      return `"${t}${f ?? ""}Z"`;
    })
    .replace(IDS, (_m, k: string, v: string) => `"${k}":"${v}-${i}"`)
    .replace(HEX_IDS, (_m, k: string, v: string) => {
      const width = v.length;
      return `"${k}":"${(BigInt(`0x${v}`) + BigInt(i) * 16n).toString(16).padStart(width, "0")}"`;
    });
}

/**
 * Writes `records` records of the corpus into `dir`: whole copies, then what is left from the
 * start of one more copy (Tetragon lines first, then Hubble, then traces).
 */
export function inflateCorpus(
  dir: string,
  records: number,
): { paths: Record<string, string>; copies: number } {
  const sources = FILES.map((f) => ({ f, lines: readFileSync(corpusPath(f), "utf8").trim().split("\n") }));
  const per = sources.reduce((n, s) => n + s.lines.length, 0);
  const copies = Math.floor(records / per);
  let rest = records - copies * per;
  const paths: Record<string, string> = {};
  for (const { f, lines } of sources) {
    const out: string[] = [];
    for (let i = 0; i < copies; i++) for (const l of lines) out.push(shiftLine(l, i));
    const extra = Math.min(rest, lines.length);
    for (let k = 0; k < extra; k++) out.push(shiftLine(lines[k] ?? "", copies));
    rest -= extra;
    paths[f] = join(dir, f);
    writeFileSync(paths[f], out.length === 0 ? "" : `${out.join("\n")}\n`);
  }
  return { paths, copies: records / per };
}

/** Records of one copy of the corpus files replayed here. */
export function corpusRecords(): number {
  return FILES.reduce((n, f) => n + readFileSync(corpusPath(f), "utf8").trim().split("\n").length, 0);
}

async function once(
  paths: Record<string, string>,
  latency: LatencyRecorder | undefined,
): Promise<{ ns: number; read: number; kept: number; alerts: number }> {
  let last = now();
  const events = new Writable({
    write(_chunk, _enc, done) {
      const t = now();
      latency?.record(Number(t - last));
      last = t;
      done();
    },
  });
  const alerts = new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });
  const start = now();
  last = start;
  const r = await replay({
    tetragon: [paths[CORPUS_FILES.tetragon] ?? ""],
    hubble: [paths[CORPUS_FILES.hubble] ?? ""],
    traces: [paths[CORPUS_FILES.traces] ?? ""],
    rules: [defaultRulesDir()],
    learn: false,
    format: "json",
    strict: false,
    events,
    stdout: alerts,
    logger: memoryLogger("silent").logger,
  });
  const ns = Number(now() - start);
  return { ns, read: r.summary.read, kept: r.summary.kept, alerts: r.summary.alerts };
}

export const replayCorpus: BenchCase = {
  name: "replay/corpus",
  description:
    "hangar-agent replay --default-rules over the upstream-shaped corpus (testkit/corpus: Tetragon hooks, Hubble L3/L4/L7/DNS flows, call traces) repeated to size: read, parse, merge, normalize, resolve, correlate, all rule packs, alerts; an event is one record",
  latency:
    "the gap between consecutive kept events leaving the pipeline (reading and parsing the records dropped in between included)",
  defaultEvents: 30_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), "hangar-bench-replay-"));
    try {
      const warm = inflateCorpus(
        mkdtempSync(join(dir, "warm-")),
        Math.max(corpusRecords(), Math.min(ctx.warmup, 3000)),
      );
      await once(warm.paths, undefined);
      const big = inflateCorpus(dir, ctx.events);
      const latency = new LatencyRecorder(ctx.events);
      const memory = new MemoryPeak();
      const timer = setInterval(() => memory.sample(), 50);
      let r: Awaited<ReturnType<typeof once>>;
      try {
        r = await once(big.paths, latency);
      } finally {
        clearInterval(timer);
        memory.sample();
      }
      ctx.log(`replayed ${r.read} records: ${r.kept} kept, ${r.alerts} alerts`);
      const m: Measurement = { events: r.read, elapsedNs: r.ns, latency, memory };
      m.detail = { copies: Math.round(big.copies * 10) / 10, kept: r.kept, alerts: r.alerts };
      return m;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
