/**
 * The license decision at a process's start, shared by `hangar-agent run` and
 * `hangar-controller serve`: the flags, the license file read and verified against the
 * built-in keys (or a test's), the cluster read with a time limit, and the gate made from
 * them. A bad license file is a logged reason, never a failed start; only a bad flag value is.
 */
import { readFileSync } from "node:fs";
import { CoreError, HangarError, errorMessage } from "../errors.js";
import { LicenseGate, type LicenseLog } from "./gate.js";
import { BUILTIN_LICENSE_KEYS } from "./keys.js";
import { verifyLicense, type TrustedLicenseKey, type VerifiedLicense } from "./license.js";
import { LICENSE_USES, type ClusterView, type LicenseInputs, type LicenseUse } from "./policy.js";
import type { Counters } from "../counters.js";

export const LICENSE_OPTIONS = {
  license: { type: "string" },
  "license-use": { type: "string" },
} as const;

export const LICENSE_HELP = `License (docs/licensing.md):
  --license FILE           a hangar-license/v1 file (default $HANGAR_LICENSE_FILE); the chart
                           mounts it from the Secret license.secretName
  --license-use USE        evaluation (non-production: the BSL Additional Use Grant covers
                           the enterprise modules) or production (default $HANGAR_LICENSE_USE,
                           else production: a license, or fewer than 5 MCP providers in the
                           cluster). Without a cluster (no kubeconfig, not in a pod) the process
                           counts as development use under the grant.
`;

/** `--license-use` checked: evaluation, production, or unset. */
export function parseLicenseUse(value: string | undefined): LicenseUse | undefined {
  if (value === undefined || value === "") return undefined;
  if ((LICENSE_USES as readonly string[]).includes(value)) return value as LicenseUse;
  throw new CoreError(
    "HANGAR_ERR_CONFIG_INVALID",
    `--license-use: must be ${LICENSE_USES.join(" or ")}, got ${JSON.stringify(value)}`,
  );
}

/** The license file read and verified, or why it is not usable (never throws for a bad file). */
export function readLicenseFile(
  file: string,
  keys: readonly TrustedLicenseKey[] = BUILTIN_LICENSE_KEYS,
): { license: VerifiedLicense } | { licenseError: string } {
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the license file the operator gives (--license, $HANGAR_LICENSE_FILE, the chart's mounted Secret)
    text = readFileSync(file, "utf8");
  } catch (err) {
    return { licenseError: `the license file ${file} cannot be read (${errorMessage(err)})` };
  }
  try {
    return { license: verifyLicense(text, keys, file) };
  } catch (err) {
    if (err instanceof HangarError) return { licenseError: err.message };
    throw err;
  }
}

export interface LicenseSetup {
  /** `--license`, else $HANGAR_LICENSE_FILE ("" = none). */
  readonly file: string | undefined;
  /** `--license-use`, else $HANGAR_LICENSE_USE. */
  readonly use: string | undefined;
  /**
   * Reads the cluster (readClusterView over the process's client; the UID only when `uid`, for
   * a license bound to a cluster); undefined without a cluster.
   */
  readonly readCluster: ((uid: boolean) => Promise<ClusterView>) | undefined;
  readonly log: LicenseLog;
  readonly counters?: Counters;
  /** The public keys licenses are checked against (default the built-in ones; tests pass their own). */
  readonly keys?: readonly TrustedLicenseKey[];
  /** How long the cluster may take to answer (default 10 s). */
  readonly clusterTimeoutMs?: number;
}

/** The gate of this process: the decision made once, its metrics in `counters`. */
export async function licenseGate(setup: LicenseSetup): Promise<LicenseGate> {
  const use = parseLicenseUse(setup.use);
  const file = setup.file === "" ? undefined : setup.file;
  const fromFile = file === undefined ? {} : readLicenseFile(file, setup.keys);
  const license = "license" in fromFile ? (fromFile as { license: VerifiedLicense }).license : undefined;
  // Declared evaluation with no license needs nothing from the cluster.
  const needCluster = use !== "evaluation" || license !== undefined;
  const cluster: ClusterView =
    setup.readCluster === undefined || !needCluster
      ? { kind: "none" }
      : await withTimeout(
          setup.readCluster(license?.payload.clusterUID !== undefined),
          setup.clusterTimeoutMs ?? 10_000,
        );
  const inputs: LicenseInputs = { ...fromFile, ...(use === undefined ? {} : { use }), cluster };
  return new LicenseGate({
    inputs,
    log: setup.log,
    ...(setup.counters === undefined ? {} : { counters: setup.counters }),
  });
}

async function withTimeout(read: Promise<ClusterView>, ms: number): Promise<ClusterView> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ClusterView>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: "unknown", error: `the API server did not answer within ${ms} ms` }),
      ms,
    );
  });
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
