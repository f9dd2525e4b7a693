#!/usr/bin/env node
// Issues a hangar-license/v1 file (docs/licensing.md): the payload signed with a maintainers'
// Ed25519 private key, which is never in the repository. Run after `npx tsc -b` (it uses
// @hangar/core from core/dist). The result is checked against the keys built into this
// checkout before it is written, so a license is never issued with a key a release does not trust.
//
//   node scripts/issue-license.mjs --key ~/.config/hangar-license/hangar-2026-1.pem \
//     --licensee "Example Corp" --tier enterprise --expires 2027-12-31 \
//     [--key-id hangar-2026-1] [--cluster-uid UID] [--max-providers N] [--id ID] \
//     [--issued 2026-12-07] [--out FILE]
//
// Exit codes: 0 written (or printed), 2 a bad option or a key that does not match its id.
import { createPrivateKey, createPublicKey, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { BUILTIN_LICENSE_KEYS, LICENSE_FORMAT, signLicense, verifyLicense } from "@hangar/core";

const HELP = `Usage: node scripts/issue-license.mjs --key FILE --licensee NAME --tier pro|enterprise --expires DATE [options]

  --key FILE            the maintainers' Ed25519 private key (PEM), e.g. ~/.config/hangar-license/hangar-2026-1.pem
  --key-id ID           its id in core/src/license/keys.ts (default: the file name without .pem)
  --licensee NAME       who the license is for
  --tier T              pro (the rule engine) or enterprise (the rule engine and the baseline engine)
  --expires DATE        YYYY-MM-DD (00:00 UTC) or an RFC 3339 time
  --issued DATE         default now
  --cluster-uid UID     bind it to one cluster (kubectl get ns kube-system -o jsonpath='{.metadata.uid}')
  --max-providers N     the most MCP providers it covers
  --id ID               the license id (default lic-<uuid>)
  --out FILE            write it here (default stdout)
`;

function fail(message) {
  process.stderr.write(`issue-license: ${message}\n`);
  process.exit(2);
}

let v;
try {
  ({ values: v } = parseArgs({
    options: {
      key: { type: "string" },
      "key-id": { type: "string" },
      licensee: { type: "string" },
      tier: { type: "string" },
      expires: { type: "string" },
      issued: { type: "string" },
      "cluster-uid": { type: "string" },
      "max-providers": { type: "string" },
      id: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (err) {
  fail(`${err.message}\n\n${HELP}`);
}
if (v.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
for (const k of ["key", "licensee", "tier", "expires"])
  if (v[k] === undefined) fail(`--${k} is required\n\n${HELP}`);
const time = (flag, s) => {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s;
  if (Number.isNaN(Date.parse(t)))
    fail(`--${flag}: ${JSON.stringify(s)} is not a date (YYYY-MM-DD) or an RFC 3339 time`);
  return new Date(Date.parse(t)).toISOString().replace(/\.000Z$/, "Z");
};
const keyId = v["key-id"] ?? basename(v.key).replace(/\.pem$/, "");
let privateKey;
try {
  privateKey = createPrivateKey(readFileSync(v.key));
} catch (err) {
  fail(`--key ${v.key}: ${err.message}`);
}
const trusted = BUILTIN_LICENSE_KEYS.find((k) => k.keyId === keyId);
if (trusted === undefined)
  fail(
    `key id "${keyId}" is not in core/src/license/keys.ts: add its public key there and release it first (docs/licensing.md, rotating keys)`,
  );
const derived = createPublicKey(privateKey).export({ type: "spki", format: "pem" });
if (createPublicKey(trusted.publicKey).export({ type: "spki", format: "pem" }) !== derived)
  fail(`${v.key} is not the private half of key "${keyId}" in core/src/license/keys.ts`);
const payload = {
  format: LICENSE_FORMAT,
  id: v.id ?? `lic-${randomUUID()}`,
  licensee: v.licensee,
  tier: v.tier,
  issued:
    v.issued === undefined ? new Date().toISOString().replace(/\.\d{3}Z$/, "Z") : time("issued", v.issued),
  expires: time("expires", v.expires),
  keyId,
};
if (v["cluster-uid"] !== undefined) payload.clusterUID = v["cluster-uid"];
if (v["max-providers"] !== undefined) payload.maxProviders = Number(v["max-providers"]);
let text;
try {
  text = signLicense(payload, privateKey);
  verifyLicense(text, BUILTIN_LICENSE_KEYS, "issued license");
} catch (err) {
  fail(err.message);
}
if (v.out === undefined) process.stdout.write(text);
else {
  writeFileSync(v.out, text, { mode: 0o644 });
  process.stderr.write(
    `issue-license: wrote ${v.out}: ${payload.tier} license ${payload.id} for ${payload.licensee}, until ${payload.expires}, key ${keyId}\n`,
  );
}
