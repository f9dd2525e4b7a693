/**
 * Listen addresses of the controller's own servers (REST API, the sample MCP server): parsing
 * `host:port` with an error that names the flag, and the local stack's "the default port is
 * taken: use a free one".
 */
import { ControllerError } from "./errors.js";

/** `host:port` (`[v6]:port`; an empty host is 0.0.0.0); throws HANGAR_ERR_API_CONFIG naming `flag`. */
export function parseListen(listen: string, flag = "--api-listen"): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (m === null || port > 65535)
    throw new ControllerError("HANGAR_ERR_API_CONFIG", `${flag}: ${JSON.stringify(listen)} is not host:port`);
  return { host: m[1] ?? (m[2] === "" ? "0.0.0.0" : (m[2] as string)), port };
}

/**
 * Starts a server on `listen`; when `freePortIfTaken` and that address is in use, on a free
 * port of the same host instead (`moved` says so). Any other failure is thrown as it is.
 */
export async function listenOrFreePort<T>(
  listen: string,
  freePortIfTaken: boolean,
  start: (listen: string) => Promise<T>,
): Promise<{ value: T; moved: boolean }> {
  try {
    return { value: await start(listen), moved: false };
  } catch (err) {
    if (!freePortIfTaken || !/EADDRINUSE|address already in use/i.test(String((err as Error).message)))
      throw err;
    return { value: await start(listen.replace(/:\d+$/, ":0")), moved: true };
  }
}
