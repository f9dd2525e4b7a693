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
import { StringDecoder } from "node:string_decoder";
import { request as httpRequest, type Agent, type ClientRequest } from "node:http";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { H1Exchange, H1Pool } from "./h1.js";
import type { RequestId } from "./jsonrpc.js";

export interface UpstreamEvents {
  /**
   * A message from the pod; `related` is the request whose POST stream carried
   * it; `raw` is its JSON text when it can be forwarded as it came (one line).
   */
  message(msg: JSONRPCMessage, related: RequestId | undefined, bytes: number, raw: string | undefined): void;
  /** The exchange of a POSTed message ended; `error` when it failed (transport or HTTP status). */
  done(related: RequestId | undefined, error: UpstreamFailure | undefined): void;
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

function withCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined || err.message.includes(code) ? err.message : `${err.message} (${code})`;
}

/**
 * An SSE parser: feed it text, it calls `onData` with the data of each event
 * (comments, keep-alives and events without data are skipped). Returns false
 * from `push` when an event grows over `max` characters.
 */
function sseParser(max: number, onData: (data: string) => void): (text: string) => boolean {
  let buf = "";
  const onEvent = (block: string): void => {
    let data = "";
    let first = true;
    let from = 0;
    while (from <= block.length) {
      let to = block.indexOf("\n", from);
      if (to < 0) to = block.length;
      const end = to > from && block.charCodeAt(to - 1) === 13 ? to - 1 : to;
      if (block.startsWith("data:", from)) {
        const v = block.slice(block.charCodeAt(from + 5) === 32 ? from + 6 : from + 5, end);
        data = first ? v : `${data}\n${v}`;
        first = false;
      }
      from = to + 1;
    }
    if (first || data === "") return; // comments, keep-alives, priming events
    onData(data);
  };
  return (text) => {
    buf = buf === "" ? text : buf + text;
    let at: number;
    while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, at);
      const sep =
        buf.charCodeAt(at) === 13
          ? buf.charCodeAt(at + 2) === 13
            ? 4
            : 3
          : buf.charCodeAt(at + 1) === 13
            ? 3
            : 2;
      buf = buf.slice(at + sep);
      onEvent(block);
    }
    return buf.length <= max;
  };
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
  protocolVersion: string | undefined;
  #get: ClientRequest | undefined;
  #closed = false;
  readonly #open = new Set<ClientRequest>();
  readonly #posts = new Set<H1Exchange>();

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

  #headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { accept: ACCEPT, ...extra };
    if (this.sessionId !== undefined) h["mcp-session-id"] = this.sessionId;
    if (this.protocolVersion !== undefined) h["mcp-protocol-version"] = this.protocolVersion;
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

  /** POSTs one message. `related` is the id of the request (for a request), used to route what comes back. */
  post(
    msg: JSONRPCMessage,
    related: RequestId | undefined,
    traceparent: string | undefined,
    raw?: string,
  ): Exchange {
    const host = this.#url.host;
    const body = raw ?? JSON.stringify(msg);
    const headers: Record<string, string> = { accept: ACCEPT, "content-type": "application/json" };
    if (this.sessionId !== undefined) headers["mcp-session-id"] = this.sessionId;
    if (this.protocolVersion !== undefined) headers["mcp-protocol-version"] = this.protocolVersion;
    if (traceparent !== undefined) headers["traceparent"] = traceparent;
    let finished = false;
    let status = 0;
    let onData: (c: Buffer) => void = () => undefined;
    let onEnd: () => void = () => done(undefined);
    const done = (err: UpstreamFailure | undefined): void => {
      if (finished) return;
      finished = true;
      this.#posts.delete(ex);
      this.#events.done(related, err);
    };
    const fail = (err: UpstreamFailure): void => {
      ex.abort();
      done(err);
    };
    const ex = this.#pool.request("POST", this.#path, headers, body, {
      head: (st, h) => {
        status = st;
        const sid = h["mcp-session-id"];
        if (sid !== undefined && this.sessionId === undefined) this.sessionId = sid;
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
          const decoder = new StringDecoder("utf8");
          const push = sseParser(this.#max, (data) => {
            let m: JSONRPCMessage;
            try {
              m = JSON.parse(data) as JSONRPCMessage;
            } catch {
              // A malformed event is skipped; the request then ends without its answer and is reported.
              return;
            }
            this.#events.message(m, related, data.length, oneLine(data));
          });
          onData = (c) => {
            if (!push(decoder.write(c)))
              fail(new UpstreamFailure(`${host} sent an SSE event over ${this.#max} bytes`));
          };
          return;
        }
        if (type.startsWith("application/json")) {
          const chunks: Buffer[] = [];
          let size = 0;
          onData = (c) => {
            size += c.length;
            if (size > this.#max) fail(new UpstreamFailure(`${host} sent a body over ${this.#max} bytes`));
            else chunks.push(c);
          };
          onEnd = () => {
            const text = (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)).toString(
              "utf8",
            );
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
      error: (err) =>
        done(
          status === 0
            ? new UpstreamFailure(`cannot reach ${host}: ${withCode(err)}`, undefined, err)
            : new UpstreamFailure(`${host} closed the stream: ${withCode(err)}`, status, err),
        ),
    });
    if (!finished) this.#posts.add(ex);
    return {
      abort: () => {
        finished = true;
        this.#posts.delete(ex);
        ex.abort();
      },
    };
  }

  /** Opens the pod's standalone SSE stream (server-initiated messages), once. A 405 means it has none. */
  openStandalone(): void {
    if (this.#get !== undefined || this.#closed) return;
    const req = this.#request("GET", this.#headers({ accept: "text/event-stream" }));
    this.#get = req;
    const ended = (): void => {
      if (this.#get === req) this.#get = undefined;
    };
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      res.setEncoding("utf8");
      const push = sseParser(this.#max, (data) => {
        let m: JSONRPCMessage;
        try {
          m = JSON.parse(data) as JSONRPCMessage;
        } catch {
          return;
        }
        this.#events.message(m, undefined, data.length, oneLine(data));
      });
      res.on("data", (text: string) => {
        if (!push(text)) res.destroy();
      });
      res.once("close", ended);
      res.once("error", ended);
    });
    req.on("error", ended);
    req.end();
  }

  /** Ends the pod's session (DELETE), best effort, and closes every open exchange. */
  async close(sendDelete: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#open) r.destroy();
    for (const ex of this.#posts) ex.abort();
    this.#posts.clear();
    if (!sendDelete || this.sessionId === undefined) return;
    await new Promise<void>((resolve) => {
      const req = this.#request("DELETE", this.#headers({}));
      req.setTimeout(2000, () => req.destroy());
      req.on("response", (res) => {
        res.resume();
        res.once("end", resolve);
      });
      req.on("error", () => resolve());
      req.on("close", () => resolve());
      req.end();
    });
  }
}
