/**
 * Facets: what a baseline records per provider, and how one runtime event turns
 * into facet items. Values have one canonical text form each, shared by the
 * store, the lookup port, the database and `hangar-ctl`:
 *
 * | facet  | value                                   | qualifier                  |
 * |--------|-----------------------------------------|----------------------------|
 * | egress | `203.0.113.7:443/tcp`, `[2001:db8::1]:53/udp`, collapsed `203.0.113.0/24:443/tcp` | — |
 * | dns    | `api.example.com`, collapsed `*.cdn.example.com` | —                 |
 * | binary | `/usr/bin/curl`                         | argument shape, e.g. `-s <url>` |
 * | file   | `/app/data/x.json`, collapsed `/tmp/work/**` | operation (`read`, `write`, …) |
 * | tool   | `get_forecast`                          | —                          |
 */
import { hangar } from "@hangar/proto";
import { BASELINE_FACETS, type BaselineFacetName, type RuntimeEvent } from "@hangar/core";
import { formatIPv6, parseIPv4, parseIPv6 } from "./tries.js";

export type FacetName = BaselineFacetName;
export const FACETS: readonly FacetName[] = BASELINE_FACETS;

export function isFacet(s: string): s is FacetName {
  return (FACETS as readonly string[]).includes(s);
}

export const FACET_TO_PROTO: Record<FacetName, hangar.BaselineFacet> = {
  egress: hangar.BaselineFacet.EGRESS,
  dns: hangar.BaselineFacet.DNS,
  binary: hangar.BaselineFacet.BINARY,
  file: hangar.BaselineFacet.FILE,
  tool: hangar.BaselineFacet.TOOL,
};

export function facetFromProto(f: hangar.BaselineFacet): FacetName | undefined {
  for (const name of FACETS) if (FACET_TO_PROTO[name] === f) return name;
  return undefined;
}

/** One thing an event shows a provider doing. */
export interface Observation {
  facet: FacetName;
  value: string;
  qualifier: string;
}

/** `ip:port/proto`, IPv6 in brackets; protocol "any" when the sensor did not say. */
export function egressValue(ip: string, port: number, protocol: string): string {
  const proto = protocol === "" ? "any" : protocol.toLowerCase();
  const host = ip.includes(":") ? `[${canonicalIPv6(ip)}]` : ip;
  return `${host}:${port}/${proto}`;
}

function canonicalIPv6(ip: string): string {
  const g = parseIPv6(ip);
  return g === undefined ? ip.toLowerCase() : formatIPv6(g);
}

export interface EgressParts {
  /** Address or CIDR, without brackets. */
  host: string;
  /** -1 when the value names no port. */
  port: number;
  /** "" when the value names no protocol. */
  proto: string;
}

/** Parses `ip`, `ip:port`, `ip:port/proto`, `[v6]:port/proto` and CIDR forms. */
export function parseEgress(value: string): EgressParts | undefined {
  let host: string;
  let rest: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0) return undefined;
    host = value.slice(1, close);
    rest = value.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
    rest = rest.slice(1);
  } else {
    const colon = value.indexOf(":");
    if (colon >= 0 && value.indexOf(":", colon + 1) >= 0) {
      // A bare IPv6 address without brackets (no port).
      return parseIPv6(value.split("/")[0] ?? "") === undefined
        ? undefined
        : { host: value, port: -1, proto: "" };
    }
    host = colon < 0 ? value : value.slice(0, colon);
    rest = colon < 0 ? "" : value.slice(colon + 1);
  }
  // A CIDR without a port ("10.0.0.0/8") has its slash in the host part.
  if (rest === "" && host.includes("/")) return { host, port: -1, proto: "" };
  if (rest === "") return { host, port: -1, proto: "" };
  const slash = rest.indexOf("/");
  const portText = slash < 0 ? rest : rest.slice(0, slash);
  const port = portText === "*" ? -1 : Number(portText);
  if (!Number.isInteger(port) || port < -1 || port > 65535) return undefined;
  const proto = slash < 0 ? "" : rest.slice(slash + 1).toLowerCase();
  return { host, port, proto };
}

