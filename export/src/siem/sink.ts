/**
 * The SIEM sink: one AlertSink fanning out to several destinations, each with its own
 * format (CEF, LEEF, JSON lines), syslog header, transport, batch processor and spool.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { ExportError } from "../errors.js";
import {
  type Counters,
  type BackoffOptions,
  type Alert,
  type AlertSink,
  DiskSpool,
  type OverflowPolicy,
} from "@hangar/core";
import { encodeCef, type CefOptions } from "./cef.js";
import { Destination } from "./destination.js";
import { encodeJson } from "./json.js";
import { encodeLeef } from "./leef.js";
import { alertRecord, enforcementRecord, type EnforcementEvent, type SiemRecord } from "./record.js";
import { FACILITIES, syslogLine, type Framing } from "./syslog.js";
import {
  FileTransport,
  StreamTransport,
  UdpTransport,
  WritableTransport,
  type Transport,
} from "./transport.js";

export type SiemFormat = "cef" | "leef" | "json";
export type SiemTransportKind = "udp" | "tcp" | "tls" | "file" | "stdout";

export interface SiemDestinationConfig {
  /** Names the destination in counters and logs, and its spool subdirectory. */
  readonly name: string;
  readonly format: SiemFormat;
  readonly transport: SiemTransportKind;
  readonly host?: string;
  readonly port?: number;
  /** file transport: the file to append to. */
  readonly path?: string;
  /** tcp: "lf" (default) or "octet-counting"; tls: always octet-counting. */
  readonly framing?: Framing;
  /** Syslog header: rfc5424 (default for udp/tcp/tls), rfc3164, or none (default for file/stdout). */
  readonly syslog?: "rfc5424" | "rfc3164" | "none";
  /** Facility name or number (default local4 = 20). */
  readonly facility?: string | number;
  readonly tls?: {
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly serverName?: string;
  };
  /** Spool directory of this destination; none = memory only. */
  readonly spoolDir?: string;
  readonly spoolMaxBytes?: number;
  readonly spoolSegmentBytes?: number;
  readonly overflow?: OverflowPolicy;
  /** With a spool: write every record to it before sending (default true; see Destination). */
  readonly writeAhead?: boolean;
  readonly maxQueue?: number;
  readonly maxBatch?: number;
  readonly flushIntervalMs?: number;
  readonly exportTimeoutMs?: number;
  readonly confirmMs?: number;
  /** Largest encoded record in bytes; default 2048 for UDP, 8192 for TCP/TLS, none otherwise. */
  readonly maxBytes?: number;
  /** CEF/LEEF header options (vendor, product, version, caps). */
  readonly cef?: CefOptions;
  /** Retry delays while the destination is down (default 250 ms doubling to 30 s, with jitter). */
  readonly backoff?: BackoffOptions;
}

export interface SiemSinkOptions {
  readonly destinations: readonly SiemDestinationConfig[];
  /** Syslog HOSTNAME and CEF dvchost: the node name. */
  readonly hostname: string;
  readonly appName?: string;
  readonly counters: Counters;
  readonly logger: Logger;
  /** Where the stdout transport writes (default process.stdout). */
  readonly stdout?: NodeJS.WritableStream;
}

/** Encodes a record for one destination: format, then the syslog header if any. */
export type RecordEncoder = (r: SiemRecord) => Buffer;

