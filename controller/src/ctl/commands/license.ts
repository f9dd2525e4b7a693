/**
 * `hangar-ctl license show|verify FILE`: reads a hangar-license/v1 file offline, checks its
 * signature against the keys built into this release, and says what it covers, until when,
 * and which key signed it. Exit 0 when the license is usable now (also in its warning window
 * and grace period, with a warning), 1 when it is not (invalid, tampered, unknown key, expired
 * past the grace, not yet valid), 2 for a usage error or a file that cannot be read.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  BUILTIN_LICENSE_KEYS,
  ENTERPRISE_MODULES,
  HangarError,
  LICENSE_GRACE_DAYS,
  TIER_COVERS,
  errorMessage,
  licenseTime,
  verifyLicense,
  type TrustedLicenseKey,
  type VerifiedLicense,
} from "@hangar/core";
import { usageError, type CtlCommand, type CtlIO } from "../command.js";

export const LICENSE_HELP = `Usage: hangar-ctl license show FILE [-o table|json]
       hangar-ctl license verify FILE

Reads a license file (hangar-license/v1) offline and checks its Ed25519 signature against the
maintainers' keys built into this release (nothing is sent anywhere).

  show FILE     what it covers (pro: the rule engine; enterprise: the rule engine and the
                baseline engine), licensee, issued and expiry dates, days left, the cluster
                it is bound to, the provider cap and the key that signed it
  verify FILE   one line: valid (and until when) or why not

Options:
  -o, --output FMT   table (default) or json (show)

Exit codes: 0 usable now (also within 30 days of expiry and in the ${LICENSE_GRACE_DAYS}-day grace
period after it, with a warning); 1 not usable (malformed, changed after signing, signed by a key
this release does not trust, expired past the grace period, or not yet valid); 2 usage error or
an unreadable file. Where a license goes and what the BSL grant allows without one:
docs/licensing.md.
`;

interface Report {
  readonly file: string;
  readonly usable: boolean;
  readonly state: string;
  readonly daysLeft: number;
  readonly graceEnds: string;
  readonly license: VerifiedLicense["payload"];
  readonly keyId: string;
  readonly covers: readonly string[];
}

function report(file: string, v: VerifiedLicense, now: Date): Report {
  const t = licenseTime(v.payload, now);
  return {
    file,
    usable: t.state === "valid" || t.state === "expiring" || t.state === "grace",
    state: t.state,
    daysLeft: t.daysLeft,
    graceEnds: t.graceEnds.toISOString(),
    license: v.payload,
    keyId: v.keyId,
    covers: TIER_COVERS[v.payload.tier].map(
      (m) => `${ENTERPRISE_MODULES[m].what} (${ENTERPRISE_MODULES[m].package})`,
    ),
  };
}

function timeLine(r: Report): string {
  const p = r.license;
  switch (r.state) {
    case "valid":
      return `valid until ${p.expires} (${r.daysLeft} days left)`;
    case "expiring":
      return `valid until ${p.expires}, ${r.daysLeft} day${r.daysLeft === 1 ? "" : "s"} left: renew it (a ${LICENSE_GRACE_DAYS}-day grace period follows)`;
    case "grace":
      return `expired ${p.expires}; in the grace period until ${r.graceEnds}: renew it`;
    case "expired":
      return `expired ${p.expires}; the grace period ended ${r.graceEnds}`;
    default:
      return `not valid before ${p.issued} (check the clock)`;
  }
}

function renderShow(r: Report): string {
  const p = r.license;
  const rows: [string, string][] = [
    ["license", p.id],
    ["licensee", p.licensee],
    ["tier", p.tier],
    ["covers", r.covers.join(", ")],
    ["issued", p.issued],
    ["expires", p.expires],
    ["state", `${r.state}: ${timeLine(r)}`],
    ["days left", String(r.daysLeft)],
    [
      "cluster",
      p.clusterUID === undefined ? "any" : `${p.clusterUID} (the UID of the kube-system namespace)`,
    ],
    ["providers", p.maxProviders === undefined ? "no cap" : `up to ${p.maxProviders}`],
    ["signed by", `key ${r.keyId} (built into this release)`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join("");
}

/** The command, checking against `keys` (the built-in ones; tests pass a throwaway key). */
export function licenseCommandWith(
  keys: readonly TrustedLicenseKey[],
  now: () => Date = () => new Date(),
): CtlCommand {
  return {
    name: "license",
    summary: "show or verify a license file (offline)",
    run(args: string[], io: CtlIO): Promise<number> {
      return Promise.resolve(run(args, io, keys, now()));
    },
  };
}

function run(args: string[], io: CtlIO, keys: readonly TrustedLicenseKey[], now: Date): number {
  const { values: v, positionals } = parseArgs({
    args,
    options: { output: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  if (v.help === true || positionals.length === 0) {
    io.stdout(LICENSE_HELP);
    return v.help === true ? 0 : 2;
  }
  const [sub, file, ...rest] = positionals;
  if (sub !== "show" && sub !== "verify")
    throw usageError(`license: unknown subcommand "${sub}" (show or verify)`);
  if (file === undefined || rest.length > 0) throw usageError(`license ${sub}: give exactly one FILE`);
  const output = v.output ?? "table";
  if (output !== "table" && output !== "json") throw usageError(`--output: table or json, got "${output}"`);
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the license file the operator names on the command line
    text = readFileSync(file, "utf8");
  } catch (err) {
    io.stderr(`hangar-ctl license: cannot read ${file}: ${errorMessage(err)}\n`);
    return 2;
  }
  let verified: VerifiedLicense;
  try {
    verified = verifyLicense(text, keys, file);
  } catch (err) {
    if (!(err instanceof HangarError)) throw err;
    const code = (err as HangarError).code;
    if (output === "json" && sub === "show")
      io.stdout(`${JSON.stringify({ file, usable: false, state: "invalid", error: err.message, code })}\n`);
    io.stderr(`hangar-ctl license: ${code}: ${err.message}\n`);
    return 1;
  }
  const r = report(file, verified, now);
  if (sub === "verify") {
    const line = `${file}: ${r.usable ? "valid" : "not usable"}: ${verified.payload.tier} license ${verified.payload.id} for ${verified.payload.licensee}, ${timeLine(r)}; signed by key ${r.keyId}\n`;
    (r.usable ? io.stdout : io.stderr)(line);
  } else if (output === "json") io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else io.stdout(renderShow(r));
  if (r.usable && r.state !== "valid") io.stderr(`warning: ${timeLine(r)}\n`);
  return r.usable ? 0 : 1;
}

export const licenseCommand: CtlCommand = licenseCommandWith(BUILTIN_LICENSE_KEYS);
