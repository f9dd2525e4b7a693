/**
 * Recording readers for `hangar-agent replay`: JSON lines exactly as
 * `tetra getevents -o json` / Tetragon's JSON export, `hubble observe -o json`
 * (`GetFlowsResponse` lines, and the bare `Flow` lines older versions wrote), and
 * `hangar.v1.CallTrace` (proto JSON); objects pretty-printed over several lines (as `jq .`
 * and the upstream docs show them) are read too. A malformed record is reported with file
 * and line, skipped and counted; the rest of the file is processed. Unknown fields are
 * counted by message type and name.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { fromJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { flow, hangar, observer, tetragon } from "@hangar/proto";
import { AgentError } from "../errors.js";
import { timeMs, type Counters } from "@hangar/core";
import { NamedCounter } from "../normalize/names.js";
import type { ParsedRecord, SensorRecord } from "../sources/records.js";

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
/** Field names of a bare hubble Flow (older `hubble observe -o json` printed flows unwrapped). */
const FLOW_FIELDS = new Set(flow.FlowSchema.fields.flatMap((f) => [f.name, f.jsonName]));

/**
 * Event variants some Tetragon builds write that the open-source API does not have
 * (cilium/tetragon reserves their numbers): named in the error instead of "unknown".
 */
const FOREIGN_TETRAGON_VARIANTS = new Set([
  "process_connect",
  "process_close",
  "process_listen",
  "process_accept",
  "process_sock",
  "process_dns",
  "process_http",
]);

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Parses one line. Returns the record, or throws an Error whose message says
 * what is wrong (the caller adds file and line).
 */
