/**
 * The enforcement policy: which mode applies to a provider (`audit` unless a
 * provider, namespace or default entry says `enforce`), which actions are
 * allowed, TTLs and rate limits. Parsed from the controller's configuration
 * with errors naming the field.
 */
import { ControllerError } from "../errors.js";

export const ACTIONS = ["block_egress", "quarantine", "tighten_egress"] as const;
export type Action = (typeof ACTIONS)[number];
export type Mode = "audit" | "enforce";

export interface ScopePolicy {
  mode?: Mode;
  allowedActions?: Action[];
}

export interface RateLimit {
  /** At most `max` changes … */
  max: number;
  /** … per this many seconds. */
  windowSeconds: number;
}

export interface EnforcementConfig {
  /** Mode when no provider or namespace entry says otherwise. Default `audit`. */
  mode: Mode;
  allowedActions: Action[];
  /** Keyed by namespace. */
  namespaces: Record<string, ScopePolicy>;
  /** Keyed by `namespace/provider` or by provider name (any namespace). */
  providers: Record<string, ScopePolicy>;
  /** TTL when a request has none. Default 3600 s. */
  defaultTtlSeconds: number;
  /** Longest TTL accepted; longer requests are cut to it. Default 86400 s. */
  maxTtlSeconds: number;
  /** Per provider. Default 5 per 60 s. */
  rateLimitPerProvider: RateLimit;
  /** Across all providers. Default 30 per 60 s. */
  rateLimitGlobal: RateLimit;
  /** How long finished records (audited, reverted, expired, refused, failed) are kept. Default 7 days. */
  recordRetentionSeconds: number;
  /** Where cluster DNS runs (always allowed). */
  dns: { namespace: string; podLabels: Record<string, string> };
  /** Where the controller runs (allowed from quarantined pods). */
  controller: { namespace: string; podLabels: Record<string, string> };
}

export const DEFAULT_CONFIG: EnforcementConfig = {
  mode: "audit",
  allowedActions: [...ACTIONS],
  namespaces: {},
  providers: {},
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 86_400,
  rateLimitPerProvider: { max: 5, windowSeconds: 60 },
  rateLimitGlobal: { max: 30, windowSeconds: 60 },
  recordRetentionSeconds: 7 * 86_400,
  dns: { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } },
  controller: { namespace: "hangar-system", podLabels: { "app.kubernetes.io/name": "hangar-controller" } },
};

export interface Decision {
  mode: Mode;
  allowed: boolean;
  /** Which entry decided the mode: `provider:ns/name`, `provider:name`, `namespace:ns` or `default`. */
  source: string;
  /** Which entry decided the allowed actions. */
  actionsSource: string;
}

/** Resolves mode and allowed actions: provider entry, then namespace entry, then the default. */
export function decide(
  config: EnforcementConfig,
  namespace: string,
  provider: string,
  action: Action,
): Decision {
  const candidates: [string, ScopePolicy | undefined][] = [
    [`provider:${namespace}/${provider}`, config.providers[`${namespace}/${provider}`]],
    [`provider:${provider}`, config.providers[provider]],
    [`namespace:${namespace}`, config.namespaces[namespace]],
  ];
  let mode: Mode | undefined;
  let actions: Action[] | undefined;
  let source = "default";
  let actionsSource = "default";
  for (const [name, scope] of candidates) {
    if (scope === undefined) continue;
    if (mode === undefined && scope.mode !== undefined) {
      mode = scope.mode;
      source = name;
    }
    if (actions === undefined && scope.allowedActions !== undefined) {
      actions = scope.allowedActions;
      actionsSource = name;
    }
  }
  return {
    mode: mode ?? config.mode,
    allowed: (actions ?? config.allowedActions).includes(action),
    source,
    actionsSource,
  };
}

/** Sliding-window counters per key. */
export class RateLimiter {
  readonly #hits = new Map<string, number[]>();

  /** Records a hit and returns true when `key` is under `limit` at `now` (ms); false (nothing recorded) otherwise. */
  take(key: string, limit: RateLimit, now: number): boolean {
    const since = now - limit.windowSeconds * 1000;
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > since);
    if (hits.length >= limit.max) {
      this.#hits.set(key, hits);
      return false;
    }
    hits.push(now);
    this.#hits.set(key, hits);
    return true;
  }

  /** Gives back the last hit of `key` (the change was not made after all). */
  giveBack(key: string): void {
    this.#hits.get(key)?.pop();
  }
}

