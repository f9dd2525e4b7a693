/**
 * W3C Trace Context (`traceparent`): the proxy continues the caller's trace
 * (or starts one), gives each request its own span id, and sends the provider a
 * `traceparent` naming that span as parent.
 */
import { randomFillSync } from "node:crypto";

export interface TraceContext {
  traceId: string;
  /** The caller's span (our parent); empty when the proxy started the trace. */
  parentSpanId: string;
  /** The proxy's span for this request. */
  spanId: string;
  flags: string;
}

// eslint-disable-next-line security/detect-unsafe-regex -- linear: fixed-width hex fields, anchored
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

// Random ids come from a pooled buffer: one getrandom per 256 ids, not per id.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const s = pool.toString("hex", poolAt, poolAt + bytes);
  poolAt += bytes;
  return s;
}

/** Parses a `traceparent` value (version 00 and future versions per the spec); undefined if invalid. */
export function parseTraceparent(
  header: string | undefined,
): { traceId: string; spanId: string; flags: string } | undefined {
  if (header === undefined) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === "ff" || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  // Version 00 has exactly four fields.
  if (version === "00" && header.trim().length !== 55) return undefined;
  return { traceId, spanId, flags };
}

/** The context of one proxied request: continues `incoming` when valid, else starts a trace. */
export function childContext(incoming: string | undefined): TraceContext {
  const parent = parseTraceparent(incoming);
  if (parent === undefined)
    return { traceId: randomHex(16), parentSpanId: "", spanId: randomHex(8), flags: "01" };
  return { traceId: parent.traceId, parentSpanId: parent.spanId, spanId: randomHex(8), flags: parent.flags };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}