export function recordEncoder(
  c: Pick<SiemDestinationConfig, "format" | "syslog" | "facility" | "transport" | "maxBytes" | "cef">,
  hostname: string,
  appName = "hangar-agent",
): RecordEncoder {
  const network = c.transport === "udp" || c.transport === "tcp" || c.transport === "tls";
  const syslog = c.syslog ?? (network ? "rfc5424" : "none");
  const facility = facilityNumber(c.facility ?? "local4");
  const maxBytes = c.maxBytes ?? (c.transport === "udp" ? 2048 : network ? 8192 : undefined);
  // The header costs about 100 bytes; leave room for it.
  const bodyMax = maxBytes === undefined ? undefined : Math.max(256, maxBytes - 160);
  const cefOpts: CefOptions = { ...c.cef, ...(bodyMax === undefined ? {} : { maxBytes: bodyMax }) };
  const body = (r: SiemRecord): string =>
    c.format === "cef" ? encodeCef(r, cefOpts) : c.format === "leef" ? encodeLeef(r, cefOpts) : encodeJson(r);
  if (syslog === "none") return (r) => Buffer.from(body(r));
  const header = { protocol: syslog, facility, hostname, appName, procId: String(process.pid) } as const;
  return (r) => Buffer.from(syslogLine(body(r), header, r.timeMs, r.severity, r.type));
}

export function facilityNumber(f: string | number): number {
  const n = typeof f === "number" ? f : /^\d+$/.test(f) ? Number(f) : FACILITIES[f];
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 23) {
    throw new ExportError(
      "HANGAR_ERR_CONFIG_INVALID",
      `syslog facility must be 0..23 or a name (local0..local7, auth, ...), got "${String(f)}"`,
    );
  }
  return n;
}

function readPem(file: string | undefined, what: string): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS files named in the operator's --siem URL
    return readFileSync(file);
  } catch (err) {
    throw ExportError.from(err, "HANGAR_ERR_CONFIG_INVALID", `reading ${what} ${file}`);
  }
}

export function makeTransport(c: SiemDestinationConfig, stdout?: NodeJS.WritableStream): Transport {
  const where = `SIEM destination "${c.name}"`;
  const needHost = (): { host: string; port: number } => {
    if (c.host === undefined || c.host === "" || c.port === undefined) {
      throw new ExportError("HANGAR_ERR_CONFIG_INVALID", `${where}: ${c.transport} needs a host and a port`);
    }
    return { host: c.host, port: c.port };
  };
  switch (c.transport) {
    case "udp": {
      const { host, port } = needHost();
      return new UdpTransport(host, port);
    }
    case "tcp": {
      const { host, port } = needHost();
      return new StreamTransport({ host, port, framing: c.framing ?? "lf" });
    }
    case "tls": {
      const { host, port } = needHost();
      if (c.framing === "lf") {
        throw new ExportError(
          "HANGAR_ERR_CONFIG_INVALID",
          `${where}: TLS syslog (RFC 5425) uses octet-counting framing; framing=lf is not allowed`,
        );
      }
      if ((c.tls?.certFile === undefined) !== (c.tls?.keyFile === undefined)) {
        throw new ExportError("HANGAR_ERR_CONFIG_INVALID", `${where}: cert and key go together`);
      }
      const ca = readPem(c.tls?.caFile, "CA file");
      const cert = readPem(c.tls?.certFile, "client certificate");
      const key = readPem(c.tls?.keyFile, "client key");
      return new StreamTransport({
        host,
        port,
        framing: "octet-counting",
        tls: {
          ...(ca === undefined ? {} : { ca }),
          ...(cert === undefined ? {} : { cert }),
          ...(key === undefined ? {} : { key }),
          ...(c.tls?.serverName === undefined ? {} : { serverName: c.tls.serverName }),
        },
      });
    }
    case "file":
      if (c.path === undefined || c.path === "") {
        throw new ExportError("HANGAR_ERR_CONFIG_INVALID", `${where}: file needs a path`);
      }
      return new FileTransport(c.path);
    case "stdout":
      return new WritableTransport(
        (stdout ?? process.stdout) as NodeJS.WritableStream & import("node:stream").Writable,
      );
  }
}

/** An AlertSink (and enforcement-event sink) that exports to SIEM destinations. */
export class SiemSink implements AlertSink {
  readonly #dest: { d: Destination; encode: RecordEncoder }[];
  readonly #counters: Counters;
  readonly #logger: Logger;

