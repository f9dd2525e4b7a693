/**
 * Recording readers for `hangar-agent replay`: JSON lines exactly as
 * `tetra getevents -o json` / Tetragon's JSON export, `hubble observe -o json`,
 * and `hangar.v1.CallTrace` (proto JSON). A malformed line is reported with file
 * and line, skipped and counted; the rest of the file is processed.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { fromJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { hangar, observer, tetragon } from "@hangar/proto";
import { AgentError } from "../errors.js";
import { timeMs, type Counters } from "@hangar/core";
import type { SensorRecord } from "../sources/records.js";

export type RecordingFormat = "tetragon" | "hubble" | "traces";

export interface Malformed {
  file: string;
  line: number;
  error: string;
}

export interface TimedRecord {
  rec: SensorRecord;
  /** Event time in ms, for merging. */
  t: number;
  /** Tie-breakers: input order. */
  file: number;
  line: number;
}

/** Top-level keys of GetEventsResponse that are not the event variant. */
const TETRAGON_COMMON = new Set([
  "node_name",
  "nodeName",
  "time",
  "aggregation_info",
  "aggregationInfo",
  "cluster_name",
  "clusterName",
  "node_labels",
  "nodeLabels",
]);
const HUBBLE_COMMON = new Set(["node_name", "nodeName", "time"]);

function variantNames(
  schema: typeof tetragon.GetEventsResponseSchema | typeof observer.GetFlowsResponseSchema,
): Set<string> {
  const names = new Set<string>();
  for (const o of schema.oneofs) {
    for (const f of o.fields) {
      names.add(f.name);
      names.add(f.jsonName);
    }
  }
  return names;
}
const TETRAGON_VARIANTS = variantNames(tetragon.GetEventsResponseSchema);
const HUBBLE_VARIANTS = variantNames(observer.GetFlowsResponseSchema);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Parses one line. Returns the record, or throws an Error whose message says
 * what is wrong (the caller adds file and line).
 */
export function parseLine(format: RecordingFormat, text: string, counters: Counters): SensorRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${errorText(err)})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(
      `expected a JSON object, got ${json === null ? "null" : Array.isArray(json) ? "an array" : typeof json}`,
    );
  }
  const obj = json as Record<string, JsonValue>;
  if (format === "traces") {
    const trace = parseStrictOrLenient(hangar.CallTraceSchema, obj, counters, "proxy");
    return { sensor: "proxy", trace };
  }
  const variants = format === "tetragon" ? TETRAGON_VARIANTS : HUBBLE_VARIANTS;
  const common = format === "tetragon" ? TETRAGON_COMMON : HUBBLE_COMMON;
  const keys = Object.keys(obj);
  if (!keys.some((k) => variants.has(k))) {
    const unknown = keys.filter((k) => !common.has(k));
    throw new Error(
      unknown.length > 0
        ? `unknown ${format} event variant ${unknown.map((k) => JSON.stringify(k)).join(", ")}`
        : `no ${format} event in the line (keys: ${keys.join(", ") || "none"})`,
    );
  }
  if (format === "tetragon") {
    return {
      sensor: "tetragon",
      msg: parseStrictOrLenient(tetragon.GetEventsResponseSchema, obj, counters, "tetragon"),
    };
  }
  return {
    sensor: "hubble",
    msg: parseStrictOrLenient(observer.GetFlowsResponseSchema, obj, counters, "hubble"),
  };
}

/**
 * Strict parse first; if only unknown keys or enum names stand in the way, a
 * lenient parse keeps the line and counts `unknown_fields`. A wrong type fails both.
 */
function parseStrictOrLenient<S extends Parameters<typeof fromJson>[0]>(
  schema: S,
  obj: JsonValue,
  counters: Counters,
  sensor: string,
): ReturnType<typeof fromJson<S>> {
  try {
    return fromJson(schema, obj);
  } catch (strictErr) {
    const msg = errorText(strictErr);
    if (/is unknown|cannot decode enum/.test(msg)) {
      try {
        const lenient = fromJson(schema, obj, { ignoreUnknownFields: true });
        counters.inc("unknown_fields", { sensor });
        return lenient;
      } catch (lenientErr) {
        throw new Error(withPath(schema, obj, errorText(lenientErr)));
      }
    }
    throw new Error(withPath(schema, obj, msg));
  }
}

/** Prefixes a decode error with the JSON path of the offending field, e.g. "process_exec.process.pid: …". */
function withPath(schema: DescMessage, obj: JsonValue, message: string): string {
  const path = locate(schema, obj, "");
  return path === "" ? message : `${path}: ${message}`;
}

/**
 * Finds the field a JSON decode fails on by decoding one key at a time and
 * descending into the failing one. Runs only on the error path.
 */
