/**
 * The proxy's server transport towards callers: MCP Streamable HTTP, server
 * side, for one session. It replaces the SDK's `StreamableHTTPServerTransport`
 * on this hot path (measured on the reference machine: 362 µs of CPU per
 * request through the SDK's transport, with its web-stream adapter and schema
 * parsing, against 142 µs for the bare HTTP exchange), because the proxy has
 * already parsed and checked every message (jsonrpc.ts) and only routes them.
 *
 * What it does, per the Streamable HTTP transport of the MCP specification:
 * - POST: `Accept` must list application/json and text/event-stream (406),
 *   `Content-Type` must be application/json (415); `initialize` opens the
 *   session (its id goes out in `Mcp-Session-Id`; a second initialize is 400);
 *   other requests need the session's `Mcp-Session-Id` and a supported
 *   `Mcp-Protocol-Version` when given (400). A body of only notifications and
 *   responses is answered 202. Requests get one SSE stream per POST, carrying
 *   every message related to them, which ends after the last response. The
 *   headers leave with the first event, and the last response leaves with the
 *   end of the stream, so a call answered at once costs one write.
 * - GET: the session's standalone SSE stream (one at a time: 409).
 * - DELETE: ends the session.
 *
 * Resumability, kept here rather than asked of the pod: the proxy re-frames
 * every message (a caller's batch is one POST per message to the pod), so the
 * pod's event ids could not name the caller's streams, and most servers keep
 * no event store; the proxy's own connection to the pod does not break when
 * the caller's does. So every event of a stream carries an id
 * `<stream>_<seq>` (unique in the session) and stays in the stream's bounded
 * replay buffer until the stream is over. The last response of a stream goes
 * without an id: a caller that got it is done, one that did not resumes from
 * the event before. The proxy sends a priming event (an id with empty data)
 * only when the pod primed the stream (`prime`), and ends the caller's stream
 * when the pod ended its own to be polled (`pause`), so a caller sees the
 * SEP-1699 behaviour of the server it talks to, no more: the SDK client (1.32)
 * reconnects after any stream that ended with a JSON-RPC *error* once it holds
 * an id, and would do so after every refused call if the proxy primed all.
 * A caller whose connection drops resumes with GET + `Last-Event-ID`:
 * it gets the events it missed, then the rest of the stream live.
 *
 * A caller whose POST stream goes away before its answers, and that does not
 * resume within `graceMs` (at once, when it never got an event id, as it then
 * cannot resume), has abandoned its requests: `onabandoned` is told, and the
 * session cancels them at the pod. (The specification says a disconnection is
 * not a cancellation; the grace period is what lets a caller resume first.)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type JSONRPCMessage, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { errorBody, isRequest, isResponse, type RequestId } from "./jsonrpc.js";
import { givePiece, takePiece } from "./pieces.js";

/** One SSE stream of the session: a POST's requests (no > 0) or the standalone GET stream (no 0). */
interface Stream {
  readonly no: number;
  /** The caller's connection, while attached. */
  res: ServerResponse | undefined;
  /** Requests of this POST still waiting for their response. */
  readonly pending: Set<RequestId>;
  /** Every response was sent (or the stream was dropped): nothing more will come. */
  ended: boolean;
  /** Seq of the last event with an id (0: none yet). */
  seq: number;
  /** Replay buffer: events `first`..`seq` (oldest evicted first), and the final response. */
  frames: string[];
  first: number;
  bytes: number;
  final: string | undefined;
  /** The caller was given an id of this stream, so it can resume it. */
  resumable: boolean;
  grace: NodeJS.Timeout | undefined;
  /** A large answer is being written through (`openLarge`): nothing else may be written meanwhile. */
  streaming: boolean;
}

/** A large answer written to the caller as it arrives from the pod (see `openLarge`). */
export interface LargeWriter {
  /** More of the message's JSON; false when the caller's connection is full (wait for `drain`). */
  write(chunk: Buffer): boolean;
  /** The pod split the JSON over another `data:` line: so does the caller's stream. */
  lineBreak(): boolean;
  drain(cb: () => void): void;
  /** The message is complete; `last`: it answered the request (the stream ends), else the stream goes on. */
  end(last: boolean): void;
  /** The message cannot be completed: the caller's connection is cut (as the pod's was). */
  destroy(): void;
}

