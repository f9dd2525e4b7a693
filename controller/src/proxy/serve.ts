/**
 * Starting the proxy: its configuration (validated with field paths), pod
 * discovery (EndpointSlice watch, or static endpoints without Kubernetes), the
 * authenticator, and an HTTP server. `startProxy` is what `hangar-controller
 * proxy` runs; tests and benches call it directly.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type * as k8s from "@kubernetes/client-node";
import { Authenticator, type AuthConfig } from "./auth.js";
import { EndpointDirectory, watchEndpointSlices, type PodEndpoint, type SliceWatch } from "./endpoints.js";
import { ProxyError } from "./errors.js";
import { McpProxy, type ProviderConfig } from "./proxy.js";
import type { CorsConfig } from "./origin.js";
import { Redactor, type RedactionConfig } from "./redact.js";
import { ToolPolicy } from "./policy.js";
import { loadTls, parseProviderTls } from "./tls.js";
import { readFileSync } from "node:fs";
import { Replicas, TraceHandOff } from "./replicas.js";
import { TraceFeed } from "./feed.js";

export interface StaticEndpoint {
  url: string;
  pod?: string;
  namespace?: string;
  node?: string;
}

export interface ProxyConfig {
  /** `host:port` to listen on. Default "0.0.0.0:8080"; port 0 picks a free port. */
  listen?: string;
  basePath?: string;
  maxBodyBytes?: number;
  timeoutMs?: number;
  /** Sessions with no request and nothing in flight for this long are closed. Default 30 min. */
  sessionIdleMs?: number;
  /** Open sessions per caller (token subject, or client address); more get 429. Default 256. */
  maxSessionsPerCaller?: number;
  /** A caller's dropped SSE stream waits this long for a resume (GET + Last-Event-ID) before its calls are cancelled at the pod. Default 10 000. */
  resumeGraceMs?: number;
  /** Events (default 1000) and bytes (default 1 MiB) kept per SSE stream for replay. */
  replayMaxEvents?: number;
  replayMaxBytes?: number;
  providers: ProviderConfig[];
  /** Host names served besides the safe defaults (DNS-rebinding protection; see origin.ts); `*` for any. */
  allowedHosts?: string[];
  /** Browser origins served besides the request's own and loopback/cluster ones; `*` for any. */
  allowedOrigins?: string[];
  auth?: AuthConfig;
  redact?: RedactionConfig;
  /** Tests and local development only: EndpointSlice `ip:port` → base URL to dial instead (see endpoints.ts). */
  addressMap?: Record<string, string>;
  /** Pods per provider without Kubernetes (local development, benches). Providers listed here are not watched. */
  staticEndpoints?: Record<string, StaticEndpoint[]>;
  /** Scale-out: several replicas behind one address (see replicas.ts and controller/README.md). */
  replicas?: ReplicasConfig;
}

export interface ReplicasConfig {
  /** This replica's id, the prefix of its session ids. Default: $POD_NAME. */
  self?: string;
  /** The replicas' shared token (trace hand-off): a file path or the value. */
  token: string;
  /** The replicas by id (static: tests, local runs)… */
  peers?: Record<string, string>;
  /** …or the pods of the proxy's own (headless) Service, by pod name. */
  peerService?: { namespace: string; service: string; port?: string | number };
  /** Where this replica hands its call traces when it does not lead (the leader's Service). None: it keeps them. */
  collector?: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bad(where: string, message: string): never {
  throw new ProxyError("HANGAR_ERR_PROXY_CONFIG", `${where}: ${message}`, { details: { field: where } });
}

function str(o: Obj, k: string, where: string, required: boolean): string | undefined {
  const v = o[k];
  if (v === undefined) return required ? bad(`${where}.${k}`, "required") : undefined;
  if (typeof v !== "string" || v === "") bad(`${where}.${k}`, "must be a non-empty string");
  return v;
}

function posInt(o: Obj, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
    bad(`${where}.${k}`, "must be a positive integer");
  return v;
}

function strList(v: unknown, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) bad(where, "must be a list of strings");
  return v as string[];
}

const KNOWN_TOP = new Set([
  "listen",
  "basePath",
  "maxBodyBytes",
  "timeoutMs",
  "sessionIdleMs",
  "maxSessionsPerCaller",
  "resumeGraceMs",
  "replayMaxEvents",
  "replayMaxBytes",
  "providers",
  "allowedHosts",
  "allowedOrigins",
  "auth",
  "redact",
  "addressMap",
  "staticEndpoints",
  "replicas",
]);

