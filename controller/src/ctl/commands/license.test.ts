/** `hangar-ctl license show|verify`, against a throwaway key pair passed in as the trusted keys. */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LICENSE_FORMAT, signLicense, type LicensePayload } from "@hangar/core";
import { tempDir } from "@hangar/testkit";
import { COMMANDS } from "../commands.js";
import { licenseCommandWith } from "./license.js";

const pem = {
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
} as const;
const ours = generateKeyPairSync("ed25519", pem);
const theirs = generateKeyPairSync("ed25519", pem);
const NOW = new Date("2027-06-01T00:00:00Z");
const cmd = licenseCommandWith([{ keyId: "test-ctl", publicKey: ours.publicKey }], () => NOW);

const payload = (over: Partial<LicensePayload> = {}): LicensePayload => ({
  format: LICENSE_FORMAT,
  id: "lic-ctl",
  licensee: "Example Corp",
  tier: "pro",
  issued: "2027-01-01T00:00:00Z",
  expires: "2028-01-01T00:00:00Z",
  keyId: "test-ctl",
  ...over,
});

async function ctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await cmd.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) }, COMMANDS);
  return { code, out, err };
}

describe("hangar-ctl license", () => {
  const { dir, cleanup } = tempDir("hangar-ctl-license-");
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("is a hangar-ctl command", () => {
    assert.ok(COMMANDS.some((c) => c.name === "license"));
  });

  it("show: what it covers, days left, the key; exit 0", async () => {
    const f = file("ok.json", signLicense(payload({ clusterUID: "c-1", maxProviders: 8 }), ours.privateKey));
    const r = await ctl(["show", f]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /tier\s+pro/);
    assert.match(r.out, /covers\s+the rule engine \(enterprise\/semantic\)\n/);
    assert.match(r.out, /days left\s+214/);
    assert.match(r.out, /cluster\s+c-1/);
    assert.match(r.out, /providers\s+up to 8/);
    assert.match(r.out, /signed by\s+key test-ctl/);
    const json = JSON.parse((await ctl(["show", f, "-o", "json"])).out) as {
      usable: boolean;
      covers: string[];
    };
    assert.equal(json.usable, true);
    assert.equal(json.covers.length, 1);
  });

  it("verify: valid; in the grace period still 0 with a warning; past the grace 1", async () => {
    const ok = await ctl([
      "verify",
      file("v.json", signLicense(payload({ tier: "enterprise" }), ours.privateKey)),
    ]);
    assert.equal(ok.code, 0);
    assert.match(
      ok.out,
      /valid: enterprise license lic-ctl for Example Corp, valid until 2028-01-01T00:00:00Z/,
    );
    const grace = await ctl([
      "verify",
      file("g.json", signLicense(payload({ expires: "2027-05-25T00:00:00Z" }), ours.privateKey)),
    ]);
    assert.equal(grace.code, 0);
    assert.match(grace.err, /warning: expired 2027-05-25T00:00:00Z; in the grace period until 2027-06-08/);
    const gone = await ctl([
      "verify",
      file("x.json", signLicense(payload({ expires: "2027-05-01T00:00:00Z" }), ours.privateKey)),
    ]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /not usable: .*the grace period ended 2027-05-15/);
  });

  it("verify: tampered, another key, unknown key id: exit 1 with HANGAR_ERR_LICENSE_INVALID", async () => {
    const doc = JSON.parse(signLicense(payload(), ours.privateKey)) as Record<string, unknown>;
    const tampered = await ctl(["verify", file("t.json", JSON.stringify({ ...doc, tier: "enterprise" }))]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.err, /HANGAR_ERR_LICENSE_INVALID: .*the signature does not match/);
    const other = await ctl(["verify", file("o.json", signLicense(payload(), theirs.privateKey))]);
    assert.equal(other.code, 1);
    const unknown = await ctl([
      "verify",
      file("u.json", signLicense(payload({ keyId: "hangar-2030-1" }), theirs.privateKey)),
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /signed with key "hangar-2030-1", which this build does not trust/);
  });

  it("usage: a missing file is exit 2; no subcommand prints the help", async () => {
    assert.equal((await ctl(["verify", join(dir, "nope.json")])).code, 2);
    assert.match((await ctl([])).out, /Usage: hangar-ctl license show FILE/);
    await assert.rejects(ctl(["renew", "x"]), /unknown subcommand "renew"/);
    cleanup();
  });
});
