/**
 * `/healthz` (the process serves; "degraded: …" while it runs with less than it should, e.g. a
 * full spool disk) and `/readyz` (the agent is ready: sources connected, pod watch synced).
 */
import { createServer, type Server } from "node:http";
import type { Counters } from "@hangar/core";

export interface HealthOptions {
  port: number;
  host?: string;
  /** Returns undefined when ready, or a reason it is not. */
  notReady: () => string | undefined;
  /** Returns undefined when all is well, or what is degraded (still 200: a restart would not help). */
  degraded?: () => string | undefined;
  counters: Counters;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: HealthOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/healthz") {
      const degraded = opts.degraded?.();
      res
        .writeHead(200, { "content-type": "text/plain" })
        .end(degraded === undefined ? "ok\n" : `degraded: ${degraded}\n`);
    } else if (url === "/readyz") {
      const reason = opts.notReady();
      if (reason === undefined) res.writeHead(200, { "content-type": "text/plain" }).end("ready\n");
      else res.writeHead(503, { "content-type": "text/plain" }).end(`not ready: ${reason}\n`);
    } else if (url === "/debug/counters") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(`${JSON.stringify(opts.counters.snapshot())}\n`);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : opts.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