export interface ResumeOptions {
  /** How long a dropped stream waits for the caller to resume before its requests are abandoned. Default 10 000 ms. */
  graceMs?: number;
  /** Events kept per stream for replay (oldest dropped first). Default 1000. */
  maxEvents?: number;
  /** Bytes kept per stream for replay. Default 1 MiB. */
  maxBytes?: number;
}

export interface DownstreamOptions {
  sessionIdGenerator: () => string;
  onsessioninitialized: (sessionId: string) => void;
  onsessionclosed: (sessionId: string) => void;
  /** The caller went away from these requests and did not come back (see the module comment). */
  onabandoned?: (ids: RequestId[], why: string) => void;
  resume?: ResumeOptions;
  /** Counts replays and lost events (stats). */
  count?: (what: "resumed" | "replayed" | "replay_gap" | "abandoned", n?: number) => void;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/** What precedes the data of a stream's last event (ASCII: its length is its byte length). */
const FINAL_HEAD = "event: message\ndata: ";
const FINAL_HEAD_BYTES = Buffer.from(FINAL_HEAD);
const FRAME_END = Buffer.from("\n\n");
const DATA_BREAK = Buffer.from("\ndata: ");
/** What a streamed answer may hold in the caller's connection before the pod is read on (bytes). */
const LARGE_BUFFER = 1024 * 1024;

/** The piece that streamed writes are copied into, and how many of its writes are not done. */
interface WritePiece {
  buf: Buffer;
  used: number;
  pending: number;
}
let writing: WritePiece | undefined;

/**
 * Writes a copy of `chunk` (pieces.ts): a chunk may be a view of a read buffer
 * that is reused (h1.ts), and a socket keeps what it is given until it is
 * sent. Writes are packed one after another into the current piece (so small
 * reads, such as TLS's 16 KiB, do not hold a piece each), and a piece goes
 * back when it is full and all its writes are done.
 */
function writeCopy(res: ServerResponse, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) {
    if (writing === undefined || writing.used === writing.buf.length) {
      if (writing !== undefined && writing.pending === 0) givePiece(writing.buf);
      writing = { buf: takePiece(), used: 0, pending: 0 };
    }
    const w = writing;
    const n = chunk.copy(w.buf, w.used, off);
    const view = w.buf.subarray(w.used, w.used + n);
    w.used += n;
    off += n;
    w.pending++;
    res.write(view, () => {
      if (--w.pending === 0 && w !== writing) givePiece(w.buf);
    });
  }
}

/** Recently finished resumable streams kept per session (one more replay each). */
const RECENT = 16;

