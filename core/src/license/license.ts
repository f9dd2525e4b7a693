/**
 * License documents (`hangar-license/v1`): what a license says, how it is read and checked
 * offline, and where it stands in time. A license is one JSON object, its payload fields plus
 * `signature`: an Ed25519 signature (base64url) over the RFC 8785 canonical JSON of the
 * payload (every field but `signature`), by the maintainers' key named in `keyId`. Nothing
 * here reaches the network; the public keys come from `keys.ts` or, in tests, from the caller.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { CoreError } from "../errors.js";
import { canonicalize } from "./jcs.js";

export const LICENSE_FORMAT = "hangar-license/v1";

/** The enterprise modules (BSL 1.1), by the name the gate uses, with their folder (the packages are loaded by name only in bootstrap/plugins.ts). */
export const ENTERPRISE_MODULES = {
  semantic: { package: "enterprise/semantic", what: "the rule engine" },
  behavioral: { package: "enterprise/behavioral", what: "the baseline engine" },
} as const;
export type EnterpriseModule = keyof typeof ENTERPRISE_MODULES;

export type LicenseTier = "pro" | "enterprise";

/** What each tier covers: pro the rule engine, enterprise both modules. */
export const TIER_COVERS: Readonly<Record<LicenseTier, readonly EnterpriseModule[]>> = {
  pro: ["semantic"],
  enterprise: ["semantic", "behavioral"],
};

/** Days before `expires` from which the agent and controller warn. */
export const LICENSE_WARN_DAYS = 30;
/** Days after `expires` during which the modules keep running, with warnings. */
export const LICENSE_GRACE_DAYS = 14;

export interface LicensePayload {
  format: typeof LICENSE_FORMAT;
  /** The license's own id (for support and revocation lists). */
  id: string;
  licensee: string;
  tier: LicenseTier;
  /** RFC 3339 UTC times, e.g. 2026-12-07T00:00:00Z. */
  issued: string;
  expires: string;
  /** The cluster the license is bound to: the UID of its kube-system namespace. */
  clusterUID?: string;
  /** The most MCP providers (distinct `mcp-hangar.io/provider` values) it covers. */
  maxProviders?: number;
  /** Which maintainers' key signed it (`keys.ts`). */
  keyId: string;
}

export interface LicenseDocument extends LicensePayload {
  /** base64url Ed25519 signature over canonicalize(payload). */
  signature: string;
}

/** A public key a license may be signed with. */
export interface TrustedLicenseKey {
  readonly keyId: string;
  /** PEM (SPKI) text or a KeyObject. */
  readonly publicKey: string | KeyObject;
}

/** A license whose signature checked out, with the key that signed it. */
export interface VerifiedLicense {
  readonly payload: LicensePayload;
  readonly keyId: string;
  /** Where it was read from (a file path), for messages. */
  readonly source: string;
}

const FIELDS = new Set([
  "format",
  "id",
  "licensee",
  "tier",
  "issued",
  "expires",
  "clusterUID",
  "maxProviders",
  "keyId",
  "signature",
]);
// eslint-disable-next-line security/detect-unsafe-regex -- bounded repeats only (\d{1,9}), no nested quantifier: linear
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

function invalid(source: string, message: string, reason: string): CoreError {
  return new CoreError("HANGAR_ERR_LICENSE_INVALID", `${source}: ${message}`, {
    details: { source, reason },
  });
}

/**
 * Reads a license document and checks its shape (not yet its signature): every field is
 * named in the error when it is missing or wrong, and unknown fields are refused (v1 is closed;
 * new fields come with a new format).
 */
export function parseLicense(text: string, source = "license"): LicenseDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(source, `not JSON (${(err as Error).message})`, "format");
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw invalid(source, "a license is a JSON object", "format");
  const o = raw as Record<string, unknown>;
  if (o.format !== LICENSE_FORMAT)
    throw invalid(source, `format: expected "${LICENSE_FORMAT}", got ${JSON.stringify(o.format)}`, "format");
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw invalid(source, `${k}: unknown field`, "field");
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== "string" || v === "") throw invalid(source, `${k}: must be a non-empty string`, "field");
    return v;
  };
  const time = (k: string): string => {
    const v = str(k);
    if (!RFC3339.test(v) || Number.isNaN(Date.parse(v)))
      throw invalid(
        source,
        `${k}: ${JSON.stringify(v)} is not an RFC 3339 time (2026-12-07T00:00:00Z)`,
        "field",
      );
    return v;
  };
  const tier = str("tier");
  if (tier !== "pro" && tier !== "enterprise")
    throw invalid(source, `tier: must be "pro" or "enterprise", got ${JSON.stringify(tier)}`, "field");
  const doc: LicenseDocument = {
    format: LICENSE_FORMAT,
    id: str("id"),
    licensee: str("licensee"),
    tier,
    issued: time("issued"),
    expires: time("expires"),
    keyId: str("keyId"),
    signature: str("signature"),
  };
  if (Date.parse(doc.expires) <= Date.parse(doc.issued))
    throw invalid(source, `expires (${doc.expires}) is not after issued (${doc.issued})`, "field");
  if (o.clusterUID !== undefined) doc.clusterUID = str("clusterUID");
  if (o.maxProviders !== undefined) {
    const n = o.maxProviders;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1)
      throw invalid(source, `maxProviders: must be a whole number ≥ 1, got ${JSON.stringify(n)}`, "field");
    doc.maxProviders = n;
  }
  return doc;
}