export function parseLine(format: RecordingFormat, text: string, counters: Counters): ParsedRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${errorText(err)})`);
  }
  if (Array.isArray(json))
    throw new Error(
      `expected a JSON object, got an array (of ${json.length}): replay reads one object per line, or ` +
        "objects pretty-printed one after another; write the elements out, e.g. jq -c '.[]' FILE",
    );
  if (json === null || typeof json !== "object")
    throw new Error(`expected a JSON object, got ${json === null ? "null" : typeof json}`);
  let obj = json as Record<string, JsonValue>;
  if (format === "traces") {
    const trace = parseStrictOrLenient(hangar.CallTraceSchema, obj, counters, "proxy");
    return { sensor: "proxy", trace };
  }
  const variants = format === "tetragon" ? TETRAGON_VARIANTS : HUBBLE_VARIANTS;
  const common = format === "tetragon" ? TETRAGON_COMMON : HUBBLE_COMMON;
  const keys = Object.keys(obj);
  if (!keys.some((k) => variants.has(k))) {
    if (format === "hubble" && keys.some((k) => !common.has(k)) && keys.every((k) => FLOW_FIELDS.has(k))) {
      // A bare Flow, as `hubble observe -o json` printed before it wrapped flows in GetFlowsResponse.
      obj = { flow: obj };
    } else {
      const foreign = keys.filter((k) => FOREIGN_TETRAGON_VARIANTS.has(k));
      if (format === "tetragon" && foreign.length > 0)
        throw new Error(
          `${foreign.map((k) => JSON.stringify(k)).join(", ")} is not in the open-source Tetragon API ` +
            "(cilium/tetragon); " +
            "it comes from an enterprise distribution (Isovalent Enterprise) or an old release. " +
            "Record with open-source Tetragon and a TracingPolicy " +
            "(bpf/tracingpolicies/mcp-tcp-connect.yaml: tcp_connect, tcp_close, inet_csk_listen_start)",
        );
      const unknown = keys.filter((k) => !common.has(k));
      throw new Error(
        unknown.length > 0
          ? `unknown ${format} event variant ${unknown.map((k) => JSON.stringify(k)).join(", ")}` +
              (format === "hubble" && unknown.some((k) => TETRAGON_VARIANTS.has(k))
                ? " (a Tetragon event: give this file with --tetragon)"
                : format === "tetragon" && unknown.some((k) => HUBBLE_VARIANTS.has(k) || FLOW_FIELDS.has(k))
                  ? " (a Hubble flow: give this file with --hubble)"
                  : "")
          : `no ${format} event in the line (keys: ${keys.join(", ") || "none"})`,
      );
    }
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

/** Unknown field names per Counters instance and sensor (bounded, see names.ts). */
const unknownNames = new WeakMap<Counters, Map<string, NamedCounter>>();
function countUnknownNames(counters: Counters, sensor: string, names: readonly string[]): void {
  let bySensor = unknownNames.get(counters);
  if (bySensor === undefined) {
    bySensor = new Map();
    unknownNames.set(counters, bySensor);
  }
  let c = bySensor.get(sensor);
  if (c === undefined) {
    c = new NamedCounter(counters, "unknown_field_names", sensor);
    bySensor.set(sensor, c);
  }
  for (const n of names) c.inc(n);
}

/**
 * The keys of `json` that `schema` does not know, as "type.key" (and enum names it does not
 * know, as "type.field=NAME"), at any depth. Runs only on lines the strict parse refused.
 */
export function unknownJsonFields(schema: DescMessage, json: JsonValue, out: string[]): void {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return;
  if (schema.typeName.startsWith("google.protobuf.")) return;
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.name === key || f.jsonName === key);
    if (field === undefined) {
      out.push(`${schema.typeName}.${key}`);
      continue;
    }
    switch (field.fieldKind) {
      case "message":
        unknownJsonFields(field.message, value, out);
        break;
      case "list":
        if (field.listKind === "message" && Array.isArray(value))
          for (const v of value) unknownJsonFields(field.message, v, out);
        else if (field.listKind === "enum" && Array.isArray(value))
          for (const v of value)
            if (typeof v === "string" && !field.enum.values.some((e) => e.name === v))
              out.push(`${schema.typeName}.${key}=${v}`);
        break;
      case "map":
        if (field.mapKind === "message" && value !== null && typeof value === "object")
          for (const v of Object.values(value)) unknownJsonFields(field.message, v ?? null, out);
        break;
      case "enum":
        if (typeof value === "string" && !field.enum.values.some((e) => e.name === value))
          out.push(`${schema.typeName}.${key}=${value}`);
        break;
      default:
        break;
    }
  }
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
        const names: string[] = [];
        unknownJsonFields(schema, obj, names);
        counters.inc("unknown_fields", { sensor }, Math.max(1, names.length));
        countUnknownNames(counters, sensor, names);
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
  /** Where malformed records go: an array, or a bounded list (replay's MalformedList). */
  malformed: { push(m: Malformed): unknown };
  /** Called for each non-empty line read. */
  onLine?: () => void;
}

/** One JSON text to parse (an object on one line, or one pretty-printed over several), or a refusal. */
export interface JsonUnit {
  /** The first line of the text. */
  line: number;
  text?: string;
  error?: string;
}

/** The largest object read over several lines; a bigger one is refused (and the reader resyncs). */
export const MAX_OBJECT_CHARS = 16 * 1024 * 1024;

/**
 * Splits a recording into JSON texts: one object per line (the fast path: nothing is scanned),
 * or objects pretty-printed over several lines one after another (`jq .` output, the upstream
 * docs' examples), found by following braces outside strings. A multi-line object starts with a
 * line that opens a structure and leaves it open ("{", "[", or text ending in "{", "[" or ",").
 */
export class JsonSplitter {
  #parts: string[] = [];
  #chars = 0;
  #start = 0;
  #depth = 0;
  #inString = false;
  #escape = false;

  push(raw: string, lineNo: number, out: JsonUnit[]): void {
    let text = raw.trim();
    if (this.#parts.length === 0) {
      if (text === "") return;
      const c = text[0];
      const opens = c === "{" || c === "[";
      if (!opens || (text.length > 1 && !/[{[,]$/.test(text))) {
        out.push({ line: lineNo, text });
        return;
      }
      this.#start = lineNo;
      this.#depth = 0;
      this.#inString = false;
      this.#escape = false;
    }
    while (text !== "") {
      const end = this.#scan(text);
      if (end < 0) {
        if (this.#inString) {
          // JSON strings do not span lines: this is a broken line, not a multi-line object.
          this.#parts.push(text);
          out.push({ line: this.#start, text: this.#parts.join("\n") });
          this.#reset();
          return;
        }
        this.#parts.push(text);
        this.#chars += text.length;
        if (this.#chars > MAX_OBJECT_CHARS) {
          out.push({
            line: this.#start,
            error: `an object starting here is larger than ${MAX_OBJECT_CHARS / 1024 / 1024} MiB; skipped up to line ${lineNo}`,
          });
          this.#reset();
        }
        return;
      }
      this.#parts.push(text.slice(0, end + 1));
      out.push({ line: this.#start, text: this.#parts.join("\n") });
      this.#reset();
      text = text.slice(end + 1).trim();
      if (text !== "") {
        // Another object on the same line: start it here.
        this.#start = lineNo;
        if (text[0] !== "{" && text[0] !== "[") {
          out.push({ line: lineNo, text });
          return;
        }
      }
    }
  }

  /** End of input: an object still open is truncated. */
  end(out: JsonUnit[]): void {
    if (this.#parts.length === 0) return;
    out.push({
      line: this.#start,
      error: "an object starting here is not closed by the end of the file (truncated recording?)",
    });
    this.#reset();
  }

  #reset(): void {
    this.#parts = [];
    this.#chars = 0;
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
  }

  /** Follows braces and brackets outside strings; the index where the outermost one closes, or -1. */
  #scan(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (ch === 0x5c) this.#escape = true;
        else if (ch === 0x22) this.#inString = false;
        continue;
      }
      if (ch === 0x22) this.#inString = true;
      else if (ch === 0x7b || ch === 0x5b) this.#depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        this.#depth--;
        if (this.#depth === 0) return i;
      }
    }
    return -1;
  }
}

/** Reads one recording file, yielding parsed records; malformed ones go to `malformed`. */
export async function* readRecording(opts: ReadRecordingOptions): AsyncIterable<TimedRecord> {
  const { path, format, fileIndex, counters, malformed } = opts;
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the recording file the operator names
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
  const splitter = new JsonSplitter();
  const units: JsonUnit[] = [];
  let lineNo = 0;
  const take = function* (): Generator<TimedRecord> {
    for (const u of units) {
      opts.onLine?.();
      if (u.error !== undefined) {
        malformed.push({ file: path, line: u.line, error: u.error });
        counters.inc("malformed", { format });
        continue;
      }
      try {
        const rec = parseLine(format, u.text ?? "", counters);
        yield { rec, t: recordTime(rec), file: fileIndex, line: u.line };
      } catch (err) {
        malformed.push({ file: path, line: u.line, error: errorText(err) });
        counters.inc("malformed", { format });
      }
    }
    units.length = 0;
  };
  for await (const raw of lines) {
    lineNo++;
    splitter.push(raw, lineNo, units);
    if (units.length > 0) yield* take();
  }
  splitter.end(units);
  yield* take();
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
