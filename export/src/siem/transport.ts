/**
 * Where encoded records go: syslog over UDP (RFC 5426), TCP (RFC 6587 octet counting or LF)
 * and TLS (RFC 5425), or lines to a file or stdout.
 *
 * A stream transport's write callback only says the kernel took the bytes; if the
 * connection then breaks, what was in flight may be lost. So every stream connection has a
 * `generation`: the destination keeps what it sent until the connection has stayed up for a
 * confirmation window, and resends it (from the spool) when the generation changes.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { open, type FileHandle } from "node:fs/promises";
import { connect as netConnect, isIP, type Socket } from "node:net";
import type { Writable } from "node:stream";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { frames, type Framing } from "./syslog.js";

export interface Transport {
  /** For logs and counters, e.g. "tcp://127.0.0.1:514". */
  readonly describe: string;
  /** True when success of `send` does not prove delivery (TCP, TLS). */
  readonly stream: boolean;
  /** Changes whenever a connection is lost; see the module comment. */
  readonly generation: number;
  /** True while a stream connection is up (always true for other transports). */
  readonly connected: boolean;
  /** Sends the messages in order; rejects on any failure (nothing is retried here). */
  send(messages: readonly Buffer[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export interface StreamTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly framing: Framing;
  /** TLS (RFC 5425) when set. */
  readonly tls?: {
    readonly ca?: string | Buffer;
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
    /** SNI and the name the server certificate must carry (default: host). */
    readonly serverName?: string;
    /** Default true. */
    readonly rejectUnauthorized?: boolean;
  };
  readonly connectTimeoutMs?: number;
}

/** Syslog over TCP or TLS with one long-lived connection, opened on first use. */
export class StreamTransport implements Transport {
  readonly describe: string;
  readonly stream = true;
  readonly #o: StreamTransportOptions;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  #generation = 0;

  constructor(o: StreamTransportOptions) {
    if (o.tls !== undefined && o.framing !== "octet-counting") {
      throw new Error("TLS syslog (RFC 5425) requires octet-counting framing");
    }
    this.#o = o;
    this.describe = `${o.tls === undefined ? "tcp" : "tls"}://${o.host}:${o.port}`;
  }

  get generation(): number {
    return this.#generation;
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  #lost(sock: Socket): void {
    if (this.#socket !== sock) return;
    this.#socket = undefined;
    this.#generation++;
  }

  #connect(timeoutMs: number): Promise<Socket> {
    if (this.#socket !== undefined) return Promise.resolve(this.#socket);
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      const o = this.#o;
      const sock: Socket =
        o.tls === undefined
          ? netConnect({ host: o.host, port: o.port })
          : tlsConnect({
              host: o.host,
              port: o.port,
              // SNI carries names only (RFC 6066); an IP host is still checked against the IP SANs.
              ...(o.tls.serverName !== undefined
                ? { servername: o.tls.serverName }
                : isIP(o.host) === 0
                  ? { servername: o.host }
                  : {}),
              minVersion: "TLSv1.2",
              rejectUnauthorized: o.tls.rejectUnauthorized ?? true,
              ...(o.tls.ca === undefined ? {} : { ca: o.tls.ca }),
              ...(o.tls.cert === undefined ? {} : { cert: o.tls.cert }),
              ...(o.tls.key === undefined ? {} : { key: o.tls.key }),
            } satisfies ConnectionOptions);
      const ready = o.tls === undefined ? "connect" : "secureConnect";
      const timer = setTimeout(() => {
        sock.destroy(new Error(`connect to ${this.describe} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      sock.once("error", onError);
      sock.once(ready, () => {
        clearTimeout(timer);
        sock.off("error", onError);
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 10_000);
        // A syslog receiver never talks back; any end or error means the connection is gone.
        sock.on("data", () => undefined);
        sock.on("error", () => this.#lost(sock));
        sock.on("end", () => {
          this.#lost(sock);
          sock.destroy();
        });
        sock.on("close", () => this.#lost(sock));
        this.#socket = sock;
        resolve(sock);
      });
    }).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async send(messages: readonly Buffer[], timeoutMs: number): Promise<void> {
    const sock = await this.#connect(this.#o.connectTimeoutMs ?? timeoutMs);
    const generation = this.#generation;
    const data = frames(messages, this.#o.framing);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        sock.write(data, (err) => (err ? reject(err) : resolve()));
      }),
      timeoutMs,
      `write to ${this.describe}`,
      () => sock.destroy(),
    );
    if (this.#generation !== generation || sock.destroyed) {
      throw new Error(`connection to ${this.describe} was lost during the write`);
    }
  }

  close(): Promise<void> {
    const sock = this.#socket;
    this.#socket = undefined;
    if (sock === undefined || sock.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        sock.destroy();
        resolve();
      }, 2_000);
      sock.end(() => {
        clearTimeout(timer);
        sock.destroy();
        resolve();
      });
    });
  }
}

/** Syslog over UDP (RFC 5426): one message per datagram, on a connected socket so ICMP errors surface. */
export class UdpTransport implements Transport {
  readonly describe: string;
  readonly stream = false;
  readonly generation = 0;
  readonly connected = true;
  readonly #host: string;
  readonly #port: number;
  #socket: Promise<UdpSocket> | undefined;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
    this.describe = `udp://${host}:${port}`;
  }

  #open(): Promise<UdpSocket> {
    this.#socket ??= new Promise<UdpSocket>((resolve, reject) => {
      const sock = createSocket(this.#host.includes(":") ? "udp6" : "udp4");
      sock.once("error", reject);
      sock.connect(this.#port, this.#host, () => {
        sock.off("error", reject);
        sock.on("error", () => {
          this.#socket = undefined;
          sock.close();
        });
        resolve(sock);
      });
    }).catch((err: unknown) => {
      this.#socket = undefined;
      throw err;
    });
    return this.#socket;
  }

  async send(messages: readonly Buffer[], timeoutMs: number): Promise<void> {
    const sock = await this.#open();
    for (const m of messages) {
      await withTimeout(
        new Promise<void>((resolve, reject) => sock.send(m, (err) => (err ? reject(err) : resolve()))),
        timeoutMs,
        `send to ${this.describe}`,
        () => undefined,
      );
    }
  }

  async close(): Promise<void> {
    const p = this.#socket;
    this.#socket = undefined;
    if (p === undefined) return;
    const sock = await p.catch(() => undefined);
    if (sock !== undefined) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

/** One record per line, appended to a file (opened with O_APPEND; rotate by rename + restart). */
export class FileTransport implements Transport {
  readonly describe: string;
  readonly stream = false;
  readonly generation = 0;
  readonly connected = true;
  readonly #path: string;
  #fh: Promise<FileHandle> | undefined;

  constructor(path: string) {
    this.#path = path;
    this.describe = `file://${path}`;
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the file of the operator's file:// SIEM destination
    this.#fh ??= open(this.#path, "a", 0o640).catch((err: unknown) => {
      this.#fh = undefined;
      throw err;
    });
    const fh = await this.#fh;
    const parts: Buffer[] = [];
    for (const m of messages) parts.push(m, NL);
    await fh.write(Buffer.concat(parts));
  }

  async close(): Promise<void> {
    const p = this.#fh;
    this.#fh = undefined;
    if (p !== undefined) await (await p).close();
  }
}

/** One record per line to a stream (stdout). */
export class WritableTransport implements Transport {
  readonly describe: string;
  readonly stream = false;
  readonly generation = 0;
  readonly connected = true;
  readonly #out: Writable;

  constructor(out: Writable, describe = "stdout") {
    this.#out = out;
    this.describe = describe;
  }

  send(messages: readonly Buffer[]): Promise<void> {
    const parts: Buffer[] = [];
    for (const m of messages) parts.push(m, NL);
    return new Promise<void>((resolve, reject) =>
      this.#out.write(Buffer.concat(parts), (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const NL = Buffer.from("\n");
