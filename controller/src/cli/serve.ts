/**
 * `hangar-controller serve`: the agent hub, the enforcer (with leader election)
 * and the REST API in one process, until SIGINT/SIGTERM. This file reads the
 * flags into the assembly's options (`assembly/controller.ts` wires the parts).
 * Exit codes: 0 after a clean shutdown, 2 for a usage or configuration error
 * (the message names the flag or field), 1 when it fails while running.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { createController, type ControllerOptions, type RunningController } from "../assembly/controller.js";
import type { HubPartOptions } from "../assembly/hub.js";
import { jsonLinesLog, type ControllerLog } from "../assembly/log.js";
import {
  behavioralBaselineMerge,
  behavioralBaselineView,
  type BaselineMergePort,
  type BaselineViewPort,
} from "../baselines/baselines.js";
import { parseConfig, type EnforcementConfig } from "../enforce/policy.js";
import { ControllerError } from "../errors.js";
import { KubeClient } from "../kube/kube.js";
import { TELEMETRY_OPTIONS, TELEMETRY_USAGE } from "../telemetry/telemetry.js";
import { LICENSE_HELP, LICENSE_OPTIONS, licenseGate, readClusterView, type LicenseGate } from "@hangar/core";
import { loadProxyConfig } from "./proxy.js";

export const SERVE_USAGE = `Usage: hangar-controller serve [options]

Runs the agent hub (gRPC hangar.v1.AgentHubService), the enforcer (audit by
default; one replica enforces, chosen by a Lease) and the REST API that
hangar-ctl talks to.

Options:
  --kubeconfig FILE        Kubernetes client configuration (default: in-cluster)
  --namespace NS           the controller's namespace: records, Lease, token Secret
                           (default $POD_NAMESPACE, else hangar-system)
  --identity NAME          Lease holder identity (default $POD_NAME, else the host name)
  --pod NAME               this replica's pod (default $POD_NAME): labelled
                           mcp-hangar.io/controller-role=leader|standby as the Lease moves,
                           so the Services route agents, MCP callers and hangar-ctl to the leader
  --config FILE            enforcement policy, YAML or JSON (mode, namespaces, providers,
                           allowedActions, TTLs, rate limits; see controller/README.md)
  --lease-duration SEC     Lease duration (default 15)
  --api-listen HOST:PORT   REST API (default 0.0.0.0:8080)
  --tokens-secret NAME     Secret with static API tokens, keys <read|admin>.<user>
                           (default hangar-controller-tokens; "none" for TokenReview only)
  --admin-group G, --read-group G, --admin-user U, --read-user U
                           Kubernetes users/groups (TokenReview) given a role; repeatable
  --hub-listen HOST:PORT   agent hub (default 0.0.0.0:8443; "none" disables)
  --hub-tls-cert FILE, --hub-tls-key FILE
                           serve the hub over TLS with this certificate
  --hub-tls-ca FILE        mTLS: agents present a certificate signed by this CA (their
                           identity), naming their node as a DNS subjectAltName
                           (DNS:<node>; a hello as another node is refused);
                           without it agents authenticate with tokens
  --hub-client-cn CN       with mTLS: only certificates with this subject CN (repeatable;
                           default any the CA signed)
  --hub-agent SA           service account (namespace:name) whose projected tokens may
                           connect; repeatable (default <namespace>:hangar-agent)
  --hub-audience AUD       audience of agents' tokens (default hangar-controller)
  --rules DIR              rule packs to send to every agent (each file in DIR, e.g. the
                           chart's rules ConfigMap); re-read every 30 s, sent again on change
  --proxy-config FILE      also run the MCP proxy (see 'hangar-controller proxy') in this
                           process; its call traces go to the agent on the pod's node
  --proxy-listen HOST:PORT overrides the proxy configuration's listen address
  --baseline-db FILE       the baseline engine's DuckDB file (the enterprise baseline
                           engine): agents' baseline deltas are merged into it, each
                           provider's merged baseline goes back to the agents hosting it,
                           and /v1/providers serves it; without it /v1/providers is empty.
                           Needs a license or the BSL grant (below); without either the
                           controller runs without it and says so once
  --no-k8s-events          do not record alerts and enforcement actions as Kubernetes Events
                           (events.k8s.io/v1) on the MCP pods (docs/reference/k8s-events.md)
  --alert-store-max N      alerts GET /v1/alerts keeps in memory (default 10000); the oldest
                           are evicted (metric hangar.agent.drops{queue=alert_store}); the
                           SIEM export (--siem) is the complete record
  --alert-store-mib N      the same bound in MiB of alerts as held (their protobuf encoding,
                           ~0.7 KB each; default 16)
  -h, --help               this text

${LICENSE_HELP}
${TELEMETRY_USAGE}
Enforcement events are written to stdout as JSON lines; logs go to stderr.
Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or configuration error.
`;

export interface ServeIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const OPTIONS = {
  kubeconfig: { type: "string" },
  namespace: { type: "string" },
  identity: { type: "string" },
  pod: { type: "string" },
  config: { type: "string" },
  "lease-duration": { type: "string" },
  "api-listen": { type: "string" },
  "tokens-secret": { type: "string" },
  "admin-group": { type: "string", multiple: true },
  "read-group": { type: "string", multiple: true },
  "admin-user": { type: "string", multiple: true },
  "read-user": { type: "string", multiple: true },
  "hub-listen": { type: "string" },
  "hub-tls-ca": { type: "string" },
  "hub-tls-cert": { type: "string" },
  "hub-tls-key": { type: "string" },
  "hub-agent": { type: "string", multiple: true },
  "hub-client-cn": { type: "string", multiple: true },
  "hub-audience": { type: "string" },
  "baseline-db": { type: "string" },
  "alert-store-max": { type: "string" },
  "alert-store-mib": { type: "string" },
  "proxy-config": { type: "string" },
  rules: { type: "string" },
  "proxy-listen": { type: "string" },
  "no-k8s-events": { type: "boolean" },
  ...TELEMETRY_OPTIONS,
  ...LICENSE_OPTIONS,
  help: { type: "boolean", short: "h" },
} as const;

type Values = Record<string, string | string[] | boolean | undefined>;

export async function runServeCli(argv: string[], io: ServeIO, signal: AbortSignal): Promise<number> {
  let v: Values;
  try {
    ({ values: v } = parseArgs({ args: argv, options: OPTIONS, strict: true }));
  } catch (err) {
    io.stderr(
      `hangar-controller serve: ${err instanceof Error ? err.message : String(err)}\n\n${SERVE_USAGE}`,
    );
    return 2;
  }
  if (v["help"] === true) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  let running: RunningController;
  try {
    running = await createController(await options(v, io));
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.stderr(
      `hangar-controller serve: ${code !== undefined ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}\n`,
    );
    return code === "HANGAR_ERR_ENFORCE_KUBE" || code === "HANGAR_ERR_PLUGIN_LOAD" ? 1 : 2;
  }
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await running.stop();
  return 0;
}

/** The assembly's options from the flags; throws a ControllerError naming the flag or file. */
async function options(v: Values, io: ServeIO): Promise<ControllerOptions> {
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const list = (k: string): string[] => (v[k] as string[] | undefined) ?? [];
  const log: ControllerLog = jsonLinesLog(io.stderr);
  const kc = kubeConfig(str("kubeconfig"));
  const kube = new KubeClient(kc);
  const namespace = str("namespace") ?? process.env["POD_NAMESPACE"] ?? "hangar-system";
  const identity = str("identity") ?? process.env["POD_NAME"] ?? hostname();
  const policy = readPolicy(str("config"));
  const leaseSeconds = Number(str("lease-duration") ?? "15");
  if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1)
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_CONFIG",
      `--lease-duration: ${JSON.stringify(str("lease-duration"))} is not a whole number of seconds ≥ 1`,
    );
  const license = await controllerLicense(v, kc, log);
  // The baseline engine only when a license or the BSL grant covers it (said once, above).
  const baselineDb = license.allows("behavioral") ? str("baseline-db") : undefined;
  const view: BaselineViewPort | undefined =
    baselineDb !== undefined ? await behavioralBaselineView(baselineDb) : undefined;
  const merge: BaselineMergePort | undefined =
    baselineDb !== undefined ? await behavioralBaselineMerge(baselineDb) : undefined;
  const tokensSecret = str("tokens-secret") ?? "hangar-controller-tokens";
  const proxyConfig = str("proxy-config");
  const proxy = proxyConfig === undefined ? undefined : loadProxyConfig(proxyConfig);
  if (proxy !== undefined && str("proxy-listen") !== undefined) proxy.listen = str("proxy-listen") as string;
  const hubListen = str("hub-listen") ?? "0.0.0.0:8443";
  const storeMax = wholeNumber("alert-store-max", str("alert-store-max"));
  const storeMiB = wholeNumber("alert-store-mib", str("alert-store-mib"));
  return {
    alerts: {
      ...(storeMax === undefined ? {} : { maxAlerts: storeMax }),
      ...(storeMiB === undefined ? {} : { maxBytes: storeMiB * 1024 * 1024 }),
    },
    kube,
    namespace,
    identity,
    policy,
    lease: { durationSeconds: leaseSeconds, pod: str("pod") ?? process.env["POD_NAME"] },
    k8sEvents: v["no-k8s-events"] !== true,
    ...(view !== undefined ? { baselines: { view, merge } } : {}),
    api: {
      listen: str("api-listen") ?? "0.0.0.0:8080",
      ...(tokensSecret !== "none" ? { tokensSecret } : {}),
      tokenReview: {
        admin: { users: list("admin-user"), groups: list("admin-group") },
        read: { users: list("read-user"), groups: list("read-group") },
      },
    },
    ...(hubListen !== "none" ? { hub: hubOptions(hubListen, str, list, namespace) } : {}),
    ...(proxy !== undefined ? { proxy: { config: proxy, kubeConfig: kc } } : {}),
    telemetry: { values: pick(v, TELEMETRY_OPTIONS), stderr: io.stderr },
    onEnforcement: (e) => io.stdout(`${JSON.stringify({ kind: "EnforcementEvent", ...e })}\n`),
    log,
    license,
  };
}

