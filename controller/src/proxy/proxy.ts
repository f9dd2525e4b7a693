/**
 * The MCP proxy: one Streamable HTTP endpoint per provider, `/mcp/<provider>`.
 *
 * For each request it: checks the size and JSON-RPC shape of the body, verifies
 * the caller's bearer token, finds the session (`Mcp-Session-Id`) or, for
 * `initialize`, opens one on a pod it picks from the provider's EndpointSlices,
 * and hands the request to that session's server transport. Everything that can
 * go wrong before a session takes over is answered here with an HTTP status and
 * a JSON-RPC error body naming what was wrong; nothing one caller does stops the
 * proxy serving the others.
 */
import { randomUUID } from "node:crypto";
import { Agent, type IncomingMessage, type ServerResponse } from "node:http";
import { H1Pool } from "./h1.js";
import { httpsAgent, loadTls, type LoadedTls } from "./tls.js";
import { type Authenticator, type Identity, ANONYMOUS } from "./auth.js";
import type { EndpointDirectory, PodEndpoint, ProviderService } from "./endpoints.js";
import { RpcCode } from "./errors.js";
import { TraceFeed } from "./feed.js";
import { batchProblem, checkBody, errorBody } from "./jsonrpc.js";
import { ToolPolicy, type ToolPolicyConfig } from "./policy.js";
import { Cors, RequestGuard, type CorsConfig, type OriginConfig } from "./origin.js";
import { Redactor } from "./redact.js";
import type { ResumeOptions } from "./downstream.js";
import { ProxySession } from "./session.js";
import { ProxyStats } from "./stats.js";
import {
  FORWARDED_HEADER,
  PEER_TOKEN_HEADER,
  parseTraceBatch,
  replicaGone,
  traceKey,
  TRACES_PATH,
  type Replicas,
} from "./replicas.js";
import type { hangar } from "@hangar/proto";

/** What the proxy reads and drops of an over-limit body before it closes the connection. */
const DRAIN_BYTES = 16 * 1024 * 1024;

export interface ProviderConfig extends ProviderService {
  policy?: ToolPolicyConfig;
  /** CORS for browser callers of this provider (none: no CORS headers, preflights get no allowance). */
  cors?: CorsConfig;
  /** How long a request may wait for the pod's answer. Default: the proxy's timeoutMs. */
  timeoutMs?: number;
}

export interface ProxyOptions {
  providers: readonly ProviderConfig[];
  directory: EndpointDirectory;
  /** Caller authentication. Default: none (every caller is anonymous). */
  authenticator?: Authenticator;
  redactor?: Redactor;
  /** Where call traces go. Default: a new feed (read it from `proxy.feed`). */
  feed?: TraceFeed;
  /** Largest request body accepted, in bytes. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Default upstream timeout per request. Default 60 000 ms. */
  timeoutMs?: number;
  /** Path prefix. Default "/mcp". */
  basePath?: string;
  /** Sessions remembered after they ended (to tell a caller why), oldest forgotten first. Default 10 000. */
  maxEndedSessions?: number;
  /** A session with no request and no call in flight for this long is closed. Default 30 min. */
  sessionIdleMs?: number;
  /** Resumability of the caller's SSE streams (see downstream.ts). */
  resume?: ResumeOptions;
  /** Host and Origin values served (DNS-rebinding protection, see origin.ts). */
  origins?: OriginConfig;
  /** Scale-out (replicas.ts): session ids name this replica; other replicas' sessions are forwarded to them. */
  replicas?: Replicas;
  /** Where call traces handed off by other replicas go (this replica collects them). Default: `feed`. */
  routed?: TraceFeed;
  /**
   * Open sessions one caller may hold (the token's subject, or the client address when
   * anonymous); one more `initialize` is answered 429. Default 256 (the MCP conformance suite
   * opens ~165 from one address).
   */
  maxSessionsPerCaller?: number;
}

export const DEFAULT_MAX_SESSIONS_PER_CALLER = 256;

