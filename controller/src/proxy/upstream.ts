/**
 * The proxy's client side towards one pod: a Streamable HTTP client transport
 * that keeps, for every message it receives, the request whose POST stream
 * carried it. The SDK's client transport hands messages over without that
 * relation, and the proxy needs it to put a progress notification or a sampling
 * request of the server on the same downstream stream as the call it belongs
 * to; so this transport is written here. POSTs (the hot path) go over the lean
 * HTTP/1.1 client in h1.ts; the standalone GET stream and DELETE over node:http
 * with a keep-alive agent.
 *
 * Each JSON-RPC message is one POST (a downstream batch is split); the answer
 * is 202, a JSON body (one message or an array), or an SSE stream. A GET opens
 * the pod's standalone stream; DELETE ends the pod's session.
 */
import { request as httpRequest, type Agent, type ClientRequest } from "node:http";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { ENVELOPE_MIN_BYTES, readEnvelope } from "./envelope.js";
import type { H1Exchange, H1Pool } from "./h1.js";
import type { RequestId } from "./jsonrpc.js";
import { KeptBytes } from "./pieces.js";

export interface UpstreamEvents {
  /**
   * A message from the pod; `related` is the request whose POST stream carried
   * it; `raw` is its JSON text (or its bytes) when it can be forwarded as it came (one line).
   */
  message(
    msg: JSONRPCMessage,
    related: RequestId | undefined,
    bytes: number,
    raw: string | Buffer | undefined,
  ): void;
  /** The exchange of a POSTed message ended; `error` when it failed (transport or HTTP status). */
  done(related: RequestId | undefined, error: UpstreamFailure | undefined): void;
  /** The pod sent a priming event (an id, no data) on a request's stream; `retryMs` its `retry:`. */
  primed?(related: RequestId, retryMs: number | undefined): void;
  /** The pod ended a request's stream before answering, to be resumed (SEP-1699 polling). */
  paused?(related: RequestId): void;
  /** The pod named its session (its first answer carried `Mcp-Session-Id`). */
  sessionStarted?(): void;
  /** The pod ended its standalone GET stream. */
  standaloneEnded?(): void;
  /**
   * A large event on a request's stream (its data so far in `start`, in
   * pieces that are valid only during the call: copy what is kept): a sink
   * returned gets the rest as it arrives and the event is not passed to
   * `message` (see `StreamedMessage`).
   */
  large?(related: RequestId, start: readonly Buffer[]): StreamedMessage | undefined;
}

/** A large message from the pod passed on to the caller as it arrives. */
export interface StreamedMessage {
  /** More of its JSON text; false: wait for `drain` before reading on. */
  push(chunk: Buffer): boolean;
  /** `cb` once the caller took what was written (or is gone). */
  drain(cb: () => void): void;
  lineBreak(): void;
  /** The message is complete; true when it was the answer to the request (its stream ends). */
  end(): boolean;
  /** The pod's stream failed mid-message. */
  abort(err: UpstreamFailure): void;
}

/** What the caller sent that the pod must see as sent. */
export interface ForwardedHeaders {
  protocolVersion?: string;
  origin?: string;
}

export class UpstreamFailure extends Error {
  override readonly name = "UpstreamFailure";
  /** HTTP status from the pod, when there was one. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.status = status;
  }
}

export interface UpstreamOptions {
  url: string;
  /** For the standalone GET stream and DELETE (node:http; an https.Agent for https pods). */
  agent: Agent;
  /** Keep-alive connections to this pod for POSTs. */
  pool: H1Pool;
  events: UpstreamEvents;
  /** Largest SSE event or JSON body accepted from the pod. Default 16 MiB. */
  maxMessageBytes?: number;
}

/** A POST in flight; `abort()` ends it (the pod sees the connection close). */
export interface Exchange {
  abort(): void;
}

const ACCEPT = "application/json, text/event-stream";

/** JSON text that fits on one SSE `data:` line as it is (JSON has newlines only as whitespace). */
function oneLine(text: string): string | undefined {
  return text.includes("\n") || text.includes("\r") ? undefined : text;
}