  private constructor(dest: { d: Destination; encode: RecordEncoder }[], o: SiemSinkOptions) {
    this.#dest = dest;
    this.#counters = o.counters;
    this.#logger = o.logger;
  }

  /** Validates every destination, opens the spools (recovering what a previous run left), and starts the workers. */
  static async start(o: SiemSinkOptions): Promise<SiemSink> {
    // Validate every destination before anything starts.
    const names = new Set<string>();
    const planned = o.destinations.map((c) => {
      if (!/^[A-Za-z0-9._-]+$/.test(c.name) || c.name === "." || c.name === ".." || names.has(c.name)) {
        throw new ExportError(
          "HANGAR_ERR_CONFIG_INVALID",
          `SIEM destination name "${c.name}" must be unique, use only [A-Za-z0-9._-] and not be "." or ".."`,
        );
      }
      names.add(c.name);
      return { c, transport: makeTransport(c, o.stdout), encode: recordEncoder(c, o.hostname, o.appName) };
    });
    const built: { d: Destination; encode: RecordEncoder }[] = [];
    try {
      for (const { c, transport, encode } of planned) {
        const spool =
          c.spoolDir === undefined
            ? undefined
            : await DiskSpool.open({
                dir: c.spoolDir,
                ...(c.spoolMaxBytes === undefined ? {} : { maxBytes: c.spoolMaxBytes }),
                ...(c.spoolSegmentBytes === undefined ? {} : { segmentBytes: c.spoolSegmentBytes }),
                ...(c.overflow === undefined ? {} : { overflow: c.overflow }),
              });
        if (spool !== undefined && spool.recovered.segments > 0) {
          o.logger.warn(
            { destination: c.name, ...spool.recovered },
            "SIEM spool had a torn tail (a crash during a write); the incomplete record was cut off",
          );
        }
        const d = new Destination({
          name: c.name,
          transport,
          ...(spool === undefined ? {} : { spool }),
          ...(c.maxQueue === undefined ? {} : { maxQueue: c.maxQueue }),
          ...(c.writeAhead === undefined ? {} : { writeAhead: c.writeAhead }),
          ...(c.maxBatch === undefined ? {} : { maxBatch: c.maxBatch }),
          ...(c.flushIntervalMs === undefined ? {} : { flushIntervalMs: c.flushIntervalMs }),
          ...(c.exportTimeoutMs === undefined ? {} : { exportTimeoutMs: c.exportTimeoutMs }),
          ...(c.confirmMs === undefined ? {} : { confirmMs: c.confirmMs }),
          ...(c.backoff === undefined ? {} : { backoff: c.backoff }),
          counters: o.counters,
          logger: o.logger,
        });
        built.push({ d, encode });
      }
    } catch (err) {
      await Promise.all(built.map(({ d }) => d.shutdown()));
      throw err;
    }
    return new SiemSink(built, o);
  }

  get destinations(): readonly Destination[] {
    return this.#dest.map((x) => x.d);
  }

  write(alert: Alert): void {
    this.writeRecord(alertRecord(alert));
  }

  writeEnforcement(ev: EnforcementEvent): void {
    this.writeRecord(enforcementRecord(ev));
  }

  writeRecord(r: SiemRecord): void {
    for (const { d, encode } of this.#dest) {
      let buf: Buffer;
      try {
        buf = encode(r);
      } catch (err) {
        this.#counters.inc("siem_dropped", { destination: d.name, reason: "encode_error" });
        this.#logger.error({ err, destination: d.name, id: r.id }, "could not encode a SIEM record");
        continue;
      }
      d.write(buf);
    }
  }

  async flush(): Promise<void> {
    await Promise.all(this.#dest.map(({ d }) => d.flush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.#dest.map(({ d }) => d.shutdown()));
  }
}

/** The spool directory of a destination under a common root. */
export function spoolDirFor(root: string, name: string): string {
  return join(root, name);
}