const KNOWN_REPLICAS = new Set(["self", "token", "peers", "peerService", "collector"]);

function parseReplicas(raw: unknown, where: string): ReplicasConfig {
  if (!isObj(raw)) bad(where, "must be a mapping");
  for (const k of Object.keys(raw)) if (!KNOWN_REPLICAS.has(k)) bad(`${where}.${k}`, "unknown field");
  const token = str(raw, "token", where, true) as string;
  const out: ReplicasConfig = { token };
  const self = str(raw, "self", where, false);
  if (self !== undefined) out.self = self;
  const url = (v: unknown, at: string): string => {
    if (typeof v !== "string") bad(at, "must be an http:// URL");
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      bad(at, `"${v}" is not a URL`);
    }
    if (u.protocol !== "http:") bad(at, "must be an http:// URL");
    return v;
  };
  if (raw["peers"] !== undefined) {
    const peers = raw["peers"];
    if (!isObj(peers)) bad(`${where}.peers`, "must map a replica id to its URL");
    out.peers = Object.fromEntries(Object.entries(peers).map(([k, v]) => [k, url(v, `${where}.peers.${k}`)]));
  }
  if (raw["peerService"] !== undefined) {
    const ps = raw["peerService"];
    if (!isObj(ps)) bad(`${where}.peerService`, "must be a mapping");
    const port = ps["port"];
    if (port !== undefined && typeof port !== "string" && typeof port !== "number")
      bad(`${where}.peerService.port`, "must be a port name or number");
    out.peerService = {
      namespace: str(ps, "namespace", `${where}.peerService`, true) as string,
      service: str(ps, "service", `${where}.peerService`, true) as string,
      ...(port === undefined ? {} : { port }),
    };
  }
  if (out.peers === undefined && out.peerService === undefined) bad(where, "needs peers or peerService");
  if (raw["collector"] !== undefined) out.collector = url(raw["collector"], `${where}.collector`);
  return out;
}

/** The token's value: read from the file when it names one. */
function tokenValue(token: string, where: string): string {
  if (!token.startsWith("/")) return token;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the token file named in the operator's proxy configuration
    return readFileSync(token, "utf8").trim();
  } catch (err) {
    return bad(where, `cannot read ${token}: ${(err as Error).message}`);
  }
}

function checkOrigin(o: string, where: string): void {
  if (o === "*") return;
  let u: URL;
  try {
    u = new URL(o);
  } catch {
    bad(where, `"${o}" is not an origin (scheme://host[:port]) or "*"`);
  }
  if (u.origin !== o.replace(/\/+$/, "").toLowerCase() && u.origin !== o.replace(/\/+$/, ""))
    bad(where, `"${o}" is not an origin (scheme://host[:port], no path), or "*"`);
}

const KNOWN_CORS = new Set([
  "allowOrigins",
  "allowHeaders",
  "exposeHeaders",
  "maxAgeSeconds",
  "allowCredentials",
]);

function parseCors(raw: unknown, where: string): CorsConfig {
  if (!isObj(raw)) bad(where, "must be a mapping");
  for (const k of Object.keys(raw)) if (!KNOWN_CORS.has(k)) bad(`${where}.${k}`, "unknown field");
  const allowOrigins = strList(raw["allowOrigins"], `${where}.allowOrigins`);
  if (allowOrigins === undefined || allowOrigins.length === 0)
    bad(`${where}.allowOrigins`, 'required: a non-empty list of origins, or ["*"]');
  for (const [i, o] of allowOrigins.entries()) checkOrigin(o, `${where}.allowOrigins[${i}]`);
  const cfg: CorsConfig = { allowOrigins };
  const allowHeaders = strList(raw["allowHeaders"], `${where}.allowHeaders`);
  if (allowHeaders !== undefined) cfg.allowHeaders = allowHeaders;
  const exposeHeaders = strList(raw["exposeHeaders"], `${where}.exposeHeaders`);
  if (exposeHeaders !== undefined) cfg.exposeHeaders = exposeHeaders;
  const maxAge = raw["maxAgeSeconds"];
  if (maxAge !== undefined) {
    if (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge < 0)
      bad(`${where}.maxAgeSeconds`, "must be a non-negative integer");
    cfg.maxAgeSeconds = maxAge;
  }
  const cred = raw["allowCredentials"];
  if (cred !== undefined) {
    if (typeof cred !== "boolean") bad(`${where}.allowCredentials`, "must be true or false");
    if (cred && allowOrigins.includes("*"))
      bad(`${where}.allowCredentials`, 'cannot be true with allowOrigins ["*"]: list the origins');
    cfg.allowCredentials = cred;
  }
  return cfg;
}