/** The JSON text of an event's data, as bytes, when it fits on one SSE `data:` line as it is. */
function oneLineBytes(data: Buffer): Buffer | undefined {
  return data.indexOf(10) >= 0 || data.indexOf(13) >= 0 ? undefined : data;
}

/**
 * A JSON-RPC message from an event's bytes, or undefined when it is not JSON.
 * A large one that is forwarded as it came (one line) is read by its envelope
 * only (envelope.ts); others are decoded once and parsed.
 */
function parseMessage(data: Buffer): JSONRPCMessage | undefined {
  try {
    if (data.length >= ENVELOPE_MIN_BYTES && oneLineBytes(data) !== undefined) return readEnvelope(data);
    return JSON.parse(data.toString("utf8")) as JSONRPCMessage;
  } catch {
    return undefined;
  }
}

function withCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined || err.message.includes(code) ? err.message : `${err.message} (${code})`;
}

/** What an SSE event carried: its data (joined lines) as bytes, its id when it had one. */
export interface SseEvent {
  data: Buffer;
  id: string | undefined;
}

const EMPTY = Buffer.alloc(0);
const LF = Buffer.from("\n");

/** An event whose data line grows past this without ending is offered for streaming (`onLarge`). */
export const STREAM_MIN_BYTES = 64 * 1024;

/**
 * Where the data of one large event goes as it arrives (instead of being held
 * whole): the JSON text, piece by piece (a CR, which only JSON whitespace can
 * be, comes as a space, so the caller's SSE framing stays intact), a line break
 * where the pod started another `data:` line, and the event's end with its id.
 */
export interface LargeSink {
  push(chunk: Buffer): void;
  lineBreak(): void;
  end(id: string | undefined): void;
}

/** `chunk` with every CR as a space (a copy only when it has one). */
function noCr(chunk: Buffer): Buffer {
  if (chunk.indexOf(13) < 0) return chunk;
  const c = Buffer.from(chunk);
  for (let i = c.indexOf(13); i >= 0; i = c.indexOf(13, i + 1)) c[i] = 0x20;
  return c;
}

/**
 * `chunk` with every CR and LF as a space (a copy only when it has one): a
 * JSON body's line breaks can only be whitespace, and the caller gets the
 * message on one SSE `data:` line.
 */
function oneLineJson(chunk: Buffer): Buffer {
  if (chunk.indexOf(10) < 0 && chunk.indexOf(13) < 0) return chunk;
  const c = Buffer.from(chunk);
  for (let i = 0; i < c.length; i++) if (c[i] === 10 || c[i] === 13) c[i] = 0x20;
  return c;
}

/**
 * An incremental SSE parser over bytes (the WHATWG event-stream rules the MCP
 * transport uses: `data`, `id`, `retry`, comments; lines end with LF or
 * CRLF). Feed it the body's chunks; it calls `onEvent` per dispatched event,
 * including events without data (a priming event: an id and empty data), and
 * `onRetry` for a `retry:` field. Each chunk is searched once for line ends
 * (`Buffer.indexOf`); an unfinished line is kept as a list of chunks and
 * joined when its end arrives, and an event's data stays bytes until the
 * caller decodes it once: the parser that re-searched its whole text buffer
 * per chunk made large responses quadratic, and decoding every chunk to text
 * and joining cost 5.7 ms per 4 MiB. `push` returns false when one event
 * grows over `max` bytes.
 */
export class SseParser {
  readonly #max: number;
  readonly #onEvent: (e: SseEvent) => void;
  readonly #onRetry: (ms: number) => void;
  /** Copies of the line not yet ended (in recycled pieces). */
  readonly #kept = new KeptBytes();
  #data: Buffer[] = [];
  #dataLen = 0;
  #id: string | undefined;
  #sawId = false;
  readonly #onLarge: ((start: readonly Buffer[]) => LargeSink | undefined) | undefined;
  readonly #streamMin: number;
  /** The event being streamed (its data goes to the sink as it arrives). */
  #sink: LargeSink | undefined;
  /** Inside a `data:` line of the streamed event. */
  #sinkLine = false;
  #sinkBytes = 0;
  /** The line being read was offered for streaming already (and refused). */
  #offered = false;

