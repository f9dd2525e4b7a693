/**
 * A lean HTTP/1.1 client for the proxy's hot path: the POST of each message to
 * a pod. Measured on the reference machine under load, node:http's client
 * (ClientRequest, the agent's bookkeeping, IncomingMessage) cost about 190 µs
 * of CPU per exchange, as much as the whole HTTP server side; this one writes
 * the request in one write and parses the answer in place (status line,
 * headers, Content-Length, chunked, or until close), on keep-alive
 * connections kept per pod (most recently used first, at most `maxSockets`,
 * then requests wait). An idle connection is retired before the pod would
 * close it (its `Keep-Alive: timeout=N` hint, else after 4 s) and dropped as
 * soon as the pod ends it, so a request is never written into a closing
 * connection. A failed exchange is never retried (a POST may have been acted
 * on). GET streams and DELETE stay on node:http.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { LoadedTls } from "./tls.js";

export interface H1Handlers {
  /** The status line and headers (names lower-cased; repeated headers joined with ", "). */
  head(status: number, headers: Record<string, string>): void;
  /**
   * Bytes of the answer's body. On plain TCP they are a view of the pool's one read buffer,
   * valid only during the call: a handler that keeps bytes (or writes them to a socket, which
   * keeps them until sent) copies them.
   */
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