/** A valid egress value (address or CIDR) for `hangar-ctl baseline allow`. */
export function isValidEgress(value: string): boolean {
  const p = parseEgress(value);
  if (p === undefined) return false;
  const [ip, bits] = p.host.split("/");
  const v4 = parseIPv4(ip ?? "") >= 0;
  if (!v4 && parseIPv6(ip ?? "") === undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (v4 ? 32 : 128);
}

/** DNS names: lowercase, no trailing dot. */
export function dnsValue(name: string): string {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  return n.toLowerCase();
}

const FILE_OP_NAMES: Record<number, string> = {
  [hangar.FileOperation.OPEN]: "open",
  [hangar.FileOperation.READ]: "read",
  [hangar.FileOperation.WRITE]: "write",
  [hangar.FileOperation.MMAP]: "mmap",
  [hangar.FileOperation.TRUNCATE]: "truncate",
  [hangar.FileOperation.EXECUTE]: "execute",
};

export function fileOperationName(op: hangar.FileOperation): string {
  return FILE_OP_NAMES[op] ?? "open";
}

/**
 * Paths as learned: /proc/<pid>/… folds to /proc/⋯/…, so a baseline does not
 * learn one entry per process.
 */
export function fileValue(path: string): string {
  if (path.startsWith("/proc/")) {
    const end = path.indexOf("/", 6);
    const seg = end < 0 ? path.slice(6) : path.slice(6, end);
    if (seg !== "" && /^\d+$/.test(seg)) return `/proc/⋯${end < 0 ? "" : path.slice(end)}`;
  }
  return path;
}

/**
 * Paths that are never collapsed into a prefix and only ever match exactly:
 * reading them is what an attacker wants, so a wildcard must not hide it.
 */
export const SENSITIVE_PREFIXES: readonly string[] = [
  "/var/run/secrets/",
  "/run/secrets/",
  "/etc/shadow",
  "/etc/gshadow",
  "/etc/sudoers",
  "/root/.ssh/",
  "/proc/⋯/environ",
  "/proc/self/environ",
  "/proc/⋯/mem",
];

export function isSensitivePath(path: string): boolean {
  for (const p of SENSITIVE_PREFIXES) if (path.startsWith(p)) return true;
  return path.includes("/.ssh/") || path.endsWith("/.env") || path.includes("/.aws/");
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
// eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, repetitions separated by literal dots
const NUM_RE = /^-?\d+(\.\d+)?$/;
// eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, repetitions separated by literal dots
const IP_RE = /^\d{1,3}(\.\d{1,3}){3}(:\d+)?$/;
const VERB_RE = /^[a-z][a-z0-9_-]{0,23}$/;

/**
 * The shape of an argument list: a leading subcommand and flags kept, values
 * replaced by their kind (`<url>`, `<path>`, `<ip>`, `<n>`, `<s>`), at most 8
 * words. `-s -d @- https://x/u` → `-s -d <s> <url>`; `push --force https://x`
 * → `push --force <url>`. Arguments vary per call; their shape should not.
 */
export function argumentShape(args: string): string {
  if (args === "") return "";
  const words = args.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  const out: string[] = [];
  for (const w of words) {
    if (out.length === 8) {
      out.push("…");
      break;
    }
    if (out.length === 0 && VERB_RE.test(w)) {
      out.push(w); // a subcommand (git push, kubectl get) is part of the shape
    } else if (w.startsWith("-") && !NUM_RE.test(w)) {
      const eq = w.indexOf("=");
      out.push(eq < 0 ? w : `${w.slice(0, eq)}=${wordKind(w.slice(eq + 1))}`);
    } else out.push(wordKind(w));
  }
  return out.join(" ");
}

function wordKind(w: string): string {
  const u = w.replace(/^["']|["']$/g, "");
  if (URL_RE.test(u)) return "<url>";
  if (IP_RE.test(u)) return "<ip>";
  if (NUM_RE.test(u)) return "<n>";
  if (u.startsWith("/") || u.startsWith("./") || u.startsWith("../")) return "<path>";
  if (u.includes(" ")) return "<text>";
  return "<s>";
}

/** Rate metrics kept per provider. */
export type RateMetric = "tool_calls" | "connects" | "execs";
export const RATE_METRICS: readonly RateMetric[] = ["tool_calls", "connects", "execs"];

/** The facet items an event shows (at most a few), and the rate metric it counts towards. */
export function observe(ev: RuntimeEvent, out: Observation[]): RateMetric | undefined {
  const d = ev.detail;
  switch (d.case) {
    case "exec": {
      const binary = ev.process?.binary ?? "";
      if (binary !== "")
        out.push({ facet: "binary", value: binary, qualifier: argumentShape(ev.process?.arguments ?? "") });
      return "execs";
    }
    case "connect": {
      const c = d.value;
      if (c.destinationIp === "") return undefined;
      out.push({
        facet: "egress",
        value: egressValue(c.destinationIp, c.destinationPort, c.protocol),
        qualifier: "",
      });
      return "connects";
    }
    case "flow": {
      const f = d.value;
      if (f.direction !== "egress" || f.isReply || f.destinationIp === "") return undefined;
      if (f.tcpFlags.length > 0 && !f.tcpFlags.includes("SYN")) return undefined;
      out.push({
        facet: "egress",
        value: egressValue(f.destinationIp, f.destinationPort, f.protocol),
        qualifier: "",
      });
      return undefined; // connects are counted from the socket hook, flows only add destinations
    }
    case "dns": {
      if (d.value.query !== "") out.push({ facet: "dns", value: dnsValue(d.value.query), qualifier: "" });
      return undefined;
    }
    case "file": {
      if (d.value.path !== "")
        out.push({
          facet: "file",
          value: fileValue(d.value.path),
          qualifier: fileOperationName(d.value.operation),
        });
      return undefined;
    }
    case "toolCall": {
      const t = d.value.trace;
      if (t === undefined || t.tool === "" || t.method !== "tools/call") return undefined;
      out.push({ facet: "tool", value: t.tool, qualifier: "" });
      return "tool_calls";
    }
    default:
      return undefined;
  }
}
