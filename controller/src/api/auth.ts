/**
 * Bearer-token authentication of the REST API, with two roles: `read` (every
 * GET) and `admin` (read, plus revert and manual enforcement). Tokens are
 * static (from a Secret: data key `<role>.<user>`, value the token) or
 * Kubernetes tokens checked with a TokenReview and mapped to a role by user
 * name or group.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ControllerError } from "../errors.js";
import type { KubeApi } from "../kube/kube.js";

export type Role = "read" | "admin";

export interface Principal {
  user: string;
  role: Role;
  via: "static" | "tokenreview";
}

export interface StaticToken {
  user: string;
  role: Role;
  token: string;
}

export interface RoleBinding {
  users?: string[];
  groups?: string[];
}

export interface TokenReviewOptions {
  kube: KubeApi;
  /** Audiences the token must carry (empty: the API server's default audience). */
  audiences?: string[];
  /** Who gets which role; admin wins when both match. */
  roles: { admin?: RoleBinding; read?: RoleBinding };
  /** How long an answer is reused. Default 30 s. */
  cacheMs?: number;
}

export type AuthResult =
  { ok: true; principal: Principal } | { ok: false; status: 401 | 403; message: string };

export class Authenticator {
  #static: StaticToken[];
  readonly #review: TokenReviewOptions | undefined;
  readonly #cache = new Map<string, { at: number; result: AuthResult }>();

  constructor(opts: { staticTokens?: StaticToken[]; tokenReview?: TokenReviewOptions } = {}) {
    this.#static = opts.staticTokens ?? [];
    this.#review = opts.tokenReview;
  }

  /** Replaces the static tokens (after the Secret changed). */
  setStaticTokens(tokens: StaticToken[]): void {
    this.#static = tokens;
  }

  /** Checks the `authorization` header against `need`. */
  async check(header: string | undefined, need: Role): Promise<AuthResult> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (m === null)
      return {
        ok: false,
        status: 401,
        message: "missing bearer token (header authorization: Bearer <token>)",
      };
    const token = m[1] as string;
    const result = await this.#identify(token);
    if (!result.ok) return result;
    if (need === "admin" && result.principal.role !== "admin")
      return { ok: false, status: 403, message: `${result.principal.user} has role read; this needs admin` };
    return result;
  }

  async #identify(token: string): Promise<AuthResult> {
    const digest = createHash("sha256").update(token).digest();
    for (const t of this.#static) {
      const d = createHash("sha256").update(t.token).digest();
      if (timingSafeEqual(d, digest))
        return { ok: true, principal: { user: t.user, role: t.role, via: "static" } };
    }
    const review = this.#review;
    if (review === undefined) return { ok: false, status: 401, message: "unknown token" };
    const key = digest.toString("hex");
    const cached = this.#cache.get(key);
    if (cached !== undefined && Date.now() - cached.at < (review.cacheMs ?? 30_000)) return cached.result;
    const result = await tokenReview(review, token);
    if (this.#cache.size > 1000) this.#cache.clear();
    this.#cache.set(key, { at: Date.now(), result });
    return result;
  }
}

/** Asks the API server who `token` belongs to, and maps the answer to a role. */
export async function tokenReview(opts: TokenReviewOptions, token: string): Promise<AuthResult> {
  const res = await opts.kube.call(
    {
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: {
          token,
          ...(opts.audiences !== undefined && opts.audiences.length > 0 ? { audiences: opts.audiences } : {}),
        },
      },
    },
    [200, 201],
  );
  const status = (
    res.body as {
      status?: { authenticated?: boolean; error?: string; user?: { username?: string; groups?: string[] } };
    }
  ).status;
  if (status?.authenticated !== true)
    return {
      ok: false,
      status: 401,
      message: `token rejected by TokenReview${status?.error !== undefined ? `: ${status.error}` : ""}`,
    };
  const user = status.user?.username ?? "";
  const groups = status.user?.groups ?? [];
  const matches = (b: RoleBinding | undefined): boolean =>
    b !== undefined && ((b.users ?? []).includes(user) || (b.groups ?? []).some((g) => groups.includes(g)));
  if (matches(opts.roles.admin)) return { ok: true, principal: { user, role: "admin", via: "tokenreview" } };
  if (matches(opts.roles.read)) return { ok: true, principal: { user, role: "read", via: "tokenreview" } };
  return { ok: false, status: 403, message: `${user} is authenticated but has no hangar role` };
}

/**
 * Reads static tokens from a Secret: every data key is `<role>.<user>` (role
 * `read` or `admin`), its value the token. Errors name the Secret and the key.
 */
export async function loadStaticTokens(
  kube: KubeApi,
  namespace: string,
  name: string,
): Promise<StaticToken[]> {
  const secret = await kube.get(`/api/v1/namespaces/${namespace}/secrets/${name}`);
  // eslint-disable-next-line security/detect-possible-timing-attacks -- compares with undefined (is it configured), not a secret
  if (secret === undefined)
    throw new ControllerError(
      "HANGAR_ERR_API_CONFIG",
      `Secret ${namespace}/${name} (API tokens) does not exist`,
    );
  return parseTokenSecret(
    secret["data"] as Record<string, string> | undefined,
    `Secret ${namespace}/${name}`,
  );
}

export function parseTokenSecret(data: Record<string, string> | undefined, place: string): StaticToken[] {
  const out: StaticToken[] = [];
  for (const [key, value] of Object.entries(data ?? {})) {
    const m = /^(read|admin)\.([A-Za-z0-9._@:-]+)$/.exec(key);
    if (m === null)
      throw new ControllerError(
        "HANGAR_ERR_API_CONFIG",
        `${place}: data key ${JSON.stringify(key)} is not <role>.<user> with role read or admin`,
      );
    const token = Buffer.from(value, "base64").toString("utf8").trim();
    if (token.length < 16)
      throw new ControllerError(
        "HANGAR_ERR_API_CONFIG",
        `${place}: data key ${key}: the token is shorter than 16 characters`,
      );
    out.push({ role: m[1] as Role, user: m[2] as string, token });
  }
  return out;
}
