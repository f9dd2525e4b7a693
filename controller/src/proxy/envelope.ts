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
