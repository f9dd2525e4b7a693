/**
 * What replay echoes of its input, made safe and bounded: control characters (ESC and the
 * rest of C0, DEL, C1, bidirectional overrides) escaped wherever input reaches a terminal
 * (stderr lines, the summary, alert lines), the list of malformed records capped with a
 * count of the rest, and every alert line capped in size with a visible truncation marker.
 */
import { Writable } from "node:stream";
import type { Malformed } from "./recording.js";

/** Malformed records listed in the summary and on stderr; the rest are counted. */
export const MAX_MALFORMED_LISTED = 100;
/** Characters of one malformed record's error message. */
export const MAX_ERROR_CHARS = 500;
/** Bytes of one alert line on stdout. */
export const MAX_ALERT_LINE_BYTES = 1024 * 1024;

// C0 controls, DEL, C1 controls, and the bidirectional embedding/override/isolate marks.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// The ones JSON.stringify leaves raw (it escapes C0 itself).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, "0");

/** Text for a terminal line: every control character as `\xNN` (`\u{NNNN}` above 0xff). */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u{${hex(c, 4)}}`));
}

/** A JSON text with the characters JSON.stringify leaves raw that a terminal acts on escaped (still the same JSON). */
export function escapeJsonControls(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`);
}

/** Keeps the first `limit` malformed records (their messages cut to MAX_ERROR_CHARS) and counts the rest. */
export class MalformedList {
  readonly listed: Malformed[] = [];
  omitted = 0;
  readonly #limit: number;
  constructor(limit = MAX_MALFORMED_LISTED) {
    this.#limit = limit;
  }
  get total(): number {
    return this.listed.length + this.omitted;
  }
  push(m: Malformed): number {
    if (this.listed.length >= this.#limit) this.omitted++;
    else
      this.listed.push({
        ...m,
        error:
          m.error.length > MAX_ERROR_CHARS
            ? `${m.error.slice(0, MAX_ERROR_CHARS)}…[${m.error.length - MAX_ERROR_CHARS} more characters]`
            : m.error,
      });
    return this.total;
  }
}

const marker = (cut: number): string => `…[truncated ${cut} bytes]`;

/** A JSON value with every string longer than `max` characters cut, with a marker. */
function cutStrings(v: unknown, max: number): unknown {
  if (typeof v === "string") return v.length > max ? `${v.slice(0, max)}${marker(v.length - max)}` : v;
  if (Array.isArray(v)) return v.map((x) => cutStrings(x, max));
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cutStrings(x, max)]));
  return v;
}

/**
 * One alert JSON line within `maxBytes`: its longest strings cut with a marker, shorter and
 * shorter, until it fits (the line stays valid JSON); a line that is not JSON is cut.
 */
export function boundJsonLine(line: string, maxBytes: number): string {
  if (Buffer.byteLength(line) <= maxBytes) return line;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return boundTextLine(line, maxBytes);
  }
  for (let max = Math.floor(maxBytes / 8); max >= 16; max = Math.floor(max / 4)) {
    const out = JSON.stringify(cutStrings(value, max));
    if (Buffer.byteLength(out) <= maxBytes) return out;
  }
  return JSON.stringify({ truncated: `alert line of ${Buffer.byteLength(line)} bytes over ${maxBytes}` });
}

/** A text line (CEF) within `maxBytes`, cut with a marker. */
export function boundTextLine(line: string, maxBytes: number): string {
  const bytes = Buffer.from(line);
  if (bytes.length <= maxBytes) return line;
  const m = marker(bytes.length - maxBytes + 64);
  // Cut on a character boundary (toString drops a split last character as U+FFFD: trimmed).
  return `${bytes
    .subarray(0, maxBytes - 64)
    .toString("utf8")
    .replace(/\uFFFD$/, "")}${m}`;
}

/**
 * stdout for the alert sinks: each line bounded in size (JSON stays JSON) and, for JSON,
 * with the control characters JSON leaves raw escaped. The sinks write one line per call.
 */
export function boundedAlertOutput(
  out: Writable,
  format: "json" | "cef",
  maxLineBytes = MAX_ALERT_LINE_BYTES,
): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, done): void {
      const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
      const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
      const safe = lines
        .map((l) =>
          format === "json"
            ? escapeJsonControls(boundJsonLine(l, maxLineBytes))
            : escapeControls(boundTextLine(l, maxLineBytes)),
        )
        .join("\n");
      if (out.write(`${safe}\n`)) done();
      else out.once("drain", () => done());
    },
  });
}