interface Provider {
  config: ProviderConfig;
  policy: ToolPolicy;
  timeoutMs: number;
  /** Dials the provider's https pods (its `tls`, or the system CAs); made on first use without `tls`. */
  https: Agent | undefined;
  tls: LoadedTls | undefined;
  cors: Cors | undefined;
}

/** Why a session is over, and the JSON-RPC code a caller still using its id gets. */
interface Ended {
  code: number;
  why: string;
}

export class McpProxy {
  readonly feed: TraceFeed;
  readonly stats = new ProxyStats();
  readonly #providers = new Map<string, Provider>();
  readonly #directory: EndpointDirectory;
  readonly #auth: Authenticator | undefined;
  readonly #redactor: Redactor;
  readonly #maxBody: number;
  readonly #base: string;
  readonly #sessions = new Map<string, ProxySession>();
  /** Ended session id → why (bounded). */
  readonly #ended = new Map<string, Ended>();
  readonly #guard: RequestGuard;
  readonly #replicas: Replicas | undefined;
  readonly #routed: TraceFeed;
  /** Traces received from other replicas (trace/span/start|end), to drop one sent twice. */
  readonly #received = new Set<string>();
  readonly #maxEnded: number;
  readonly #load = new Map<string, number>();
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  /** Keep-alive POST connections per provider and pod origin (`provider protocol//host:port`). */
  readonly #pools = new Map<string, H1Pool>();
  readonly #unsubscribe: () => void;
  readonly #idleMs: number;
  readonly #resume: ResumeOptions | undefined;
  readonly #sweep: NodeJS.Timeout;
  readonly #maxPerCaller: number;
  /** Open sessions and initializes in flight, by caller key. */
  readonly #perCaller = new Map<string, number>();
  readonly #keepAlive: NodeJS.Timeout;

