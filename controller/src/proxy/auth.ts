/**
 * Who is calling: a bearer token verified as a JWT (against a JWKS, issuer and
 * audience) or as a Kubernetes service-account token (TokenReview against the
 * API server). A token whose `iss` is the configured JWT issuer is verified
 * locally; any other token goes to TokenReview when that is enabled.
 *
 * Verified tokens are cached (bounded, until they expire, at most `cacheMs`), so
 * a session's requests cost one verification, not one per request.
 */
import { createHash } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from "jose";
import { ProxyError } from "./errors.js";

export interface JwtAuthConfig {
  issuer: string;
  audience: string | readonly string[];
  /** URL of the issuer's JWKS (fetched and cached by jose). */
  jwksUri?: string;
  /** An inline JWKS, instead of jwksUri (tests, air-gapped clusters). */
  jwks?: JSONWebKeySet;
  /** Accepted algorithms. Default: RS256, ES256, PS256, EdDSA. */
  algorithms?: readonly string[];
}

export interface TokenReviewAuthConfig {
  /** Audiences the token must be valid for (TokenReview spec.audiences). Default: the API server's. */
  audiences?: readonly string[];
}

export interface AuthConfig {
  jwt?: JwtAuthConfig;
  tokenReview?: TokenReviewAuthConfig;
  /** Whether a request without a valid token is refused (HTTP 401). Default: true when jwt or tokenReview is set. */
  required?: boolean;
  /** Longest time a verified token is trusted without verifying again. Default 60 000 ms. */
  cacheMs?: number;
}

export interface Identity {
  subject: string;
  issuer: string;
  /** "jwt", "tokenreview" or "none". */
  authMethod: "jwt" | "tokenreview" | "none";
}

export type AuthResult = { ok: true; identity: Identity } | { ok: false; message: string };

export const ANONYMOUS: Identity = { subject: "", issuer: "", authMethod: "none" };

export interface AuthenticatorOptions {
  config: AuthConfig;
  /** Needed for tokenReview. */
  kubeConfig?: k8s.KubeConfig;
}

interface Cached {
  result: AuthResult;
  until: number;
}

const MAX_CACHE = 10_000;

export class Authenticator {
  readonly #config: AuthConfig;
  readonly #required: boolean;
  readonly #cacheMs: number;
  readonly #keys: JWTVerifyGetKey | undefined;
  readonly #review: k8s.AuthenticationV1Api | undefined;
  readonly #cache = new Map<string, Cached>();

  constructor(opts: AuthenticatorOptions) {
    const c = opts.config;
    this.#config = c;
    this.#required = c.required ?? (c.jwt !== undefined || c.tokenReview !== undefined);
    this.#cacheMs = c.cacheMs ?? 60_000;
    if (c.jwt !== undefined) {
      if (c.jwt.jwks !== undefined) this.#keys = createLocalJWKSet(c.jwt.jwks);
      else if (c.jwt.jwksUri !== undefined) {
        let url: URL;
        try {
          url = new URL(c.jwt.jwksUri);
        } catch (err) {
          throw new ProxyError(
            "HANGAR_ERR_PROXY_AUTH_SETUP",
            `auth.jwt.jwksUri: not a URL: ${c.jwt.jwksUri}`,
            {
              cause: err,
            },
          );
        }
        this.#keys = createRemoteJWKSet(url);
      } else
        throw new ProxyError(
          "HANGAR_ERR_PROXY_AUTH_SETUP",
          "auth.jwt: needs jwksUri or jwks to verify tokens",
        );
    }
    if (c.tokenReview !== undefined) {
      if (opts.kubeConfig === undefined)
        throw new ProxyError(
          "HANGAR_ERR_PROXY_AUTH_SETUP",
          "auth.tokenReview: needs a Kubernetes client configuration (in-cluster or --kubeconfig)",
        );
      this.#review = opts.kubeConfig.makeApiClient(k8s.AuthenticationV1Api);
    }
  }

  /** Whether requests must carry a valid token. */
  get required(): boolean {
    return this.#required;
  }

  /** Verifies the `Authorization` header of a request. */
  async authenticate(header: string | undefined): Promise<AuthResult> {
    if (header === undefined || header === "") {
      return this.#required
        ? { ok: false, message: "missing bearer token (Authorization: Bearer <token>)" }
        : { ok: true, identity: ANONYMOUS };
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) return { ok: false, message: "the Authorization header is not `Bearer <token>`" };
    const token = m[1] as string;
    const key = createHash("sha256").update(token).digest("base64url");
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.until > now) return hit.result;
    const result = await this.#verify(token);
    if (result.ok) {
      let until = now + this.#cacheMs;
      try {
        const exp = decodeJwt(token).exp;
        if (exp !== undefined) until = Math.min(until, exp * 1000);
      } catch {
        // An opaque token (TokenReview accepts those): the cache time alone bounds it.
      }
      if (this.#cache.size >= MAX_CACHE) {
        for (const [k, v] of this.#cache) if (v.until <= now) this.#cache.delete(k);
        if (this.#cache.size >= MAX_CACHE) this.#cache.delete(this.#cache.keys().next().value as string);
      }
      this.#cache.set(key, { result, until });
    }
    return result;
  }

  async #verify(token: string): Promise<AuthResult> {
    const jwt = this.#config.jwt;
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      iss = undefined;
    }
    if (jwt !== undefined && this.#keys !== undefined && (iss === jwt.issuer || this.#review === undefined)) {
      try {
        const { payload } = await jwtVerify(token, this.#keys, {
          issuer: jwt.issuer,
          audience: typeof jwt.audience === "string" ? jwt.audience : [...jwt.audience],
          algorithms: [...(jwt.algorithms ?? ["RS256", "ES256", "PS256", "EdDSA"])],
        });
        if (typeof payload.sub !== "string" || payload.sub === "")
          return { ok: false, message: "the JWT has no sub claim" };
        return { ok: true, identity: { subject: payload.sub, issuer: jwt.issuer, authMethod: "jwt" } };
      } catch (err) {
        return { ok: false, message: `the JWT was rejected: ${(err as Error).message}` };
      }
    }
    if (this.#review !== undefined) {
      try {
        const aud = this.#config.tokenReview?.audiences;
        const review = await this.#review.createTokenReview({
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenReview",
            spec: aud === undefined ? { token } : { token, audiences: [...aud] },
          },
        });
        const st = review.status;
        if (st?.authenticated !== true || st.user?.username === undefined)
          return {
            ok: false,
            message: `the Kubernetes API server did not accept the token (TokenReview)${st?.error === undefined ? "" : `: ${st.error}`}`,
          };
        return {
          ok: true,
          identity: { subject: st.user.username, issuer: iss ?? "kubernetes", authMethod: "tokenreview" },
        };
      } catch (err) {
        return { ok: false, message: `TokenReview failed: ${(err as Error).message}` };
      }
    }
    return { ok: false, message: `no configured verifier accepts tokens from issuer ${iss ?? "(none)"}` };
  }
}
