/**
 * ArcSight Common Event Format, version 0 (`CEF:0|...`), from a SiemRecord.
 *
 * Header fields escape `\` and `|` and never contain CR/LF; extension values escape `\`,
 * `=`, LF (`\n`) and CR (`\r`) and never `|`. Keys are the predefined short names
 * (alphanumeric). Control characters are stripped, UTF-8 is well formed, and every field is
 * capped by characters before escaping. See docs/reference/siem-export.md.
 */
import { isIPv4, isIPv6 } from "node:net";
import { externalId, type SiemRecord } from "./record.js";
import { capChars, clean, trimSpaces } from "./text.js";

export interface CefOptions {
  /** Device Vendor (default "MCP Hangar"). */
  readonly vendor?: string;
  /** Device Product (default "hangar-agent"). */
  readonly product?: string;
  /** Device Version (default the agent version). */
  readonly version?: string;
  /** Cap for msg, reason and cs1..cs6 values, in characters (default 1023). */
  readonly textCap?: number;
  /**
   * Largest encoded line in UTF-8 bytes (e.g. 2048 for UDP). When a line is longer, msg,
   * reason and cs* are cut further until it fits. Default: no limit beyond the field caps.
   */
  readonly maxBytes?: number;
}

export const DEFAULT_VENDOR = "MCP Hangar";
export const DEFAULT_PRODUCT = "hangar-agent";
export const DEFAULT_VERSION = "0.1.0";
export const DEFAULT_TEXT_CAP = 1023;

/** Escapes a CEF header field: `\` → `\\`, `|` → `\|`; CR/LF become spaces. */
export function cefHeader(value: string, max: number): string {
  const v = capChars(clean(value, false), max);
  return /[\\|]/.test(v) ? v.replace(/[\\|]/g, (c) => `\\${c}`) : v;
}

const EXT_SPECIAL = /[\\=\n\r]/;
const EXT_SPECIAL_G = /[\\=\n\r]/g;
const EXT_ESCAPES: Record<string, string> = { "\\": "\\\\", "=": "\\=", "\n": "\\n", "\r": "\\r" };

/** Escapes a CEF extension value: `\` → `\\`, `=` → `\=`, LF → `\n`, CR → `\r`. */
export function cefValue(value: string, max: number): string {
  const v = trimSpaces(capChars(clean(value, true), max));
  return EXT_SPECIAL.test(v) ? v.replace(EXT_SPECIAL_G, (c) => EXT_ESCAPES[c] ?? c) : v;
}

function sevText(n: number): string {
  return String(Math.min(10, Math.max(0, Math.round(n))));
}

/** Encodes one record as a CEF:0 line (no syslog header, no trailing newline). */
export function encodeCef(r: SiemRecord, opts: CefOptions = {}): string {
  const full = { text: opts.textCap ?? DEFAULT_TEXT_CAP, name: 512, sig: 1023 };
  const line = encodeWithCap(r, opts, full);
  if (opts.maxBytes === undefined || Buffer.byteLength(line) <= opts.maxBytes) return line;
  // Too long: halve the free-text caps (msg, reason, cs*, suser, dhost, sproc, then Name), and
  // only as a last resort the Signature ID, until the line fits.
  const caps = { ...full };
  let out = line;
  while (Buffer.byteLength(out) > opts.maxBytes) {
    if (caps.text > 8 || caps.name > 8) {
      caps.text = Math.max(8, Math.floor(caps.text / 2));
      caps.name = Math.max(8, Math.floor(caps.name / 2));
    } else if (caps.sig > 64) caps.sig = Math.max(64, Math.floor(caps.sig / 2));
    else break; // the fixed fields alone exceed maxBytes: send it as it is
    out = encodeWithCap(r, opts, caps);
  }
  return out;
}

function encodeWithCap(
  r: SiemRecord,
  opts: CefOptions,
  caps: { text: number; name: number; sig: number },
): string {
  const cap = caps.text;
  const header = [
    "CEF:0",
    cefHeader(opts.vendor ?? DEFAULT_VENDOR, 63),
    cefHeader(opts.product ?? DEFAULT_PRODUCT, 63),
    cefHeader(opts.version ?? DEFAULT_VERSION, 31),
    cefHeader(r.signatureId, caps.sig),
    cefHeader(r.name, caps.name),
    sevText(r.severity),
  ].join("|");
  const ext: string[] = [];
  const put = (key: string, value: string | number | undefined, max: number): void => {
    if (value === undefined) return;
    const v = typeof value === "number" ? String(value) : cefValue(value, max);
    if (v !== "") ext.push(`${key}=${v}`);
  };
  if (r.timeMs > 0) put("rt", r.timeMs, 0);
  put("externalId", r.id === "" ? undefined : externalId(r.id), 40);
  put("act", r.act, 63);
  put("outcome", r.outcome, 63);
  put("cat", r.category, 1023);
  address(put, "src", "c6a2", "Source IPv6 Address", r.src);
  if (r.srcPort !== undefined) put("spt", r.srcPort, 0);
  address(put, "dst", "c6a3", "Destination IPv6 Address", r.dst);
  if (r.dstPort !== undefined) put("dpt", r.dstPort, 0);
  put("proto", r.proto, 31);
  put("dhost", r.dhost, Math.min(1023, cap));
  put("suser", r.suser, Math.min(1023, cap));
  put("dvchost", r.node === "" ? undefined : r.node, 100);
  put("sproc", r.process, Math.min(1023, cap));
  if (r.pid !== undefined) put("spid", r.pid, 0);
  r.cs.forEach((c, i) => {
    if (c === undefined) return;
    const v = cefValue(c.value, cap);
    if (v === "") return;
    put(`cs${i + 1}Label`, c.label, 1023);
    ext.push(`cs${i + 1}=${v}`);
  });
  if (r.score !== undefined) {
    put("cn1Label", "score", 1023);
    put("cn1", r.score, 0);
  }
  put("msg", r.msg, cap);
  put("reason", r.reason, cap);
  // One space after the 7th "|": legal (spaces before a key are allowed) and it avoids a
  // liblognorm 2.0.6 bug (#363) that eats the first character of the first key without it.
  return ext.length === 0 ? `${header}|` : `${header}| ${ext.join(" ")}`;
}

function address(
  put: (key: string, value: string | undefined, max: number) => void,
  v4Key: string,
  v6Key: string,
  v6Label: string,
  ip: string | undefined,
): void {
  if (ip === undefined) return;
  if (isIPv4(ip)) put(v4Key, ip, 64);
  else if (isIPv6(ip)) {
    // CEF 0.x has no IPv6 in src/dst; c6a2/c6a3 carry it.
    put(`${v6Key}Label`, v6Label, 1023);
    put(v6Key, ip, 64);
  }
}
