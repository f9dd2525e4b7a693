/** The `hangar-agent run` options for SIEM export (kept here so run.ts only wires them in). */
import type { Logger } from "pino";
import type { Counters } from "@hangar/core";
import { parseSiemUrl } from "./config.js";
import { SiemSink } from "./sink.js";

export const SIEM_HELP = `SIEM export (docs/reference/siem-export.md):
  --siem URL               a destination (repeatable), e.g.
                             tcp://siem.example:514?format=cef&framing=lf
                             tls://siem.example:6514?ca=/etc/hangar/ca.pem&cert=...&key=...
                             udp://siem.example:514?format=leef&facility=local4
                             file:///var/log/hangar/alerts.jsonl   stdout:?format=cef
                           parameters: format=cef|leef|json, framing=lf|octet-counting,
                           syslog=rfc5424|rfc3164|none, facility=local4, name=, batch=, queue=,
                           flush-ms=, timeout-ms=, confirm-ms=, max-bytes=, spool=on|off,
                           spool-max-bytes=, overflow=drop-oldest|drop-newest, wal=on|off
                           (write-ahead: every record to the spool before it is sent; default on)
  --spool-dir DIR          disk spool root: one subdirectory per network destination, and
                           hub/ for the outbox to the controller (default /var/lib/hangar-agent/spool)
  --no-stdout-alerts       do not print alerts to stdout as JSON lines
`;

export const SIEM_OPTIONS = {
  siem: { type: "string", multiple: true },
  "spool-dir": { type: "string" },
  "no-stdout-alerts": { type: "boolean" },
} as const;

export interface SiemArgs {
  siem?: string[];
  "spool-dir"?: string;
}

/** Builds the SIEM sink from `--siem` URLs, or undefined when none is given. */
export async function siemSinkFromArgs(
  v: SiemArgs,
  ctx: { node: string; counters: Counters; logger: Logger },
): Promise<SiemSink | undefined> {
  const urls = v.siem ?? [];
  if (urls.length === 0) return undefined;
  const root = v["spool-dir"] ?? "/var/lib/hangar-agent/spool";
  const destinations = urls.map((u, i) => parseSiemUrl(u, root, i));
  return SiemSink.start({ destinations, hostname: ctx.node, counters: ctx.counters, logger: ctx.logger });
}
