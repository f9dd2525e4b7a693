/**
 * The local stack's Kubernetes: no API server, an empty in-memory cluster that
 * answers what the enforcer and the agent hub ask of one. Objects written by
 * server-side apply are kept in memory (in audit mode nothing is written);
 * lists are empty unless something was applied; no CRD is served (so
 * enforcement writes plain NetworkPolicies); TokenReview knows the tokens the
 * local stack handed out and nothing else. Every answer is what a real API
 * server would give an empty cluster, so the enforcer's diffs read "against an
 * empty cluster".
 */
import {
  ControllerError,
  kubeError,
  type KubeApi,
  type KubeObject,
  type KubeRequest,
  type KubeResponse,
} from "@hangar/controller";

export interface LocalToken {
  token: string;
  /** The user a TokenReview reports, e.g. `system:serviceaccount:hangar-system:hangar-agent`. */
  username: string;
  /** Audiences the token was issued for. */
  audiences: string[];
  /** For a token bound to a pod: the pod's node (`authentication.kubernetes.io/node-name`). */
  node?: string;
}

const TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";

export class LocalCluster implements KubeApi {
  readonly #objects = new Map<string, KubeObject>();
  readonly #tokens: LocalToken[];
  #rv = 1;
  /** Every request, in order (`METHOD path`), for tests and the stack's own report. */
  readonly requests: string[] = [];

  constructor(opts: { tokens?: LocalToken[] } = {}) {
    this.#tokens = opts.tokens ?? [];
  }

  /** Objects stored by apply (none in audit mode). */
  get objects(): ReadonlyMap<string, KubeObject> {
    return this.#objects;
  }

  send(req: KubeRequest): Promise<KubeResponse> {
    this.requests.push(`${req.method} ${req.path}`);
    return Promise.resolve(this.#answer(req));
  }

  async call(req: KubeRequest, ok: readonly number[] = [200, 201]): Promise<KubeResponse> {
    const res = await this.send(req);
    if (!ok.includes(res.status)) throw kubeError(req, res);
    return res;
  }

  async get(path: string): Promise<KubeObject | undefined> {
    const res = await this.call({ method: "GET", path }, [200, 404]);
    return res.status === 404 ? undefined : (res.body as KubeObject);
  }

  serves(groupVersion: string, resource: string): Promise<boolean> {
    this.requests.push(`GET /apis/${groupVersion} (${resource})`);
    // No CRDs in an empty cluster: no CiliumNetworkPolicy.
    return Promise.resolve(false);
  }

  #answer(req: KubeRequest): KubeResponse {
    const path = req.path.replace(/\/+$/, "");
    if (req.method === "GET" && path === "/version")
      return { status: 200, body: { major: "1", minor: "34", gitVersion: "v1.34.0-hangar-local" } };
    if (req.method === "POST" && path === TOKEN_REVIEWS) return this.#review(req.body);
    const segs = path.split("/").filter((s) => s !== "");
    // /api/v1/namespaces/NS/RESOURCE[/NAME] or /apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME]
    const at = segs.indexOf("namespaces");
    const isCollection = at >= 0 && segs.length === at + 3;
    const isObject = at >= 0 && segs.length === at + 4;
    if (!isCollection && !isObject)
      return status(404, "NotFound", `the local cluster does not serve ${path}`);
    switch (req.method) {
      case "GET": {
        if (isCollection) {
          const items = [...this.#objects.entries()]
            .filter(([k]) => k.startsWith(`${path}/`))
            .map(([, o]) => structuredClone(o))
            .filter((o) => matchesSelector(o, req.query?.["labelSelector"]));
          return {
            status: 200,
            body: { kind: "List", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv) }, items },
          };
        }
        const o = this.#objects.get(path);
        return o === undefined
          ? status(404, "NotFound", `${segs[at + 2] ?? ""} "${segs[at + 3] ?? ""}" not found`)
          : { status: 200, body: structuredClone(o) };
      }
      case "PATCH":
      case "PUT": {
        if (!isObject) return status(405, "MethodNotAllowed", `${req.method} on a collection`);
        const body = structuredClone(req.body) as KubeObject;
        const live = this.#objects.get(path);
        const want = body.metadata?.resourceVersion;
        if (live !== undefined && want !== undefined && want !== live.metadata.resourceVersion)
          return status(409, "Conflict", `the object has been modified (resourceVersion ${want})`);
        body.metadata = {
          ...body.metadata,
          namespace: segs[at + 1] as string,
          resourceVersion: String(++this.#rv),
          uid: live?.metadata.uid ?? `local-${this.#rv}`,
        };
        this.#objects.set(path, body);
        return { status: live === undefined ? 201 : 200, body: structuredClone(body) };
      }
      case "DELETE": {
        if (!isObject) return status(405, "MethodNotAllowed", "DELETE on a collection");
        const live = this.#objects.get(path);
        if (live === undefined) return status(404, "NotFound", `${path} not found`);
        this.#objects.delete(path);
        return { status: 200, body: { kind: "Status", status: "Success" } };
      }
      case "POST":
        return status(405, "MethodNotAllowed", `the local cluster does not create ${path}`);
    }
  }

  #review(body: unknown): KubeResponse {
    const spec = (body as { spec?: { token?: unknown; audiences?: unknown } } | undefined)?.spec;
    if (typeof spec?.token !== "string")
      throw new ControllerError("HANGAR_ERR_ENFORCE_KUBE", "TokenReview: spec.token is missing");
    const audiences = Array.isArray(spec.audiences) ? (spec.audiences as string[]) : [];
    const t = this.#tokens.find((x) => x.token === spec.token);
    const ok = t !== undefined && audiences.every((a) => t.audiences.includes(a));
    return {
      status: 201,
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        status: ok
          ? {
              authenticated: true,
              audiences,
              user: {
                username: t.username,
                ...(t.node !== undefined
                  ? { extra: { "authentication.kubernetes.io/node-name": [t.node] } }
                  : {}),
              },
            }
          : {
              authenticated: false,
              error: t === undefined ? "unknown token" : "token audiences do not match",
            },
      },
    };
  }
}

function status(code: number, reason: string, message: string): KubeResponse {
  return {
    status: code,
    body: { kind: "Status", apiVersion: "v1", status: "Failure", reason, message, code },
  };
}

/** Equality selectors only (`a=b,c=d`), which is what the enforcer sends for pods. */
function matchesSelector(o: KubeObject, selector: string | undefined): boolean {
  if (selector === undefined || selector === "") return true;
  return selector.split(",").every((term) => {
    const m = /^([^=!]+)=(.*)$/.exec(term.trim());
    if (m === null) return false;
    return o.metadata.labels?.[m[1] as string] === m[2];
  });
}