/** The payload of a document: every field but the signature. */
export function licensePayload(doc: LicenseDocument): LicensePayload {
  const { signature: _signature, ...payload } = doc;
  return payload;
}

/**
 * Parses `text` and checks its signature against `keys` (the built-in keys unless a caller,
 * such as a test, passes its own). Throws HANGAR_ERR_LICENSE_INVALID naming what is wrong:
 * the shape, a key id no trusted key has, or a signature that does not match (the document
 * was changed after signing, or another key signed it).
 */
export function verifyLicense(
  text: string,
  keys: readonly TrustedLicenseKey[],
  source = "license",
): VerifiedLicense {
  const doc = parseLicense(text, source);
  const key = keys.find((k) => k.keyId === doc.keyId);
  if (key === undefined)
    throw invalid(
      source,
      `signed with key "${doc.keyId}", which this build does not trust (it knows ${keys.map((k) => `"${k.keyId}"`).join(", ") || "no key"}); a newer hangar release may, or the license is not from the maintainers`,
      "unknown-key",
    );
  const payload = licensePayload(doc);
  const signature = Buffer.from(doc.signature, "base64url");
  let ok = false;
  try {
    const pub = typeof key.publicKey === "string" ? createPublicKey(key.publicKey) : key.publicKey;
    ok = signature.length === 64 && verify(null, Buffer.from(canonicalize(payload)), pub, signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw invalid(
      source,
      `the signature does not match (key "${doc.keyId}"): the license was changed after it was signed, or another key signed it`,
      "signature",
    );
  return { payload, keyId: doc.keyId, source };
}

/**
 * Signs a payload with an Ed25519 private key (PEM text or KeyObject) and returns the
 * license document as JSON text (for `scripts/issue-license.mjs` and tests).
 */
export function signLicense(payload: LicensePayload, privateKey: string | KeyObject): string {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== "ed25519")
    throw new CoreError(
      "HANGAR_ERR_CONFIG_INVALID",
      `a license key must be Ed25519, this one is ${key.asymmetricKeyType ?? "not asymmetric"}`,
    );
  const signature = sign(null, Buffer.from(canonicalize(payload)), key).toString("base64url");
  // Round-trip through the parser so an issued license is always one this build accepts.
  const text = `${JSON.stringify({ ...payload, signature }, null, 2)}\n`;
  parseLicense(text, "issued license");
  return text;
}

/** Where a license stands at `now`. */
export type LicenseTimeState = "not-yet-valid" | "valid" | "expiring" | "grace" | "expired";

export interface LicenseTime {
  readonly state: LicenseTimeState;
  /** Whole days until `expires` (negative after it). */
  readonly daysLeft: number;
  /** When the grace period ends (expires + LICENSE_GRACE_DAYS). */
  readonly graceEnds: Date;
}

const DAY_MS = 86_400_000;

/**
 * `valid`, `expiring` (within LICENSE_WARN_DAYS of `expires`), `grace` (expired, still
 * honoured for LICENSE_GRACE_DAYS), `expired` (after the grace) or `not-yet-valid`
 * (issued in the future: a clock that is wrong, or a license sent early).
 */
export function licenseTime(payload: LicensePayload, now: Date): LicenseTime {
  const expires = Date.parse(payload.expires);
  const graceEnds = new Date(expires + LICENSE_GRACE_DAYS * DAY_MS);
  const left = expires - now.getTime();
  const daysLeft = left >= 0 ? Math.ceil(left / DAY_MS) : -Math.ceil(-left / DAY_MS);
  let state: LicenseTimeState;
  if (now.getTime() < Date.parse(payload.issued)) state = "not-yet-valid";
  else if (left > LICENSE_WARN_DAYS * DAY_MS) state = "valid";
  else if (left > 0) state = "expiring";
  else if (now.getTime() < graceEnds.getTime()) state = "grace";
  else state = "expired";
  return { state, daysLeft, graceEnds };
}
