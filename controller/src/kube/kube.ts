/**
 * A small Kubernetes REST client over a `KubeConfig`: the enforcer needs exact
 * control of server-side apply (content type, field manager, `force`),
 * preconditions and discovery, which is plainer over HTTP than through the
 * generated clients.
 */
import { request, type RequestOptions } from "node:https";
import { request as httpRequest } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";
import { ControllerError } from "../errors.js";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KubeResponse {
  status: number;
  body: unknown;
  /** The `Warning` headers of the answer (admission warnings, deprecations), when any. */
  warnings?: string[];
}

export interface KubeRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  contentType?: string;
  query?: Record<string, string>;
}

/**
 * What the enforcer, the agent hub (TokenReview), the REST API and leader
 * election need of a Kubernetes API server. `KubeClient` talks to a real one;
 * the local stack (`@hangar/stack`) passes an in-memory cluster with no API server.
 */
export interface KubeApi {
  /** Sends one request; resolves with any HTTP status (callers decide), rejects on transport errors. */
  send(req: KubeRequest): Promise<KubeResponse>;
  /** Like `send`, but throws a ControllerError naming the call on a status outside `ok`. */
  call(req: KubeRequest, ok?: readonly number[]): Promise<KubeResponse>;
  /** The object at `path`, or undefined when it does not exist (404). */
  get(path: string): Promise<KubeObject | undefined>;
  /** Whether an API group version serves `resource` (discovery). */
  serves(groupVersion: string, resource: string): Promise<boolean>;
}

export class KubeClient implements KubeApi {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly #impersonate: { user: string; groups?: readonly string[] } | undefined;

  /** `impersonate` acts as another user (tests of RBAC: `system:serviceaccount:ns:name`). */
  constructor(kc: KubeConfig, opts: { impersonate?: { user: string; groups?: readonly string[] } } = {}) {
    this.#impersonate = opts.impersonate;
    const cluster = kc.getCurrentCluster();
    if (cluster === null) {
      throw new ControllerError("HANGAR_ERR_ENFORCE_KUBE", "the kubeconfig has no current cluster");
    }
    this.#kc = kc;
    this.#server = new URL(cluster.server);
  }

  /** Sends one request; resolves with any HTTP status (callers decide), rejects on transport errors. */
  async send(req: KubeRequest): Promise<KubeResponse> {
    const url = new URL(req.path, this.#server);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const opts: RequestOptions = { method: req.method, headers: { accept: "application/json" } };
    await this.#kc.applyToHTTPSOptions(opts);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers = opts.headers as Record<string, string | string[]>;
    if (this.#impersonate !== undefined) {
      headers["impersonate-user"] = this.#impersonate.user;
      if (this.#impersonate.groups !== undefined)
        headers["impersonate-group"] = [...this.#impersonate.groups];
    }
    if (payload !== undefined) {
      headers["content-type"] = req.contentType ?? "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    const send = url.protocol === "http:" ? httpRequest : request;
    return new Promise<KubeResponse>((resolve, reject) => {
      const r = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          const warnings: string[] = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
            if (res.rawHeaders[i]?.toLowerCase() === "warning") warnings.push(res.rawHeaders[i + 1] ?? "");
          resolve({ status: res.statusCode ?? 0, body, ...(warnings.length > 0 ? { warnings } : {}) });
        });
      });
      r.setTimeout(30_000, () => r.destroy(new Error(`${req.method} ${url.pathname}: no answer in 30 s`)));
      r.on("error", (cause: Error) =>
        reject(
          new ControllerError("HANGAR_ERR_ENFORCE_KUBE", `${req.method} ${url.pathname}: ${cause.message}`, {
            cause,
          }),
        ),
      );
      if (payload !== undefined) r.write(payload);
      r.end();
    });
  }

  /** Like `send`, but throws a ControllerError naming the call on a status outside `ok`. */
  async call(req: KubeRequest, ok: readonly number[] = [200, 201]): Promise<KubeResponse> {
    const res = await this.send(req);
    if (!ok.includes(res.status)) throw kubeError(req, res);
    return res;
  }

  async get(path: string): Promise<KubeObject | undefined> {
    const res = await this.call({ method: "GET", path }, [200, 404]);
    return res.status === 404 ? undefined : (res.body as KubeObject);
  }

  /** Whether an API group version is served (discovery; needs no RBAC beyond authentication). */
  async serves(groupVersion: string, resource: string): Promise<boolean> {
    const res = await this.send({ method: "GET", path: `/apis/${groupVersion}` });
    if (res.status !== 200) return false;
    const resources = (res.body as { resources?: { name?: string }[] }).resources ?? [];
    return resources.some((r) => r.name === resource);
  }
}

export function kubeError(req: KubeRequest, res: KubeResponse): ControllerError {
  const status = res.body as { message?: string; reason?: string } | undefined;
  const message =
    typeof status === "object" && status?.message !== undefined ? status.message : String(res.body);
  const code = res.status === 409 ? "HANGAR_ERR_ENFORCE_CONFLICT" : "HANGAR_ERR_ENFORCE_KUBE";
  return new ControllerError(code, `${req.method} ${req.path}: HTTP ${res.status}: ${message}`, {
    details: { status: res.status, reason: status?.reason },
  });
}
