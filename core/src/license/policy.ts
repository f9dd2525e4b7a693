/**
 * Which enterprise modules may run, and why: a valid license that covers them, or the BSL
 * Additional Use Grant (enterprise/LICENSE.BSL): evaluation, development, testing and other
 * non-production use as the operator declares it, or production with fewer than 5 MCP
 * providers, counted from the cluster. A pure function of what the bootstrap found, so every
 * case is testable without a clock or a cluster.
 */
import {
  ENTERPRISE_MODULES,
  LICENSE_GRACE_DAYS,
  TIER_COVERS,
  licenseTime,
  type EnterpriseModule,
  type VerifiedLicense,
} from "./license.js";

/** Production use with fewer MCP providers than this is under the grant. */
export const GRANT_PROVIDER_LIMIT = 5;

/** What the operator declares (`--license-use`, chart `license.use`). */
export type LicenseUse = "evaluation" | "production";
export const LICENSE_USES: readonly LicenseUse[] = ["evaluation", "production"];

/** What the bootstrap learned of the cluster it runs in. */
export type ClusterView =
  /** No cluster configured (no kubeconfig, not in a pod): development use. */
  | { readonly kind: "none" }
  /** Read from the API server: the kube-system namespace's UID and the distinct providers. */
  | { readonly kind: "counted"; readonly uid: string | undefined; readonly providers: readonly string[] }
  /** A cluster is configured but could not be read (RBAC, unreachable). */
  | { readonly kind: "unknown"; readonly error: string };

export interface LicenseInputs {
  /** A license whose signature checked out. */
  readonly license?: VerifiedLicense;
  /** A license was given but is not valid: why (HANGAR_ERR_LICENSE_INVALID's message). */
  readonly licenseError?: string;
  /** Declared by the operator; unset means production. */
  readonly use?: LicenseUse;
  /** A development tool (replay, the local stack, rules lint/test): its name. */
  readonly devTool?: string;
  readonly cluster: ClusterView;
}

/** Why a module runs, or `none` when it does not. */
export type LicenseBasis = "license" | "evaluation" | "development" | "small-production" | "none";

/**
 * The license's own state: `none` (no license given), `invalid` (unreadable, tampered, unknown
 * key), the time states of `licenseTime`, or `wrong-cluster` / `over-cap` when it is valid in
 * time but not for this cluster.
 */
export type LicenseState =
  | "none"
  | "invalid"
  | "not-yet-valid"
  | "valid"
  | "expiring"
  | "grace"
  | "expired"
  | "wrong-cluster"
  | "over-cap";
export const LICENSE_STATES: readonly LicenseState[] = [
  "none",
  "invalid",
  "not-yet-valid",
  "valid",
  "expiring",
  "grace",
  "expired",
  "wrong-cluster",
  "over-cap",
];

export interface ModuleDecision {
  readonly module: EnterpriseModule;
  readonly enabled: boolean;
  readonly basis: LicenseBasis;
  /** One sentence: why it runs, or what is off and how to turn it on. */
  readonly reason: string;
}