export interface H1Exchange {
  /** Ends the exchange now: its connection is closed (the pod sees it), nothing more is reported. */
  abort(): void;
  /** Stops reading the answer (the reader cannot keep up); `resume()` reads on. */
  pause(): void;
  resume(): void;
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

/** Idle connections are retired after this without a `Keep-Alive: timeout` hint (Node's servers close at 5 s). */
const DEFAULT_IDLE_MS = 4000;
const CRLF2 = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
/** The read buffer of every plain-TCP connection to pods (see `H1Handlers.data`). */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

class Conn {
  readonly socket: Socket;
  ex: Pending | undefined;
  state = State.Head;
  buf: Buffer | undefined;
  remaining = 0;
  reusable = true;
  idleMs = 0;
  dead = false;
  constructor(
    socket: Socket,
    readonly pool: H1Pool,
    /** The socket delivers its bytes through `onRead` (a fixed read buffer), not 'data' events. */
    fixedBuffer = false,
  ) {
    this.socket = socket;
    socket.setNoDelay(true);
    if (!fixedBuffer) socket.on("data", (c: Buffer) => this.#data(c));
    socket.on("error", (err) => this.#gone(err));
    socket.on("close", () => this.#gone(undefined));
    // The pod ended the connection (FIN): an idle one must not be written to any more.
    socket.on("end", () => {
      if (this.ex === undefined || this.state === State.UntilClose) this.#gone(undefined);
      else this.#gone(new Error("the connection closed mid-answer"));
    });
    socket.on("timeout", () => socket.destroy());
  }

  #gone(err: Error | undefined): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.pool.forget(this);
    const ex = this.ex;
    this.ex = undefined;
    if (ex === undefined || ex.finished) return;
    if (this.state === State.UntilClose && err === undefined) {
      ex.finished = true;
      ex.h.end();
      return;
    }
    ex.finished = true;
    ex.h.error(
      err ?? new Error(this.state === State.Head ? "socket hang up" : "the connection closed mid-answer"),
    );
  }

  start(ex: Pending): void {
    this.ex = ex;
    ex.conn = this;
    this.state = State.Head;
    this.buf = undefined;
    this.socket.setTimeout(0);
    this.socket.ref();
    // The previous exchange's reader may have paused it (and finished before it resumed).
    if (this.socket.isPaused()) this.socket.resume();
    this.socket.write(ex.wire);
  }

  /** Bytes read into the shared read buffer (valid during this call only). */
  onRead(chunk: Buffer): void {
    this.#data(chunk);
  }

  #data(chunk: Buffer): void {
    const ex = this.ex;
    if (ex === undefined) {
      // Bytes on an idle connection: the pod is not speaking HTTP/1.1 as expected.
      this.socket.destroy();
      return;
    }
    let c = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = undefined;
    while (c.length > 0 && this.ex === ex && !ex.finished) {
      switch (this.state) {
        case State.Head: {
          const at = c.indexOf(CRLF2);
          if (at < 0) {
            if (c.length > 64 * 1024) {
              this.#fail(new Error("the answer's headers are larger than 64 KiB"));
              return;
            }
            this.buf = Buffer.from(c);
            return;
          }
          if (!this.#head(c.toString("latin1", 0, at))) return;
          c = c.subarray(at + 4);
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, c.length);
          this.remaining -= n;
          ex.h.data(n === c.length ? c : c.subarray(0, n));
          c = c.subarray(n);
          if (this.remaining === 0) this.#done();
          break;
        }
        case State.UntilClose:
          ex.h.data(c);
          return;
        case State.ChunkSize:
        case State.Trailers: {
          const at = c.indexOf(CRLF);
          if (at < 0) {
            if (c.length > 8192) {
              this.#fail(new Error("a chunk header of the answer is too long"));
              return;
            }
            this.buf = Buffer.from(c);
            return;
          }
          const line = c.toString("latin1", 0, at);
          c = c.subarray(at + 2);
          if (this.state === State.Trailers) {
            if (line === "") this.#done();
            break;
          }
          const semi = line.indexOf(";");
          const size = Number.parseInt(semi < 0 ? line : line.slice(0, semi), 16);
          if (!Number.isInteger(size) || size < 0) {
            this.#fail(new Error(`bad chunk size "${line.slice(0, 40)}" in the answer`));
            return;
          }
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, c.length);
          this.remaining -= n;
          ex.h.data(n === c.length ? c : c.subarray(0, n));
          c = c.subarray(n);
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const n = Math.min(this.remaining, c.length);
          this.remaining -= n;
          c = c.subarray(n);
          if (this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Done:
          // More bytes after a complete answer: not HTTP/1.1 as expected.
          this.reusable = false;
          return;
      }
    }
    if (c.length > 0 && this.ex === undefined && this.state === State.Done) this.socket.destroy();
  }

  /** Parses the status line and headers; false when the answer is not HTTP/1.x. */
  #head(text: string): boolean {
    const ex = this.ex as Pending;
    // Status line and headers read in place (no split into lines, no regex per answer: this runs
    // once per proxied call).
    const eol = text.indexOf("\r\n");
    const first = eol < 0 ? text : text.slice(0, eol);
    const minor = first.charCodeAt(7);
    const status = Number(first.slice(9, 12));
    if (
      !first.startsWith("HTTP/1.") ||
      (minor !== 48 && minor !== 49) ||
      first.charCodeAt(8) !== 32 ||
      !isDigit(first.charCodeAt(9)) ||
      !isDigit(first.charCodeAt(10)) ||
      !isDigit(first.charCodeAt(11))
    ) {
      this.#fail(new Error(`the pod did not answer with HTTP/1.x: "${first.slice(0, 60)}"`));
      return false;
    }
    const headers: Record<string, string> = {};
    let at = eol < 0 ? text.length : eol + 2;
    while (at < text.length) {
      let end = text.indexOf("\r\n", at);
      if (end < 0) end = text.length;
      const colon = text.indexOf(":", at);
      if (colon > at && colon < end) {
        const name = text.slice(at, colon).trim().toLowerCase();
        const value = text.slice(colon + 1, end).trim();
        // The upstream's header names: hasOwn, so "constructor" is not read from the prototype;
        // string values, so a "__proto__" assignment is ignored by its setter.
        const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
        // eslint-disable-next-line hangar/no-string-key-write -- string value, own-property read above
        headers[name] = prev === undefined ? value : `${prev}, ${value}`;
      }
      at = end + 2;
    }
    if (status >= 100 && status < 200) return true; // 100 Continue and the like: the answer follows
    const connection = headers["connection"]?.toLowerCase() ?? "";
    this.reusable = minor === 49 ? !connection.includes("close") : connection.includes("keep-alive");
    const ka = headers["keep-alive"];
    const hint = ka === undefined ? null : /timeout=(\d+)/i.exec(ka);
    // Retire an idle connection before the pod does: a second early, or halfway for short timeouts.
    const hintMs = hint === null ? -1 : Number(hint[1]) * 1000;
    if (hintMs === 0) this.reusable = false;
    this.idleMs = hintMs < 0 ? DEFAULT_IDLE_MS : hintMs > 2000 ? hintMs - 1000 : hintMs / 2;
    ex.h.head(status, headers);
    if (ex.finished || this.ex !== ex) return false;
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (status === 204 || status === 304 || ex.method === "HEAD") this.#done();
    else if (te !== undefined && te.toLowerCase().includes("chunked")) this.state = State.ChunkSize;
    else if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isInteger(n) || n < 0) {
        this.#fail(new Error(`bad Content-Length "${cl}" in the answer`));
        return false;
      }
      this.remaining = n;
      this.state = State.Length;
      if (n === 0) this.#done();
    } else {
      this.state = State.UntilClose;
      this.reusable = false;
    }
    return true;
  }

  #done(): void {
    const ex = this.ex as Pending;
    this.state = State.Done;
    this.ex = undefined;
    ex.finished = true;
    if (this.reusable && this.buf === undefined) this.pool.release(this);
    else this.socket.destroy();
    ex.h.end();
  }

  #fail(err: Error): void {
    const ex = this.ex;
    this.ex = undefined;
    this.dead = true;
    this.socket.destroy();
    this.pool.forget(this);
    if (ex !== undefined && !ex.finished) {
      ex.finished = true;
      ex.h.error(err);
    }
  }
}

interface Pending {
  readonly method: string;
  readonly wire: Buffer;
  readonly h: H1Handlers;
  conn: Conn | undefined;
  finished: boolean;
}

export interface H1PoolOptions {
  /** `http:` or `https:` */
  protocol: string;
  host: string;
  port: number;
  tls?: LoadedTls;
  /** Connections at most; requests beyond wait. Default 256. */
  maxSockets?: number;
}