  /**
   * `onLarge`: asked once per event whose first data line grows past
   * `streamMin` bytes without ending, with the data so far in pieces (which
   * it takes on during the call: they may be views of reused buffers); a sink
   * it returns gets the rest of the event's data as it arrives, and `onEvent`
   * is not called for that event.
   */
  constructor(
    max: number,
    onEvent: (e: SseEvent) => void,
    onRetry: (ms: number) => void = () => undefined,
    onLarge?: (start: readonly Buffer[]) => LargeSink | undefined,
    streamMin = STREAM_MIN_BYTES,
  ) {
    this.#max = max;
    this.#onEvent = onEvent;
    this.#onRetry = onRetry;
    this.#onLarge = onLarge;
    this.#streamMin = streamMin;
  }

  /** An event is being streamed to its sink. */
  get streaming(): boolean {
    return this.#sink !== undefined;
  }

  push(chunk: Buffer): boolean {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      if (this.#sinkLine) {
        const end = nl < 0 ? chunk.length : nl;
        if (end > from) {
          this.#sinkBytes += end - from;
          if (this.#sinkBytes > this.#max) return false;
          (this.#sink as LargeSink).push(noCr(chunk.subarray(from, end)));
        }
        if (nl < 0) return true;
        this.#sinkLine = false;
        from = nl + 1;
        continue;
      }
      if (nl < 0) {
        if (from < chunk.length) {
          const rest = from === 0 ? chunk : chunk.subarray(from);
          if (
            this.#kept.length + rest.length >= this.#streamMin &&
            this.#onLarge !== undefined &&
            !this.#offered &&
            this.#sink === undefined &&
            this.#data.length === 0 &&
            this.#offer(rest)
          )
            return this.#sinkBytes <= this.#max;
          // A copy: the chunk may be a read buffer that is reused (h1.ts).
          this.#kept.keep(rest);
        }
        return this.#kept.length + this.#dataLen <= this.#max;
      }
      this.#offered = false;
      let line = chunk.subarray(from, nl);
      if (this.#kept.length > 0) {
        line = Buffer.concat(this.#kept.viewsThen(line), this.#kept.length + line.length);
        this.#kept.release();
      }
      this.#line(line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line);
      if (this.#dataLen > this.#max) return false;
      from = nl + 1;
    }
  }

  /**
   * The unfinished line (what is kept, then `rest`, a view of the current
   * chunk) is a large first data line: offered to `onLarge` once, in pieces,
   * without joining or copying them. True when a sink took it.
   */
  #offer(rest: Buffer): boolean {
    if (this.#kept.length + rest.length < 6) return false; // not yet known to be a data line
    this.#offered = true;
    const views = this.#kept.viewsThen(rest);
    const byte = (i: number): number | undefined => {
      for (const v of views) {
        if (i < v.length) return v[i];
        i -= v.length;
      }
      return undefined;
    };
    if (!(byte(0) === 100 && byte(1) === 97 && byte(2) === 116 && byte(3) === 97 && byte(4) === 58))
      return false;
    let skip = byte(5) === 32 ? 6 : 5;
    const start: Buffer[] = [];
    let bytes = 0;
    for (const v of views) {
      if (skip >= v.length) {
        skip -= v.length;
        continue;
      }
      const piece = noCr(skip > 0 ? v.subarray(skip) : v);
      skip = 0;
      start.push(piece);
      bytes += piece.length;
    }
    const sink = (this.#onLarge as (start: readonly Buffer[]) => LargeSink | undefined)(start);
    if (sink === undefined) return false;
    this.#sink = sink;
    this.#sinkLine = true;
    this.#sinkBytes = bytes;
    this.#kept.release();
    return true;
  }

  #line(line: Buffer): void {
    if (line.length === 0) {
      this.#dispatch();
      return;
    }
    if (line[0] === 58 /* ':' comment */) return;
    const colon = line.indexOf(58);
    const end = colon < 0 ? line.length : colon;
    const valueAt = colon < 0 ? line.length : line[colon + 1] === 32 ? colon + 2 : colon + 1;
    // Field names are ASCII and short: compare bytes, decode only values that are kept.
    if (end === 4 && line[0] === 100 && line[1] === 97 && line[2] === 116 && line[3] === 97) {
      const v = line.subarray(valueAt);
      if (this.#sink !== undefined) {
        // Another data line of the streamed event: the JSON goes on after a line break.
        this.#sink.lineBreak();
        this.#sinkBytes += v.length + 1;
        this.#sink.push(noCr(v));
        return;
      }
      // A copy (the line may be a view of a reused read buffer); small values come from the pool slab.
      this.#data.push(Buffer.from(v));
      this.#dataLen += v.length + 1;
      return;
    }
    const field = line.toString("latin1", 0, end);
    if (field === "id") {
      const v = line.toString("utf8", valueAt);
      if (!v.includes("\0")) {
        this.#id = v;
        this.#sawId = true;
      }
    } else if (field === "retry") {
      const v = line.toString("latin1", valueAt);
      if (/^\d+$/.test(v)) this.#onRetry(Number(v));
    }
  }

  #dispatch(): void {
    const sink = this.#sink;
    if (sink !== undefined) {
      this.#sink = undefined;
      const id = this.#sawId ? this.#id : undefined;
      this.#sawId = false;
      sink.end(id);
      return;
    }
    const n = this.#data.length;
    let data: Buffer;
    if (n === 0) data = EMPTY;
    else if (n === 1) data = this.#data[0] as Buffer;
    else {
      const parts: Buffer[] = [];
      for (const [i, d] of this.#data.entries()) {
        if (i > 0) parts.push(LF);
        parts.push(d);
      }
      data = Buffer.concat(parts);
    }
    const id = this.#sawId ? this.#id : undefined;
    this.#data = [];
    this.#dataLen = 0;
    this.#sawId = false;
    if (n === 0 && id === undefined) return; // a lone retry, an empty block
    this.#onEvent({ data, id });
  }
}

/** The standalone GET stream's state at the pod. */
export interface StandaloneResult {
  /** The pod's HTTP status (200: the stream is open); 0 when it could not be reached. */
  status: number;
  /** The pod's body or the error, when it did not open the stream. */
  message: string;
}

export class Upstream {
  readonly #url: URL;
  readonly #path: string;
  readonly #agent: Agent;
  readonly #pool: H1Pool;
  readonly #events: UpstreamEvents;
  readonly #max: number;
  /** The pod's Mcp-Session-Id (not the one the caller sees). */
  sessionId: string | undefined;
  /** The negotiated version, for what the proxy sends on its own (cancellations, DELETE). */
  protocolVersion: string | undefined;
  #get: ClientRequest | undefined;
  /** Resolves when the pod has answered the standalone GET (while it is being opened). */
  #opening: Promise<StandaloneResult> | undefined;
  /** The last event id the pod sent on its standalone stream (to resume it there). */
  #standaloneLastId: string | undefined;
  #closed = false;
  readonly #open = new Set<ClientRequest>();
  readonly #posts = new Set<H1Exchange>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(opts: UpstreamOptions) {
    this.#url = new URL(opts.url);
    this.#path = this.#url.pathname + this.#url.search;
    this.#agent = opts.agent;
    this.#pool = opts.pool;
    this.#events = opts.events;
    this.#max = opts.maxMessageBytes ?? 16 * 1024 * 1024;
  }

  get url(): string {
    return this.#url.toString();
  }

  /** While the standalone GET is being opened at the pod: resolves when it answered. */
  get standaloneOpening(): Promise<StandaloneResult> | undefined {
    return this.#opening;
  }

  /**
   * Headers of a request to the pod: the session, then what the caller sent
   * that the pod must see as the caller sent it (`Mcp-Protocol-Version`, which
   * decides what the pod sends, such as priming events; `Origin`). Without a
   * caller header the proxy's own request carries the negotiated version.
   */
  #headers(extra: Record<string, string>, caller: ForwardedHeaders | undefined): Record<string, string> {
    const h: Record<string, string> = { accept: ACCEPT, ...extra };
    if (this.sessionId !== undefined) h["mcp-session-id"] = this.sessionId;
    if (caller !== undefined) {
      if (caller.protocolVersion !== undefined) h["mcp-protocol-version"] = caller.protocolVersion;
      if (caller.origin !== undefined) h["origin"] = caller.origin;
    } else if (this.protocolVersion !== undefined) h["mcp-protocol-version"] = this.protocolVersion;
    return h;
  }