export interface LicenseDecision {
  readonly state: LicenseState;
  /** Whole days to `expires` (negative after), when a valid license was given. */
  readonly daysLeft: number | undefined;
  /** Why the license does not apply, when one was given and it does not. */
  readonly licenseProblem: string | undefined;
  /** Expiry warnings (the warning window and the grace period). */
  readonly warnings: readonly string[];
  readonly modules: Readonly<Record<EnterpriseModule, ModuleDecision>>;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

/** The license's standing at `now`: its state, and why it does not apply when it does not. */
function licenseStanding(
  inputs: LicenseInputs,
  now: Date,
): { state: LicenseState; applies: boolean; problem?: string; daysLeft?: number; warning?: string } {
  const lic = inputs.license;
  if (lic === undefined)
    return inputs.licenseError === undefined
      ? { state: "none", applies: false }
      : { state: "invalid", applies: false, problem: inputs.licenseError };
  const p = lic.payload;
  const t = licenseTime(p, now);
  const id = `license ${p.id} (${p.tier}, ${p.licensee})`;
  if (t.state === "not-yet-valid")
    return {
      state: t.state,
      applies: false,
      daysLeft: t.daysLeft,
      problem: `${id} is issued ${p.issued}, in the future: check the clock`,
    };
  if (t.state === "expired")
    return {
      state: t.state,
      applies: false,
      daysLeft: t.daysLeft,
      problem: `${id} expired ${p.expires} and its ${LICENSE_GRACE_DAYS}-day grace period ended ${day(t.graceEnds)}`,
    };
  const c = inputs.cluster;
  if (p.clusterUID !== undefined && c.kind !== "none") {
    if (c.kind === "unknown")
      return {
        state: "wrong-cluster",
        applies: false,
        daysLeft: t.daysLeft,
        problem: `${id} is bound to cluster ${p.clusterUID}, and this cluster's UID could not be read (${c.error})`,
      };
    if (c.uid !== p.clusterUID)
      return {
        state: "wrong-cluster",
        applies: false,
        daysLeft: t.daysLeft,
        problem: `${id} is bound to cluster ${p.clusterUID}; this cluster is ${c.uid ?? "(no kube-system namespace)"}`,
      };
  }
  if (p.maxProviders !== undefined) {
    if (c.kind === "unknown")
      return {
        state: "over-cap",
        applies: false,
        daysLeft: t.daysLeft,
        problem: `${id} covers up to ${p.maxProviders} MCP providers, and they could not be counted (${c.error})`,
      };
    if (c.kind === "counted" && c.providers.length > p.maxProviders)
      return {
        state: "over-cap",
        applies: false,
        daysLeft: t.daysLeft,
        problem: `${id} covers up to ${p.maxProviders} MCP providers; the cluster runs ${c.providers.length}`,
      };
  }
  let warning: string | undefined;
  if (t.state === "expiring")
    warning = `${id} expires ${p.expires} (${t.daysLeft} day${t.daysLeft === 1 ? "" : "s"} left); after that a ${LICENSE_GRACE_DAYS}-day grace period, then the modules it covers turn off`;
  else if (t.state === "grace")
    warning = `${id} expired ${p.expires}; the grace period ends ${day(t.graceEnds)}, then the modules it covers turn off: renew it`;
  return {
    state: t.state,
    applies: true,
    daysLeft: t.daysLeft,
    ...(warning === undefined ? {} : { warning }),
  };
}

/** The grant's basis, if it applies, with its reason; else why it does not. */
function grant(inputs: LicenseInputs): { basis: LicenseBasis; reason: string } {
  if (inputs.use === "evaluation")
    return {
      basis: "evaluation",
      reason:
        "the operator declared evaluation/non-production use (--license-use evaluation): under the BSL Additional Use Grant",
    };
  if (inputs.devTool !== undefined)
    return {
      basis: "development",
      reason: `${inputs.devTool} is a development tool: development use under the BSL Additional Use Grant`,
    };
  const c = inputs.cluster;
  if (c.kind === "none")
    return {
      basis: "development",
      reason:
        "no Kubernetes cluster is configured (no kubeconfig, not in a pod): development use under the BSL Additional Use Grant",
    };
  if (c.kind === "unknown")
    return {
      basis: "none",
      reason: `the MCP providers in production could not be counted (${c.error}), so the grant for fewer than ${GRANT_PROVIDER_LIMIT} does not apply`,
    };
  const n = c.providers.length;
  if (n < GRANT_PROVIDER_LIMIT)
    return {
      basis: "small-production",
      reason: `${n} MCP provider${n === 1 ? "" : "s"} in production (fewer than ${GRANT_PROVIDER_LIMIT}): under the BSL Additional Use Grant`,
    };
  return {
    basis: "none",
    reason: `the cluster runs ${n} MCP providers in production; the BSL Additional Use Grant covers fewer than ${GRANT_PROVIDER_LIMIT}`,
  };
}

/** Which modules run, and why. */
export function decideLicense(inputs: LicenseInputs, now: Date): LicenseDecision {
  const standing = licenseStanding(inputs, now);
  const g = grant(inputs);
  const modules = {} as Record<EnterpriseModule, ModuleDecision>;
  for (const module of Object.keys(ENTERPRISE_MODULES) as EnterpriseModule[]) {
    const { what, package: pkg } = ENTERPRISE_MODULES[module];
    const lic = inputs.license?.payload;
    const covered = lic !== undefined && TIER_COVERS[lic.tier].includes(module);
    if (standing.applies && covered) {
      modules[module] = {
        module,
        enabled: true,
        basis: "license",
        reason: `${what} (${pkg}) runs under license ${lic.id} (${lic.tier}, ${lic.licensee}, key ${inputs.license?.keyId ?? "?"})`,
      };
    } else if (g.basis !== "none") {
      modules[module] = {
        module,
        enabled: true,
        basis: g.basis,
        reason: `${what} (${pkg}) runs: ${g.reason}`,
      };
    } else {
      const why =
        standing.problem ??
        (lic !== undefined && !covered
          ? `license ${lic.id} is ${lic.tier}, which does not cover it (enterprise does)`
          : "no license is configured");
      modules[module] = {
        module,
        enabled: false,
        basis: "none",
        reason: `${what} (${pkg}) is off: ${why}, and ${g.reason}. The MIT core runs without it. To turn it on: a license (--license FILE; chart license.secretName), or declare non-production use (--license-use evaluation; chart license.use)`,
      };
    }
  }
  return {
    state: standing.state,
    daysLeft: standing.daysLeft,
    licenseProblem: standing.problem,
    warnings: standing.warning === undefined ? [] : [standing.warning],
    modules,
  };
}