  /** The providers served, by name. */
  get providers(): string[] {
    return [...this.#providers.keys()];
  }

  /** Throws an Error naming the provider and field when a policy pattern or a TLS file is invalid. */
  constructor(opts: ProxyOptions) {
    this.feed = opts.feed ?? new TraceFeed();
    this.#directory = opts.directory;
    this.#auth = opts.authenticator;
    this.#redactor = opts.redactor ?? new Redactor();
    this.#maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
    this.#base = (opts.basePath ?? "/mcp").replace(/\/+$/, "");
    this.#maxEnded = opts.maxEndedSessions ?? 10_000;
    this.#guard = new RequestGuard(opts.origins);
    this.#maxPerCaller = opts.maxSessionsPerCaller ?? DEFAULT_MAX_SESSIONS_PER_CALLER;
    this.#replicas = opts.replicas;
    this.#routed = opts.routed ?? this.feed;
    for (const [i, p] of opts.providers.entries()) {
      const tls = p.tls === undefined ? undefined : loadTls(p.tls, `providers[${i}].tls`);
      this.#providers.set(p.provider, {
        config: p,
        policy: new ToolPolicy(p.policy, `providers[${i}].policy`),
        timeoutMs: p.timeoutMs ?? opts.timeoutMs ?? 60_000,
        https: tls === undefined ? undefined : httpsAgent(tls),
        tls,
        cors: p.cors === undefined ? undefined : new Cors(p.cors),
      });
    }
    this.#unsubscribe = this.#directory.onLoss((provider, ep, reason) => this.#podLost(provider, ep, reason));
    this.#idleMs = opts.sessionIdleMs ?? 30 * 60_000;
    this.#resume = opts.resume;
    this.#sweep = setInterval(() => this.sweepIdle(), Math.min(60_000, this.#idleMs)).unref();
    this.#keepAlive = setInterval(() => {
      for (const sess of this.#sessions.values()) sess.transport.keepAlive();
    }, 15_000).unref();
  }

  /** Open sessions (for tests and metrics). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  session(id: string): ProxySession | undefined {
    return this.#sessions.get(id);
  }

  /** The node:http request handler. Mount it on any server (the proxy's own, or next to others). */
  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    this.#handle(req, res).catch((err: unknown) => {
      this.stats.inc("internal_errors");
      if (!res.headersSent)
        this.#fail(
          res,
          500,
          RpcCode.INVALID_REQUEST,
          `internal error in the proxy: ${(err as Error).message}`,
        );
      else res.destroy();
    });
  };

  #fail(
    res: ServerResponse,
    status: number,
    code: number,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    this.stats.inc("http_errors", { status: String(status) });
    const body = errorBody(code, message);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.inc("http_requests");
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const prefix = `${this.#base}/`;
    if (path === TRACES_PATH && this.#replicas !== undefined) {
      await this.#acceptTraces(req, res);
      return;
    }
    if (!path.startsWith(prefix)) {
      this.#drain(req);
      this.#fail(
        res,
        404,
        RpcCode.UNKNOWN_PROVIDER,
        `no MCP endpoint at ${path}; providers are served at ${prefix}<provider>`,
      );
      return;
    }
    const rawName = path.slice(prefix.length).replace(/\/+$/, "");
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      // `%ZZ`, a lone `%`, or bytes that are not UTF-8: the caller's mistake, not ours (was a 500).
      this.#drain(req);
      this.#fail(
        res,
        400,
        RpcCode.INVALID_REQUEST,
        `the provider name in the path is not valid percent-encoding: ${JSON.stringify(rawName.slice(0, 200))}`,
      );
      return;
    }
    const provider = this.#providers.get(name);
    if (provider === undefined) {
      this.#drain(req);
      this.#fail(
        res,
        404,
        RpcCode.UNKNOWN_PROVIDER,
        `unknown provider "${name}": no provider of that name is served by this proxy`,
      );
      return;
    }

    const cors = provider.cors;
    const origin = req.headers.origin;
    if (req.method === "OPTIONS") {
      this.#drain(req);
      const pre = cors?.preflight(req.headers);
      if (pre?.ok === true) res.writeHead(204, pre.headers).end();
      else res.writeHead(204, { allow: "GET, POST, DELETE, OPTIONS" }).end();
      return;
    }
    // A request another replica forwarded was checked there (Host and Origin as the caller sent
    // them); it carries the replicas' token, without which it is refused.
    const forwarded = req.headers[FORWARDED_HEADER] !== undefined;
    if (forwarded && this.#replicas?.isToken(req.headers[PEER_TOKEN_HEADER]) !== true) {
      this.#drain(req);
      this.#fail(res, 401, RpcCode.UNAUTHENTICATED, "a forwarded request needs the replicas' token");
      return;
    }
    const guard = forwarded ? { ok: true as const } : this.#guard.check(req.headers, cors?.origins);
    if (!guard.ok) {
      this.#drain(req);
      this.stats.inc("origin_refused", { provider: name });
      this.#fail(res, 403, RpcCode.ORIGIN_NOT_ALLOWED, guard.message);
      return;
    }
    if (cors !== undefined && origin !== undefined)
      for (const [k, v] of Object.entries(cors.responseHeaders(origin))) res.setHeader(k, v);

    let body: unknown;
    let bodyBytes = 0;
    let raw: string | undefined;
    let read: Buffer | undefined;
    if (req.method === "POST") {
      read = await this.#readBody(req, res);
      if (read === undefined) return;
      bodyBytes = read.length;
      try {
        raw = read.toString("utf8");
        body = JSON.parse(raw);
      } catch (err) {
        this.#fail(res, 400, RpcCode.PARSE_ERROR, `the body is not valid JSON: ${(err as Error).message}`);
        return;
      }
    } else if (req.method !== "GET" && req.method !== "DELETE") {
      this.#drain(req);
      this.#fail(
        res,
        405,
        RpcCode.INVALID_REQUEST,
        `method ${req.method ?? "?"} is not allowed (POST, GET, DELETE or OPTIONS)`,
        {
          allow: "GET, POST, DELETE, OPTIONS",
        },
      );
      return;
    }
    let isInit = false;
    if (body !== undefined) {
      const checked = checkBody(body);
      if (!checked.ok) {
        if (checked.message.includes("is also the id of"))
          this.stats.inc("requests_refused", { provider: name, reason: "duplicate_id" });
        this.#fail(res, 400, checked.code, `not a JSON-RPC 2.0 message: ${checked.message}`);
        return;
      }
      isInit = checked.messages.some((m) => "method" in m && m.method === "initialize");
      if (checked.batch) {
        // The header names the revision on every request after initialize (2025-06-18 on); an
        // initialize inside a batch names the one it asks for.
        const pv = req.headers["mcp-protocol-version"];
        const init = checked.messages.find((m) => "method" in m && m.method === "initialize") as
          { params?: { protocolVersion?: unknown } } | undefined;
        const asked = init?.params?.protocolVersion;
        const problem = batchProblem(
          typeof pv === "string" ? pv : typeof asked === "string" ? asked : undefined,
        );
        if (problem !== undefined) {
          this.stats.inc("requests_refused", { provider: name, reason: "batch" });
          this.#fail(res, 400, RpcCode.INVALID_REQUEST, `not a JSON-RPC 2.0 message: ${problem}`);
          return;
        }
      }
    }

    let identity: Identity = ANONYMOUS;
    if (this.#auth !== undefined) {
      const r = await this.#auth.authenticate(req.headers.authorization);
      if (!r.ok) {
        this.stats.inc("auth_failures", { provider: name });
        this.#fail(res, 401, RpcCode.UNAUTHENTICATED, `unauthenticated: ${r.message}`, {
          "www-authenticate": `Bearer realm="hangar-mcp-proxy", error="invalid_token", error_description="${r.message.replace(/["\\]/g, "'")}"`,
        });
        return;
      }
      identity = r.identity;
    }

    const sid = req.headers["mcp-session-id"];
    if (typeof sid === "string" && sid !== "" && this.#replicas !== undefined) {
      // Another replica's session: forwarded to it as it came (it authenticates the caller).
      const owner = this.#replicas.ownerOf(sid);
      if (
        owner !== undefined &&
        owner !== this.#replicas.self &&
        req.headers[FORWARDED_HEADER] === undefined
      ) {
        this.stats.inc("requests_forwarded", { provider: name });
        await this.#replicas.forward(req, res, raw, owner, (why) => {
          this.stats.inc("http_errors", { status: "404" });
          replicaGone(res, sid, why);
        });
        return;
      }
    }
    if (typeof sid === "string" && sid !== "") {
      const s = this.#sessions.get(sid);
      if (s === undefined || s.provider !== name) {
        const ended = this.#ended.get(sid);
        if (ended !== undefined)
          this.#fail(
            res,
            404,
            ended.code,
            `session ${sid} has ended: ${ended.why}; start a new session (initialize)`,
          );
        else
          this.#fail(
            res,
            404,
            RpcCode.SESSION_NOT_FOUND,
            `session ${sid} not found on provider "${name}"; start a new session (initialize)`,
          );
        return;
      }
      if (s.identity.subject !== identity.subject || s.identity.issuer !== identity.issuer) {
        this.stats.inc("auth_failures", { provider: name });
        this.#fail(res, 403, RpcCode.FORBIDDEN, `session ${sid} belongs to another caller`);
        return;
      }
      if (Array.isArray(body)) {
        const problem = batchProblem(s.upstream.protocolVersion);
        if (problem !== undefined) {
          this.stats.inc("requests_refused", { provider: name, reason: "batch" });
          this.#fail(res, 400, RpcCode.INVALID_REQUEST, `not a JSON-RPC 2.0 message: ${problem}`);
          return;
        }
      }
      s.bodyBytes = bodyBytes;
      s.rawBody = Array.isArray(body) ? undefined : raw;
      s.lastActive = performance.now();
      if (req.method === "GET") {
        if (!(await this.#openStandalone(s, req, res))) return;
      } else if (req.method === "POST") {
        // The caller's GET arrived first: its stream must exist at the pod before this POST
        // reaches the pod, or what the pod sends there in answer to it is lost.
        const opening = s.upstream.standaloneOpening;
        if (opening !== undefined) await opening;
      } else if (req.method === "DELETE") {
        s.deletedByCaller = true;
      }
      s.transport.handleRequest(req, res, body);
      return;
    }
    if (!isInit) {
      this.#fail(
        res,
        400,
        RpcCode.INVALID_REQUEST,
        req.method === "POST"
          ? "Mcp-Session-Id header is required: send initialize first to open a session"
          : `${req.method ?? "?"} needs an Mcp-Session-Id header`,
      );
      return;
    }
    const ep = this.#directory.pick(name, (key) => this.#load.get(key) ?? 0);
    if (ep === undefined) {
      const svc = provider.config;
      this.#fail(
        res,
        503,
        RpcCode.NO_READY_POD,
        `provider "${name}" has no ready pod (Service ${svc.namespace}/${svc.service})`,
        {
          "retry-after": "5",
        },
      );
      return;
    }
    const caller =
      identity.subject !== ""
        ? `sub:${identity.issuer}\0${identity.subject}`
        : `addr:${req.socket.remoteAddress ?? "?"}`;
    const held = this.#perCaller.get(caller) ?? 0;
    if (held >= this.#maxPerCaller) {
      this.stats.inc("requests_refused", { provider: name, reason: "sessions_per_caller" });
      this.#fail(
        res,
        429,
        RpcCode.TOO_MANY_SESSIONS,
        `${identity.subject !== "" ? `caller "${identity.subject}"` : `client address ${req.socket.remoteAddress ?? "?"}`} holds ${held} sessions, the most one caller may (maxSessionsPerCaller): end one (DELETE) or let idle ones expire`,
        { "retry-after": "30" },
      );
      return;
    }
    // Counted from the initialize on (not only once it succeeded), so a burst cannot overshoot.
    this.#perCaller.set(caller, held + 1);
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      const n = (this.#perCaller.get(caller) ?? 1) - 1;
      if (n <= 0) this.#perCaller.delete(caller);
      else this.#perCaller.set(caller, n);
    };
    const s = this.#open(name, provider, ep, identity, release);
    // An initialize that opened no session gives its place back when its answer is done.
    res.once("close", () => {
      if (s.id === "" || this.#sessions.get(s.id) !== s) release();
    });
    s.bodyBytes = bodyBytes;
    s.rawBody = Array.isArray(body) ? undefined : raw;
    s.transport.handleRequest(req, res, body);
    if (s.id === "") s.transport.close(); // initialize refused by the transport (e.g. Accept header)
  }

  /**
   * The caller's standalone GET (not the resumption of a POST's stream): the
   * pod's is opened first and the caller is answered only once the pod has
   * answered, with the pod's refusal when it has no such stream (405), so a
   * server that sends on it right after the caller connected loses nothing.
   * False when the caller has been answered here.
   */
  async #openStandalone(s: ProxySession, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const last = req.headers["last-event-id"];
    if (typeof last === "string" && last !== "" && !last.startsWith("0_")) return true;
    if (!s.transport.confirmed || s.transport.standaloneAttached) return true; // the transport answers
    const accept = req.headers.accept ?? "";
    if (!accept.includes("text/event-stream")) return true;
    const pv = req.headers["mcp-protocol-version"];
    const opened = await s.upstream.openStandalone({
      ...(typeof pv === "string" ? { protocolVersion: pv } : {}),
      ...(typeof req.headers.origin === "string" ? { origin: req.headers.origin } : {}),
    });
    if (opened.status === 200) return true;
    if (opened.status === 405) {
      this.stats.inc("http_errors", { status: "405" });
      res.writeHead(405, { allow: "POST, DELETE" }).end();
      return false;
    }
    this.stats.inc("upstream_errors", { provider: s.provider });
    this.#fail(
      res,
      502,
      RpcCode.UPSTREAM_UNAVAILABLE,
      `pod of provider "${s.provider}" did not open its SSE stream: ${opened.status === 0 ? opened.message : `HTTP ${opened.status}${opened.message === "" ? "" : `: ${opened.message}`}`}`,
    );
    return false;
  }

  #open(
    name: string,
    provider: Provider,
    ep: PodEndpoint,
    identity: Identity,
    release: () => void,
  ): ProxySession {
    const s = new ProxySession({
      provider: name,
      endpoint: ep,
      identity,
      policy: provider.policy,
      redactor: this.#redactor,
      feed: this.feed,
      stats: this.stats,
      agent: ep.url.startsWith("https:") ? (provider.https ??= httpsAgent(undefined)) : this.#agent,
      pool: this.#pool(name, provider, ep),
      timeoutMs: provider.timeoutMs,
      ...(this.#resume === undefined ? {} : { resume: this.#resume }),
      sessionIdGenerator:
        this.#replicas === undefined ? randomUUID : () => (this.#replicas as Replicas).newSessionId(),
      onInitialized: (sess) => {
        this.#sessions.set(sess.id, sess);
        this.#load.set(ep.key, (this.#load.get(ep.key) ?? 0) + 1);
        this.stats.inc("sessions_opened", { provider: name });
      },
      onClosed: (sess) => {
        if (this.#sessions.get(sess.id) !== sess) return;
        this.#sessions.delete(sess.id);
        release();
        this.#load.set(ep.key, Math.max(0, (this.#load.get(ep.key) ?? 1) - 1));
        if (!this.#ended.has(sess.id))
          this.#remember(
            sess.id,
            sess.endedCode ?? RpcCode.SESSION_NOT_FOUND,
            sess.deletedByCaller
              ? "its caller ended it (DELETE)"
              : (sess.endedReason ?? "the session was closed"),
          );
      },
    });
    return s;
  }

  #pool(name: string, provider: Provider, ep: PodEndpoint): H1Pool {
    const u = new URL(ep.url);
    const https = u.protocol === "https:";
    const port = Number(u.port || (https ? 443 : 80));
    const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    const key = `${name} ${u.protocol}//${u.host}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new H1Pool({
        protocol: u.protocol,
        host,
        port,
        ...(https && provider.tls !== undefined ? { tls: provider.tls } : {}),
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #remember(id: string, code: number, why: string): void {
    this.#ended.set(id, { code, why });
    if (this.#ended.size > this.#maxEnded) this.#ended.delete(this.#ended.keys().next().value as string);
  }

  #podLost(provider: string, ep: PodEndpoint, reason: string): void {
    const pod = ep.podName === "" ? ep.key : `${ep.podNamespace}/${ep.podName}`;
    const why = `pod ${pod} of provider "${provider}" went away (${reason})`;
    for (const s of [...this.#sessions.values()]) {
      if (s.provider !== provider || s.endpoint.key !== ep.key) continue;
      this.stats.inc("sessions_lost", { provider });
      this.#remember(s.id, RpcCode.SESSION_ENDED, why);
      void s.end(why);
    }
    try {
      const u = new URL(ep.url);
      const key = `${provider} ${u.protocol}//${u.host}`;
      this.#pools.get(key)?.destroy();
      this.#pools.delete(key);
    } catch {
      // not a URL: no pool was made for it
    }
  }

  /**
   * Reads a POST body up to the limit; answers 413 and returns undefined when
   * it is larger. The rest of an over-limit body is read and dropped (up to
   * `DRAIN_BYTES` more), not cut off: closing a connection the caller is still
   * writing to resets it, and the caller then sees ECONNRESET instead of the
   * 413. A body declared larger than that is answered at once and its
   * connection closed.
   */
  async #readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    const declared = Number(req.headers["content-length"]);
    const drainLimit = this.#maxBody + Math.max(DRAIN_BYTES, this.#maxBody);
    const tooLarge = (): void => {
      const hopeless = Number.isFinite(declared) && declared > drainLimit;
      this.#fail(
        res,
        413,
        RpcCode.BODY_TOO_LARGE,
        `the request body is larger than ${this.#maxBody} bytes (the proxy's limit)`,
        hopeless ? { connection: "close" } : {},
      );
      if (hopeless) {
        res.once("finish", () => req.destroy());
        return;
      }
      // Read what is left and drop it; a caller that sends far more than announced is cut off.
      let drained = 0;
      req.on("data", (c: Buffer) => {
        drained += c.length;
        if (drained > drainLimit) req.destroy();
      });
      req.resume();
    };
    if (Number.isFinite(declared) && declared > this.#maxBody) {
      tooLarge();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    return new Promise<Buffer | undefined>((resolve) => {
      let over = false;
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size > this.#maxBody) {
          over = true;
          req.off("data", onData);
          chunks.length = 0;
          tooLarge();
          resolve(undefined);
          return;
        }
        chunks.push(c);
      };
      req.on("data", onData);
      req.once("end", () => {
        if (!over) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      });
      req.once("error", () => {
        if (!over) resolve(undefined);
        over = true;
      });
    });
  }

  /**
   * Call traces handed off by another replica (replicas.ts): the replicas'
   * token, a JSON array of traces; each new one is published into the routed
   * feed (to the agent of its node), one already received is dropped.
   */
  async #acceptTraces(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const replicas = this.#replicas as Replicas;
    if (req.method !== "POST") {
      this.#drain(req);
      this.#fail(res, 405, RpcCode.INVALID_REQUEST, `${TRACES_PATH} takes POST`, { allow: "POST" });
      return;
    }
    if (!replicas.authorized(req.headers.authorization)) {
      this.#drain(req);
      this.stats.inc("auth_failures", { provider: "" });
      this.#fail(res, 401, RpcCode.UNAUTHENTICATED, "trace hand-off needs the replicas' token");
      return;
    }
    const read = await this.#readBody(req, res);
    if (read === undefined) return;
    let traces: hangar.CallTrace[];
    try {
      traces = parseTraceBatch(read);
    } catch (err) {
      this.#fail(res, 400, RpcCode.PARSE_ERROR, `not a batch of call traces: ${(err as Error).message}`);
      return;
    }
    let accepted = 0;
    for (const t of traces) {
      const key = traceKey(t);
      if (this.#received.has(key)) continue;
      this.#received.add(key);
      if (this.#received.size > 200_000)
        this.#received.delete(this.#received.values().next().value as string);
      this.#routed.publish(t);
      accepted++;
    }
    this.stats.inc("traces_received", {}, accepted);
    const body = JSON.stringify({ accepted, duplicates: traces.length - accepted });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  }

  #drain(req: IncomingMessage): void {
    req.resume();
  }

  /** Closes sessions idle for longer than `sessionIdleMs` (no request, nothing in flight). Returns how many. */
  sweepIdle(now = performance.now()): number {
    let n = 0;
    for (const s of [...this.#sessions.values()]) {
      if (s.inFlight > 0 || now - s.lastActive < this.#idleMs) continue;
      n++;
      this.stats.inc("sessions_idle_closed", { provider: s.provider });
      this.#remember(
        s.id,
        RpcCode.SESSION_NOT_FOUND,
        `the session was idle for more than ${this.#idleMs} ms`,
      );
      void s.end(`the session was idle for more than ${this.#idleMs} ms`, true);
    }
    return n;
  }

  /** Ends every session (callers get their streams closed) and releases connections. */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    clearInterval(this.#keepAlive);
    this.#unsubscribe();
    await Promise.all([...this.#sessions.values()].map((s) => s.end("the proxy is shutting down")));
    this.#agent.destroy();
    for (const p of this.#providers.values()) p.https?.destroy();
    for (const p of this.#pools.values()) p.destroy();
    this.#pools.clear();
  }
}
