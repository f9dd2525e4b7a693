/**
 * License documents and the decision: signed with a throwaway key pair made here and passed
 * in as the trusted keys (the built-in key's private half is never in the repository).
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { Counters } from "../counters.js";
import { HangarError } from "../errors.js";
import { LicenseGate } from "./gate.js";
import { BUILTIN_LICENSE_KEYS } from "./keys.js";
import {
  LICENSE_FORMAT,
  licenseTime,
  signLicense,
  verifyLicense,
  type LicensePayload,
  type TrustedLicenseKey,
} from "./license.js";
import { decideLicense, type ClusterView, type LicenseInputs } from "./policy.js";

const pair = (): { privateKey: string; publicKey: string } =>
  generateKeyPairSync("ed25519", {
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
const maintainers = pair();
const stranger = pair();
const KEYS: TrustedLicenseKey[] = [{ keyId: "test-1", publicKey: maintainers.publicKey }];

const NOW = new Date("2027-03-01T12:00:00Z");
const DAY = 86_400_000;
const payload = (over: Partial<LicensePayload> = {}): LicensePayload => ({
  format: LICENSE_FORMAT,
  id: "lic-0001",
  licensee: "Example Corp",
  tier: "enterprise",
  issued: "2027-01-01T00:00:00Z",
  expires: "2028-01-01T00:00:00Z",
  keyId: "test-1",
  ...over,
});
const issue = (over: Partial<LicensePayload> = {}, key = maintainers.privateKey): string =>
  signLicense(payload(over), key);
const code = (re: RegExp) => (err: unknown) =>
  err instanceof HangarError && err.code === "HANGAR_ERR_LICENSE_INVALID" && re.test(err.message);

const counted = (n: number, uid = "uid-a"): ClusterView => ({
  kind: "counted",
  uid,
  providers: Array.from({ length: n }, (_, i) => `p${i}`),
});
const decide = (inputs: Partial<LicenseInputs>, now = NOW) =>
  decideLicense({ cluster: counted(12), ...inputs }, now);

describe("license documents", () => {
  it("verifies a license signed by a trusted key, whatever the member order and spacing", () => {
    const text = issue({ clusterUID: "uid-a", maxProviders: 20 });
    const v = verifyLicense(text, KEYS, "lic.json");
    assert.equal(v.keyId, "test-1");
    assert.equal(v.payload.licensee, "Example Corp");
    assert.equal(v.payload.maxProviders, 20);
    // The signature is over the canonical form: reordering and re-indenting changes nothing.
    const doc = JSON.parse(text) as Record<string, unknown>;
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(doc).reverse()));
    assert.equal(verifyLicense(reordered, KEYS).payload.id, "lic-0001");
  });

  it("refuses a tampered license (a field changed after signing)", () => {
    const doc = JSON.parse(issue({ tier: "pro" })) as Record<string, unknown>;
    doc.tier = "enterprise";
    assert.throws(
      () => verifyLicense(JSON.stringify(doc), KEYS, "lic.json"),
      code(/^lic\.json: the signature does not match/),
    );
    const later = JSON.parse(issue()) as Record<string, unknown>;
    later.expires = "2099-01-01T00:00:00Z";
    assert.throws(() => verifyLicense(JSON.stringify(later), KEYS), code(/signature does not match/));
  });

  it("refuses a license signed by another key under a trusted key id", () => {
    assert.throws(() => verifyLicense(issue({}, stranger.privateKey), KEYS), code(/another key signed it/));
  });

  it("refuses a license whose key id this build does not know, naming the ones it does", () => {
    assert.throws(
      () => verifyLicense(issue({ keyId: "hangar-2031-9" }), KEYS),
      code(/signed with key "hangar-2031-9", which this build does not trust \(it knows "test-1"\)/),
    );
    // The built-in list is the default the bootstraps use; a test key is not in it.
    assert.throws(() => verifyLicense(issue(), BUILTIN_LICENSE_KEYS), code(/knows "hangar-2026-1"/));
  });

  it("names the field that is wrong, and refuses unknown fields", () => {
    const doc = JSON.parse(issue()) as Record<string, unknown>;
    assert.throws(() => verifyLicense("{", KEYS, "f"), code(/^f: not JSON/));
    assert.throws(
      () => verifyLicense(JSON.stringify({ ...doc, tier: "gold" }), KEYS),
      code(/tier: must be "pro" or "enterprise", got "gold"/),
    );
    assert.throws(
      () => verifyLicense(JSON.stringify({ ...doc, expires: "next year" }), KEYS),
      code(/expires: "next year" is not an RFC 3339 time/),
    );
    assert.throws(
      () => verifyLicense(JSON.stringify({ ...doc, seats: 3 }), KEYS),
      code(/seats: unknown field/),
    );
    assert.throws(
      () => verifyLicense(JSON.stringify({ ...doc, format: "hangar-license/v9" }), KEYS),
      code(/format: expected "hangar-license\/v1"/),
    );
    assert.throws(
      () => verifyLicense(JSON.stringify({ ...doc, maxProviders: 0 }), KEYS),
      code(/maxProviders: must be a whole number ≥ 1/),
    );
    const { signature: _s, ...unsigned } = doc;
    assert.throws(
      () => verifyLicense(JSON.stringify(unsigned), KEYS),
      code(/signature: must be a non-empty string/),
    );
  });

  it("places a license in time: valid, the 30-day warning, the 14-day grace, expired", () => {
    const p = payload({ expires: "2027-03-31T12:00:00Z" });
    assert.equal(licenseTime(p, new Date(Date.parse(p.expires) - 31 * DAY)).state, "valid");
    const warn = licenseTime(p, new Date(Date.parse(p.expires) - 10 * DAY));
    assert.deepEqual([warn.state, warn.daysLeft], ["expiring", 10]);
    const grace = licenseTime(p, new Date(Date.parse(p.expires) + 3 * DAY));
    assert.deepEqual([grace.state, grace.daysLeft], ["grace", -3]);
    assert.equal(licenseTime(p, new Date(Date.parse(p.expires) + 14 * DAY + 1)).state, "expired");
    assert.equal(licenseTime(p, new Date("2026-06-01T00:00:00Z")).state, "not-yet-valid");
  });
});

describe("which modules run", () => {
  const lic = (over: Partial<LicensePayload> = {}) => verifyLicense(issue(over), KEYS, "lic.json");

  it("a valid enterprise license turns on both modules in a large cluster", () => {
    const d = decide({ license: lic() });
    assert.equal(d.state, "valid");
    assert.equal(d.modules.semantic.basis, "license");
    assert.equal(d.modules.behavioral.basis, "license");
    assert.match(
      d.modules.semantic.reason,
      /under license lic-0001 \(enterprise, Example Corp, key test-1\)/,
    );
  });

  it("pro covers the rule engine only", () => {
    const d = decide({ license: lic({ tier: "pro" }) });
    assert.equal(d.modules.semantic.enabled, true);
    assert.equal(d.modules.behavioral.enabled, false);
    assert.match(d.modules.behavioral.reason, /license lic-0001 is pro, which does not cover it/);
  });

  it("expiring and in grace: still on, with a warning; after the grace: off", () => {
    const expires = "2027-03-11T12:00:00Z";
    const soon = decide({ license: lic({ expires }) });
    assert.equal(soon.state, "expiring");
    assert.equal(soon.modules.semantic.enabled, true);
    assert.match(soon.warnings[0] ?? "", /expires 2027-03-11T12:00:00Z \(10 days left\)/);
    const grace = decide({ license: lic({ expires: "2027-02-25T12:00:00Z" }) });
    assert.equal(grace.state, "grace");
    assert.equal(grace.modules.semantic.enabled, true);
    assert.match(grace.warnings[0] ?? "", /grace period ends 2027-03-11/);
    const gone = decide({ license: lic({ expires: "2027-02-01T12:00:00Z" }) });
    assert.equal(gone.state, "expired");
    assert.equal(gone.modules.semantic.enabled, false);
    assert.match(
      gone.modules.semantic.reason,
      /expired 2027-02-01T12:00:00Z and its 14-day grace period ended 2027-02-15/,
    );
  });

  it("a license bound to another cluster does not apply", () => {
    const d = decide({ license: lic({ clusterUID: "uid-b" }) });
    assert.equal(d.state, "wrong-cluster");
    assert.equal(d.modules.semantic.enabled, false);
    assert.match(d.modules.semantic.reason, /bound to cluster uid-b; this cluster is uid-a/);
    assert.equal(decide({ license: lic({ clusterUID: "uid-a" }) }).modules.semantic.basis, "license");
  });

  it("a license for fewer providers than the cluster runs does not apply", () => {
    const d = decide({ license: lic({ maxProviders: 10 }) });
    assert.equal(d.state, "over-cap");
    assert.match(d.modules.behavioral.reason, /covers up to 10 MCP providers; the cluster runs 12/);
    assert.equal(decide({ license: lic({ maxProviders: 12 }) }).modules.behavioral.basis, "license");
  });

  it("the grant: declared evaluation, no cluster (development), a dev tool, fewer than 5 providers", () => {
    assert.equal(decide({ use: "evaluation" }).modules.behavioral.basis, "evaluation");
    assert.equal(decide({ cluster: { kind: "none" } }).modules.semantic.basis, "development");
    assert.equal(decide({ devTool: "hangar-agent replay" }).modules.semantic.basis, "development");
    const small = decide({ cluster: counted(4) });
    assert.equal(small.modules.semantic.basis, "small-production");
    assert.match(small.modules.semantic.reason, /4 MCP providers in production \(fewer than 5\)/);
    const five = decide({ cluster: counted(5) });
    assert.equal(five.modules.semantic.enabled, false);
    assert.match(
      five.modules.semantic.reason,
      /runs 5 MCP providers in production; the BSL Additional Use Grant covers fewer than 5/,
    );
  });

  it("nothing applies: off, saying what is off, why, and how to turn it on", () => {
    const d = decide({ licenseError: "lic.json: the signature does not match" });
    assert.equal(d.state, "invalid");
    const r = d.modules.semantic.reason;
    assert.match(
      r,
      /^the rule engine \(enterprise\/semantic\) is off: lic\.json: the signature does not match/,
    );
    assert.match(r, /--license FILE/);
    assert.match(r, /--license-use evaluation/);
    const unknown = decide({ cluster: { kind: "unknown", error: "HTTP 403" } });
    assert.match(unknown.modules.semantic.reason, /could not be counted \(HTTP 403\)/);
  });
});

describe("the gate of a running process", () => {
  it("says once what is off, keeps the metrics, warns once a day, and turns a module off after the grace", () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const log = {
      info: (fields: Record<string, unknown>, message: string) =>
        lines.push({ level: "info", fields, message }),
      warn: (fields: Record<string, unknown>, message: string) =>
        lines.push({ level: "warn", fields, message }),
    };
    let now = new Date("2027-03-10T00:00:00Z");
    const counters = new Counters();
    const license = verifyLicense(issue({ tier: "pro", expires: "2027-03-20T00:00:00Z" }), KEYS);
    const gate = new LicenseGate({ inputs: { license, cluster: counted(9) }, log, counters, now: () => now });
    gate.announce(["semantic", "behavioral"]);
    gate.announce(["semantic", "behavioral"]);
    const off = lines.filter((l) => l.fields.code === "HANGAR_ERR_LICENSE_REQUIRED");
    assert.equal(off.length, 1, "the baseline engine is off, said once");
    assert.match(off[0]?.message ?? "", /baseline engine/);
    assert.equal(lines.filter((l) => /expires 2027-03-20/.test(l.message)).length, 1);
    assert.equal(counters.get("license_state", { state: "expiring" }), 1);
    assert.equal(counters.get("license_days_left"), 10);
    assert.equal(counters.get("license_module", { module: "semantic", basis: "license" }), 1);
    assert.equal(counters.get("license_module", { module: "behavioral", basis: "none" }), 0);
    // Same day: no second warning. Next day: one more.
    gate.check();
    assert.equal(lines.filter((l) => /expires 2027-03-20/.test(l.message)).length, 1);
    now = new Date("2027-03-11T00:00:00Z");
    gate.check();
    assert.equal(lines.filter((l) => /expires 2027-03-20/.test(l.message)).length, 2);
    // Past the grace: the rule engine is reported off once, and the metrics follow.
    now = new Date("2027-04-05T00:00:00Z");
    const turned: string[] = [];
    assert.deepEqual(
      gate.check((m) => turned.push(m)),
      ["semantic"],
    );
    assert.deepEqual(turned, ["semantic"]);
    assert.deepEqual(
      gate.check((m) => turned.push(m)),
      [],
    );
    assert.equal(gate.allows("semantic"), false);
    assert.equal(counters.get("license_state", { state: "expired" }), 1);
    assert.equal(counters.get("license_state", { state: "grace" }), 0);
    assert.equal(counters.get("license_module", { module: "semantic", basis: "license" }), 0);
    assert.equal(counters.get("license_module", { module: "semantic", basis: "none" }), 0);
  });
});
