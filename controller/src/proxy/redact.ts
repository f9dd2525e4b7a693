/**
 * Redaction of request arguments before they leave the proxy in a call trace.
 * Two kinds of rules, both configurable: keys by name (a value under a key whose
 * name matches is replaced whole, at any depth) and values by pattern (the
 * matching part of any string is replaced). Strings are also cut to a maximum
 * length and deep or wide structures are truncated, so a trace stays small.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import type { Value } from "@bufbuild/protobuf/wkt";

/** Characters past `maxString` that value patterns still look at (see Redactor.#string). */
const CUT_WINDOW = 8192;

export interface RedactionConfig {
  /**
   * Key-name patterns (case-insensitive; `*` globs, `/…/` regular expressions).
   * Default: DEFAULT_REDACT_KEYS. Set `replaceDefaults: true` to use only yours.
   */
  keys?: readonly string[];
  /** Value patterns (regular expression sources), added to DEFAULT_REDACT_PATTERNS. */
  patterns?: readonly { name: string; regex: string }[];
  replaceDefaults?: boolean;
  /** Longest string kept (longer ones are cut, with a marker). Default 1024. */
  maxString?: number;
  /** Deepest nesting kept. Default 8. */
  maxDepth?: number;
  /** Most keys or items kept per object or array. Default 64. */
  maxItems?: number;
}

/** Key names whose values are secrets in practice. Matched case-insensitively, as globs. */
export const DEFAULT_REDACT_KEYS: readonly string[] = [
  "*password*",
  "*passwd*",
  "*secret*",
  "*token*",
  "*api_key*",
  "*apikey*",
  "*api-key*",
  "authorization",
  "*credential*",
  "*private_key*",
  "*privatekey*",
  "*access_key*",
  "cookie",
  "set-cookie",
  "*session_key*",
  "*signature*",
];

/** Secrets recognisable by their shape, wherever they appear in a string. */
export const DEFAULT_REDACT_PATTERNS: readonly { name: string; regex: string }[] = [
  { name: "jwt", regex: "eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*" },
  { name: "bearer", regex: "(?<=[Bb]earer\\s+)[A-Za-z0-9._~+/=-]{8,}" },
  { name: "aws-access-key", regex: "\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b" },
  { name: "github-token", regex: "\\bgh[pousr]_[A-Za-z0-9]{30,}\\b" },
  { name: "slack-token", regex: "\\bxox[abprs]-[A-Za-z0-9-]{10,}\\b" },
  {
    name: "private-key",
    regex: "-----BEGIN [A-Z ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
  },
  { name: "url-password", regex: "(?<=://[^/\\s:@]+:)[^/\\s@]+(?=@)" },
];

