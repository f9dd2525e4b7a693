/**
 * The proxy's client side towards one pod: a Streamable HTTP client transport
 * that keeps, for every message it receives, the request whose POST stream
 * carried it. The SDK's client transport hands messages over without that
 * relation, and the proxy needs it to put a progress notification or a sampling
 * request of the server on the same downstream stream as the call it belongs
 * to; so this transport is written here, on node:http with a keep-alive agent.
 *
 * Each JSON-RPC message is one POST (a downstream batch is split); the answer
 * is 202, a JSON body (one message or an array), or an SSE stream. A GET opens
 * the pod's standalone stream; DELETE ends the pod's session.
 */
import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage } from "node:http";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { RequestId } from "./jsonrpc.js";

export interface UpstreamEvents {
  /** A message from the pod; `related` is the request whose POST stream carried it. */
  message(msg: JSONRPCMessage, related: RequestId | undefined, bytes: number): void;
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
  agent: Agent;
  events: UpstreamEvents;
  /** Largest SSE event or JSON body accepted from the pod. Default 16 MiB. */
  maxMessageBytes?: number;
}

/** A POST in flight; `abort()` ends it (the pod sees the connection close). */
export interface Exchange {
  abort(): void;
}

const ACCEPT = "application/json, text/event-stream";

export class Upstream {
  readonly #url: URL;
  readonly #agent: Agent;
  readonly #events: UpstreamEvents;
  readonly #max: number;
  /** The pod's Mcp-Session-Id (not the one the caller sees). */
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  #get: ClientRequest | undefined;
  #closed = false;
  readonly #open = new Set<ClientRequest>();

  constructor(opts: UpstreamOptions) {
    this.#url = new URL(opts.url);
    this.#agent = opts.agent;
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
      path: this.#url.pathname + this.#url.search,
      method,
      agent: this.#agent,
      headers,
    });
    this.#open.add(req);
    req.once("close", () => this.#open.delete(req));
    return req;
  }

  /** POSTs one message. `related` is the id of the request (for a request), used to route what comes back. */
  post(msg: JSONRPCMessage, related: RequestId | undefined, traceparent: string | undefined): Exchange {
    const body = JSON.stringify(msg);
    const headers = this.#headers({
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    });
    if (traceparent !== undefined) headers["traceparent"] = traceparent;
    const req = this.#request("POST", headers);
    let finished = false;
    const done = (err: UpstreamFailure | undefined): void => {
      if (finished) return;
      finished = true;
      this.#events.done(related, err);
    };
    req.on("response", (res) => {
      const sid = res.headers["mcp-session-id"];
      if (typeof sid === "string" && this.sessionId === undefined) this.sessionId = sid;
      this.#readResponse(res, related, done);
    });
    req.on("error", (err) =>
      done(new UpstreamFailure(`cannot reach ${this.#url.host}: ${err.message}`, undefined, err)),
    );
    req.end(body);
    return {
      abort: () => {
        finished = true;
        req.destroy();
      },
    };
  }

  #readResponse(
    res: IncomingMessage,
    related: RequestId | undefined,
    done: (err: UpstreamFailure | undefined) => void,
  ): void {
    const status = res.statusCode ?? 0;
    const type = (res.headers["content-type"] ?? "").toLowerCase();
    if (status === 202) {
      res.resume();
      res.once("end", () => done(undefined));
      return;
    }
    if (status < 200 || status >= 300) {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (text.length < 2048) text += c;
      });
      res.once("end", () =>
        done(
          new UpstreamFailure(
            `${this.#url.host} answered HTTP ${status}${text === "" ? "" : `: ${text.slice(0, 512)}`}`,
            status,
          ),
        ),
      );
      res.once("error", (err) =>
        done(new UpstreamFailure(`reading from ${this.#url.host}: ${err.message}`, status, err)),
      );
      return;
    }
    if (type.startsWith("text/event-stream")) this.#readSse(res, related, done);
    else if (type.startsWith("application/json")) this.#readJson(res, related, done);
    else {
      res.resume();
      done(new UpstreamFailure(`${this.#url.host} answered with content-type "${type}" (not MCP)`, status));
    }
  }

  #readJson(
    res: IncomingMessage,
    related: RequestId | undefined,
    done: (err: UpstreamFailure | undefined) => void,
  ): void {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (c: Buffer) => {
      size += c.length;
      if (size > this.#max) {
        res.destroy();
        done(new UpstreamFailure(`${this.#url.host} sent a body over ${this.#max} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.once("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        done(
          new UpstreamFailure(`${this.#url.host} sent JSON that does not parse: ${(err as Error).message}`),
        );
        return;
      }
      const list = Array.isArray(parsed) ? (parsed as JSONRPCMessage[]) : [parsed as JSONRPCMessage];
      const each = list.length === 1 ? size : Math.round(size / list.length);
      for (const m of list) this.#events.message(m, related, each);
      done(undefined);
    });
    res.once("error", (err) =>
      done(new UpstreamFailure(`reading from ${this.#url.host}: ${err.message}`, undefined, err)),
    );
  }

  #readSse(
    res: IncomingMessage,
    related: RequestId | undefined,
    done: (err: UpstreamFailure | undefined) => void,
  ): void {
    res.setEncoding("utf8");
    let buf = "";
    const onEvent = (block: string): void => {
      let data = "";
      let first = true;
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("data:")) {
          const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
          data = first ? v : `${data}\n${v}`;
          first = false;
        }
      }
      if (first || data === "") return; // comments, keep-alives, priming events
      let msg: JSONRPCMessage;
      try {
        msg = JSON.parse(data) as JSONRPCMessage;
      } catch {
        // A malformed event is skipped; the request then ends without its answer and is reported.
        return;
      }
      this.#events.message(msg, related, data.length);
    };
    res.on("data", (chunk: string) => {
      buf += chunk;
      if (buf.length > this.#max) {
        res.destroy();
        done(new UpstreamFailure(`${this.#url.host} sent an SSE event over ${this.#max} bytes`));
        return;
      }
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
    });
    res.once("end", () => done(undefined));
    res.once("close", () =>
      done(res.complete ? undefined : new UpstreamFailure(`${this.#url.host} closed the stream`)),
    );
    res.once("error", (err) =>
      done(new UpstreamFailure(`reading from ${this.#url.host}: ${err.message}`, undefined, err)),
    );
  }

  /** Opens the pod's standalone SSE stream (server-initiated messages), once. A 405 means it has none. */
  openStandalone(): void {
    if (this.#get !== undefined || this.#closed) return;
    const req = this.#request("GET", this.#headers({ accept: "text/event-stream" }));
    this.#get = req;
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return;
      }
      this.#readSse(res, undefined, () => {
        if (this.#get === req) this.#get = undefined;
      });
    });
    req.on("error", () => {
      if (this.#get === req) this.#get = undefined;
    });
    req.end();
  }

  /** Ends the pod's session (DELETE), best effort, and closes every open exchange. */
  async close(sendDelete: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#open) r.destroy();
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
