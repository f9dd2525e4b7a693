/**
 * One MCP session through the proxy: the caller's side is a Streamable HTTP
 * server transport (`DownstreamTransport`: SSE streams, the session header,
 * protocol version checks, GET and DELETE), the pod's side is a client
 * transport (`Upstream`). Messages
 * pass between them unchanged; the session looks only at what policy and call
 * traces need (method, tool name, arguments, ids, the result's `isError`), and
 * rewrites one thing: in enforce mode, denied tools are removed from a
 * `tools/list` result.
 */
import type { Agent, IncomingMessage } from "node:http";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import type { Identity } from "./auth.js";
import { DownstreamTransport, type ResumeOptions } from "./downstream.js";
import type { H1Pool } from "./h1.js";
import type { PodEndpoint } from "./endpoints.js";
import { RpcCode } from "./errors.js";
import type { TraceFeed } from "./feed.js";
import { EnvelopeScanner, isEnvelope } from "./envelope.js";
import { errorResponse, isNotification, isRequest, isResponse, type RequestId } from "./jsonrpc.js";
import type { ToolPolicy } from "./policy.js";
import { toValue, type Redactor } from "./redact.js";
import { childContext, formatTraceparent } from "./traceparent.js";
import {
  Upstream,
  type Exchange,
  type ForwardedHeaders,
  type StreamedMessage,
  UpstreamFailure,
} from "./upstream.js";
import type { ProxyStats } from "./stats.js";

/**
 * The wall clock as a protobuf Timestamp. Date.now(), like the sensors' clocks:
 * a monotonic clock offset from the process start can drift from the wall clock
 * by milliseconds, which is the scale correlation works at.
 */
export function nowTimestamp(): Timestamp {
  const ms = Date.now();
  const seconds = Math.floor(ms / 1000);
  // Calls in the same second share the BigInt of their seconds (two timestamps per call).
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    lastSecondsBig = BigInt(seconds);
  }
  return {
    $typeName: "google.protobuf.Timestamp",
    seconds: lastSecondsBig,
    nanos: Math.floor((ms - seconds * 1000) * 1e6),
  };
}
let lastSeconds = 0;
let lastSecondsBig = 0n;

interface InFlight {
  readonly id: RequestId;
  readonly method: string;
  readonly trace: hangar.CallTrace;
  readonly t0: number;
  exchange: Exchange | undefined;
  timer: NodeJS.Timeout | undefined;
  answered: boolean;
  /** Its answer is being passed through as it arrives (a large one). */
  streaming: StreamedMessage | undefined;
}

export interface SessionOptions {
  provider: string;
  endpoint: PodEndpoint;
  identity: Identity;
  policy: ToolPolicy;
  redactor: Redactor;
  feed: TraceFeed;
  stats: ProxyStats;
  agent: Agent;
  /** Keep-alive connections to the session's pod, for POSTs. */
  pool: H1Pool;
  timeoutMs: number;
  /** Resumability of the caller's streams (replay buffer, grace before a dropped call is cancelled). */
  resume?: ResumeOptions;
  sessionIdGenerator: () => string;
  onInitialized: (s: ProxySession) => void;
  onClosed: (s: ProxySession) => void;
}

/** The caller's headers the pod must see as the caller sent them. */
function forwarded(headers: IncomingMessage["headers"]): ForwardedHeaders {
  const pv = headers["mcp-protocol-version"];
  const origin = headers["origin"];
  return {
    ...(typeof pv === "string" ? { protocolVersion: pv } : {}),
    ...(typeof origin === "string" ? { origin } : {}),
  };
}

const LF = Buffer.from("\n");

