/**
 * The lean HTTP/1.1 client against a raw TCP server that answers with every
 * framing a pod may use, split at awkward places.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket, type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { H1Pool } from "./h1.js";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A server whose answer to each request is written by `reply` (raw bytes, possibly in pieces). */
async function rawServer(reply: (req: string, socket: Socket) => void): Promise<{
  server: Server;
  stop: () => Promise<void>;
  port: number;
  connections: () => number;
  closed: () => number;
}> {
  let connections = 0;
  let closed = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("close", () => closed++);
    let buf = "";
    socket.setEncoding("latin1");
    socket.on("data", (c: string) => {
      buf += c;
      for (;;) {
        const at = buf.indexOf("\r\n\r\n");
        if (at < 0) return;
        const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, at))?.[1] ?? 0);
        if (buf.length < at + 4 + len) return;
        const req = buf.slice(0, at + 4 + len);
        buf = buf.slice(at + 4 + len);
        reply(req, socket);
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    closed: () => closed,
  };
}

function send(pool: H1Pool, body = "{}", path = "/mcp"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    pool.request("POST", path, { "content-type": "application/json" }, body, {
      head: (s, h) => {
        status = s;
        headers = h;
      },
      data: (c) => chunks.push(Buffer.from(c)),
      end: () => resolve({ status, headers, body: Buffer.concat(chunks).toString("utf8") }),
      error: reject,
    });
  });
}

/** Writes `text` in pieces of `size` bytes, one per tick. */
function dribble(socket: Socket, text: string, size: number): void {
  const b = Buffer.from(text);
  let at = 0;
  const step = (): void => {
    if (at >= b.length || socket.destroyed) return;
    socket.write(b.subarray(at, at + size));
    at += size;
    setImmediate(step);
  };
  step();
}