function keyRegex(p: string, where: string): RegExp {
  if (p.length >= 2 && p.startsWith("/") && p.endsWith("/")) {
    try {
      // eslint-disable-next-line security/detect-non-literal-regexp -- a redaction pattern of the operator's proxy configuration, compiled once at load
      return new RegExp(p.slice(1, -1), "iu");
    } catch (err) {
      throw new Error(`${where}: ${p} is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const body = p
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  // eslint-disable-next-line security/detect-non-literal-regexp -- a redaction pattern of the operator's proxy configuration, compiled once at load
  return new RegExp(`^${body}$`, "iu");
}

export class Redactor {
  readonly #keys: RegExp[];
  readonly #keyCache = new Map<string, boolean>();
  readonly #patterns: { name: string; re: RegExp }[];
  readonly #maxString: number;
  readonly #maxDepth: number;
  readonly #maxItems: number;

  /** Throws an Error naming the bad rule (`where.keys[1]: …`). */
  constructor(config: RedactionConfig = {}, where = "redact") {
    const keys =
      config.replaceDefaults === true
        ? (config.keys ?? [])
        : [...DEFAULT_REDACT_KEYS, ...(config.keys ?? [])];
    this.#keys = keys.map((k, i) => keyRegex(k, `${where}.keys[${i}]`));
    const patterns =
      config.replaceDefaults === true
        ? (config.patterns ?? [])
        : [...DEFAULT_REDACT_PATTERNS, ...(config.patterns ?? [])];
    this.#patterns = patterns.map((p, i) => {
      try {
        // eslint-disable-next-line security/detect-non-literal-regexp -- a redaction pattern of the operator's proxy configuration, compiled once at load
        return { name: p.name, re: new RegExp(p.regex, "gu") };
      } catch (err) {
        throw new Error(
          `${where}.patterns[${i}] (${p.name}): not a valid regular expression: ${(err as Error).message}`,
        );
      }
    });
    this.#maxString = config.maxString ?? 1024;
    this.#maxDepth = config.maxDepth ?? 8;
    this.#maxItems = config.maxItems ?? 64;
  }

  #secretKey(key: string): boolean {
    let hit = this.#keyCache.get(key);
    if (hit === undefined) {
      hit = this.#keys.some((re) => re.test(key));
      if (this.#keyCache.size < 4096) this.#keyCache.set(key, hit);
    }
    return hit;
  }

  /**
   * Redacts a string by pattern, then cuts it to `maxString`. Patterns run over
   * the kept part and a window of `CUT_WINDOW` characters after it, not over the
   * whole string: a 4 MiB argument cost ~40 ms of pattern matching per call for
   * 1,024 characters kept. The window lets a secret that starts in the kept part
   * and runs past the cut (a private key block is under 4 KiB) still match whole.
   */
  #string(s: string): string {
    const cut = s.length > this.#maxString + CUT_WINDOW;
    let out = cut ? s.slice(0, this.#maxString + CUT_WINDOW) : s;
    for (const p of this.#patterns) {
      p.re.lastIndex = 0;
      if (p.re.test(out)) {
        p.re.lastIndex = 0;
        out = out.replace(p.re, `[REDACTED:${p.name}]`);
      }
    }
    if (cut) return `${out.slice(0, this.#maxString)}…[${s.length - this.#maxString} more chars]`;
    if (out.length > this.#maxString)
      out = `${out.slice(0, this.#maxString)}…[${out.length - this.#maxString} more chars]`;
    return out;
  }

  /** A redacted copy of `v` (never modifies `v`). */
  redact(v: unknown, depth = 0): JsonValue {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
      case "string":
        return this.#string(v);
      case "number":
        return Number.isFinite(v) ? v : String(v);
      case "boolean":
        return v;
      case "object":
        break;
      default:
        return typeof v === "bigint" ? v.toString() : `[${typeof v}]`;
    }
    if (depth >= this.#maxDepth) return "[TRUNCATED:depth]";
    if (Array.isArray(v)) {
      const out: JsonValue[] = [];
      const n = Math.min(v.length, this.#maxItems);
      for (let i = 0; i < n; i++) out.push(this.redact(v[i], depth + 1));
      if (v.length > n) out.push(`[TRUNCATED:${v.length - n} more items]`);
      return out;
    }
    // Keys are the caller's: built with fromEntries (own properties), a "__proto__" key stays a
    // key and never becomes the copy's prototype.
    const entries = Object.entries(v as Record<string, unknown>);
    const out: [string, JsonValue][] = entries
      .slice(0, this.#maxItems)
      .map(([k, val]) => [k, this.#secretKey(k) ? "[REDACTED:key]" : this.redact(val, depth + 1)]);
    if (entries.length > this.#maxItems)
      out.push(["…", `[TRUNCATED:${entries.length - this.#maxItems} more keys]`]);
    return Object.fromEntries(out);
  }
}

/** A JSON value as a google.protobuf.Value message (without a JSON round trip). */
export function toValue(v: JsonValue): Value {
  if (v === null) return { $typeName: "google.protobuf.Value", kind: { case: "nullValue", value: 0 } };
  switch (typeof v) {
    case "string":
      return { $typeName: "google.protobuf.Value", kind: { case: "stringValue", value: v } };
    case "number":
      return { $typeName: "google.protobuf.Value", kind: { case: "numberValue", value: v } };
    case "boolean":
      return { $typeName: "google.protobuf.Value", kind: { case: "boolValue", value: v } };
  }
  if (Array.isArray(v))
    return {
      $typeName: "google.protobuf.Value",
      kind: { case: "listValue", value: { $typeName: "google.protobuf.ListValue", values: v.map(toValue) } },
    };
  // Own properties for every key, "__proto__" included (the keys are the caller's).
  const fields: Record<string, Value> = Object.fromEntries(
    Object.entries(v).map(([k, val]) => [k, toValue(val)]),
  );
  return {
    $typeName: "google.protobuf.Value",
    kind: { case: "structValue", value: { $typeName: "google.protobuf.Struct", fields } },
  };
}
