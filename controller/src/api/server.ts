/** The one place the REST API listens: `host:port` from the controller's flags. */
import type { FastifyInstance } from "fastify";
import { ControllerError } from "../errors.js";
import { parseListen } from "../listen.js";
import { buildApp, type AppOptions } from "./app.js";

export interface RunningApi {
  app: FastifyInstance;
  /** `http://host:port` actually bound. */
  url: string;
  close(): Promise<void>;
}

export async function startApi(opts: AppOptions & { listen: string }): Promise<RunningApi> {
  const { host, port } = parseListen(opts.listen);
  const app = buildApp(opts);
  try {
    await app.listen({ host, port });
  } catch (cause) {
    throw new ControllerError("HANGAR_ERR_API_CONFIG", `cannot listen on ${opts.listen}: ${String(cause)}`, {
      cause,
    });
  }
  const addr = app.server.address();
  const bound = typeof addr === "object" && addr !== null ? addr.port : port;
  const h = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return { app, url: `http://${h}:${bound}`, close: () => app.close() };
}
