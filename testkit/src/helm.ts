/**
 * Running the real `helm` (built by `scripts/setup-k8s-tools.sh`) from tests: any command, or
 * `helm template` of a chart. Helm's own state (cache, config, repositories) is kept under
 * the OS temp dir, never in $HOME.
 */
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { TestkitError } from "./errors.js";
import { findTool, SETUP_COMMAND } from "./tools.js";
import { KUBERNETES_VERSION } from "./versions.js";

const execFileAsync = promisify(execFile);

/** For `{ skip: skipUnlessHelm() }`: false when helm is built, otherwise why; never skips with HANGAR_REQUIRE_K8S=1. */
export function skipUnlessHelm(env: NodeJS.ProcessEnv = process.env): false | string {
  const helm = findTool("helm", env);
  if (helm.ok || env["HANGAR_REQUIRE_K8S"] === "1") return false;
  return helm.reason;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `helm args...` (with `KUBECONFIG` when given); resolves with any exit code. */
export async function runHelm(
  args: readonly string[],
  opts: { kubeconfig?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<HelmResult> {
  const helm = findTool("helm", opts.env);
  if (!helm.ok)
    throw new TestkitError("HANGAR_ERR_TESTKIT_TOOL_MISSING", helm.reason, {
      details: { setup: SETUP_COMMAND },
    });
  const state = join(tmpdir(), "hangar-helm");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? tmpdir(),
    HELM_CACHE_HOME: join(state, "cache"),
    HELM_CONFIG_HOME: join(state, "config"),
    HELM_DATA_HOME: join(state, "data"),
    ...(opts.kubeconfig !== undefined ? { KUBECONFIG: opts.kubeconfig } : {}),
  };
  try {
    const r = await execFileAsync(helm.path, [...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

export interface HelmTemplateOptions {
  readonly chart: string;
  readonly release?: string;
  readonly namespace?: string;
  /** `--set` values, e.g. `enforcement.mode=enforce`. */
  readonly set?: readonly string[];
  /** `--api-versions`, e.g. `cilium.io/v1alpha1/TracingPolicy`. */
  readonly apiVersions?: readonly string[];
  /** `--show-only` templates, e.g. `templates/rbac.yaml`. */
  readonly showOnly?: readonly string[];
  /** Default: the testkit's Kubernetes version. */
  readonly kubeVersion?: string;
}

/** `helm template`; the rendered YAML, or a TestkitError with helm's message. */
export async function helmTemplate(opts: HelmTemplateOptions): Promise<string> {
  const args = [
    "template",
    opts.release ?? "hangar",
    opts.chart,
    "--namespace",
    opts.namespace ?? "hangar-system",
    "--kube-version",
    opts.kubeVersion ?? KUBERNETES_VERSION,
    ...(opts.set ?? []).flatMap((s) => ["--set", s]),
    ...(opts.apiVersions ?? []).flatMap((a) => ["--api-versions", a]),
    ...(opts.showOnly ?? []).flatMap((t) => ["--show-only", t]),
  ];
  const r = await runHelm(args);
  if (r.code !== 0)
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `helm ${args.join(" ")} failed: ${r.stderr.trim()}`,
    );
  return r.stdout;
}