/** Validates a parsed configuration (YAML or JSON); errors name the field, e.g. `config.providers[1].policy.mode`. */
export function parseProxyConfig(raw: unknown, where = "config"): ProxyConfig {
  if (!isObj(raw)) bad(where, "must be a mapping");
  for (const k of Object.keys(raw)) if (!KNOWN_TOP.has(k)) bad(`${where}.${k}`, "unknown field");
  const providersRaw = raw["providers"];
  if (!Array.isArray(providersRaw) || providersRaw.length === 0)
    bad(`${where}.providers`, "must be a non-empty list");
  const names = new Set<string>();
  const providers: ProviderConfig[] = providersRaw.map((p: unknown, i: number) => {
    const at = `${where}.providers[${i}]`;
    if (!isObj(p)) bad(at, "must be a mapping");
    const provider = str(p, "provider", at, true) as string;
    // eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, one optional group (DNS name syntax)
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(provider))
      bad(`${at}.provider`, `"${provider}" is not a DNS label-like name`);
    if (names.has(provider)) bad(`${at}.provider`, `"${provider}" is listed twice`);
    names.add(provider);
    const cfg: ProviderConfig = {
      provider,
      namespace: str(p, "namespace", at, false) ?? "default",
      service: str(p, "service", at, false) ?? provider,
    };
    const port = p["port"];
    if (port !== undefined) {
      if (typeof port !== "string" && (typeof port !== "number" || !Number.isInteger(port)))
        bad(`${at}.port`, "must be a port name or number");
      cfg.port = port;
    }
    const path = str(p, "path", at, false);
    if (path !== undefined) cfg.path = path;
    const timeoutMs = posInt(p, "timeoutMs", at);
    if (timeoutMs !== undefined) cfg.timeoutMs = timeoutMs;
    if (p["tls"] !== undefined) {
      cfg.tls = parseProviderTls(p["tls"], `${at}.tls`);
      loadTls(cfg.tls, `${at}.tls`); // the files exist, hold PEM and make a TLS context
    }
    if (p["cors"] !== undefined) cfg.cors = parseCors(p["cors"], `${at}.cors`);
    const pol = p["policy"];
    if (pol !== undefined) {
      if (!isObj(pol)) bad(`${at}.policy`, "must be a mapping");
      const mode = pol["mode"];
      if (mode !== undefined && mode !== "audit" && mode !== "enforce")
        bad(`${at}.policy.mode`, 'must be "audit" or "enforce"');
      const allow = strList(pol["allow"], `${at}.policy.allow`);
      const deny = strList(pol["deny"], `${at}.policy.deny`);
      cfg.policy = {
        ...(mode === undefined ? {} : { mode }),
        ...(allow === undefined ? {} : { allow }),
        ...(deny === undefined ? {} : { deny }),
      };
      try {
        new ToolPolicy(cfg.policy, `${at}.policy`);
      } catch (err) {
        bad(`${at}.policy`, (err as Error).message);
      }
    }
    return cfg;
  });
  const out: ProxyConfig = { providers };
  const listen = str(raw, "listen", where, false);
  if (listen !== undefined) out.listen = listen;
  const basePath = str(raw, "basePath", where, false);
  if (basePath !== undefined) out.basePath = basePath;
  const maxBodyBytes = posInt(raw, "maxBodyBytes", where);
  if (maxBodyBytes !== undefined) out.maxBodyBytes = maxBodyBytes;
  const timeoutMs = posInt(raw, "timeoutMs", where);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  const sessionIdleMs = posInt(raw, "sessionIdleMs", where);
  if (sessionIdleMs !== undefined) out.sessionIdleMs = sessionIdleMs;
  const maxSessionsPerCaller = posInt(raw, "maxSessionsPerCaller", where);
  if (maxSessionsPerCaller !== undefined) out.maxSessionsPerCaller = maxSessionsPerCaller;
  for (const k of ["resumeGraceMs", "replayMaxEvents", "replayMaxBytes"] as const) {
    const v = posInt(raw, k, where);
    if (v !== undefined) out[k] = v;
  }
  const allowedHosts = strList(raw["allowedHosts"], `${where}.allowedHosts`);
  if (allowedHosts !== undefined) out.allowedHosts = allowedHosts;
  const allowedOrigins = strList(raw["allowedOrigins"], `${where}.allowedOrigins`);
  if (allowedOrigins !== undefined) {
    for (const [i, o] of allowedOrigins.entries()) checkOrigin(o, `${where}.allowedOrigins[${i}]`);
    out.allowedOrigins = allowedOrigins;
  }
  if (raw["auth"] !== undefined) {
    if (!isObj(raw["auth"])) bad(`${where}.auth`, "must be a mapping");
    out.auth = raw["auth"];
    const jwt = out.auth.jwt as unknown;
    if (jwt !== undefined) {
      if (!isObj(jwt)) bad(`${where}.auth.jwt`, "must be a mapping");
      str(jwt, "issuer", `${where}.auth.jwt`, true);
      if (jwt["audience"] === undefined) bad(`${where}.auth.jwt.audience`, "required");
      if (jwt["jwksUri"] === undefined && jwt["jwks"] === undefined)
        bad(`${where}.auth.jwt`, "needs jwksUri or jwks");
    }
  }
  if (raw["redact"] !== undefined) {
    if (!isObj(raw["redact"])) bad(`${where}.redact`, "must be a mapping");
    out.redact = raw["redact"];
    try {
      new Redactor(out.redact, `${where}.redact`);
    } catch (err) {
      bad(`${where}.redact`, (err as Error).message);
    }
  }
  if (raw["addressMap"] !== undefined) {
    const m = raw["addressMap"];
    if (!isObj(m) || Object.values(m).some((v) => typeof v !== "string"))
      bad(`${where}.addressMap`, "must map ip:port to a URL");
    out.addressMap = m as Record<string, string>;
  }
  if (raw["staticEndpoints"] !== undefined) {
    const m = raw["staticEndpoints"];
    if (!isObj(m)) bad(`${where}.staticEndpoints`, "must map a provider to a list of endpoints");
    for (const [prov, list] of Object.entries(m)) {
      if (!names.has(prov)) bad(`${where}.staticEndpoints.${prov}`, "no provider of that name");
      if (!Array.isArray(list)) bad(`${where}.staticEndpoints.${prov}`, "must be a list");
      const withTls = providers.find((p) => p.provider === prov)?.tls !== undefined;
      list.forEach((e: unknown, i: number) => {
        const at = `${where}.staticEndpoints.${prov}[${i}]`;
        if (!isObj(e)) bad(at, "must be a mapping");
        const url = str(e, "url", at, true) as string;
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          bad(`${at}.url`, `"${url}" is not a URL`);
        }
        if (u.protocol !== "http:" && u.protocol !== "https:")
          bad(`${at}.url`, "must be http:// or https://");
        if (withTls && u.protocol !== "https:")
          bad(`${at}.url`, `provider "${prov}" has tls, so its endpoints must be https:// URLs`);
      });
    }
    out.staticEndpoints = m as Record<string, StaticEndpoint[]>;
  }
  if (raw["replicas"] !== undefined) {
    out.replicas = parseReplicas(raw["replicas"], `${where}.replicas`);
    tokenValue(out.replicas.token, `${where}.replicas.token`);
  }
  return out;
}

