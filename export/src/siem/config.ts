/**
 * `--siem` destination URLs:
 *
 *   udp://HOST:PORT?format=cef
 *   tcp://HOST:PORT?format=cef&framing=lf|octet-counting&syslog=rfc5424|rfc3164&facility=local4
 *   tls://HOST:PORT?ca=FILE&cert=FILE&key=FILE&server-name=NAME
 *   file:///PATH?format=json
 *   stdout:?format=cef
 *
 * Common parameters: name, format (cef|leef|json; default cef, json for file/stdout), syslog,
 * facility, max-bytes, batch, queue, flush-ms, timeout-ms, confirm-ms, spool (on|off; default
 * on for udp/tcp/tls), spool-max-bytes, overflow (drop-oldest|drop-newest), wal (on|off; default
 * on with a spool: every record is in the spool before it is sent, so a crash loses none).
 */
import { ExportError } from "../errors.js";
import {
  type SiemDestinationConfig,
  type SiemFormat,
  type SiemTransportKind,
  facilityNumber,
  spoolDirFor,
} from "./sink.js";

const KNOWN = new Set([
  "name",
  "format",
  "framing",
  "syslog",
  "facility",
  "ca",
  "cert",
  "key",
  "server-name",
  "max-bytes",
  "batch",
  "queue",
  "flush-ms",
  "timeout-ms",
  "confirm-ms",
  "spool",
  "spool-max-bytes",
  "overflow",
  "wal",
]);

function fail(spec: string, msg: string): never {
  throw new ExportError("HANGAR_ERR_CONFIG_INVALID", `--siem ${spec}: ${msg}`);
}

function int(spec: string, key: string, v: string | null, min: number): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(spec, `${key} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** Parses one `--siem` URL; `spoolRoot` is where destination spools live (a subdirectory each). */
export function parseSiemUrl(spec: string, spoolRoot: string | undefined, index = 0): SiemDestinationConfig {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    fail(spec, "not a URL (e.g. tcp://siem.example:514?format=cef)");
  }
  const transport = url.protocol.replace(/:$/, "") as SiemTransportKind;
  if (!["udp", "tcp", "tls", "file", "stdout"].includes(transport)) {
    fail(spec, `unknown scheme "${url.protocol}" (udp, tcp, tls, file, stdout)`);
  }
  const q = url.searchParams;
  for (const k of q.keys()) if (!KNOWN.has(k)) fail(spec, `unknown parameter "${k}"`);
  const network = transport === "udp" || transport === "tcp" || transport === "tls";
  const format = (q.get("format") ?? (network ? "cef" : "json")) as SiemFormat;
  if (!["cef", "leef", "json"].includes(format))
    fail(spec, `format must be cef, leef or json, got "${format}"`);
  const framing = q.get("framing");
  if (framing !== null && framing !== "lf" && framing !== "octet-counting") {
    fail(spec, `framing must be lf or octet-counting, got "${framing}"`);
  }
  if (transport === "tls" && framing === "lf")
    fail(spec, "TLS (RFC 5425) uses octet-counting; framing=lf is not allowed");
  if (framing !== null && transport !== "tcp" && transport !== "tls")
    fail(spec, "framing applies to tcp and tls only");
  const syslog = q.get("syslog");
  if (syslog !== null && !["rfc5424", "rfc3164", "none"].includes(syslog)) {
    fail(spec, `syslog must be rfc5424, rfc3164 or none, got "${syslog}"`);
  }
  const facility = q.get("facility");
  if (facility !== null) {
    try {
      facilityNumber(facility);
    } catch (err) {
      fail(spec, err instanceof Error ? err.message : String(err));
    }
  }
  const overflow = q.get("overflow");
  if (overflow !== null && overflow !== "drop-oldest" && overflow !== "drop-newest") {
    fail(spec, `overflow must be drop-oldest or drop-newest, got "${overflow}"`);
  }
  const spoolOn = q.get("spool") ?? (network ? "on" : "off");
  if (spoolOn !== "on" && spoolOn !== "off") fail(spec, `spool must be on or off, got "${spoolOn}"`);
  const wal = q.get("wal");
  if (wal !== null && wal !== "on" && wal !== "off") fail(spec, `wal must be on or off, got "${wal}"`);
  if (wal === "on" && spoolOn === "off") fail(spec, "wal=on needs the spool (spool=on)");
  let host: string | undefined;
  let port: number | undefined;
  let path: string | undefined;
  if (network) {
    host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    if (host === "") fail(spec, "needs a host");
    if (url.port === "") fail(spec, "needs a port (514 for udp/tcp, 6514 for tls)");
    port = Number(url.port);
  } else if (transport === "file") {
    path = decodeURIComponent(url.pathname);
    if (path === "" || path === "/") fail(spec, "needs a path (file:///var/log/hangar/alerts.jsonl)");
  }
  const name =
    q.get("name") ??
    (network
      ? `${transport}-${(host ?? "").replace(/[^A-Za-z0-9.-]/g, "_")}-${port ?? 0}`
      : `${transport}-${index}`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) fail(spec, `name "${name}" may use only [A-Za-z0-9._-]`);
  // The name is a directory under the spool root: "." and ".." would be the root or its parent.
  if (name === "." || name === "..") fail(spec, `name "${name}" is not a directory name of its own`);
  if (name === "hub")
    fail(spec, `name "hub" is reserved: <spool-dir>/hub is the agent's outbox to the controller`);
  if (spoolOn === "on" && spoolRoot === undefined) fail(spec, "spool=on needs --spool-dir");
  const numbers = {
    maxBytes: int(spec, "max-bytes", q.get("max-bytes"), 256),
    maxBatch: int(spec, "batch", q.get("batch"), 1),
    maxQueue: int(spec, "queue", q.get("queue"), 1),
    flushIntervalMs: int(spec, "flush-ms", q.get("flush-ms"), 0),
    exportTimeoutMs: int(spec, "timeout-ms", q.get("timeout-ms"), 1),
    confirmMs: int(spec, "confirm-ms", q.get("confirm-ms"), 0),
    spoolMaxBytes: int(spec, "spool-max-bytes", q.get("spool-max-bytes"), 64 * 1024),
  };
  const tls = {
    ...(q.get("ca") === null ? {} : { caFile: q.get("ca") as string }),
    ...(q.get("cert") === null ? {} : { certFile: q.get("cert") as string }),
    ...(q.get("key") === null ? {} : { keyFile: q.get("key") as string }),
    ...(q.get("server-name") === null ? {} : { serverName: q.get("server-name") as string }),
  };
  if (transport !== "tls" && Object.keys(tls).length > 0)
    fail(spec, "ca, cert, key and server-name apply to tls only");
  const out: Record<string, unknown> = {
    name,
    format,
    transport,
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(path === undefined ? {} : { path }),
    ...(framing === null ? {} : { framing }),
    ...(syslog === null ? {} : { syslog }),
    ...(facility === null ? {} : { facility }),
    ...(transport === "tls" ? { tls } : {}),
    ...(spoolOn === "on" && spoolRoot !== undefined ? { spoolDir: spoolDirFor(spoolRoot, name) } : {}),
    ...(overflow === null ? {} : { overflow }),
    ...(wal === null ? {} : { writeAhead: wal === "on" }),
  };
  // eslint-disable-next-line hangar/no-string-key-write -- k is a key of the numbers literal above (fixed option names), not input
  for (const [k, v] of Object.entries(numbers)) if (v !== undefined) out[k] = v;
  return out as unknown as SiemDestinationConfig;
}
