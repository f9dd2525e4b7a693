/**
 * The envelope of a large JSON-RPC message, read without parsing its payload:
 * the proxy routes a pod's message by its top-level `id`, `method` and whether
 * it is a result or an error, and traces a tools/call result's `isError`; it
 * forwards the bytes as they came. For a 4 MiB answer, `JSON.parse` of the
 * whole text made two 4 MiB strings and a third of the proxy's garbage
 * collection per call. This scanner walks the top level (and one level into
 * `result`), jumping over strings with `Buffer.indexOf`, so the payload is
 * never decoded; values it needs are small and parsed alone. It is used above
 * `ENVELOPE_MIN_BYTES`; smaller messages are parsed whole.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Messages at least this large are read by their envelope. */
export const ENVELOPE_MIN_BYTES = 256 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Messages made by `readEnvelope`: their payload was not parsed (forward their bytes, never re-serialize them). */
const envelopes = new WeakSet<object>();

export function isEnvelope(m: object): boolean {
  return envelopes.has(m);
}

/** The end (exclusive) of the string that starts with the quote at `at`. */
function stringEnd(b: Buffer, at: number): number {
  let i = at + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, i);
    if (q < 0) throw new SyntaxError("unterminated string");
    let k = q - 1;
    while (k > at && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    i = q + 1;
  }
}

function skipWs(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i] as number;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
  return i;
}