/** Keep-alive connections to one pod (one origin). */
export class H1Pool {
  readonly #o: H1PoolOptions;
  readonly #max: number;
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  readonly #waiting: Pending[] = [];
  readonly #hostHeader: string;
  #closed = false;

  constructor(o: H1PoolOptions) {
    this.#o = o;
    this.#max = o.maxSockets ?? 256;
    const defaultPort = o.protocol === "https:" ? 443 : 80;
    const host = o.host.includes(":") && !o.host.startsWith("[") ? `[${o.host}]` : o.host;
    this.#hostHeader = o.port === defaultPort ? host : `${host}:${o.port}`;
  }

  /** Connections open (idle or busy), for tests. */
  get sockets(): number {
    return this.#all.size;
  }

  /**
   * Sends one request. `headers` must not contain host, content-length,
   * connection or transfer-encoding (set here). Handlers are called at most
   * once for `end` or `error`, never after `abort()`.
   */
  request(
    method: string,
    path: string,
    headers: Readonly<Record<string, string>>,
    body: string,
    h: H1Handlers,
  ): H1Exchange {
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#hostHeader}\r\n`;
    for (const k in headers) {
      const v = headers[k] as string;
      if (/[\r\n]/.test(v)) throw new Error(`header ${k} holds a line break`);
      head += `${k}: ${v}\r\n`;
    }
    head += `content-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const ex: Pending = {
      method,
      wire: Buffer.from(head + body),
      h,
      conn: undefined,
      finished: false,
    };
    if (this.#closed) {
      ex.finished = true;
      queueMicrotask(() => h.error(new Error("the connection pool is closed")));
    } else this.#dispatch(ex);
    return {
      pause: () => {
        if (!ex.finished) ex.conn?.socket.pause();
      },
      resume: () => {
        const c = ex.conn;
        if (c !== undefined && !c.dead && (c.ex === ex || c.ex === undefined)) c.socket.resume();
      },
      abort: () => {
        if (ex.finished) return;
        ex.finished = true;
        const c = ex.conn;
        if (c !== undefined) {
          c.ex = undefined;
          c.dead = true;
          c.socket.destroy();
          this.forget(c);
        } else {
          const i = this.#waiting.indexOf(ex);
          if (i >= 0) this.#waiting.splice(i, 1);
        }
      },
    };
  }

  #dispatch(ex: Pending): void {
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      if (c.dead || !c.socket.writable) {
        c.socket.destroy();
        this.#all.delete(c);
        continue;
      }
      c.start(ex);
      return;
    }
    if (this.#all.size >= this.#max) {
      this.#waiting.push(ex);
      return;
    }
    const o = this.#o;
    const socket =
      o.protocol === "https:"
        ? tlsConnect({
            host: o.host,
            port: o.port,
            ALPNProtocols: ["http/1.1"],
            ...(o.tls?.ca === undefined ? {} : { ca: o.tls.ca }),
            ...(o.tls?.cert === undefined ? {} : { cert: o.tls.cert }),
            ...(o.tls?.key === undefined ? {} : { key: o.tls.key }),
            // SNI is a host name, never an address.
            ...(o.tls?.servername !== undefined
              ? { servername: o.tls.servername }
              : /^[\d.]+$|:/.test(o.host)
                ? {}
                : { servername: o.host }),
            rejectUnauthorized: o.tls?.rejectUnauthorized ?? true,
            ...(o.tls?.rejectUnauthorized === false ? { checkServerIdentity: () => undefined } : {}),
          })
        : undefined;
    let c: Conn;
    if (socket === undefined) {
      // Plain TCP reads into one buffer shared by every connection (reads are synchronous
      // callbacks, one at a time): a large answer then allocates nothing per read, where a
      // 64 KiB buffer per read made the external memory that started full GCs every few MiB.
      const plain = netConnect({
        host: o.host,
        port: o.port,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number): boolean => {
            c.onRead(READ_BUFFER.subarray(0, n));
            return true;
          },
        },
      });
      c = new Conn(plain, this, true);
    } else c = new Conn(socket, this);
    this.#all.add(c);
    c.start(ex); // written once connected (the socket buffers until then)
  }

  /** A connection finished its answer and can carry another request. */
  release(c: Conn): void {
    // Flowing again, so an idle connection's end (the pod closing it) is seen.
    if (c.socket.isPaused()) c.socket.resume();
    const next = this.#waiting.shift();
    if (next !== undefined) {
      c.start(next);
      return;
    }
    if (this.#closed) {
      c.socket.destroy();
      return;
    }
    if (c.idleMs > 0) c.socket.setTimeout(c.idleMs);
    c.socket.unref(); // an idle connection keeps no process alive
    this.#idle.push(c);
  }

  /** A connection closed. */
  forget(c: Conn): void {
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    const next = this.#waiting.shift();
    if (next !== undefined) this.#dispatch(next);
  }

  /** Closes every connection; requests still waiting fail. */
  destroy(): void {
    this.#closed = true;
    for (const ex of this.#waiting.splice(0)) {
      ex.finished = true;
      ex.h.error(new Error("the connection pool is closed"));
    }
    for (const c of [...this.#all]) c.socket.destroy();
  }
}
