/**
 * Where the Kubernetes tool binaries live. `scripts/setup-k8s-tools.sh` builds them into
 * `${HANGAR_CACHE:-$HOME/.cache/hangar}/bin/<tool>-<version>/<tool>` using the versions in
 * `versions.ts`; this module finds them by the same rule. `HANGAR_<TOOL>_BIN` (for example
 * `HANGAR_KUBE_APISERVER_BIN`) points at a binary elsewhere.
 */
import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  COREDNS_VERSION,
  CRICTL_VERSION,
  ETCD_VERSION,
  HELM_VERSION,
  KUBE_ROUTER_VERSION,
  KUBERNETES_VERSION,
  KWOK_VERSION,
} from "./versions.js";

export type K8sTool =
  "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "helm" | "kwok";

export const SETUP_COMMAND = "bash scripts/setup-k8s-tools.sh";

export function toolVersion(tool: K8sTool): string {
  switch (tool) {
    case "etcd":
      return ETCD_VERSION;
    case "helm":
      return HELM_VERSION;
    case "kwok":
      return KWOK_VERSION;
    case "kube-apiserver":
    case "kube-controller-manager":
    case "kube-scheduler":
      return KUBERNETES_VERSION;
  }
}

/** `HANGAR_KUBE_APISERVER_BIN` for `kube-apiserver`. */
export function toolEnvVar(tool: K8sTool): string {
  return `HANGAR_${tool.toUpperCase().replaceAll("-", "_")}_BIN`;
}

export function hangarCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env["HANGAR_CACHE"];
  return configured !== undefined && configured !== "" ? configured : join(homedir(), ".cache", "hangar");
}

/** The path a tool is expected at (whether or not it exists). */
export function toolPath(tool: K8sTool, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[toolEnvVar(tool)];
  if (override !== undefined && override !== "") return override;
  return join(hangarCacheDir(env), "bin", `${tool}-${toolVersion(tool)}`, tool);
}

/** True for a regular file this process may execute. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export type ToolLookup = { ok: true; path: string } | { ok: false; path: string; reason: string };

/** Finds a tool; when it is missing, `reason` says how to install it. */
export function findTool(tool: K8sTool, env: NodeJS.ProcessEnv = process.env): ToolLookup {
  const path = toolPath(tool, env);
  if (isExecutable(path)) return { ok: true, path };
  const overridden = env[toolEnvVar(tool)] !== undefined && env[toolEnvVar(tool)] !== "";
  const reason = overridden
    ? `${tool}: ${toolEnvVar(tool)}=${path} is not an executable file`
    : `${tool} ${toolVersion(tool)} is not installed (looked for ${path}); ` +
      `run \`${SETUP_COMMAND}\` from the repository root to build it from the Go module proxy ` +
      `(needs Go; cached by version, one-time)`;
  return { ok: false, path, reason };
}

/** The tools of the real test node, built by `scripts/setup-node-tools.sh`. */
export type NodeTool = "kubelet" | "kube-proxy" | "kubectl" | "crictl" | "coredns" | "kube-router";

export const NODE_SETUP_COMMAND = "bash scripts/setup-node-tools.sh";

export function nodeToolVersion(tool: NodeTool): string {
  switch (tool) {
    case "crictl":
      return CRICTL_VERSION;
    case "coredns":
      return COREDNS_VERSION;
    case "kube-router":
      return KUBE_ROUTER_VERSION;
    case "kubelet":
    case "kube-proxy":
    case "kubectl":
      return KUBERNETES_VERSION;
  }
}

/** Finds a node tool (`HANGAR_KUBELET_BIN`, … override the cache path); `reason` names the setup script. */
export function findNodeTool(tool: NodeTool, env: NodeJS.ProcessEnv = process.env): ToolLookup {
  const envVar = `HANGAR_${tool.toUpperCase().replaceAll("-", "_")}_BIN`;
  const override = env[envVar];
  const path =
    override !== undefined && override !== ""
      ? override
      : join(hangarCacheDir(env), "bin", `${tool}-${nodeToolVersion(tool)}`, tool);
  if (isExecutable(path)) return { ok: true, path };
  const reason =
    override !== undefined && override !== ""
      ? `${tool}: ${envVar}=${path} is not an executable file`
      : `${tool} ${nodeToolVersion(tool)} is not installed (looked for ${path}); run \`${NODE_SETUP_COMMAND}\``;
  return { ok: false, path, reason };
}