function fail(res: ServerResponse, status: number, code: number, message: string): void {
  const body = errorBody(code, message);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function newStream(no: number, res: ServerResponse | undefined, pending: Set<RequestId>): Stream {
  return {
    no,
    res,
    pending,
    ended: false,
    seq: 0,
    frames: [],
    first: 1,
    bytes: 0,
    final: undefined,
    resumable: false,
    grace: undefined,
    streaming: false,
  };
}

export class DownstreamTransport {
  sessionId: string | undefined;
  /** Each message from the caller, with the headers of the HTTP request that carried it. */
  onmessage: ((m: JSONRPCMessage, headers: IncomingMessage["headers"]) => void) | undefined;
  onclose: (() => void) | undefined;
  readonly #o: DownstreamOptions;
  readonly #graceMs: number;
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  /** Request id → its stream, while the request waits for its response. */
  readonly #streams = new Map<RequestId, Stream>();
  /** Stream number → stream, while it can be resumed (open, or recently finished). */
  readonly #byNo = new Map<number, Stream>();
  readonly #recent: number[] = [];
  #nextNo = 1;
  readonly #standalone: Stream = newStream(0, undefined, new Set());
  /** Seq of the last standalone event written to a caller connection. */
  #standaloneDelivered = 0;
  #closed = false;
  #headers: Record<string, string> | undefined;
  /** The pod accepted the session (its initialize succeeded): its id may go out. */
  #confirmed = false;

  constructor(o: DownstreamOptions) {
    this.#o = o;
    this.#graceMs = o.resume?.graceMs ?? 10_000;
    this.#maxEvents = o.resume?.maxEvents ?? 1000;
    this.#maxBytes = o.resume?.maxBytes ?? 1024 * 1024;
    this.#byNo.set(0, this.#standalone);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Streams whose caller connection is gone and that wait for the caller to resume. */
  get detached(): number {
    let n = 0;
    for (const s of new Set(this.#streams.values())) if (s.res === undefined) n++;
    return n;
  }

  /**
   * The SSE response headers (built once per session): the session id goes out
   * only once the pod accepted the session, so a failed initialize leaves the
   * caller with no session to use.
   */
  #sse(): Record<string, string> {
    if (!this.#confirmed) return SSE_HEADERS;
    return (this.#headers ??= { ...SSE_HEADERS, "mcp-session-id": this.sessionId ?? "" });
  }

  /** The pod answered initialize with a result: the session exists (`onsessioninitialized`). */
  confirm(): void {
    if (this.#confirmed || this.sessionId === undefined) return;
    this.#confirmed = true;
    this.#o.onsessioninitialized(this.sessionId);
  }

  /** The caller's standalone GET stream is attached. */
  get standaloneAttached(): boolean {
    return this.#standalone.res !== undefined;
  }

  get confirmed(): boolean {
    return this.#confirmed;
  }

  /** Handles one HTTP request of the session (`body`: the parsed POST body, already checked). */
  handleRequest(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    if (this.#closed) {
      fail(res, 404, -32001, "Session not found");
      return;
    }
    switch (req.method) {
      case "POST":
        this.#post(req, res, body);
        return;
      case "GET":
        this.#get(req, res);
        return;
      case "DELETE":
        if (!this.#checkSession(req, res)) return;
        this.#o.onsessionclosed(this.sessionId ?? "");
        res.writeHead(200).end();
        this.close();
        return;
      default:
        res.writeHead(405, { allow: "GET, POST, DELETE" }).end();
    }
  }

  #checkSession(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.sessionId === undefined || !this.#confirmed) {
      fail(res, 400, -32000, "Bad Request: Server not initialized");
      return false;
    }
    if (req.headers["mcp-session-id"] !== this.sessionId) {
      fail(res, 404, -32001, "Session not found");
      return false;
    }
    const pv = req.headers["mcp-protocol-version"];
    if (typeof pv === "string" && !SUPPORTED_PROTOCOL_VERSIONS.includes(pv)) {
      fail(
        res,
        400,
        -32000,
        `Bad Request: Unsupported protocol version: ${pv} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`,
      );
      return false;
    }
    return true;
  }

  #post(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const accept = req.headers.accept ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      fail(
        res,
        406,
        -32000,
        "Not Acceptable: Client must accept both application/json and text/event-stream",
      );
      return;
    }
    const ct = req.headers["content-type"] ?? "";
    if (ct !== "application/json" && ct.split(";")[0]?.trim().toLowerCase() !== "application/json") {
      fail(res, 415, -32000, "Unsupported Media Type: Content-Type must be application/json");
      return;
    }
    if (Array.isArray(body)) {
      this.#postMany(req, res, body as JSONRPCMessage[]);
      return;
    }
    const m = body as JSONRPCMessage;
    if ("method" in m && m.method === "initialize") {
      if (!this.#init(res)) return;
    } else if (!this.#checkSession(req, res)) return;
    if (!isRequest(m)) {
      this.onmessage?.(m, req.headers);
      res.writeHead(202).end();
      return;
    }
    this.#open(res, new Set([m.id]));
    this.onmessage?.(m, req.headers);
  }

  #postMany(req: IncomingMessage, res: ServerResponse, messages: JSONRPCMessage[]): void {
    const init = messages.some((m) => "method" in m && m.method === "initialize");
    if (init) {
      if (messages.length > 1) {
        fail(res, 400, -32600, "Invalid Request: Only one initialization request is allowed");
        return;
      }
      if (!this.#init(res)) return;
    } else if (!this.#checkSession(req, res)) return;
    const requests = messages.filter(isRequest);
    if (requests.length === 0) {
      for (const m of messages) this.onmessage?.(m, req.headers);
      res.writeHead(202).end();
      return;
    }
    this.#open(res, new Set(requests.map((r) => r.id)));
    for (const m of messages) this.onmessage?.(m, req.headers);
  }

  #init(res: ServerResponse): boolean {
    if (this.sessionId !== undefined) {
      fail(res, 400, -32600, "Invalid Request: Server already initialized");
      return false;
    }
    this.sessionId = this.#o.sessionIdGenerator();
    return true;
  }

  #open(res: ServerResponse, pending: Set<RequestId>): void {
    const stream = newStream(this.#nextNo++, res, pending);
    for (const id of pending) this.#streams.set(id, stream);
    this.#attach(stream, res);
  }

  /** Binds a caller connection to a stream; when it closes early, the stream waits for a resume. */
  #attach(stream: Stream, res: ServerResponse): void {
    stream.res = res;
    if (stream.grace !== undefined) {
      clearTimeout(stream.grace);
      stream.grace = undefined;
    }
    res.once("close", () => {
      if (stream.res !== res) return;
      stream.res = undefined;
      if (stream.no === 0 || stream.ended) return;
      if (!stream.resumable) this.#abandon(stream, "the caller closed its request before the answer");
      else this.#waitForResume(stream);
    });
  }

  /** A detached resumable stream: its requests are abandoned unless the caller resumes in time. */
  #waitForResume(stream: Stream): void {
    if (stream.grace !== undefined) clearTimeout(stream.grace);
    stream.grace = setTimeout(
      () =>
        this.#abandon(
          stream,
          `the caller closed its request before the answer and did not resume within ${this.#graceMs} ms`,
        ),
      this.#graceMs,
    ).unref();
  }

  #abandon(stream: Stream, why: string): void {
    if (stream.ended || stream.res !== undefined) return;
    const ids = [...stream.pending];
    this.#drop(stream);
    this.#o.count?.("abandoned", ids.length);
    if (ids.length > 0) this.#o.onabandoned?.(ids, why);
  }

  #get(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? "").includes("text/event-stream")) {
      fail(res, 406, -32000, "Not Acceptable: Client must accept text/event-stream");
      return;
    }
    if (!this.#checkSession(req, res)) return;
    const last = req.headers["last-event-id"];
    if (typeof last === "string" && last !== "") {
      this.#resume(res, last);
      return;
    }
    if (this.#standalone.res !== undefined) {
      fail(res, 409, -32000, "Conflict: Only one SSE stream is allowed per session");
      return;
    }
    res.writeHead(200, this.#sse());
    // What the pod sent before the caller's stream existed (the proxy's stream to the pod opens
    // with the session), oldest first.
    const st = this.#standalone;
    const from = Math.max(0, this.#standaloneDelivered + 1 - st.first);
    for (let i = from; i < st.frames.length; i++) res.write(st.frames[i] ?? "");
    this.#standaloneDelivered = st.seq;
    res.flushHeaders();
    this.#attach(st, res);
  }

  /** GET with Last-Event-ID: the events of that stream after the id, then the rest live. */
  #resume(res: ServerResponse, last: string): void {
    const at = last.indexOf("_");
    const no = at > 0 ? Number(last.slice(0, at)) : NaN;
    const seq = at > 0 ? Number(last.slice(at + 1)) : NaN;
    const stream = Number.isInteger(no) && Number.isInteger(seq) ? this.#byNo.get(no) : undefined;
    if (stream === undefined || seq > stream.seq) {
      fail(
        res,
        400,
        -32000,
        `Bad Request: Last-Event-ID "${last}" names no stream of this session that can be resumed (it ended, or the id was never sent)`,
      );
      return;
    }
    this.#o.count?.("resumed");
    // A connection the proxy still holds for this stream is stale (the caller would not resume otherwise).
    const old = stream.res;
    stream.res = undefined;
    old?.end();
    res.writeHead(200, this.#sse());
    if (seq + 1 < stream.first) this.#o.count?.("replay_gap", stream.first - seq - 1);
    const from = Math.max(0, seq + 1 - stream.first);
    for (let i = from; i < stream.frames.length; i++) res.write(stream.frames[i] ?? "");
    const replayed = stream.frames.length - from + (stream.ended && stream.final !== undefined ? 1 : 0);
    if (replayed > 0) this.#o.count?.("replayed", replayed);
    if (stream.ended) {
      // Finished while the caller was away: this was its one replay.
      this.#byNo.delete(stream.no);
      res.end(stream.final);
      return;
    }
    res.flushHeaders();
    this.#attach(stream, res);
  }

  /** Writes (and keeps for replay) one event; `last` ends the stream with it. */
  #emit(
    stream: Stream,
    m: JSONRPCMessage | undefined,
    last: boolean,
    raw: string | Buffer | undefined,
    retryMs?: number,
  ): void {
    const res = stream.res;
    if (last && Buffer.isBuffer(raw)) {
      // The pod's bytes as they came (a large answer is not decoded, framed and encoded again).
      if (stream.resumable) stream.final = `${FINAL_HEAD}${raw.toString("utf8")}\n\n`;
      if (res !== undefined) {
        // Three writes rather than one 4 MiB copy: a large answer's copies made most of the
        // proxy's garbage collection.
        if (!res.headersSent)
          res.writeHead(200, {
            ...this.#sse(),
            "content-length": String(FINAL_HEAD_BYTES.length + raw.length + FRAME_END.length),
          });
        res.write(FINAL_HEAD_BYTES);
        res.write(raw);
        res.end(FRAME_END);
      }
      return;
    }
    const json = raw === undefined ? JSON.stringify(m) : Buffer.isBuffer(raw) ? raw.toString("utf8") : raw;
    if (last) {
      const frame = `${FINAL_HEAD}${json}\n\n`;
      if (stream.resumable) stream.final = frame;
      if (res !== undefined) {
        if (!res.headersSent)
          res.writeHead(200, { ...this.#sse(), "content-length": String(Buffer.byteLength(frame)) });
        res.end(frame);
      }
      return;
    }
    const seq = ++stream.seq;
    const frame =
      m === undefined
        ? `id: ${stream.no}_${seq}\n${retryMs === undefined ? "" : `retry: ${retryMs}\n`}data: \n\n`
        : `id: ${stream.no}_${seq}\nevent: message\ndata: ${json}\n\n`;
    stream.frames.push(frame);
    stream.bytes += frame.length;
    while (
      stream.frames.length > this.#maxEvents ||
      (stream.bytes > this.#maxBytes && stream.frames.length > 1)
    ) {
      stream.bytes -= (stream.frames.shift() as string).length;
      stream.first++;
    }
    if (res !== undefined) {
      if (!res.headersSent) res.writeHead(200, this.#sse());
      res.write(frame);
      if (!stream.resumable) {
        stream.resumable = true;
        this.#byNo.set(stream.no, stream);
      }
    }
  }

  /** The stream is over (answered, abandoned, or closed): forget its requests. */
  #drop(stream: Stream): void {
    if (stream.ended) return;
    stream.ended = true;
    if (stream.grace !== undefined) clearTimeout(stream.grace);
    for (const id of stream.pending) if (this.#streams.get(id) === stream) this.#streams.delete(id);
    stream.pending.clear();
    this.#byNo.delete(stream.no);
    const res = stream.res;
    if (res !== undefined && !res.writableEnded) {
      if (!res.headersSent) res.writeHead(200, this.#sse());
      res.end();
    }
  }

  /** The last response of a stream went out (or is held for replay). */
  #finished(stream: Stream): void {
    stream.ended = true;
    if (stream.grace !== undefined) clearTimeout(stream.grace);
    if (!stream.resumable) return;
    // Keep it for one replay (the caller may not have received the end); bounded per session.
    this.#recent.push(stream.no);
    if (this.#recent.length > RECENT) this.#byNo.delete(this.#recent.shift() as number);
  }

  /**
   * Sends a message to the caller: a response on its request's stream (which
   * ends after its last response), a message related to a request on that
   * request's stream, anything else on the standalone stream. Returns false
   * when there is no stream for it (the caller went away for good, or never
   * opened the standalone stream). A stream whose caller is away for now keeps
   * the message for replay. `raw`: the message's JSON text, when it is
   * unchanged and on one line (written as it is, not serialized again).
   */
  send(m: JSONRPCMessage, relatedRequestId?: RequestId, raw?: string | Buffer): boolean {
    const response = isResponse(m);
    const id = response ? m.id : relatedRequestId;
    if (id === undefined) {
      if (response) return false;
      this.#emit(this.#standalone, m, false, raw);
      if (this.#standalone.res !== undefined) this.#standaloneDelivered = this.#standalone.seq;
      return true;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined || stream.ended || stream.streaming) return false;
    if (!response) {
      this.#emit(stream, m, false, raw);
      return true;
    }
    this.#streams.delete(id);
    stream.pending.delete(id);
    const last = stream.pending.size === 0;
    this.#emit(stream, m, last, raw);
    if (last) this.#finished(stream);
    return true;
  }

  /**
   * Starts writing the answer to request `id` as it arrives (a large one): the
   * last event of its stream, without an id, in chunked encoding. Undefined
   * (the caller then gets it whole, as usual) when the stream cannot take it
   * so: it is not attached, it waits for other answers too (a batch), or its
   * caller can resume it (a resumed stream replays its final event, which
   * would have to be held whole anyway).
   */
  openLarge(id: RequestId): LargeWriter | undefined {
    const stream = this.#streams.get(id);
    const res = stream?.res;
    if (
      stream === undefined ||
      res === undefined ||
      stream.ended ||
      stream.streaming ||
      stream.resumable ||
      stream.pending.size !== 1
    )
      return undefined;
    stream.streaming = true;
    if (!res.headersSent) res.writeHead(200, this.#sse());
    res.write(FINAL_HEAD_BYTES);
    const live = (): boolean => stream.res === res && !stream.ended && !res.destroyed;
    return {
      // Up to LARGE_BUFFER bytes wait for the caller before the pod is paused: pausing at every
      // 16 KiB (the socket's own mark) cost a pause and a resume per chunk.
      write: (chunk) => !live() || (writeCopy(res, chunk), res.writableLength < LARGE_BUFFER),
      lineBreak: () => !live() || (res.write(DATA_BREAK), res.writableLength < LARGE_BUFFER),
      drain: (cb) => {
        if (!live()) {
          cb();
          return;
        }
        let called = false;
        const once = (): void => {
          if (called) return;
          called = true;
          res.off("drain", once);
          res.off("close", once);
          cb();
        };
        res.once("drain", once);
        res.once("close", once);
      },
      end: (last) => {
        stream.streaming = false;
        if (!live()) return;
        if (!last) {
          res.write(FRAME_END);
          return;
        }
        this.#streams.delete(id);
        stream.pending.delete(id);
        res.end(FRAME_END);
        this.#finished(stream);
      },
      destroy: () => {
        stream.streaming = false;
        const r = stream.res;
        stream.res = undefined;
        this.#drop(stream);
        r?.destroy();
      },
    };
  }

  /**
   * The pod primed a request's stream (SEP-1699: an event id with empty data,
   * and its `retry:`): the caller's stream gets a priming event of its own, so
   * it can resume the stream as it could directly.
   */
  prime(id: RequestId, retryMs: number | undefined): void {
    const stream = this.#streams.get(id);
    if (stream === undefined || stream.ended || stream.streaming) return;
    this.#emit(stream, undefined, false, "", retryMs);
  }

  /**
   * The pod ended a request's stream before answering (polling): the caller's
   * stream ends too when it holds an id to resume it with (GET + Last-Event-ID,
   * after the retry interval), as it would directly. The stream stays in the
   * session, collecting what the pod sends once the proxy resumed it there.
   */
  pause(id: RequestId): void {
    const stream = this.#streams.get(id);
    if (stream === undefined || stream.ended || !stream.resumable) return;
    const res = stream.res;
    if (res === undefined) return;
    stream.res = undefined;
    res.end();
    this.#waitForResume(stream);
  }

  /** The pod ended its standalone stream: so does the caller's (it reopens it, as it would directly). */
  endStandalone(): void {
    const res = this.#standalone.res;
    this.#standalone.res = undefined;
    res?.end();
  }

  /** Ends the stream of a request without its response (cancelled or timed out elsewhere). */
  closeSSEStream(id: RequestId): void {
    const stream = this.#streams.get(id);
    if (stream !== undefined) this.#drop(stream);
  }

  /** Keeps idle SSE streams open through proxies and load balancers (a comment line). */
  keepAlive(): void {
    for (const s of new Set([...this.#streams.values(), this.#standalone])) {
      const res = s.res;
      if (s.ended || res === undefined) continue;
      if (!res.headersSent) res.writeHead(200, this.#sse());
      res.write(": keepalive\n\n");
    }
  }

  /** Ends every stream of the session and the session itself. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of new Set(this.#streams.values())) this.#drop(s);
    for (const s of this.#byNo.values()) if (s.grace !== undefined) clearTimeout(s.grace);
    this.#byNo.clear();
    this.#standalone.res?.end();
    this.#standalone.res = undefined;
    this.onclose?.();
  }
}
