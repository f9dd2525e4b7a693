/**
 * Syslog headers (RFC 5424 and the legacy RFC 3164 shape) and TCP framing (RFC 6587
 * octet counting, RFC 5425 over TLS, or LF-terminated).
 */
import { printableAscii } from "./text.js";

/** Syslog facilities by name (RFC 5424 §6.2.1). */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  clock: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/**
 * Record severity 0..10 → syslog severity: 9–10 crit (2), 7–8 err (3), 4–6 warning (4),
 * 0–3 info (6). Our choice, documented; not a standard.
 */
export function syslogSeverity(sev: number): number {
  if (sev >= 9) return 2;
  if (sev >= 7) return 3;
  if (sev >= 4) return 4;
  return 6;
}

export interface SyslogHeaderOptions {
  /** "rfc5424" (default) or "rfc3164". */
  readonly protocol: "rfc5424" | "rfc3164";
  /** Facility number 0..23 (default 20, local4). */
  readonly facility: number;
  /** HOSTNAME: the node name (send a stable one; QRadar keys log sources on it). */
  readonly hostname: string;
  /** APP-NAME (RFC 5424) / TAG (RFC 3164, only when `tag` is set). */
  readonly appName: string;
  /** PROCID (RFC 5424); "-" when unset. */
  readonly procId?: string;
  /**
   * RFC 3164 only: put `appName:` before the message. Off by default: Sentinel and
   * ArcSight want `CEF:` right after the header.
   */
  readonly tag?: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 3339 with milliseconds and `Z`. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** `Nov  1 12:00:00` (UTC; day space-padded). */
function bsdTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()] ?? "Jan"} ${String(d.getUTCDate()).padStart(2, " ")} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/**
 * Prefixes `msg` with a syslog header. `msgId` is the RFC 5424 MSGID ("alert",
 * "enforcement"). STRUCTURED-DATA is always NILVALUE, so MSG (e.g. `CEF:0|...`) follows
 * after one space, without a BOM.
 */
export function syslogLine(
  msg: string,
  o: SyslogHeaderOptions,
  timeMs: number,
  severity: number,
  msgId: string,
): string {
  const pri = `<${o.facility * 8 + syslogSeverity(severity)}>`;
  const ms = timeMs > 0 ? timeMs : Date.now();
  if (o.protocol === "rfc3164") {
    const host = printableAscii(o.hostname, 255);
    const tag = o.tag === true ? `${o.appName.replace(/[^A-Za-z0-9]/g, "").slice(0, 32)}: ` : "";
    return `${pri}${bsdTime(ms)} ${host} ${tag}${msg}`;
  }
  return `${pri}1 ${rfc3339(ms)} ${printableAscii(o.hostname, 255)} ${printableAscii(o.appName, 48)} ${printableAscii(o.procId ?? "-", 128)} ${printableAscii(msgId, 32)} - ${msg}`;
}

export type Framing = "octet-counting" | "lf";

/** One frame for a stream transport: `LEN SP MSG` or `MSG LF`. LEN counts UTF-8 bytes. */
export function frame(msg: Buffer, framing: Framing): Buffer {
  if (framing === "lf") return Buffer.concat([msg, LF]);
  return Buffer.concat([Buffer.from(`${msg.length} `), msg]);
}

const LF = Buffer.from("\n");

/** Several messages framed into one buffer (one copy). */
export function frames(msgs: readonly Buffer[], framing: Framing): Buffer {
  const parts: Buffer[] = [];
  for (const m of msgs) {
    if (framing === "lf") parts.push(m, LF);
    else parts.push(Buffer.from(`${m.length} `), m);
  }
  return Buffer.concat(parts);
}