/** The string form of a JSON-RPC id, as call traces carry it. */
function idString(id: RequestId): string {
  return typeof id === "string" ? id : String(id);
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

export class ProxySession {
  readonly provider: string;
  readonly endpoint: PodEndpoint;
  readonly identity: Identity;
  readonly transport: DownstreamTransport;
  readonly upstream: Upstream;
  clientName = "";
  clientVersion = "";
  /** Why the session ended, once it has. */
  endedReason: string | undefined;
  /** The JSON-RPC code a caller still using the session's id gets (default: unknown session). */
  endedCode: number | undefined;
  /** The pod's answer to the proxy's standalone GET (405: it has none); undefined until known. */
  standaloneStatus: number | undefined;
  /** The Origin of the caller's initialize, passed on with the proxy's own standalone GET. */
  #initOrigin: string | undefined;
  /** The caller ended the session itself (DELETE). */
  deletedByCaller = false;
  readonly #o: SessionOptions;
  readonly #inflight = new Map<RequestId, InFlight>();
  /** Size of the POST body that carried the message being dispatched (set by the proxy). */
  bodyBytes = 0;
  /** That body's text when it is one message (forwarded as it came, not serialized again). */
  rawBody: string | undefined;
  /** performance.now() of the caller's last request (for the idle sweep). */
  lastActive = performance.now();

  constructor(o: SessionOptions) {
    this.#o = o;
    this.provider = o.provider;
    this.endpoint = o.endpoint;
    this.identity = o.identity;
    this.upstream = new Upstream({
      url: o.endpoint.url,
      agent: o.agent,
      pool: o.pool,
      events: {
        message: (m, related, bytes, raw) => this.#fromPod(m, related, bytes, raw),
        done: (related, err) => this.#podDone(related, err),
        primed: (related, retryMs) => {
          if (this.#inflight.has(related)) this.transport.prime(related, retryMs);
        },
        paused: (related) => {
          if (this.#inflight.has(related)) this.transport.pause(related);
        },
        standaloneEnded: () => this.transport.endStandalone(),
        large: (related, start) => this.#largeFromPod(related, start),
        // The pod gave the session an id: so does the proxy (before anything of the stream goes out).
        sessionStarted: () => this.transport.confirm(),
      },
    });
    this.transport = new DownstreamTransport({
      sessionIdGenerator: o.sessionIdGenerator,
      onsessioninitialized: () => o.onInitialized(this),
      onsessionclosed: () => void this.upstream.close(true),
      onabandoned: (ids, why) => this.#abandoned(ids, why),
      ...(o.resume === undefined ? {} : { resume: o.resume }),
      count: (what, n) => o.stats.inc(`streams_${what}`, { provider: o.provider }, n),
    });
    this.transport.onmessage = (m, headers) => this.#fromCaller(m, headers);
    this.transport.onclose = () => this.#closed();
  }

  get id(): string {
    return this.transport.sessionId ?? "";
  }

  get inFlight(): number {
    return this.#inflight.size;
  }

  #caller(): hangar.Caller {
    return {
      $typeName: "hangar.v1.Caller",
      subject: this.identity.subject,
      issuer: this.identity.issuer,
      authMethod: this.identity.authMethod,
      clientName: this.clientName,
      clientVersion: this.clientVersion,
    };
  }

  #newTrace(
    id: RequestId,
    method: string,
    params: Record<string, unknown> | undefined,
    traceparent: string | undefined,
    bytes: number,
  ) {
    const ctx = childContext(traceparent);
    let tool = "";
    let args: unknown = undefined;
    switch (method) {
      case "tools/call":
      case "prompts/get":
        tool = typeof params?.["name"] === "string" ? params["name"] : "";
        args = params?.["arguments"];
        break;
      case "resources/read":
      case "resources/subscribe":
      case "resources/unsubscribe":
        tool = typeof params?.["uri"] === "string" ? params["uri"] : "";
        break;
      default:
        if (params !== undefined) {
          const { _meta: _, ...rest } = params;
          args = Object.keys(rest).length === 0 ? undefined : rest;
        }
    }
    const e = this.endpoint;
    const trace: hangar.CallTrace = {
      $typeName: "hangar.v1.CallTrace",
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: ctx.parentSpanId,
      sessionId: this.id,
      provider: this.provider,
      tool,
      method,
      caller: this.#caller(),
      podNamespace: e.podNamespace,
      podName: e.podName,
      podUid: e.podUid,
      node: e.node,
      startTime: nowTimestamp(),
      status: hangar.CallStatus.UNSPECIFIED,
      error: "",
      requestId: idString(id),
      requestBytes: BigInt(bytes),
      responseBytes: 0n,
      policyWouldDeny: false,
      policyRule: "",
    };
    if (args !== undefined) trace.arguments = toValue(this.#o.redactor.redact(args));
    return { trace, traceparent: formatTraceparent(ctx) };
  }

  #finish(f: InFlight, status: hangar.CallStatus, error: string, responseBytes: number): void {
    if (f.answered) return;
    f.answered = true;
    if (f.timer !== undefined) clearTimeout(f.timer);
    this.#inflight.delete(f.id);
    const end: hangar.CallTrace = {
      ...f.trace,
      endTime: nowTimestamp(),
      status,
      error,
      responseBytes: BigInt(responseBytes),
    };
    this.#o.feed.publish(end);
    this.#o.stats.observeCall(this.provider, f.method, status, performance.now() - f.t0);
  }

  /** Sends to the caller; a stream the caller already closed is not an error of the proxy. */
  #toCaller(m: JSONRPCMessage, related?: RequestId, raw?: string | Buffer): void {
    if (!this.transport.send(m, related, raw)) this.#o.stats.inc("undeliverable");
  }

  #fromCaller(m: JSONRPCMessage, headers: IncomingMessage["headers"]): void {
    const tpHeader = headers["traceparent"];
    if (isRequest(m)) {
      const params = obj(m.params);
      if (m.method === "initialize") {
        const origin = headers["origin"];
        if (typeof origin === "string") this.#initOrigin = origin;
        const info = obj(params?.["clientInfo"]);
        if (typeof info?.["name"] === "string") this.clientName = info["name"];
        if (typeof info?.["version"] === "string") this.clientVersion = info["version"];
      }
      const metaTp = obj(params?.["_meta"])?.["traceparent"];
      const tp = typeof tpHeader === "string" ? tpHeader : typeof metaTp === "string" ? metaTp : undefined;
      const { trace, traceparent } = this.#newTrace(m.id, m.method, params, tp, this.bodyBytes);
      const f: InFlight = {
        id: m.id,
        method: m.method,
        trace,
        t0: performance.now(),
        exchange: undefined,
        timer: undefined,
        answered: false,
        streaming: undefined,
      };
      if (m.method === "tools/call") {
        const d = this.#o.policy.decide(trace.tool);
        if (!d.allowed) {
          trace.policyWouldDeny = true;
          trace.policyRule = d.rule;
          this.#o.stats.inc("policy_denied", { provider: this.provider, mode: this.#o.policy.mode });
        }
        if (d.enforced) {
          const msg = `tool "${trace.tool}" is not allowed on provider "${this.provider}" (${d.rule}; policy mode enforce)`;
          this.#inflight.set(m.id, f);
          this.#finish(f, hangar.CallStatus.DENIED, msg, 0);
          this.#toCaller(
            errorResponse(m.id, RpcCode.TOOL_DENIED, msg, {
              provider: this.provider,
              tool: trace.tool,
              rule: d.rule,
            }),
          );
          return;
        }
      }
      this.#inflight.set(m.id, f);
      this.#o.feed.publish(trace);
      f.timer = setTimeout(() => this.#timeout(f), this.#o.timeoutMs);
      f.exchange = this.upstream.post(m, m.id, traceparent, this.rawBody, forwarded(headers));
      return;
    }
    if (isNotification(m) && m.method === "notifications/cancelled") {
      const rid = obj(m.params)?.["requestId"];
      const f = typeof rid === "string" || typeof rid === "number" ? this.#inflight.get(rid) : undefined;
      if (f !== undefined) {
        const reason = obj(m.params)?.["reason"];
        this.#finish(
          f,
          hangar.CallStatus.CANCELLED,
          typeof reason === "string" ? reason : "cancelled by the caller",
          0,
        );
        // Tell the pod first (on its own POST), then drop the call's stream on both sides:
        // a cancelled request gets no answer, so neither stream would ever end by itself.
        this.#stopAtPod(f, m);
        this.transport.closeSSEStream(f.id);
        return;
      }
    }
    // Other notifications, and the caller's answers to the pod's requests (sampling, elicitation, roots).
    this.upstream.post(
      m,
      undefined,
      typeof tpHeader === "string" ? tpHeader : undefined,
      this.rawBody,
      forwarded(headers),
    );
  }

  #fromPod(
    m: JSONRPCMessage,
    related: RequestId | undefined,
    bytes: number,
    raw: string | Buffer | undefined,
  ): void {
    if (raw !== undefined && isEnvelope(m) && isResponse(m)) {
      const method = this.#inflight.get(m.id)?.method;
      // Answers the proxy reads, not only routes: parsed whole (they are rarely large).
      if (method === "initialize" || method === "tools/list")
        m = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8")) as JSONRPCMessage;
    }
    if (isResponse(m)) {
      const f = this.#inflight.get(m.id);
      if (f !== undefined) {
        if (f.method === "initialize") {
          const pv = obj(m.result)?.["protocolVersion"];
          if (typeof pv === "string") this.upstream.protocolVersion = pv;
          // The session exists once the pod named it or accepted initialize (a pod without
          // sessions); a refused or failed initialize leaves none.
          if (m.error === undefined) {
            this.transport.confirm();
            this.#openStandalone();
          }
        }
        let status = hangar.CallStatus.OK;
        let error = "";
        if (m.error !== undefined) {
          status = hangar.CallStatus.ERROR;
          error = `${m.error.code}: ${m.error.message}`;
        } else if (f.method === "tools/call" && obj(m.result)?.["isError"] === true) {
          status = hangar.CallStatus.ERROR;
          error = "the tool reported an error (isError)";
        } else if (f.method === "tools/list" && this.#filterTools(m)) {
          raw = undefined; // changed: serialize what is left
        }
        this.#finish(f, status, error, bytes);
        this.#toCaller(m, undefined, raw);
        if (f.method === "initialize" && !this.transport.confirmed)
          void this.end(`initialize failed: ${error}`);
        return;
      }
      // An answer to a request that already timed out or was cancelled: the caller has its answer.
      this.#o.stats.inc("late_responses");
      return;
    }
    this.#toCaller(m, related !== undefined && this.#inflight.has(related) ? related : undefined, raw);
  }

  /**
   * A large message on a request's stream, its start in `start` (pieces valid during the call): when it is
   * the answer (its first members say so), it goes on to the caller as it
   * arrives, read only for what the call trace needs (envelope.ts), instead of
   * being held whole: a 4 MiB answer then costs the caller one hop of latency
   * per chunk, not the whole body twice. Answers the proxy reads or changes
   * (initialize, tools/list), other messages, and streams the caller could
   * resume are held whole as before (undefined).
   */
  #largeFromPod(related: RequestId, start: readonly Buffer[]): StreamedMessage | undefined {
    const f = this.#inflight.get(related);
    if (f === undefined || f.answered || f.method === "initialize" || f.method === "tools/list")
      return undefined;
    const scan = new EnvelopeScanner();
    try {
      for (const piece of start) scan.push(piece);
    } catch {
      return undefined; // not JSON: the whole event is read and reported as before
    }
    if (scan.kind !== "response") return undefined;
    const w = this.transport.openLarge(related);
    if (w === undefined) return undefined;
    // The pieces are valid only now: the writer copies them.
    for (const piece of start) w.write(piece);
    let bad: Error | undefined;
    const feed = (c: Buffer): void => {
      if (bad !== undefined) return;
      try {
        scan.push(c);
      } catch (err) {
        bad = err as Error;
      }
    };
    const streaming: StreamedMessage = {
      push: (c) => {
        feed(c);
        return w.write(c);
      },
      drain: (cb) => w.drain(cb),
      lineBreak: () => {
        feed(LF);
        w.lineBreak();
      },
      end: () => {
        f.streaming = undefined;
        let m: JSONRPCMessage;
        try {
          if (bad !== undefined) throw bad;
          m = scan.finish();
        } catch (err) {
          w.end(true);
          this.#finish(
            f,
            hangar.CallStatus.ERROR,
            `pod ${this.#podName()} of provider "${this.provider}" sent an answer that is not JSON: ${(err as Error).message}`,
            scan.bytes,
          );
          return true;
        }
        if (!isResponse(m) || m.id !== related) {
          // Not the answer to this request after all (a pod that answers another request on this
          // request's stream): it stays an event of this stream, which goes on.
          this.#o.stats.inc("responses_misrouted", { provider: this.provider });
          w.end(false);
          return false;
        }
        let status = hangar.CallStatus.OK;
        let error = "";
        if (m.error !== undefined) {
          status = hangar.CallStatus.ERROR;
          error = `${m.error.code}: ${m.error.message}`;
        } else if (scan.oversized.includes("error")) {
          status = hangar.CallStatus.ERROR;
          error = "an error over 64 KiB (not read)";
        } else if (f.method === "tools/call" && obj(m.result)?.["isError"] === true) {
          status = hangar.CallStatus.ERROR;
          error = "the tool reported an error (isError)";
        }
        this.#finish(f, status, error, scan.bytes);
        w.end(true);
        return true;
      },
      abort: (err) => {
        f.streaming = undefined;
        w.destroy();
        this.#finish(
          f,
          hangar.CallStatus.ERROR,
          `pod ${this.#podName()} of provider "${this.provider}" failed on ${f.method} in the middle of its answer: ${err.message}`,
          scan.bytes,
        );
      },
    };
    f.streaming = streaming;
    this.#o.stats.inc("responses_streamed", { provider: this.provider });
    return streaming;
  }

  /**
   * Hides denied tools from a tools/list result (enforce mode); in audit mode
   * counts what it would hide. True when it changed the result.
   */
  #filterTools(m: JSONRPCMessage): boolean {
    const result = obj((m as { result?: unknown }).result);
    const tools = result?.["tools"];
    if (result === undefined || !Array.isArray(tools) || this.#o.policy.empty) return false;
    const kept = tools.filter((t: unknown) => {
      const name = obj(t)?.["name"];
      return typeof name !== "string" || !this.#o.policy.decide(name).enforced;
    });
    const wouldHide = tools.filter((t: unknown) => {
      const name = obj(t)?.["name"];
      return typeof name === "string" && !this.#o.policy.decide(name).allowed;
    }).length;
    if (wouldHide > 0)
      this.#o.stats.inc("tools_hidden", { provider: this.provider, mode: this.#o.policy.mode }, wouldHide);
    if (kept.length === tools.length) return false;
    result["tools"] = kept;
    return true;
  }

  #podDone(related: RequestId | undefined, err: UpstreamFailure | undefined): void {
    if (this.endedReason !== undefined) return;
    if (related === undefined) {
      if (err !== undefined) this.#o.stats.inc("upstream_errors", { provider: this.provider });
      return;
    }
    const f = this.#inflight.get(related);
    if (f === undefined) return;
    this.#o.stats.inc("upstream_errors", { provider: this.provider });
    if (err?.status === 404 && this.upstream.sessionId !== undefined) {
      // The pod no longer knows the session (it restarted, or expired it): the session is over.
      this.endedCode = RpcCode.SESSION_ENDED;
      void this.end(
        `pod ${this.#podName()} of provider "${this.provider}" no longer knows the session (it answered 404; restarted?)`,
      );
      return;
    }
    const why =
      err === undefined
        ? `pod ${this.#podName()} of provider "${this.provider}" ended the stream without answering ${f.method}`
        : `pod ${this.#podName()} of provider "${this.provider}" failed on ${f.method}: ${err.message}`;
    this.#finish(f, hangar.CallStatus.ERROR, why, 0);
    this.#toCaller(errorResponse(f.id, RpcCode.UPSTREAM_UNAVAILABLE, why));
    if (f.method === "initialize" && !this.transport.confirmed) void this.end(`initialize failed: ${why}`);
  }

  /**
   * Opens the pod's standalone stream as soon as the session exists, not when
   * the caller's GET arrives: a caller (the SDK client) opens its GET and sends
   * its next POST at once, on connections of its own, and the proxy may read
   * the POST first; a server that sends a request on its standalone stream in
   * answer to that POST (sampling, elicitation) would send it before its stream
   * existed, and it would be lost. POSTs wait while this opens; what the pod
   * sends before the caller's GET is attached is kept and delivered to it.
   */
  #openStandalone(): void {
    const origin = this.#initOrigin;
    void this.upstream
      .openStandalone({
        ...(this.upstream.protocolVersion === undefined
          ? {}
          : { protocolVersion: this.upstream.protocolVersion }),
        ...(origin === undefined ? {} : { origin }),
      })
      .then((r) => {
        this.standaloneStatus = r.status;
      });
  }

  #podName(): string {
    const e = this.endpoint;
    return e.podName === "" ? e.key : `${e.podNamespace}/${e.podName}`;
  }

  #timeout(f: InFlight): void {
    if (f.answered) return;
    const why = `pod ${this.#podName()} of provider "${this.provider}" did not answer ${f.method} within ${this.#o.timeoutMs} ms`;
    this.#o.stats.inc("upstream_timeouts", { provider: this.provider });
    if (f.streaming !== undefined) {
      // Half of the answer went out already: the caller's stream is cut, as the pod's is.
      this.#finish(f, hangar.CallStatus.TIMEOUT, why, 0);
      f.streaming.abort(new UpstreamFailure(why));
      f.exchange?.abort();
      return;
    }
    this.#finish(f, hangar.CallStatus.TIMEOUT, why, 0);
    this.#toCaller(
      errorResponse(f.id, RpcCode.UPSTREAM_TIMEOUT, why, {
        provider: this.provider,
        timeoutMs: this.#o.timeoutMs,
      }),
    );
    // Let the server stop the work, then drop the exchange.
    this.#stopAtPod(f, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: f.id, reason: why },
    });
  }

  /** Sends the pod `notifications/cancelled` for a call, then drops the call's exchange. */
  #stopAtPod(f: InFlight, cancelled: JSONRPCMessage): void {
    const ex = f.exchange;
    this.upstream.post(cancelled, undefined, undefined);
    if (ex !== undefined) setImmediate(() => ex.abort());
  }

  /**
   * The caller's connection for these requests closed before their answers and
   * the caller did not resume it (see downstream.ts): the calls are cancelled
   * at the pod, traced CANCELLED with the reason, and the exchanges released.
   */
  #abandoned(ids: readonly RequestId[], why: string): void {
    for (const id of ids) {
      const f = this.#inflight.get(id);
      if (f === undefined) continue;
      this.#o.stats.inc("calls_abandoned", { provider: this.provider });
      this.#finish(f, hangar.CallStatus.CANCELLED, why, 0);
      this.#stopAtPod(f, {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason: why },
      });
    }
  }

  /**
   * Ends the session (its pod went away, it idled out, the proxy stops): every
   * open call gets a JSON-RPC error, then the streams close. `deleteUpstream`
   * also ends the pod's session (when the pod is still there).
   */
  async end(reason: string, deleteUpstream = false): Promise<void> {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    for (const f of [...this.#inflight.values()]) {
      this.#finish(f, hangar.CallStatus.ERROR, reason, 0);
      this.#toCaller(errorResponse(f.id, RpcCode.SESSION_ENDED, reason, { provider: this.provider }));
    }
    await this.upstream.close(deleteUpstream);
    this.transport.close();
  }

  #closed(): void {
    if (this.endedReason === undefined) this.endedReason = "the session was closed";
    for (const f of [...this.#inflight.values()])
      this.#finish(f, hangar.CallStatus.CANCELLED, this.endedReason, 0);
    void this.upstream.close(false);
    this.#o.onClosed(this);
  }
}
