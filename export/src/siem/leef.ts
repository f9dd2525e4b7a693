/**
 * IBM QRadar Log Event Extended Format 2.0 from a SiemRecord:
 * `LEEF:2.0|Vendor|Product|Version|EventID|x09|key=value<TAB>key=value...`.
 *
 * Attributes are separated by TAB (declared as `x09`); values never contain one (TAB, CR,
 * LF become spaces, other control characters are stripped), so no escaping is needed in
 * values. Header fields have `|` replaced by `/` (LEEF has no header escape every parser
 * agrees on); the EventID is already restricted to [A-Za-z0-9._:-].
 */
import { type SiemRecord, externalId } from "./record.js";
import {
  DEFAULT_PRODUCT,
  DEFAULT_TEXT_CAP,
  DEFAULT_VENDOR,
  DEFAULT_VERSION,
  type CefOptions,
} from "./cef.js";
import { capChars, clean, trimSpaces } from "./text.js";

export type LeefOptions = CefOptions;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** devTimeFormat matching `leefTime` (Java SimpleDateFormat). */
export const LEEF_TIME_FORMAT = "MMM dd yyyy HH:mm:ss.SSS z";

/** `Nov 22 2026 03:04:05.678 UTC` */
export function leefTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${MONTHS[d.getUTCMonth()] ?? "Jan"} ${p(d.getUTCDate())} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)} UTC`;
}

function header(v: string, max: number): string {
  return capChars(clean(v, false), max).replaceAll("|", "/");
}

function value(v: string, max: number): string {
  return trimSpaces(capChars(clean(v, false), max));
}

export function encodeLeef(r: SiemRecord, opts: LeefOptions = {}): string {
  let cap = opts.textCap ?? DEFAULT_TEXT_CAP;
  let out = encodeWithCap(r, opts, cap);
  // Over maxBytes: halve the free-text cap until the line fits (as for CEF).
  while (opts.maxBytes !== undefined && cap > 8 && Buffer.byteLength(out) > opts.maxBytes) {
    cap = Math.max(8, Math.floor(cap / 2));
    out = encodeWithCap(r, opts, cap);
  }
  return out;
}

function encodeWithCap(r: SiemRecord, opts: LeefOptions, cap: number): string {
  const head = [
    "LEEF:2.0",
    header(opts.vendor ?? DEFAULT_VENDOR, 63),
    header(opts.product ?? DEFAULT_PRODUCT, 63),
    header(opts.version ?? DEFAULT_VERSION, 31),
    header(r.signatureId, Math.max(64, Math.min(255, cap))),
    "x09",
  ].join("|");
  const attrs: string[] = [];
  const put = (key: string, v: string | number | undefined, max = cap): void => {
    if (v === undefined) return;
    const s = typeof v === "number" ? String(v) : value(v, max);
    if (s !== "") attrs.push(`${key}=${s}`);
  };
  if (r.timeMs > 0) {
    put("devTime", leefTime(r.timeMs));
    put("devTimeFormat", LEEF_TIME_FORMAT);
  }
  put("cat", r.category);
  put("sev", Math.min(10, Math.max(1, Math.round(r.severity))));
  put("name", r.name, Math.min(512, cap));
  put("externalId", r.id === "" ? undefined : externalId(r.id));
  put("act", r.act, 63);
  put("outcome", r.outcome, 63);
  put("src", r.src, 64);
  put("srcPort", r.srcPort);
  put("dst", r.dst, 64);
  put("dstPort", r.dstPort);
  put("proto", r.proto, 31);
  put("dstHost", r.dhost);
  put("usrName", r.suser);
  put("identHostName", r.node === "" ? undefined : r.node);
  put("process", r.process);
  put("pid", r.pid);
  for (const c of r.cs) if (c !== undefined) put(c.label, c.value);
  put("score", r.score);
  put("msg", r.msg);
  put("reason", r.reason);
  return `${head}|${attrs.join("\t")}`;
}