/** The end (exclusive) of the value that starts at `at` (after whitespace). */
function valueEnd(b: Buffer, at: number): number {
  const c = b[at];
  if (c === QUOTE) return stringEnd(b, at);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    let i = at;
    while (i < b.length) {
      const x = b[i] as number;
      if (x === QUOTE) {
        i = stringEnd(b, i);
        continue;
      }
      if (x === 0x7b || x === 0x5b) depth++;
      else if (x === 0x7d || x === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new SyntaxError("unterminated object or array");
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  while (i < b.length) {
    const x = b[i] as number;
    if (x === 0x2c || x === 0x7d || x === 0x5d || x === 0x20 || x === 0x0a || x === 0x0d || x === 0x09) break;
    i++;
  }
  if (i === at) throw new SyntaxError(`unexpected byte at ${at}`);
  return i;
}

/** The members of the object at `at`: key → [start, end) of its value. */
function members(b: Buffer, at: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let i = skipWs(b, at);
  if (b[i] !== 0x7b) throw new SyntaxError("not an object");
  i = skipWs(b, i + 1);
  if (b[i] === 0x7d) return out;
  for (;;) {
    if (b[i] !== QUOTE) throw new SyntaxError(`expected a key at ${i}`);
    const kEnd = stringEnd(b, i);
    const key = JSON.parse(b.toString("utf8", i, kEnd)) as string;
    i = skipWs(b, kEnd);
    if (b[i] !== 0x3a) throw new SyntaxError(`expected ':' at ${i}`);
    i = skipWs(b, i + 1);
    const vEnd = valueEnd(b, i);
    out.set(key, [i, vEnd]);
    i = skipWs(b, vEnd);
    if (b[i] === 0x2c) {
      i = skipWs(b, i + 1);
      continue;
    }
    if (b[i] === 0x7d) return out;
    throw new SyntaxError(`expected ',' or '}' at ${i}`);
  }
}

/**
 * A stand-in for the message in `b` with what routing and tracing read: its
 * `jsonrpc`, `id`, `method`, `error` (parsed: errors are small) and, for a
 * result, an object holding only its `isError` when it has one. Throws a
 * SyntaxError when the bytes are not a JSON object.
 */
export function readEnvelope(b: Buffer): JSONRPCMessage {
  const top = members(b, 0);
  const out: Record<string, unknown> = {};
  for (const k of ["jsonrpc", "id", "method", "error"] as const) {
    const span = top.get(k);
    if (span !== undefined) out[k] = JSON.parse(b.toString("utf8", span[0], span[1])) as unknown;
  }
  const result = top.get("result");
  if (result !== undefined) {
    const r: Record<string, unknown> = {};
    if (b[result[0]] === 0x7b) {
      const isError = members(b, result[0]).get("isError");
      if (isError !== undefined)
        r["isError"] = JSON.parse(b.toString("utf8", isError[0], isError[1])) as unknown;
    }
    out["result"] = r;
  }
  const params = top.get("params");
  if (params !== undefined) out["params"] = JSON.parse(b.toString("utf8", params[0], params[1])) as unknown;
  envelopes.add(out);
  return out as JSONRPCMessage;
}

/** Bytes kept of one captured value (id, error, …); a larger one is not read (see `EnvelopeScanner`). */
const CAPTURE_MAX = 64 * 1024;
/** Top-level members captured for the envelope; `result`'s member `isError` is captured too. */
const WANTED = new Set(["jsonrpc", "id", "method", "error", "params"]);

/**
 * What a large message is, known from its first members: a response (its first
 * decisive member is `result` or `error`), a request or notification (`method`),
 * or not known yet.
 */
export type EnvelopeKind = "response" | "message" | undefined;

/**
 * `readEnvelope` over a message that arrives in chunks, so the proxy can pass
 * each chunk on as it arrives instead of holding the whole message: it keeps
 * only the small members it reads (`jsonrpc`, `id`, `method`, `error`,
 * `params`, and `result.isError`; each up to 64 KiB, larger ones are dropped
 * and reported in `oversized`), skipping strings with `Buffer.indexOf` as
 * `readEnvelope` does. `kind` tells, as soon as the first decisive member has
 * been seen, whether the message is a response. `finish()` returns the same
 * stand-in `readEnvelope` would, or throws a SyntaxError when the bytes were not
 * one JSON object.
 */
export class EnvelopeScanner {
  kind: EnvelopeKind;
  /** Members too large to keep (their value is missing from the envelope). */
  readonly oversized: string[] = [];
  /** Bytes scanned. */
  bytes = 0;
  #depth = 0;
  /** Whether the container at depth 1 / 2 is an object (others are arrays), by depth. */
  #objAt2 = false;
  #inString = false;
  /** Backslashes just before the current position, inside a string (they may end a chunk). */
  #bs = 0;
  /** At depth 1 (or 2 inside `result`), the next string is a member name. */
  #expectKey = false;
  #closed = false;
  /** The member name being read (when `#keyParts` is not undefined). */
  #keyParts: Buffer[] | undefined;
  #keyLen = 0;
  #lastKey = "";
  /** Inside the value of top-level `result` (its object's members are depth 2). */
  #inResult = false;
  /** The value being captured: its member name, its bytes so far (undefined: none). */
  #capKey = "";
  #capParts: Buffer[] | undefined;
  #capLen = 0;
  /** Where the capture starts in the current chunk (-1: it started in an earlier chunk). */
  #capFrom = -1;
  #capDepth = 0;
  readonly #top = new Map<string, Buffer>();
  #isError: Buffer | undefined;
  #hasResult = false;

  push(b: Buffer): void {
    this.bytes += b.length;
    let i = 0;
    const n = b.length;
    if (this.#capParts !== undefined) this.#capFrom = 0;
    while (i < n) {
      if (this.#inString) {
        const q = b.indexOf(QUOTE, i);
        if (q < 0) {
          let k = n - 1;
          while (k >= i && b[k] === BACKSLASH) k--;
          this.#bs = k < i ? this.#bs + (n - i) : n - 1 - k;
          if (this.#keyParts !== undefined) this.#keyPart(b, i, n);
          i = n;
          break;
        }
        let k = q - 1;
        while (k >= i && b[k] === BACKSLASH) k--;
        const run = q - 1 - k + (k < i ? this.#bs : 0);
        this.#bs = 0;
        if (run % 2 === 1) {
          if (this.#keyParts !== undefined) this.#keyPart(b, i, q + 1);
          i = q + 1;
          continue;
        }
        this.#inString = false;
        if (this.#keyParts !== undefined) {
          this.#keyPart(b, i, q);
          this.#lastKey = this.#keyLen <= 256 ? keyText(Buffer.concat(this.#keyParts, this.#keyLen)) : "";
          this.#keyParts = undefined;
        }
        i = q + 1;
        continue;
      }
      const c = b[i] as number;
      if (c === QUOTE) {
        this.#inString = true;
        this.#bs = 0;
        if (this.#expectKey) {
          this.#expectKey = false;
          this.#keyParts = [];
          this.#keyLen = 0;
        }
        i++;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (this.#closed) throw new SyntaxError("more after the message's end");
        this.#depth++;
        if (this.#depth === 1) {
          if (c !== 0x7b) throw new SyntaxError("not an object");
          this.#expectKey = true;
        } else if (this.#depth === 2 && this.#inResult) {
          this.#objAt2 = c === 0x7b;
          this.#expectKey = this.#objAt2;
        }
      } else if (c === 0x7d || c === 0x5d) {
        if (this.#capParts !== undefined && this.#depth === this.#capDepth) this.#endCapture(b, i);
        this.#depth--;
        if (this.#depth < 0) throw new SyntaxError(`unexpected '${String.fromCharCode(c)}'`);
        if (this.#depth === 0) this.#closed = true;
        if (this.#depth === 1) this.#inResult = false;
      } else if (c === 0x3a /* : */) {
        this.#value(b, i + 1);
      } else if (c === 0x2c /* , */) {
        if (this.#capParts !== undefined && this.#depth === this.#capDepth) this.#endCapture(b, i);
        if (this.#depth === 1 || (this.#depth === 2 && this.#inResult && this.#objAt2))
          this.#expectKey = true;
      } else if (this.#depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        throw new SyntaxError(this.#closed ? "more after the message's end" : "not an object");
      }
      i++;
    }
    if (this.#capParts !== undefined && this.#capFrom >= 0 && this.#capFrom < n)
      this.#capAdd(b.subarray(this.#capFrom, n));
    this.#capFrom = -1;
  }

  #keyPart(b: Buffer, from: number, to: number): void {
    const parts = this.#keyParts as Buffer[];
    if (this.#keyLen <= 256 && to > from) {
      parts.push(Buffer.from(b.subarray(from, to)));
      this.#keyLen += to - from;
    }
  }

  /** A member's value starts at `at` (after its ':'): captured when routing or tracing reads it. */
  #value(b: Buffer, at: number): void {
    const key = this.#lastKey;
    if (this.#depth === 1) {
      if (this.kind === undefined) {
        if (key === "result" || key === "error") this.kind = "response";
        else if (key === "method") this.kind = "message";
      }
      this.#inResult = key === "result";
      if (this.#inResult) this.#hasResult = true;
      if (WANTED.has(key)) this.#startCapture(key, at);
    } else if (this.#depth === 2 && this.#inResult && this.#objAt2 && key === "isError") {
      this.#startCapture("isError", at);
    }
  }

  #startCapture(key: string, at: number): void {
    this.#capKey = key;
    this.#capParts = [];
    this.#capLen = 0;
    this.#capFrom = at;
    this.#capDepth = this.#depth;
  }

  #capAdd(part: Buffer): void {
    if (this.#capLen > CAPTURE_MAX) return;
    this.#capLen += part.length;
    if (this.#capLen > CAPTURE_MAX) {
      this.oversized.push(this.#capKey);
      return;
    }
    (this.#capParts as Buffer[]).push(Buffer.from(part));
  }

  #endCapture(b: Buffer, at: number): void {
    if (this.#capFrom >= 0 && at > this.#capFrom) this.#capAdd(b.subarray(this.#capFrom, at));
    const parts = this.#capParts as Buffer[];
    this.#capParts = undefined;
    this.#capFrom = -1;
    if (this.#capLen > CAPTURE_MAX) return;
    const v = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.#capLen);
    if (this.#capKey === "isError") this.#isError = v;
    else this.#top.set(this.#capKey, v);
  }

  /** The envelope of the whole message (as `readEnvelope`); throws when it was not one JSON object. */
  finish(): JSONRPCMessage {
    if (!this.#closed || this.#inString) throw new SyntaxError("the message ended early");
    const out: Record<string, unknown> = {};
    for (const k of ["jsonrpc", "id", "method", "error"] as const) {
      const v = this.#top.get(k);
      if (v !== undefined) out[k] = JSON.parse(v.toString("utf8")) as unknown;
    }
    if (this.#hasResult) {
      const r: Record<string, unknown> = {};
      if (this.#isError !== undefined) r["isError"] = JSON.parse(this.#isError.toString("utf8")) as unknown;
      out["result"] = r;
    }
    const params = this.#top.get("params");
    if (params !== undefined) out["params"] = JSON.parse(params.toString("utf8")) as unknown;
    envelopes.add(out);
    return out as JSONRPCMessage;
  }
}

/** A member name's text from its bytes between the quotes (escapes decoded as JSON.parse would). */
function keyText(raw: Buffer): string {
  const t = raw.toString("utf8");
  if (!t.includes("\\")) return t;
  try {
    return JSON.parse(`"${t}"`) as string;
  } catch {
    return "";
  }
}
