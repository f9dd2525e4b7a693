/**
 * Per-tool policy of one provider: allow and deny patterns applied to
 * `tools/list` (denied tools are hidden) and `tools/call` (refused with a
 * JSON-RPC error). In `audit` mode nothing is hidden or refused: the decision is
 * recorded on the call trace (`policy_would_deny`), never rewritten into an allow.
 *
 * Patterns are globs (`*` any run of characters, `?` one character, matched
 * against the whole tool name) or regular expressions written `/…/`. Deny wins;
 * an empty allow list allows every tool not denied.
 *
 * Names are matched ignoring case and Unicode compatibility forms (`RUN_REPORT` and
 * `ｒｕｎ_report` are `run_report` to the patterns), and a name no tool has — control or format
 * characters (`run_report\n`, zero-width or bidi characters), spaces at either end, or a form
 * that NFKC normalization changes — is refused outright while a policy is set: a deny list
 * matched as exact strings let every such variant through.
 */
export type PolicyMode = "audit" | "enforce";

export interface ToolPolicyConfig {
  mode?: PolicyMode;
  allow?: readonly string[];
  deny?: readonly string[];
}

export interface PolicyDecision {
  /** The tool is allowed by the patterns (independent of the mode). */
  allowed: boolean;
  /** Why: `deny "exec_*"`, `not in allow list`, `allow "get_*"`, or `no policy`. */
  rule: string;
  /** The call or listing is actually refused/hidden (allowed = false and mode = enforce). */
  enforced: boolean;
}

interface Pattern {
  source: string;
  re: RegExp;
}

/** Why `name` is not a name a tool can have, or undefined. */
export function toolNameProblem(name: string): string | undefined {
  if (name === "") return "an empty name";
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name))
    return "control or format characters (newlines, zero-width or bidi characters)";
  if (name.trim() !== name) return "spaces at the start or end";
  if (name.normalize("NFKC") !== name) return "characters NFKC normalization changes (look-alike forms)";
  return undefined;
}

/** The form of a name the patterns see: NFKC, case-folded. */
export function canonicalToolName(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

function compile(p: string, where: string): Pattern {
  if (p.length >= 2 && p.startsWith("/") && p.endsWith("/")) {
    try {
      // eslint-disable-next-line security/detect-non-literal-regexp -- a tool-name pattern of the operator's proxy policy, compiled once at load (u flag)
      return { source: p, re: new RegExp(p.slice(1, -1), "iu") };
    } catch (err) {
      throw new Error(`${where}: ${p} is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  if (p === "") throw new Error(`${where}: an empty pattern`);
  const body = p
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  // eslint-disable-next-line security/detect-non-literal-regexp -- a tool-name pattern of the operator's proxy policy, compiled once at load (u flag)
  return { source: p, re: new RegExp(`^${canonicalToolName(body)}$`, "iu") };
}

export class ToolPolicy {
  readonly mode: PolicyMode;
  readonly #allow: readonly Pattern[];
  readonly #deny: readonly Pattern[];
  readonly #cache = new Map<string, PolicyDecision>();

  /** Throws an Error naming the bad pattern (`where.allow[2]: …`). */
  constructor(config: ToolPolicyConfig = {}, where = "policy") {
    this.mode = config.mode ?? "audit";
    this.#allow = (config.allow ?? []).map((p, i) => compile(p, `${where}.allow[${i}]`));
    this.#deny = (config.deny ?? []).map((p, i) => compile(p, `${where}.deny[${i}]`));
  }

  get empty(): boolean {
    return this.#allow.length === 0 && this.#deny.length === 0;
  }

  decide(tool: string): PolicyDecision {
    const hit = this.#cache.get(tool);
    if (hit !== undefined) return hit;
    let d: PolicyDecision;
    const problem = this.empty ? undefined : toolNameProblem(tool);
    const name = canonicalToolName(tool);
    const deny = problem === undefined ? this.#deny.find((p) => p.re.test(name)) : undefined;
    if (problem !== undefined) d = { allowed: false, rule: `refused name: ${problem}`, enforced: false };
    else if (deny !== undefined) d = { allowed: false, rule: `deny "${deny.source}"`, enforced: false };
    else if (this.#allow.length === 0) d = { allowed: true, rule: "no policy", enforced: false };
    else {
      const allow = this.#allow.find((p) => p.re.test(name));
      d =
        allow === undefined
          ? { allowed: false, rule: "not in allow list", enforced: false }
          : { allowed: true, rule: `allow "${allow.source}"`, enforced: false };
    }
    d.enforced = !d.allowed && this.mode === "enforce";
    // Tool names come from servers and clients: keep the cache bounded.
    if (this.#cache.size < 4096) this.#cache.set(tool, d);
    return d;
  }
}