function locate(schema: DescMessage, json: JsonValue, path: string): string {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return path;
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.name === key || f.jsonName === key);
    if (field === undefined) continue;
    try {
      fromJson(schema, { [key]: value }, { ignoreUnknownFields: true });
      continue;
    } catch {
      // this key fails: look closer
    }
    const here = path === "" ? key : `${path}.${key}`;
    if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.")) {
      return locate(field.message, value, here);
    }
    if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        try {
          fromJson(field.message, value[i] ?? null, { ignoreUnknownFields: true });
        } catch {
          return locate(field.message, value[i] ?? null, `${here}[${i}]`);
        }
      }
    }
    return here;
  }
  return path;
}

function recordTime(rec: SensorRecord): number {
  switch (rec.sensor) {
    case "tetragon": {
      const m = rec.msg;
      if (m.time !== undefined) return timeMs(m.time);
      const e = m.event;
      if (e.case === "processExec" || e.case === "processExit") return timeMs(e.value.process?.startTime);
      return 0;
    }
    case "hubble": {
      const m = rec.msg;
      if (m.responseTypes.case === "flow" && m.responseTypes.value.time !== undefined)
        return timeMs(m.responseTypes.value.time);
      return timeMs(m.time);
    }
    case "proxy":
      return timeMs(rec.trace.startTime);
    case "probe":
      return Number(rec.msg.realNs / 1_000n) / 1000;
  }
}

export interface ReadRecordingOptions {
  path: string;
  format: RecordingFormat;
  fileIndex: number;
  counters: Counters;
  malformed: Malformed[];
  /** Called for each non-empty line read. */
  onLine?: () => void;
}

/** Reads one recording file, yielding parsed records; malformed lines go to `malformed`. */
export async function* readRecording(opts: ReadRecordingOptions): AsyncIterable<TimedRecord> {
  const { path, format, fileIndex, counters, malformed } = opts;
  const stream = createReadStream(path, { encoding: "utf8" });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", reject);
  });
  try {
    await opened;
  } catch (err) {
    throw AgentError.from(err, "HANGAR_ERR_RECORDING_READ", `cannot read ${format} recording ${path}`);
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (text === "") continue;
    opts.onLine?.();
    try {
      const rec = parseLine(format, text, counters);
      yield { rec, t: recordTime(rec), file: fileIndex, line: lineNo };
    } catch (err) {
      malformed.push({ file: path, line: lineNo, error: errorText(err) });
      counters.inc("malformed", { format });
    }
  }
}

/** A min-heap on (t, file, line). */
class Heap {
  readonly #a: TimedRecord[] = [];
  get size(): number {
    return this.#a.length;
  }
  static less(x: TimedRecord, y: TimedRecord): boolean {
    if (x.t !== y.t) return x.t < y.t;
    if (x.file !== y.file) return x.file < y.file;
    return x.line < y.line;
  }
  push(v: TimedRecord): void {
    const a = this.#a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Heap.less(a[i] as TimedRecord, a[p] as TimedRecord)) break;
      [a[i], a[p]] = [a[p] as TimedRecord, a[i] as TimedRecord];
      i = p;
    }
  }
  pop(): TimedRecord | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && Heap.less(a[l] as TimedRecord, a[m] as TimedRecord)) m = l;
        if (r < a.length && Heap.less(a[r] as TimedRecord, a[m] as TimedRecord)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as TimedRecord, a[i] as TimedRecord];
        i = m;
      }
    }
    return top;
  }
  peek(): TimedRecord | undefined {
    return this.#a[0];
  }
}

/**
 * Merges several time-ordered streams by event time. Each input may be out of
 * order by up to `reorderWindow` records (sensor exports are nearly, not
 * strictly, ordered); within that window the output is exactly ordered.
 */
export async function* mergeByTime(
  inputs: readonly AsyncIterable<TimedRecord>[],
  reorderWindow = 4096,
): AsyncIterable<SensorRecord> {
  const iterators = inputs.map((i) => i[Symbol.asyncIterator]());
  const heap = new Heap();
  const buffered = new Array<number>(iterators.length).fill(0);
  const done = new Array<boolean>(iterators.length).fill(false);
  // Fill each input's share of the window, then repeatedly emit the minimum and
  // refill from the input it came from.
  const fill = async (i: number): Promise<void> => {
    const it = iterators[i];
    while (it !== undefined && !done[i] && (buffered[i] ?? 0) < reorderWindow) {
      const r = await it.next();
      if (r.done === true) {
        done[i] = true;
        break;
      }
      // Order ties and refills by the input's position, whatever `file` the reader set.
      r.value.file = i;
      heap.push(r.value);
      buffered[i] = (buffered[i] ?? 0) + 1;
    }
  };
  for (let i = 0; i < iterators.length; i++) await fill(i);
  while (heap.size > 0) {
    const top = heap.pop() as TimedRecord;
    buffered[top.file] = (buffered[top.file] ?? 0) - 1;
    yield top.rec;
    if (!done[top.file]) await fill(top.file);
  }
}
