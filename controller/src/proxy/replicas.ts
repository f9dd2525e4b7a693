/**
 * Scale-out: any number of proxy replicas behind one address. A session is
 * owned by the replica that opened it, and its id says which
 * (`<replica>_<uuid>`); a request that lands on another replica (the caller's
 * load balancer spreads connections, and a caller holds several: its GET
 * stream, its POSTs, a resumption) is forwarded as it came to the owner, over
 * HTTP to the owner's address from the peer list (static, or the pods of the
 * proxy's own headless Service), with the body already read and the answer,
 * SSE streams included, piped back. Only replicas in the peer list are ever
 * dialled, whatever a caller writes in a session id.
 *
 * Call traces reach the agent hub, which runs on the Lease holder, by hand-off:
 * each replica's traces go, in order and in batches, to the collector (the
 * Service that selects the leader) over `POST /_hangar/v1/traces` with the
 * replicas' shared token; a batch leaves the replica's outbox only when the
 * collector answered 200, after publishing it into its own feed (so its router
 * sends each trace to the agent of the serving pod's node). A failed batch is
 * sent again (the collector drops a trace it already has: same span, start or
 * end), to whichever replica leads by then. A replica that stops (SIGTERM:
 * scale-down, rolling update, eviction) drains its outbox before it exits, so
 * no trace it published is lost; a replica killed outright loses what was not
 * yet acknowledged (milliseconds' worth; see controller/README.md).
 */
import { timingSafeEqual, randomUUID } from "node:crypto";
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { H1Pool } from "./h1.js";
import { errorBody } from "./jsonrpc.js";
import { RpcCode } from "./errors.js";

/** The internal path the collector takes call traces on (outside the MCP base path). */
export const TRACES_PATH = "/_hangar/v1/traces";
/** Set on a request one replica forwards to another (never forwarded again). */
export const FORWARDED_HEADER = "x-hangar-forwarded-by";
/** The replicas' token on a forwarded request: the owner trusts the first replica's Host/Origin check. */
export const PEER_TOKEN_HEADER = "x-hangar-peer-token";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "content-length",
  "host",
]);

export interface ReplicaOptions {
  /** This replica's id (the pod name): the prefix of the session ids it issues. */
  self: string;
  /** Shared by the replicas: authenticates trace hand-offs. */
  token: string;
  /** The base URL (`http://ip:port`) of a replica, or undefined when it is not (any more) a peer. */
  peer: (id: string) => string | undefined;
  /** Where call traces go when this replica does not lead (the leader's Service); none: keep them. */
  collector?: string;
  /** Whether this replica leads (its own traces then stay in its feed). Default: no collector means yes. */
  isLeader?: () => boolean;
}

export class Replicas {
  readonly self: string;
  readonly #o: ReplicaOptions;
  readonly #token: Buffer;
  /** Keep-alive connections to each peer (the lean HTTP/1.1 client the POSTs to pods use). */
  readonly #pools = new Map<string, H1Pool>();

