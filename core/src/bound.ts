/**
 * Bounds on what leaves the agent: every string and bytes field of an alert (its message,
 * explanation, and each evidence event's arguments, paths, names …) is cut to a size limit with
 * a visible marker, and every repeated field to a count limit, so that one event with a 9 MB
 * argument can never make a message the controller's hub or a SIEM refuses. Detection itself
 * sees the whole event; only the copy that leaves is bounded (and only when it has to be: the
 * check allocates nothing for an alert within the limits).
 */
import { clone } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";

export interface FieldLimits {
  /** Longest string or bytes field, in UTF-8 bytes, marker included (default 8192). */
  readonly fieldBytes: number;
  /** Most entries kept of a repeated field or a map (default 256). */
  readonly repeated: number;
  /** Most evidence events and tool calls kept in one alert (default 64). */
  readonly evidence: number;
}

export const DEFAULT_FIELD_LIMITS: FieldLimits = { fieldBytes: 8192, repeated: 256, evidence: 64 };

/** The marker that ends a cut string: what was cut is visible to whoever reads the field. */
export function truncationMarker(totalBytes: number): string {
  return `…[truncated by hangar: ${totalBytes} bytes in all]`;
}

/** One field that was cut: its path in the message and its size before (bytes, or entries). */
export interface Truncation {
  readonly path: string;
  readonly size: number;
}

const MARKER_ROOM = 64;

/** The string cut to `max` UTF-8 bytes with the marker at its end (unchanged when within). */
export function truncateString(s: string, max: number): string {
  // Fast path: a string of at most max/3 UTF-16 units is at most max UTF-8 bytes.
  if (s.length * 3 <= max) return s;
  const total = Buffer.byteLength(s);
  if (total <= max) return s;
  const marker = truncationMarker(total);
  const room = Math.max(0, max - Buffer.byteLength(marker));
  let cut = s.slice(0, room);
  while (Buffer.byteLength(cut) > room) cut = cut.slice(0, Math.floor(cut.length * 0.9));
  // Never end on half a surrogate pair.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut + marker;
}

/** Whether anything in `v` exceeds the limits (no allocation). */
function exceeds(v: unknown, l: FieldLimits, repeated: number): boolean {
  if (typeof v === "string") return v.length * 3 > l.fieldBytes && Buffer.byteLength(v) > l.fieldBytes;
  if (v instanceof Uint8Array) return v.length > l.fieldBytes;
  if (Array.isArray(v)) {
    if (v.length > repeated) return true;
    for (const x of v) if (exceeds(x, l, l.repeated)) return true;
    return false;
  }
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    const isMap = !("$typeName" in o) && !("case" in o);
    let n = 0;
    for (const k in o) {
      if (k === "$typeName" || k === "$unknown") continue;
      if (isMap && (++n > l.repeated || Buffer.byteLength(k) > l.fieldBytes)) return true;
      if (exceeds(o[k], l, l.repeated)) return true;
    }
  }
  return false;
}

/** Cuts `v` in place; records what was cut under `path`. */
function cut(
  v: Record<string, unknown>,
  l: FieldLimits,
  path: string,
  out: Truncation[],
  top: boolean,
): void {
  const isMap = !("$typeName" in v) && !("case" in v);
  if (isMap) {
    const keys = Object.keys(v);
    if (keys.length > l.repeated) {
      // eslint-disable-next-line hangar/no-string-key-write -- k is an own key of v (Object.keys): the write replaces that own property, never the prototype
      for (const k of keys.slice(l.repeated)) delete v[k];
      out.push({ path, size: keys.length });
    }
  }
  for (const k of Object.keys(v)) {
    if (k === "$typeName" || k === "$unknown") continue;
    const x = v[k];
    const p = isMap
      ? `${path}[${JSON.stringify(k)}]`
      : k === "value" && "case" in v
        ? path
        : path === ""
          ? k
          : `${path}.${k}`;
    if (typeof x === "string") {
      const y = truncateString(x, l.fieldBytes);
      if (y !== x) {
        // eslint-disable-next-line hangar/no-string-key-write -- k is an own key of v (Object.keys): the write replaces that own property, never the prototype
        v[k] = y;
        out.push({ path: p, size: Buffer.byteLength(x) });
      }
    } else if (x instanceof Uint8Array) {
      if (x.length > l.fieldBytes) {
        // eslint-disable-next-line hangar/no-string-key-write -- k is an own key of v (Object.keys): the write replaces that own property, never the prototype
        v[k] = x.subarray(0, l.fieldBytes);
        out.push({ path: p, size: x.length });
      }
    } else if (Array.isArray(x)) {
      const max = top && (k === "evidence" || k === "toolCalls") ? l.evidence : l.repeated;
      if (x.length > max) {
        out.push({ path: p, size: x.length });
        x.length = max;
      }
      for (let i = 0; i < x.length; i++) {
        const e: unknown = x[i];
        if (typeof e === "string") {
          const y = truncateString(e, l.fieldBytes);
          if (y !== e) {
            x[i] = y;
            out.push({ path: `${p}[${i}]`, size: Buffer.byteLength(e) });
          }
        } else if (typeof e === "object" && e !== null && !(e instanceof Uint8Array)) {
          cut(e as Record<string, unknown>, l, `${p}[${i}]`, out, false);
        }
      }
    } else if (typeof x === "object" && x !== null) {
      cut(x as Record<string, unknown>, l, p, out, false);
    }
  }
}

/**
 * The alert as it may leave the agent: the same object when it is within the limits, else a
 * copy with every oversized field cut (with the marker) and a line in `explanation` naming
 * what was cut, so a reader knows the evidence is partial.
 */
export function boundAlert(
  alert: hangar.Alert,
  limits: FieldLimits = DEFAULT_FIELD_LIMITS,
): { alert: hangar.Alert; truncated: readonly Truncation[] } {
  if (
    !exceeds(alert, limits, limits.repeated) &&
    alert.evidence.length <= limits.evidence &&
    alert.toolCalls.length <= limits.evidence
  )
    return { alert, truncated: [] };
  const copy = clone(hangar.AlertSchema, alert);
  const truncated: Truncation[] = [];
  cut(copy, { ...limits, fieldBytes: Math.max(limits.fieldBytes, MARKER_ROOM * 2) }, "", truncated, true);
  const note = `[truncated by hangar: ${truncated
    .slice(0, 16)
    .map((t) => `${t.path} (${t.size})`)
    .join(", ")}${truncated.length > 16 ? `, and ${truncated.length - 16} more` : ""}]`;
  copy.explanation = truncateString(
    copy.explanation === "" ? note : `${copy.explanation}\n${note}`,
    limits.fieldBytes * 2,
  );
  return { alert: copy, truncated };
}

/** The same for an enforcement request (its reason, destination …). */
export function boundEnforcement(
  req: hangar.EnforcementRequest,
  limits: FieldLimits = DEFAULT_FIELD_LIMITS,
): { request: hangar.EnforcementRequest; truncated: readonly Truncation[] } {
  if (!exceeds(req, limits, limits.repeated)) return { request: req, truncated: [] };
  const copy = clone(hangar.EnforcementRequestSchema, req);
  const truncated: Truncation[] = [];
  cut(copy, limits, "", truncated, false);
  return { request: copy, truncated };
}