/** Validates a configuration object (from JSON or YAML); `place` names its origin in errors. */
export function parseConfig(input: unknown, place = "enforcement"): EnforcementConfig {
  const fail = (path: string, msg: string): never => {
    throw new ControllerError("HANGAR_ERR_ENFORCE_CONFIG", `${place}: ${path}: ${msg}`, {
      details: { path },
    });
  };
  if (input === undefined || input === null) return structuredClone(DEFAULT_CONFIG);
  if (typeof input !== "object" || Array.isArray(input)) return fail("(root)", "must be an object");
  const o = input as Record<string, unknown>;
  const known = new Set([
    "mode",
    "allowedActions",
    "namespaces",
    "providers",
    "defaultTtlSeconds",
    "maxTtlSeconds",
    "rateLimitPerProvider",
    "rateLimitGlobal",
    "recordRetentionSeconds",
    "dns",
    "controller",
  ]);
  for (const k of Object.keys(o))
    if (!known.has(k)) fail(k, `unknown field (known: ${[...known].join(", ")})`);
  const mode = (v: unknown, path: string): Mode =>
    v === "audit" || v === "enforce"
      ? v
      : fail(path, `must be "audit" or "enforce", got ${JSON.stringify(v)}`);
  const actions = (v: unknown, path: string): Action[] => {
    if (!Array.isArray(v)) return fail(path, "must be a list of actions");
    return v.map((a, i) =>
      (ACTIONS as readonly unknown[]).includes(a)
        ? (a as Action)
        : fail(`${path}[${i}]`, `unknown action ${JSON.stringify(a)} (known: ${ACTIONS.join(", ")})`),
    );
  };
  const posInt = (v: unknown, path: string): number =>
    typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fail(path, "must be a positive integer");
  const scopes = (v: unknown, path: string): Record<string, ScopePolicy> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return fail(path, "must be a map");
    const out: [string, ScopePolicy][] = [];
    for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
      if (typeof s !== "object" || s === null) fail(`${path}.${k}`, "must be an object");
      const e = s as Record<string, unknown>;
      for (const f of Object.keys(e))
        if (f !== "mode" && f !== "allowedActions")
          fail(`${path}.${k}.${f}`, "unknown field (known: mode, allowedActions)");
      const scope: ScopePolicy = {};
      if (e["mode"] !== undefined) scope.mode = mode(e["mode"], `${path}.${k}.mode`);
      if (e["allowedActions"] !== undefined)
        scope.allowedActions = actions(e["allowedActions"], `${path}.${k}.allowedActions`);
      out.push([k, scope]);
    }
    // Own properties for every key of the file, "__proto__" included.
    return Object.fromEntries(out);
  };
  const limit = (v: unknown, path: string): RateLimit => {
    if (typeof v !== "object" || v === null) return fail(path, "must be {max, windowSeconds}");
    const r = v as Record<string, unknown>;
    return {
      max: posInt(r["max"], `${path}.max`),
      windowSeconds: posInt(r["windowSeconds"], `${path}.windowSeconds`),
    };
  };
  const selector = (v: unknown, path: string): { namespace: string; podLabels: Record<string, string> } => {
    if (typeof v !== "object" || v === null) return fail(path, "must be {namespace, podLabels}");
    const r = v as Record<string, unknown>;
    if (typeof r["namespace"] !== "string" || r["namespace"] === "")
      fail(`${path}.namespace`, "must be a namespace name");
    const labels = r["podLabels"];
    if (
      typeof labels !== "object" ||
      labels === null ||
      Object.values(labels).some((x) => typeof x !== "string")
    )
      fail(`${path}.podLabels`, "must be a map of strings");
    return { namespace: r["namespace"] as string, podLabels: { ...(labels as Record<string, string>) } };
  };
  const c = structuredClone(DEFAULT_CONFIG);
  if (o["mode"] !== undefined) c.mode = mode(o["mode"], "mode");
  if (o["allowedActions"] !== undefined) c.allowedActions = actions(o["allowedActions"], "allowedActions");
  if (o["namespaces"] !== undefined) c.namespaces = scopes(o["namespaces"], "namespaces");
  if (o["providers"] !== undefined) c.providers = scopes(o["providers"], "providers");
  if (o["defaultTtlSeconds"] !== undefined)
    c.defaultTtlSeconds = posInt(o["defaultTtlSeconds"], "defaultTtlSeconds");
  if (o["maxTtlSeconds"] !== undefined) c.maxTtlSeconds = posInt(o["maxTtlSeconds"], "maxTtlSeconds");
  if (o["rateLimitPerProvider"] !== undefined)
    c.rateLimitPerProvider = limit(o["rateLimitPerProvider"], "rateLimitPerProvider");
  if (o["rateLimitGlobal"] !== undefined) c.rateLimitGlobal = limit(o["rateLimitGlobal"], "rateLimitGlobal");
  if (o["recordRetentionSeconds"] !== undefined)
    c.recordRetentionSeconds = posInt(o["recordRetentionSeconds"], "recordRetentionSeconds");
  if (o["dns"] !== undefined) c.dns = selector(o["dns"], "dns");
  if (o["controller"] !== undefined) c.controller = selector(o["controller"], "controller");
  if (c.defaultTtlSeconds > c.maxTtlSeconds)
    fail("defaultTtlSeconds", `is longer than maxTtlSeconds (${c.maxTtlSeconds})`);
  return c;
}
