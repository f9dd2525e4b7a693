/**
 * How hangar-ctl reaches the controller's REST API: `--server URL` (or
 * `HANGAR_SERVER`), else through the cluster in the current kubeconfig — a
 * local port forwarded to a ready pod behind the controller's Service, as
 * `kubectl port-forward svc/...` does. The bearer token is `--token`,
 * `HANGAR_TOKEN`, or the kubeconfig user's own token (the controller checks it
 * with a TokenReview).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import * as k8s from "@kubernetes/client-node";
import { usageError } from "../command.js";

export interface ConnectFlags {
  server?: string | undefined;
  token?: string | undefined;
  kubeconfig?: string | undefined;
  namespace?: string | undefined;
  service?: string | undefined;
}

export const CONNECT_OPTIONS = {
  server: { type: "string" },
  token: { type: "string" },
  kubeconfig: { type: "string" },
  namespace: { type: "string", short: "n" },
  service: { type: "string" },
  output: { type: "string", short: "o" },
  help: { type: "boolean", short: "h" },
} as const;

export const CONNECT_HELP = `Finding the controller:
  --server URL         the controller's API, e.g. http://127.0.0.1:8080 (env HANGAR_SERVER)
  --token TOKEN        bearer token (env HANGAR_TOKEN; default: the kubeconfig user's token)
  --kubeconfig PATH    without --server: forward a local port to the controller's Service
                       through this cluster (default: KUBECONFIG or ~/.kube/config)
  -n, --namespace NS   the controller's namespace (default hangar-system, env HANGAR_NAMESPACE)
  --service NAME       the controller's Service (default hangar-controller; its port named "api")`;

/** Exit codes shared by the commands that talk to the controller. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, auth: 4, conflict: 5 } as const;

export const EXIT_HELP = `Exit codes: 0 done, 1 failed (controller unreachable or an error), 2 usage error,
3 not found, 4 not authenticated or not allowed (401/403), 5 conflict (409).`;

/**
 * An error answer of the controller's REST API. It stays a class of its own rather than a
 * code of `ControllerError`: it carries the HTTP status (which picks the exit code), and its
 * code is whatever the server said — a newer controller's code this client does not know, or
 * `HTTP_<status>` from something in between (a port forward, a proxy) — so no closed code
 * table of this package can hold it.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  get exitCode(): number {
    if (this.status === 404) return EXIT.notFound;
    if (this.status === 401 || this.status === 403) return EXIT.auth;
    if (this.status === 409) return EXIT.conflict;
    return EXIT.failed;
  }
}

export class ControllerClient {
  readonly base: URL;
  readonly #token: string | undefined;
  readonly #close: () => Promise<void>;

  constructor(base: URL, token?: string, close: () => Promise<void> = () => Promise.resolve()) {
    this.base = base;
    this.#token = token;
    this.#close = close;
  }

  close(): Promise<void> {
    return this.#close();
  }

  #open(method: string, path: string, body?: unknown, accept = "application/json"): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept };
    if (this.#token !== undefined) headers["authorization"] = `Bearer ${this.#token}`;
    if (payload !== undefined) headers["content-type"] = "application/json";
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers }, resolve);
      req.on("error", (cause: Error) =>
        reject(new Error(`${this.base.origin}: ${cause.message}`, { cause })),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** One JSON request; throws ApiError with the controller's code and message on an error status. */
  async json<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const res = await this.#open(method, path, body);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        status,
        e?.code ?? `HTTP_${status}`,
        e?.message ?? `HTTP ${status} from ${method} ${path}`,
      );
    }
    return parsed as T;
  }

  /** Reads a server-sent event stream, calling `onEvent` per event, until `signal` aborts or the server ends it. */
  async events(
    path: string,
    onEvent: (event: string, data: string) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.#open("GET", path, undefined, "text/event-stream");
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const e = (
        JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as {
          error?: { code?: string; message?: string };
        }
      ).error;
      throw new ApiError(status, e?.code ?? `HTTP_${status}`, e?.message ?? `HTTP ${status}`);
    }
    const abort = (): void => {
      res.destroy();
    };
    signal.addEventListener("abort", abort, { once: true });
    let buf = "";
    try {
      res.setEncoding("utf8");
      for await (const chunk of res) {
        buf += chunk as string;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join("\n");
          if (event !== undefined || data !== "") onEvent(event ?? "message", data);
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      signal.removeEventListener("abort", abort);
    }
  }
}