/**
 * The license decision (`--license`, `--license-use`): the cluster is read only when an
 * enterprise module is asked for (`--baseline-db`) or a license is given, and the decision is
 * said once for the modules asked for.
 */
async function controllerLicense(v: Values, kc: k8s.KubeConfig, log: ControllerLog): Promise<LicenseGate> {
  const file = (v["license"] as string | undefined) ?? process.env["HANGAR_LICENSE_FILE"];
  const wanted = v["baseline-db"] !== undefined;
  const gate = await licenseGate({
    file,
    use: (v["license-use"] as string | undefined) ?? process.env["HANGAR_LICENSE_USE"],
    readCluster:
      wanted || (file !== undefined && file !== "")
        ? (uid) => readClusterView(kc.makeApiClient(k8s.CoreV1Api), uid)
        : () => Promise.resolve({ kind: "unknown", error: "not read: no enterprise module was asked for" }),
    log: {
      info: (fields, message) => log("info", message, fields),
      warn: (fields, message) => log("warn", message, fields),
    },
  });
  gate.announce(wanted ? ["behavioral"] : []);
  return gate;
}

/** A flag that must be a whole number ≥ 1, or undefined when not given. */
function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new ControllerError(
      "HANGAR_ERR_CONFIG_INVALID",
      `--${flag}: ${JSON.stringify(text)} is not a whole number ≥ 1`,
    );
  return n;
}