describe("H1Pool", () => {
  let srv: Awaited<ReturnType<typeof rawServer>>;
  let pool: H1Pool;
  const seen: string[] = [];
  before(async () => {
    srv = await rawServer((req, socket) => {
      seen.push(req);
      const path = /^POST (\S+)/.exec(req)?.[1] ?? "";
      const body = req.slice(req.indexOf("\r\n\r\n") + 4);
      switch (path) {
        case "/length":
          socket.write(
            `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
          return;
        case "/chunked":
          // Chunks split across writes at every byte; a chunk extension and a trailer.
          dribble(
            socket,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
              "6;ext=1\r\nevent:\r\n" +
              "11\r\n message\ndata: é\r\n" +
              "0\r\nx-trailer: 1\r\n\r\n",
            1,
          );
          return;
        case "/continue":
          socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
          return;
        case "/close":
          socket.end(
            'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"until":"close"}',
          );
          return;
        case "/hint":
          socket.write("HTTP/1.1 202 Accepted\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n");
          return;
        case "/bye":
          // A keep-alive answer, then the server closes the idle connection (as at its keep-alive timeout).
          socket.write("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
          setTimeout(() => socket.end(), 10);
          return;
        case "/garbage":
          socket.write("SSH-2.0-OpenSSH_9.6\r\n\r\n");
          return;
        case "/bad-status":
          socket.write("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n");
          return;
        case "/http2":
          socket.write("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n");
          return;
        case "/hang":
          return;
        case "/half":
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
          setTimeout(() => socket.destroy(), 20);
          return;
        default:
          socket.write("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
      }
    });
    pool = new H1Pool({ protocol: "http:", host: "127.0.0.1", port: srv.port });
  });
  after(async () => {
    pool.destroy();
    await srv.stop();
  });

  it("sends one well-formed request and reads a Content-Length answer, reusing the connection", async () => {
    const before = srv.connections();
    for (let i = 0; i < 3; i++) {
      const a = await send(pool, `{"i":${i}}`, "/length");
      assert.equal(a.status, 200);
      assert.equal(a.headers["content-type"], "application/json");
      assert.equal(a.body, `{"i":${i}}`);
    }
    assert.equal(srv.connections() - before, 1, "one keep-alive connection for sequential requests");
    assert.match(
      seen.at(-1) ?? "",
      /^POST \/length HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\ncontent-type: application\/json\r\ncontent-length: 7\r\n\r\n\{"i":2\}$/,
    );
  });

  it("reads a chunked answer delivered one byte at a time (extensions, trailers, UTF-8 split)", async () => {
    const a = await send(pool, "{}", "/chunked");
    assert.equal(a.body, "event: message\ndata: é");
  });

  it("skips a 100 Continue before the answer; 404 bodies are read", async () => {
    assert.equal((await send(pool, "{}", "/continue")).status, 202);
    const nf = await send(pool, "{}", "/nope");
    assert.deepEqual([nf.status, nf.body], [404, "not found"]);
  });

  it("reads an answer without length until the connection closes, and does not reuse that connection", async () => {
    const a = await send(pool, "{}", "/close");
    assert.equal(a.body, '{"until":"close"}');
    const before = srv.connections();
    await send(pool, "{}", "/length");
    assert.equal(srv.connections() - before, 1, "a new connection after the closed one");
  });

  it("retires an idle connection before the pod's Keep-Alive timeout", async () => {
    const p = new H1Pool({ protocol: "http:", host: "127.0.0.1", port: srv.port });
    await send(p, "{}", "/hint");
    assert.equal(p.sockets, 1);
    await new Promise((r) => setTimeout(r, 800)); // timeout=1 s → retired after 0.5 s of idleness
    assert.equal(p.sockets, 0);
    p.destroy();
  });

  it("drops an idle connection the pod ended, and sends the next request on a new one", async () => {
    const p = new H1Pool({ protocol: "http:", host: "127.0.0.1", port: srv.port });
    assert.equal((await send(p, "{}", "/bye")).status, 202);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(p.sockets, 0, "the ended connection is gone");
    assert.equal((await send(p, '{"after":1}', "/length")).body, '{"after":1}');
    p.destroy();
  });

  it("aborting closes the connection, which the server sees; nothing is reported after", async () => {
    const closedBefore = srv.closed();
    let reported = false;
    const ex = pool.request("POST", "/hang", {}, "{}", {
      head: () => (reported = true),
      data: () => (reported = true),
      end: () => (reported = true),
      error: () => (reported = true),
    });
    await new Promise((r) => setTimeout(r, 30));
    ex.abort();
    const until = Date.now() + 2000;
    while (srv.closed() === closedBefore && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.ok(srv.closed() > closedBefore, "the server saw the connection close");
    assert.equal(reported, false);
  });

  it("fails clearly: not HTTP, a connection closed mid-answer, a refused connection, a header with a line break", async () => {
    await assert.rejects(send(pool, "{}", "/garbage"), /did not answer with HTTP\/1\.x: "SSH-2\.0/);
    await assert.rejects(send(pool, "{}", "/bad-status"), /did not answer with HTTP\/1\.x: "HTTP\/1\.1 2x0/);
    await assert.rejects(send(pool, "{}", "/http2"), /did not answer with HTTP\/1\.x: "HTTP\/1\.2 200/);
    await assert.rejects(send(pool, "{}", "/half"), /the connection closed mid-answer/);
    const dead = new H1Pool({ protocol: "http:", host: "127.0.0.1", port: 1 });
    await assert.rejects(send(dead), /ECONNREFUSED/);
    dead.destroy();
    assert.throws(
      () =>
        pool.request("POST", "/x", { "x-evil": "a\r\nb" }, "", {
          head: () => undefined,
          data: () => undefined,
          end: () => undefined,
          error: () => undefined,
        }),
      /header x-evil holds a line break/,
    );
  });

  it("queues requests beyond maxSockets and serves them as connections free up", async () => {
    const p = new H1Pool({ protocol: "http:", host: "127.0.0.1", port: srv.port, maxSockets: 2 });
    const before = srv.connections();
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => send(p, `{"q":${i}}`, "/length")));
    assert.deepEqual(
      all.map((a) => a.body),
      Array.from({ length: 10 }, (_, i) => `{"q":${i}}`),
    );
    assert.ok(srv.connections() - before <= 2);
    p.destroy();
  });
});