/** Opens a client from the flags and the environment (see CONNECT_HELP). */
export async function connectController(
  flags: ConnectFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ControllerClient> {
  const server = flags.server ?? env["HANGAR_SERVER"];
  let token = flags.token ?? env["HANGAR_TOKEN"];
  if (server !== undefined && server !== "") {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw usageError(`--server: ${JSON.stringify(server)} is not a URL (e.g. http://127.0.0.1:8080)`);
    }
    // eslint-disable-next-line security/detect-possible-timing-attacks -- compares with undefined (is it configured), not a secret
    if (token === undefined) token = kubeconfigToken(flags.kubeconfig, env);
    return new ControllerClient(url, token);
  }
  const kc = loadKubeconfig(flags.kubeconfig, env);
  token ??= kc.getCurrentUser()?.token;
  const namespace = flags.namespace ?? env["HANGAR_NAMESPACE"] ?? "hangar-system";
  const service = flags.service ?? "hangar-controller";
  const forward = await portForwardService(kc, namespace, service, "api");
  return new ControllerClient(new URL(`http://127.0.0.1:${forward.port}`), token, forward.close);
}

function loadKubeconfig(path: string | undefined, env: NodeJS.ProcessEnv): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else if (env["KUBECONFIG"] !== undefined) kc.loadFromFile(env["KUBECONFIG"].split(":")[0] ?? "");
    else kc.loadFromDefault();
  } catch (err) {
    throw new Error(
      `no --server and the kubeconfig could not be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (kc.getCurrentCluster() === null)
    throw new Error("no --server (or HANGAR_SERVER) and no current cluster in the kubeconfig");
  return kc;
}

function kubeconfigToken(path: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (path === undefined && env["KUBECONFIG"] === undefined) return undefined;
  try {
    return loadKubeconfig(path, env).getCurrentUser()?.token;
  } catch {
    return undefined;
  }
}

/**
 * Forwards a local loopback port to the named port of a ready pod behind a
 * Service (the Service's selector and target port are read from the API).
 */
export async function portForwardService(
  kc: k8s.KubeConfig,
  namespace: string,
  service: string,
  portName: string,
): Promise<{ port: number; close: () => Promise<void> }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let svc: k8s.V1Service;
  try {
    svc = await core.readNamespacedService({ name: service, namespace });
  } catch (err) {
    throw new Error(
      `Service ${namespace}/${service} not found through the kubeconfig (${err instanceof Error ? err.message.split("\n")[0] : String(err)}); pass --server or --namespace`,
    );
  }
  const sp = svc.spec?.ports?.find((p) => p.name === portName) ?? svc.spec?.ports?.[0];
  const selector = Object.entries(svc.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (sp === undefined || selector === "")
    throw new Error(`Service ${namespace}/${service} has no port or selector`);
  const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
  const pod = pods.items.find((p) =>
    p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );
  if (pod?.metadata?.name === undefined)
    throw new Error(`no ready pod behind Service ${namespace}/${service}`);
  let target = typeof sp.targetPort === "number" ? sp.targetPort : sp.port;
  if (typeof sp.targetPort === "string") {
    const named = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === sp.targetPort);
    if (named !== undefined) target = named.containerPort;
  }
  const pf = new k8s.PortForward(kc);
  const podName = pod.metadata.name;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    pf.portForward(namespace, podName, [target], socket, null, socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    // The HTTP client keeps its connection alive; when the command is done, end it here
    // rather than wait for the client's idle timeout.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * A plain text table, two spaces between columns, one line per row plus the header, each
 * ending in a newline: left-aligned text, right-aligned in the `numeric` columns, every line
 * after `indent`.
 */
export function renderTable(
  headers: string[],
  rows: string[][],
  opts: { numeric?: ReadonlySet<number>; indent?: string } = {},
): string {
  const numeric = opts.numeric ?? new Set<number>();
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    (opts.indent ?? "") +
    cells
      .map((c, i) =>
        numeric.has(i) ? c.padStart(widths[i] ?? 0) : i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

export function outputOf(o: string | undefined): "table" | "json" | "yaml" {
  if (o === undefined || o === "table" || o === "json" || o === "yaml") return o ?? "table";
  throw usageError(`-o: ${JSON.stringify(o)} is not table, json or yaml`);
}