  constructor(o: ReplicaOptions) {
    // eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, one optional group (DNS name syntax)
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.self))
      throw new Error(`replica id "${o.self}" is not a pod-name-like name`);
    this.self = o.self;
    this.#o = o;
    this.#token = Buffer.from(o.token);
  }

  get collector(): string | undefined {
    return this.#o.collector;
  }

  /** Whether this replica keeps its traces (it leads, or there is nowhere else to send them). */
  leads(): boolean {
    if (this.#o.collector === undefined) return true;
    return this.#o.isLeader?.() ?? false;
  }

  newSessionId(): string {
    return `${this.self}_${randomUUID()}`;
  }

  /** The replica that owns a session id, or undefined when the id names none. */
  ownerOf(sessionId: string): string | undefined {
    const at = sessionId.lastIndexOf("_");
    return at > 0 ? sessionId.slice(0, at) : undefined;
  }

  peerUrl(id: string): string | undefined {
    return this.#o.peer(id);
  }

  /** Whether a request carries the replicas' token (`Authorization: Bearer`). */
  authorized(authorization: string | undefined): boolean {
    const m = /^Bearer (.+)$/.exec(authorization ?? "");
    return m !== null && this.isToken(m[1]);
  }

  isToken(value: string | string[] | undefined): boolean {
    if (typeof value !== "string") return false;
    const got = Buffer.from(value);
    return got.length === this.#token.length && timingSafeEqual(got, this.#token);
  }

  #pool(base: string): H1Pool {
    let pool = this.#pools.get(base);
    if (pool === undefined) {
      const u = new URL(base);
      // A forwarded GET stream holds its connection for as long as the caller listens: no small cap.
      pool = new H1Pool({
        protocol: "http:",
        host: u.hostname,
        port: Number(u.port || 80),
        maxSockets: 100_000,
      });
      this.#pools.set(base, pool);
    }
    return pool;
  }

  close(): void {
    for (const p of this.#pools.values()) p.destroy();
    this.#pools.clear();
  }

  /**
   * Forwards a caller's request to the replica that owns its session and
   * pipes the answer back. Resolves when the answer is over (or the caller
   * went away, which ends the forwarded request too).
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: string | undefined,
    owner: string,
    onUnreachable: (why: string) => void,
  ): Promise<void> {
    const base = this.#o.peer(owner);
    if (base === undefined) {
      onUnreachable(`its proxy replica ${owner} is gone`);
      return Promise.resolve();
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !HOP_BY_HOP.has(k) && k !== PEER_TOKEN_HEADER)
        // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
        headers[k] = Array.isArray(v) ? v.join(", ") : v;
    headers[FORWARDED_HEADER] = this.self;
    headers[PEER_TOKEN_HEADER] = this.#token.toString();
    if (typeof req.headers.host === "string") headers["x-forwarded-host"] = req.headers.host;
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        resolve();
      };
      const ex = this.#pool(base).request(req.method ?? "GET", req.url ?? "/", headers, body ?? "", {
        head: (status, h) => {
          const out: Record<string, string> = {};
          // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
          for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k)) out[k] = v;
          if (h["content-length"] !== undefined) out["content-length"] = h["content-length"];
          res.writeHead(status, out);
          if ((h["content-type"] ?? "").startsWith("text/event-stream")) res.flushHeaders();
        },
        // A copy: the pool's read buffer is reused, and the socket keeps what it is given until sent.
        data: (c) => res.write(Buffer.from(c)),
        end: () => {
          res.end();
          finish();
        },
        error: (err) => {
          if (!res.headersSent)
            onUnreachable(`its proxy replica ${owner} cannot be reached (${err.message})`);
          else res.destroy();
          finish();
        },
      });
      res.once("close", () => {
        if (!res.writableFinished) ex.abort();
        finish();
      });
    });
  }
}

/** A JSON-RPC error answer for a session whose replica is gone. */
export function replicaGone(res: ServerResponse, sessionId: string, why: string): void {
  const body = errorBody(
    RpcCode.SESSION_ENDED,
    `session ${sessionId} has ended: ${why}; start a new session (initialize)`,
  );
  res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export interface HandOffOptions {
  collector: string;
  token: string;
  /** Traces per POST. Default 256. */
  batch?: number;
  /**
   * How long a trace may wait for others to share its POST, in ms. Default 20: sending each
   * trace as it comes cost ~300 µs of CPU per call over both replicas at 1,500 calls/s.
   */
  lingerMs?: number;
  /** Traces held while the collector cannot be reached; then the oldest are dropped (counted). Default 100 000. */
  maxQueue?: number;
  /** Told about failed hand-offs (they are retried). */
  onError?: (err: Error) => void;
}

/** A trace's identity for de-duplication at the collector: its span, and whether it is the end. */
export function traceKey(t: hangar.CallTrace): string {
  return `${t.traceId}/${t.spanId}/${t.endTime === undefined ? "start" : "end"}`;
}

/**
 * The outbox of call traces towards the collector: in order, in batches, each
 * batch kept until the collector acknowledged it (see the module comment).
 */
export class TraceHandOff {
  readonly #o: HandOffOptions;
  readonly #queue: hangar.CallTrace[] = [];
  #inFlight: hangar.CallTrace[] = [];
  #sending = false;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #linger: NodeJS.Timeout | undefined;
  #flushNow = false;
  #backoffMs = 100;
  #idle: (() => void)[] = [];
  sent = 0;
  dropped = 0;
  failures = 0;

  constructor(o: HandOffOptions) {
    this.#o = o;
  }

  /** Traces not yet acknowledged by the collector. */
  get pending(): number {
    return this.#queue.length + this.#inFlight.length;
  }

  add(t: hangar.CallTrace): void {
    this.#queue.push(t);
    const max = this.#o.maxQueue ?? 100_000;
    if (this.#queue.length > max) {
      this.#queue.splice(0, this.#queue.length - max);
      this.dropped++;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#sending || this.#retry !== undefined || this.#queue.length === 0) {
      if (this.pending === 0) this.#settle();
      return;
    }
    const batch = this.#o.batch ?? 256;
    if (this.#queue.length < batch && !this.#flushNow) {
      // Let a few more traces come along, unless the batch is full or the replica is stopping.
      this.#linger ??= setTimeout(() => {
        this.#linger = undefined;
        this.#flushNow = true;
        this.#pump();
        this.#flushNow = false;
      }, this.#o.lingerMs ?? 20);
      return;
    }
    if (this.#linger !== undefined) {
      clearTimeout(this.#linger);
      this.#linger = undefined;
    }
    this.#sending = true;
    this.#inFlight = this.#queue.splice(0, batch);
    this.#post(this.#inFlight).then(
      () => {
        this.sent += this.#inFlight.length;
        this.#inFlight = [];
        this.#sending = false;
        this.#backoffMs = 100;
        // The next batch lingers as well (goes at once when the replica is stopping).
        this.#flushNow = this.#draining;
        this.#pump();
        this.#flushNow = false;
      },
      (err: unknown) => {
        this.failures++;
        this.#o.onError?.(err as Error);
        // Keep the batch first in line; send it again after a backoff.
        this.#queue.unshift(...this.#inFlight);
        this.#inFlight = [];
        this.#sending = false;
        if (this.#closed && this.#idle.length === 0) return;
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.#flushNow = true;
          this.#pump();
          this.#flushNow = false;
        }, this.#backoffMs);
        this.#retry.unref();
        this.#backoffMs = Math.min(this.#backoffMs * 2, 2000);
      },
    );
  }

  /** The replica is stopping: every trace goes at once. */
  #draining = false;

  #settle(): void {
    const waiting = this.#idle;
    this.#idle = [];
    for (const w of waiting) w();
  }

  #post(batch: hangar.CallTrace[]): Promise<void> {
    const body = encodeTraceBatch(batch);
    const url = new URL(TRACES_PATH, this.#o.collector);
    return new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: "POST",
          headers: {
            "content-type": TRACE_BATCH_TYPE,
            "content-length": body.length,
            authorization: `Bearer ${this.#o.token}`,
          },
          timeout: 10_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (s: string) => {
            if (text.length < 1024) text += s;
          });
          res.on("end", () => {
            if (res.statusCode === 200) resolve();
            else
              reject(new Error(`the collector ${url.origin} answered HTTP ${res.statusCode ?? 0}: ${text}`));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (err) => reject(new Error(`cannot hand traces to ${url.origin}: ${err.message}`)));
      req.end(body);
    });
  }

  /** Resolves when every trace added so far was acknowledged, or after `timeoutMs` (false then). */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    this.#draining = true;
    if (this.#linger !== undefined) {
      clearTimeout(this.#linger);
      this.#linger = undefined;
    }
    if (!this.#sending && this.#retry === undefined) {
      this.#flushNow = true;
      this.#pump();
      this.#flushNow = false;
    }
    if (this.#retry !== undefined) {
      // Try now rather than after the backoff: the replica is stopping.
      clearTimeout(this.#retry);
      this.#retry = undefined;
      this.#backoffMs = 100;
      this.#flushNow = true;
      this.#pump();
      this.#flushNow = false;
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(this.pending === 0), timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#retry = undefined;
    this.#linger = undefined;
  }
}

/** A hand-off body: `hangar.v1.CallTrace` messages in protobuf binary, each after its length (uint32, big-endian). */
export const TRACE_BATCH_TYPE = "application/x-hangar-call-traces";

export function encodeTraceBatch(batch: readonly hangar.CallTrace[]): Buffer {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const t of batch) {
    const bin = toBinary(hangar.CallTraceSchema, t);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bin.length);
    parts.push(len, bin);
    size += 4 + bin.length;
  }
  return Buffer.concat(parts, size);
}

/** Parses a hand-off body (see `encodeTraceBatch`); throws naming the trace that is not one. */
export function parseTraceBatch(body: Buffer): hangar.CallTrace[] {
  const out: hangar.CallTrace[] = [];
  let at = 0;
  while (at < body.length) {
    if (at + 4 > body.length) throw new Error(`[${out.length}]: truncated length`);
    const len = body.readUInt32BE(at);
    at += 4;
    if (at + len > body.length) throw new Error(`[${out.length}]: truncated (${len} bytes announced)`);
    try {
      out.push(fromBinary(hangar.CallTraceSchema, body.subarray(at, at + len)));
    } catch (err) {
      throw new Error(`[${out.length}]: not a hangar.v1.CallTrace: ${(err as Error).message}`);
    }
    at += len;
  }
  return out;
}