/** Endpoints from `staticEndpoints` (no Kubernetes). */
export function staticPodEndpoints(list: readonly StaticEndpoint[], namespace: string): PodEndpoint[] {
  return list.map((e, i) => {
    const u = new URL(e.url);
    const pod = e.pod ?? `static-${i}`;
    return {
      key: `${e.namespace ?? namespace}/${pod}`,
      podNamespace: e.namespace ?? namespace,
      podName: pod,
      podUid: "",
      node: e.node ?? "",
      address: u.hostname,
      port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
      url: e.url,
      ready: true,
      slice: "",
    };
  });
}

export interface StartProxyOptions {
  config: ProxyConfig;
  /** Needed when a provider is discovered through EndpointSlices, or for TokenReview. */
  kubeConfig?: k8s.KubeConfig;
  feed?: TraceFeed;
  /** Told about discovery failures (the watch retries by itself) and failed trace hand-offs. */
  onError?: (err: ProxyError) => void;
  /** With `replicas.collector`: whether this replica leads (then it keeps its call traces). Default: never. */
  isLeader?: () => boolean;
}

export interface RunningProxy {
  /** `http://host:port` the proxy listens on. */
  readonly url: string;
  readonly proxy: McpProxy;
  readonly directory: EndpointDirectory;
  /** Resolves when every watched provider's EndpointSlices have been listed once. */
  readonly synced: Promise<void>;
  /**
   * The call traces this replica delivers to its agents: its own while it leads (or has no
   * collector), and those other replicas handed to it. Without `replicas`: `proxy.feed`.
   */
  readonly routed: TraceFeed;
  /** The outbox towards the collector (with `replicas.collector`). */
  readonly handOff: TraceHandOff | undefined;
  /** Stops taking requests, ends the sessions, hands every trace off (up to `drainMs`), then stops. */
  close(drainMs?: number): Promise<void>;
}

function parseListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(":");
  const host = at <= 0 ? "0.0.0.0" : listen.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  const port = Number(at < 0 ? listen : listen.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ProxyError("HANGAR_ERR_PROXY_CONFIG", `listen: "${listen}" is not host:port`, {
      details: { field: "listen" },
    });
  return { host, port };
}

export async function startProxy(opts: StartProxyOptions): Promise<RunningProxy> {
  const c = opts.config;
  const directory = new EndpointDirectory();
  const watched = c.providers.filter((p) => c.staticEndpoints?.[p.provider] === undefined);
  for (const p of c.providers) {
    const list = c.staticEndpoints?.[p.provider];
    if (list !== undefined) directory.set(p.provider, staticPodEndpoints(list, p.namespace));
  }
  let watch: SliceWatch | undefined;
  if (watched.length > 0) {
    if (opts.kubeConfig === undefined)
      throw new ProxyError(
        "HANGAR_ERR_PROXY_CONFIG",
        `providers ${watched.map((p) => p.provider).join(", ")} are discovered through EndpointSlices, which needs a Kubernetes client configuration (in-cluster or --kubeconfig); or list them in staticEndpoints`,
      );
    watch = watchEndpointSlices({
      kubeConfig: opts.kubeConfig,
      services: watched,
      directory,
      ...(c.addressMap === undefined ? {} : { addressMap: c.addressMap }),
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
    });
  }
  const authenticator =
    c.auth === undefined
      ? undefined
      : new Authenticator({
          config: c.auth,
          ...(opts.kubeConfig === undefined ? {} : { kubeConfig: opts.kubeConfig }),
        });
  const r = await startReplicas(c, opts);
  const proxy = new McpProxy({
    ...(r === undefined ? {} : { replicas: r.replicas, routed: r.routed }),
    providers: c.providers,
    directory,
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(c.redact === undefined ? {} : { redactor: new Redactor(c.redact) }),
    ...(opts.feed === undefined ? {} : { feed: opts.feed }),
    ...(c.maxBodyBytes === undefined ? {} : { maxBodyBytes: c.maxBodyBytes }),
    ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }),
    ...(c.sessionIdleMs === undefined ? {} : { sessionIdleMs: c.sessionIdleMs }),
    ...(c.maxSessionsPerCaller === undefined ? {} : { maxSessionsPerCaller: c.maxSessionsPerCaller }),
    resume: {
      ...(c.resumeGraceMs === undefined ? {} : { graceMs: c.resumeGraceMs }),
      ...(c.replayMaxEvents === undefined ? {} : { maxEvents: c.replayMaxEvents }),
      ...(c.replayMaxBytes === undefined ? {} : { maxBytes: c.replayMaxBytes }),
    },
    ...(c.basePath === undefined ? {} : { basePath: c.basePath }),
    origins: {
      ...(c.allowedHosts === undefined ? {} : { allowedHosts: c.allowedHosts }),
      ...(c.allowedOrigins === undefined ? {} : { allowedOrigins: c.allowedOrigins }),
    },
  });
  const server: Server = createServer(proxy.handler);
  server.keepAliveTimeout = 65_000;
  const { host, port } = parseListen(c.listen ?? "0.0.0.0:8080");
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new ProxyError("HANGAR_ERR_PROXY_LISTEN", `cannot listen on ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  }).catch(async (err: unknown) => {
    await watch?.stop();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const dispatch = r === undefined ? undefined : r.dispatch(proxy.feed);
  return {
    url: `http://${shownHost}:${addr.port}`,
    proxy,
    directory,
    synced: watch?.synced ?? Promise.resolve(),
    routed: r?.routed ?? proxy.feed,
    handOff: r?.handOff,
    async close(drainMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await watch?.stop();
      await proxy.close();
      if (dispatch !== undefined && r !== undefined) {
        // The sessions' last traces (their ends) pass the dispatcher, then the outbox drains.
        await dispatch.settled();
        await r.handOff?.drain(drainMs);
        dispatch.stop();
        r.handOff?.close();
        await r.stop();
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

interface StartedReplicas {
  replicas: Replicas;
  routed: TraceFeed;
  handOff: TraceHandOff | undefined;
  /** Sends each of this replica's traces to `routed` (while it leads) or to the collector. */
  dispatch(feed: TraceFeed): { settled(): Promise<void>; stop(): void };
  stop(): Promise<void>;
}

async function startReplicas(c: ProxyConfig, opts: StartProxyOptions): Promise<StartedReplicas | undefined> {
  const rc = c.replicas;
  if (rc === undefined) return undefined;
  const self = rc.self ?? process.env["POD_NAME"] ?? "";
  if (self === "")
    throw new ProxyError("HANGAR_ERR_PROXY_CONFIG", "replicas.self: required (or set $POD_NAME)", {
      details: { field: "replicas.self" },
    });
  const token = tokenValue(rc.token, "replicas.token");
  const peerDir = new EndpointDirectory();
  let watch: SliceWatch | undefined;
  const ps = rc.peerService;
  if (ps !== undefined) {
    if (opts.kubeConfig === undefined)
      throw new ProxyError(
        "HANGAR_ERR_PROXY_CONFIG",
        "replicas.peerService needs a Kubernetes client configuration (in-cluster or --kubeconfig)",
      );
    watch = watchEndpointSlices({
      kubeConfig: opts.kubeConfig,
      services: [{ provider: PEERS, ...ps, path: "/" }],
      directory: peerDir,
      ...(c.addressMap === undefined ? {} : { addressMap: c.addressMap }),
      ...(opts.onError === undefined ? {} : { onError: opts.onError }),
    });
  }
  const peer = (id: string): string | undefined => {
    const fixed = rc.peers?.[id];
    if (fixed !== undefined) return fixed;
    const ep = peerDir.all(PEERS).find((e) => e.podName === id && e.ready);
    return ep === undefined ? undefined : new URL(ep.url).origin;
  };
  let replicas: Replicas;
  try {
    replicas = new Replicas({
      self,
      token,
      peer,
      ...(rc.collector === undefined ? {} : { collector: rc.collector }),
      ...(opts.isLeader === undefined ? {} : { isLeader: opts.isLeader }),
    });
  } catch (err) {
    await watch?.stop();
    throw new ProxyError("HANGAR_ERR_PROXY_CONFIG", `replicas.self: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const routed = new TraceFeed();
  const handOff =
    rc.collector === undefined
      ? undefined
      : new TraceHandOff({
          collector: rc.collector,
          token,
          onError: (err) =>
            opts.onError?.(
              new ProxyError("HANGAR_ERR_PROXY_DISCOVERY", `trace hand-off: ${err.message} (retried)`, {
                cause: err,
              }),
            ),
        });
  return {
    replicas,
    routed,
    handOff,
    dispatch(feed) {
      const ac = new AbortController();
      const sub = feed.subscribe(ac.signal, { maxQueue: 100_000 });
      const from = feed.published;
      let done = 0;
      void (async () => {
        for await (const t of sub) {
          // One decision per trace: this replica's hub (it leads) or the collector's.
          if (handOff === undefined || replicas.leads()) routed.publish(t);
          else handOff.add(t);
          done++;
        }
      })();
      return {
        // Every trace published so far has been dispatched (bounded: 2 s).
        settled: async () => {
          const until = performance.now() + 2000;
          while (done < feed.published - from && performance.now() < until)
            await new Promise((r) => setImmediate(r));
        },
        stop: () => ac.abort(),
      };
    },
    stop: async () => {
      replicas.close();
      await watch?.stop();
    },
  };
}

/** The provider key the peers' endpoints are kept under. */
const PEERS = "hangar-proxy-peers";
