/**
 * Which `Host` and `Origin` values the proxy serves (DNS-rebinding protection,
 * as the MCP transport requires of servers), and the CORS answers for browser
 * callers, per provider.
 *
 * A DNS-rebinding attack needs a name the attacker controls that resolves to
 * the proxy, so by default the proxy serves only names no attacker can own:
 * `localhost` (and `*.localhost`), IP literals, single-label names (a Service
 * in the caller's namespace) and cluster names (`*.svc`, `*.cluster.local`),
 * plus what `allowedHosts` lists (`mcp.example.com`, `*.example.com`, or `*`
 * to switch the check off). A request with an `Origin` (a browser's) is served
 * when the origin is the request's own host, is listed in `allowedOrigins`
 * (`*` for any) or in the provider's `cors.allowOrigins`, or its host passes
 * the default rule above; requests without `Origin` (programs) are not
 * origin-checked.
 */
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";

export interface OriginConfig {
  /** Host names served besides the safe defaults; `*.example.com` globs; `*` turns the check off. */
  allowedHosts?: readonly string[];
  /** Browser origins served (`https://app.example.com`); `*` for any. */
  allowedOrigins?: readonly string[];
}

export interface CorsConfig {
  /** Origins browsers may call this provider from (`https://app.example.com`), or `*`. */
  allowOrigins: readonly string[];
  /** Request headers allowed in a preflight. Default: the MCP ones (below). */
  allowHeaders?: readonly string[];
  /** Response headers a browser script may read. Default: Mcp-Session-Id. */
  exposeHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer, in seconds. Default 600. */
  maxAgeSeconds?: number;
  /** Send `Access-Control-Allow-Credentials: true` (an origin list without `*` is then required). */
  allowCredentials?: boolean;
}

export const DEFAULT_CORS_ALLOW_HEADERS = [
  "content-type",
  "accept",
  "authorization",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
  "traceparent",
  "tracestate",
];
export const DEFAULT_CORS_EXPOSE_HEADERS = ["mcp-session-id", "www-authenticate"];

/** The host name of a `Host` header or an origin's authority, lower-cased, without port or brackets. */
export function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith("[")) {
    const end = a.indexOf("]");
    return end < 0 ? a : a.slice(1, end);
  }
  const colon = a.indexOf(":");
  // More than one colon without brackets: a bare IPv6 address.
  if (colon >= 0 && a.indexOf(":", colon + 1) >= 0) return a;
  return colon < 0 ? a : a.slice(0, colon);
}

/** A name no attacker can make resolve to the proxy from the outside (see the module comment). */
export function isSafeHost(name: string): boolean {
  if (name === "") return false;
  if (isIP(name) !== 0) return true;
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (!name.includes(".")) return true;
  return name.endsWith(".svc") || name.endsWith(".cluster.local");
}

function matchHost(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  if (p === "*") return true;
  if (p.startsWith("*.")) return name.endsWith(p.slice(1));
  return hostName(p) === name;
}

export type GuardVerdict = { ok: true } | { ok: false; message: string };

export class RequestGuard {
  readonly #hosts: readonly string[];
  readonly #origins: readonly string[];
  readonly #anyHost: boolean;

  constructor(cfg: OriginConfig = {}) {
    this.#hosts = cfg.allowedHosts ?? [];
    this.#origins = (cfg.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/+$/, ""));
    this.#anyHost = this.#hosts.includes("*");
  }

  /** Whether the request's Host and Origin may be served (`cors`: the provider's CORS origins). */
  check(headers: IncomingHttpHeaders, cors: readonly string[] | undefined): GuardVerdict {
    const host = headers.host ?? "";
    const name = hostName(host);
    if (!this.#anyHost && !isSafeHost(name) && !this.#hosts.some((p) => matchHost(p, name)))
      return {
        ok: false,
        message: `Host "${host}" is not served by this proxy (DNS-rebinding protection): add it to allowedHosts`,
      };
    const origin = headers.origin;
    if (origin === undefined) return { ok: true };
    if (this.originAllowed(origin, host, cors)) return { ok: true };
    return {
      ok: false,
      message: `Origin "${origin}" is not allowed (DNS-rebinding protection): add it to allowedOrigins, or to the provider's cors.allowOrigins`,
    };
  }

  originAllowed(origin: string, host: string, cors: readonly string[] | undefined): boolean {
    const o = origin.toLowerCase().replace(/\/+$/, "");
    if (this.#origins.includes("*") || this.#origins.includes(o)) return true;
    if (
      cors !== undefined &&
      (cors.includes("*") || cors.some((c) => c.toLowerCase().replace(/\/+$/, "") === o))
    )
      return true;
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      return false; // "null" and other opaque origins
    }
    if (u.host === host.toLowerCase()) return true; // same origin
    const name = hostName(u.host);
    return isSafeHost(name) && (u.protocol === "http:" || u.protocol === "https:");
  }
}

/** The CORS answers of one provider. */
export class Cors {
  readonly origins: readonly string[];
  readonly #any: boolean;
  readonly #allowHeaders: Set<string>;
  readonly #expose: string;
  readonly #maxAge: string;
  readonly #credentials: boolean;

  constructor(cfg: CorsConfig) {
    this.origins = cfg.allowOrigins.map((o) => o.toLowerCase().replace(/\/+$/, ""));
    this.#any = this.origins.includes("*");
    this.#allowHeaders = new Set(
      (cfg.allowHeaders ?? DEFAULT_CORS_ALLOW_HEADERS).map((h) => h.toLowerCase()),
    );
    this.#expose = (cfg.exposeHeaders ?? DEFAULT_CORS_EXPOSE_HEADERS).join(", ");
    this.#maxAge = String(cfg.maxAgeSeconds ?? 600);
    this.#credentials = cfg.allowCredentials === true;
  }

  #allows(origin: string): boolean {
    return this.#any || this.origins.includes(origin.toLowerCase().replace(/\/+$/, ""));
  }

  /** Headers for an actual request from `origin` (none when the origin is not allowed). */
  responseHeaders(origin: string | undefined): Record<string, string> {
    if (origin === undefined || !this.#allows(origin)) return {};
    return {
      "access-control-allow-origin": this.#any && !this.#credentials ? "*" : origin,
      "access-control-expose-headers": this.#expose,
      ...(this.#credentials ? { "access-control-allow-credentials": "true" } : {}),
      vary: "Origin",
    };
  }

  /**
   * A preflight (`OPTIONS` with `Access-Control-Request-Method`): the headers
   * that allow it, or a reason it is refused (origin, method or a header).
   */
  preflight(
    headers: IncomingHttpHeaders,
  ): { ok: true; headers: Record<string, string> } | { ok: false; why: string } {
    const origin = headers.origin;
    if (origin === undefined || !this.#allows(origin))
      return { ok: false, why: `origin ${origin ?? "(none)"} is not in cors.allowOrigins` };
    const method = String(headers["access-control-request-method"] ?? "").toUpperCase();
    if (method !== "" && !["GET", "POST", "DELETE"].includes(method))
      return { ok: false, why: `method ${method} is not served (GET, POST, DELETE)` };
    const asked = String(headers["access-control-request-headers"] ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== "");
    const refused = asked.filter((h) => !this.#allowHeaders.has(h));
    if (refused.length > 0) return { ok: false, why: `headers not allowed: ${refused.join(", ")}` };
    return {
      ok: true,
      headers: {
        ...this.responseHeaders(origin),
        "access-control-allow-methods": "GET, POST, DELETE",
        "access-control-allow-headers": [...this.#allowHeaders].join(", "),
        "access-control-max-age": this.#maxAge,
      },
    };
  }
}