  #request(method: string, headers: Record<string, string>): ClientRequest {
    const req = httpRequest({
      protocol: this.#url.protocol,
      hostname: this.#url.hostname,
      port: this.#url.port,
      path: this.#path,
      method,
      agent: this.#agent,
      headers,
    });
    this.#open.add(req);
    req.once("close", () => this.#open.delete(req));
    return req;
  }

  /**
   * POSTs one message. `related` is the id of the request (for a request), used
   * to route what comes back. `caller`: the caller's headers to pass on (none
   * for the proxy's own messages).
   */
  post(
    msg: JSONRPCMessage,
    related: RequestId | undefined,
    traceparent: string | undefined,
    raw?: string,
    caller?: ForwardedHeaders,
  ): Exchange {
    const host = this.#url.host;
    const body = raw ?? JSON.stringify(msg);
    const headers = this.#headers({ "content-type": "application/json" }, caller);
    if (traceparent !== undefined) headers["traceparent"] = traceparent;
    let finished = false;
    let status = 0;
    let onData: (c: Buffer) => void = () => undefined;
    let onEnd: () => void = () => done(undefined);
    let onFail: (err: UpstreamFailure) => void = () => undefined;
    let resumed: Exchange | undefined;
    const done = (err: UpstreamFailure | undefined): void => {
      if (finished) return;
      finished = true;
      this.#posts.delete(ex);
      this.#events.done(related, err);
    };
    const fail = (err: UpstreamFailure): void => {
      ex.abort();
      onFail(err);
      done(err);
    };
    const ex = this.#pool.request("POST", this.#path, headers, body, {
      head: (st, h) => {
        status = st;
        const sid = h["mcp-session-id"];
        if (sid !== undefined && this.sessionId === undefined && st >= 200 && st < 300) {
          this.sessionId = sid;
          this.#events.sessionStarted?.();
        }
        const type = (h["content-type"] ?? "").toLowerCase();
        if (st === 202) return;
        if (st < 200 || st >= 300) {
          let text = "";
          onData = (c) => {
            if (text.length < 2048) text += c.toString("utf8");
          };
          onEnd = () =>
            done(
              new UpstreamFailure(
                `${host} answered HTTP ${st}${text === "" ? "" : `: ${text.slice(0, 512)}`}`,
                st,
              ),
            );
          return;
        }
        if (type.startsWith("text/event-stream")) {
          const sse = this.#sseStream(related, ex);
          onFail = (err) => sse.abortLarge(() => err);
          onData = (c) => {
            if (!sse.push(c)) fail(new UpstreamFailure(`${host} sent an SSE event over ${this.#max} bytes`));
          };
          onEnd = () => {
            sse.abortLarge(() => new UpstreamFailure(`${host} ended the stream in the middle of a message`));
            // SEP-1699 polling: the pod ended the stream before answering, after an event id: the
            // answer comes on a GET with Last-Event-ID, after the pod's retry interval.
            if (related !== undefined && !sse.answered && sse.lastId !== undefined && !this.#closed) {
              this.#events.paused?.(related);
              resumed = this.#resumeStream(related, sse, caller, (err) => done(err));
              return;
            }
            done(undefined);
          };
          return;
        }
        if (type.startsWith("application/json")) {
          const kept = new KeptBytes();
          let size = 0;
          // A large JSON answer goes on to the caller as it arrives, as a large SSE event does.
          let offered = false;
          let large: StreamedMessage | undefined;
          const toLarge = (m: StreamedMessage, c: Buffer): void => {
            if (!m.push(oneLineJson(c))) {
              ex.pause();
              m.drain(() => ex.resume());
            }
          };
          onData = (c) => {
            size += c.length;
            if (size > this.#max) {
              fail(new UpstreamFailure(`${host} sent a body over ${this.#max} bytes`));
              return;
            }
            if (large !== undefined) {
              toLarge(large, c);
              return;
            }
            if (
              !offered &&
              size >= STREAM_MIN_BYTES &&
              related !== undefined &&
              this.#events.large !== undefined
            ) {
              offered = true;
              // Offered in pieces (what is kept, then this chunk), neither joined nor copied.
              const m = this.#events.large(related, kept.viewsThen(c).map(oneLineJson));
              if (m !== undefined) {
                large = m;
                kept.release();
                onFail = (err) => {
                  const l = large;
                  large = undefined;
                  l?.abort(err);
                };
                return;
              }
            }
            kept.keep(c); // a copy: the chunk may be a reused read buffer (h1.ts)
          };
          onEnd = () => {
            if (large !== undefined) {
              const l = large;
              large = undefined;
              l.end();
              done(undefined);
              return;
            }
            const body = kept.detach();
            const first = body.findIndex((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09);
            if (size >= ENVELOPE_MIN_BYTES && body[first] === 0x7b && oneLineBytes(body) !== undefined) {
              // One large message: routed by its envelope, forwarded as its bytes.
              let m: JSONRPCMessage;
              try {
                m = readEnvelope(body);
              } catch (err) {
                done(new UpstreamFailure(`${host} sent JSON that does not parse: ${(err as Error).message}`));
                return;
              }
              this.#events.message(m, related, size, body);
              done(undefined);
              return;
            }
            const text = body.toString("utf8");
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch (err) {
              done(new UpstreamFailure(`${host} sent JSON that does not parse: ${(err as Error).message}`));
              return;
            }
            const list = Array.isArray(parsed) ? (parsed as JSONRPCMessage[]) : [parsed as JSONRPCMessage];
            const each = list.length === 1 ? size : Math.round(size / list.length);
            const one = Array.isArray(parsed) ? undefined : oneLine(text);
            for (const m of list) this.#events.message(m, related, each, one);
            done(undefined);
          };
          return;
        }
        fail(new UpstreamFailure(`${host} answered with content-type "${type}" (not MCP)`, st));
      },
      data: (c) => onData(c),
      end: () => onEnd(),
      error: (err) => {
        const failure =
          status === 0
            ? new UpstreamFailure(`cannot reach ${host}: ${withCode(err)}`, undefined, err)
            : new UpstreamFailure(`${host} closed the stream: ${withCode(err)}`, status, err);
        onFail(failure);
        done(failure);
      },
    });
    if (!finished) this.#posts.add(ex);
    return {
      abort: () => {
        finished = true;
        this.#posts.delete(ex);
        ex.abort();
        resumed?.abort();
      },
    };
  }

  /**
   * The SSE body of a request's stream (a POST's, or its resumption's): parses
   * events, hands messages on with `related`, passes priming events on
   * (`primed`), and remembers the last event id and retry interval.
   */
  #sseStream(related: RequestId | undefined, flow: Flow): SseStreamState {
    let large: StreamedMessage | undefined;
    const state: SseStreamState = {
      answered: false,
      lastId: undefined,
      retryMs: undefined,
      push: (c) => parser.push(c),
      abortLarge: (why) => {
        const l = large;
        large = undefined;
        l?.abort(why());
      },
    };
    // A large answer goes on to the caller as it arrives (the session decides whether it can);
    // the pod is read only as fast as the caller takes it.
    const onLarge =
      related === undefined || this.#events.large === undefined
        ? undefined
        : (start: readonly Buffer[]): LargeSink | undefined => {
            const m = this.#events.large?.(related, start);
            if (m === undefined) return undefined;
            large = m;
            const push = (c: Buffer): void => {
              if (large === m && !m.push(c)) {
                flow.pause();
                m.drain(() => flow.resume());
              }
            };
            return {
              push,
              lineBreak: () => m.lineBreak(),
              end: (id) => {
                if (large !== m) return;
                large = undefined;
                if (id !== undefined) state.lastId = id;
                if (m.end()) state.answered = true;
              },
            };
          };
    const parser = new SseParser(
      this.#max,
      (e) => {
        if (e.id !== undefined) state.lastId = e.id;
        if (e.data.length === 0) {
          if (e.id !== undefined && related !== undefined) this.#events.primed?.(related, state.retryMs);
          return;
        }
        const m = parseMessage(e.data);
        // A malformed event is skipped; the request then ends without its answer and is reported.
        if (m === undefined) return;
        if (related !== undefined && "id" in m && m.id === related && !("method" in m)) state.answered = true;
        this.#events.message(m, related, e.data.length, oneLineBytes(e.data));
      },
      (ms) => (state.retryMs = ms),
      onLarge,
    );
    return state;
  }

  /**
   * Resumes a request's stream at the pod (GET + Last-Event-ID) after the pod's
   * retry interval, again until the pod answers or ends a stream without a new
   * event id. `end` is told once, with an error when the pod could not resume it.
   */
  #resumeStream(
    related: RequestId,
    prev: SseStreamState,
    caller: ForwardedHeaders | undefined,
    end: (err: UpstreamFailure | undefined) => void,
  ): Exchange {
    let req: ClientRequest | undefined;
    let aborted = false;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (aborted || this.#closed) return;
      const headers = this.#headers(
        { accept: "text/event-stream", "last-event-id": prev.lastId ?? "" },
        caller,
      );
      const r = this.#request("GET", headers);
      req = r;
      r.on("response", (res) => {
        if (res.statusCode !== 200) {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (t: string) => {
            if (text.length < 2048) text += t;
          });
          res.once("end", () =>
            end(
              new UpstreamFailure(
                `${this.#url.host} refused to resume the stream (GET with Last-Event-ID ${prev.lastId ?? ""}): HTTP ${res.statusCode ?? 0}${text === "" ? "" : `: ${text.slice(0, 512)}`}`,
                res.statusCode,
              ),
            ),
          );
          return;
        }
        const sse = this.#sseStream(related, res);
        sse.lastId = prev.lastId;
        sse.retryMs = prev.retryMs;
        res.on("data", (c: Buffer) => {
          if (!sse.push(c)) {
            res.destroy();
            const err = new UpstreamFailure(`${this.#url.host} sent an SSE event over ${this.#max} bytes`);
            sse.abortLarge(() => err);
            end(err);
          }
        });
        res.once("end", () => {
          sse.abortLarge(
            () => new UpstreamFailure(`${this.#url.host} ended the stream in the middle of a message`),
          );
          if (aborted) return;
          if (!sse.answered && sse.lastId !== undefined && sse.lastId !== prev.lastId && !this.#closed) {
            const next = this.#resumeStream(related, sse, caller, end);
            inner = next;
            return;
          }
          end(undefined);
        });
        res.once("error", (err) => {
          const failure = new UpstreamFailure(`${this.#url.host} closed the stream: ${withCode(err)}`);
          sse.abortLarge(() => failure);
          end(failure);
        });
      });
      r.on("error", (err) =>
        end(
          new UpstreamFailure(`cannot reach ${this.#url.host} to resume: ${withCode(err)}`, undefined, err),
        ),
      );
      r.end();
    }, prev.retryMs ?? 0);
    this.#timers.add(timer);
    let inner: Exchange | undefined;
    return {
      abort: () => {
        aborted = true;
        clearTimeout(timer);
        this.#timers.delete(timer);
        req?.destroy();
        inner?.abort();
      },
    };
  }

  /**
   * Opens the pod's standalone SSE stream (server-initiated messages), once,
   * with the caller's headers. Resolves when the pod has answered (200: open),
   * so the caller's GET is answered only when the pod's stream exists, and
   * nothing the pod sends on it right after can be lost; a 405 means the pod
   * has none. When the pod ends the stream, `standaloneEnded` is told.
   */
  openStandalone(caller?: ForwardedHeaders): Promise<StandaloneResult> {
    if (this.#closed) return Promise.resolve({ status: 0, message: "the session is closed" });
    if (this.#opening !== undefined) return this.#opening;
    if (this.#get !== undefined) return Promise.resolve({ status: 200, message: "" });
    const extra: Record<string, string> = { accept: "text/event-stream" };
    if (this.#standaloneLastId !== undefined) extra["last-event-id"] = this.#standaloneLastId;
    const req = this.#request("GET", this.#headers(extra, caller));
    this.#get = req;
    const ended = (): void => {
      if (this.#get !== req) return;
      this.#get = undefined;
      if (!this.#closed) this.#events.standaloneEnded?.();
    };
    const opening = new Promise<StandaloneResult>((resolve) => {
      req.on("response", (res) => {
        if (res.statusCode !== 200) {
          if (this.#get === req) this.#get = undefined;
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (t: string) => {
            if (text.length < 2048) text += t;
          });
          res.once("end", () => resolve({ status: res.statusCode ?? 0, message: text.slice(0, 512) }));
          res.once("error", () => resolve({ status: res.statusCode ?? 0, message: text.slice(0, 512) }));
          return;
        }
        const parser = new SseParser(this.#max, (e) => {
          if (e.id !== undefined) this.#standaloneLastId = e.id;
          if (e.data.length === 0) return;
          const m = parseMessage(e.data);
          if (m === undefined) return;
          this.#events.message(m, undefined, e.data.length, oneLineBytes(e.data));
        });
        res.on("data", (c: Buffer) => {
          if (!parser.push(c)) res.destroy();
        });
        res.once("close", ended);
        res.once("error", ended);
        resolve({ status: 200, message: "" });
      });
      req.on("error", (err) => {
        if (this.#get === req) this.#get = undefined;
        resolve({ status: 0, message: `cannot reach ${this.#url.host}: ${withCode(err)}` });
      });
    });
    this.#opening = opening;
    void opening.then(() => {
      if (this.#opening === opening) this.#opening = undefined;
    });
    req.end();
    return opening;
  }

  /** Ends the pod's session (DELETE), best effort, and closes every open exchange. */
  async close(sendDelete: boolean, caller?: ForwardedHeaders): Promise<{ status: number } | undefined> {
    if (this.#closed) return undefined;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const r of this.#open) r.destroy();
    for (const ex of this.#posts) ex.abort();
    this.#posts.clear();
    if (!sendDelete || this.sessionId === undefined) return undefined;
    return new Promise((resolve) => {
      const req = this.#request("DELETE", this.#headers({}, caller));
      req.setTimeout(2000, () => req.destroy());
      req.on("response", (res) => {
        res.resume();
        res.once("end", () => resolve({ status: res.statusCode ?? 0 }));
      });
      req.on("error", () => resolve(undefined));
      req.on("close", () => resolve(undefined));
      req.end();
    });
  }
}

interface SseStreamState {
  /** The response to the request was among the events. */
  answered: boolean;
  lastId: string | undefined;
  retryMs: number | undefined;
  push(c: Buffer): boolean;
  /** The stream failed or ended: a message being streamed is cut off (told once; `why` made only then). */
  abortLarge(why: () => UpstreamFailure): void;
}

/** Reading of a pod's stream, paused while the caller cannot keep up. */
interface Flow {
  pause(): void;
  resume(): void;
}