/** The values of the flags in `options` (the telemetry flags, for the telemetry module). */
function pick<K extends string>(
  v: Values,
  options: Record<K, unknown>,
): Partial<Record<K, string | string[]>> {
  const out: Partial<Record<K, string | string[]>> = {};
  for (const k of Object.keys(options) as K[]) {
    const x = v[k];
    // eslint-disable-next-line hangar/no-string-key-write -- k is one of the CLI's own option names (the keys of options)
    if (typeof x === "string" || Array.isArray(x)) out[k] = x;
  }
  return out;
}

function kubeConfig(path: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromCluster();
  } catch (err) {
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_CONFIG",
      `--kubeconfig: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return kc;
}

/** The enforcement policy of `--config` (YAML or JSON), or the defaults without it. */
function readPolicy(path: string | undefined): EnforcementConfig {
  if (path === undefined) return parseConfig(undefined);
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --config file
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_CONFIG",
      `cannot read --config ${path}: ${(err as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_CONFIG",
      `${path}: not valid YAML/JSON: ${(err as Error).message}`,
    );
  }
  return parseConfig(raw, path);
}

function hubOptions(
  listen: string,
  str: (k: string) => string | undefined,
  list: (k: string) => string[],
  namespace: string,
): HubPartOptions {
  const cert = str("hub-tls-cert");
  const key = str("hub-tls-key");
  const clientCa = str("hub-tls-ca");
  if ((cert === undefined) !== (key === undefined))
    throw new ControllerError("HANGAR_ERR_HUB_CONFIG", "--hub-tls-cert and --hub-tls-key go together");
  if (clientCa !== undefined && cert === undefined)
    throw new ControllerError(
      "HANGAR_ERR_HUB_CONFIG",
      "--hub-tls-ca (mTLS) needs --hub-tls-cert and --hub-tls-key",
    );
  const agents = list("hub-agent").length > 0 ? list("hub-agent") : [`${namespace}:hangar-agent`];
  const rules = str("rules");
  return {
    listen,
    ...(cert !== undefined && key !== undefined
      ? {
          tls: {
            certFile: cert,
            keyFile: key,
            ...(clientCa !== undefined
              ? { clientCaFile: clientCa, allowedSubjects: list("hub-client-cn") }
              : {}),
          },
        }
      : {}),
    tokens: {
      audience: str("hub-audience") ?? "hangar-controller",
      allowedUsers: agents.map((a) => `system:serviceaccount:${a}`),
    },
    ...(rules !== undefined ? { rulesDir: rules } : {}),
  };
}
