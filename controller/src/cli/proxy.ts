/**
 * `hangar-controller proxy`: runs the MCP proxy from a configuration file until
 * SIGINT/SIGTERM. Exit codes: 0 after a clean shutdown, 2 for a usage or
 * configuration error (the message names the flag or field), 1 when the proxy
 * fails while running (for example, it cannot listen).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { ProxyError } from "../proxy/errors.js";
import { parseProxyConfig, startProxy, type ProxyConfig, type RunningProxy } from "../proxy/serve.js";

export const PROXY_USAGE = `Usage: hangar-controller proxy --config FILE [options]

Serves MCP providers over Streamable HTTP at /mcp/<provider>, forwarding each
session to one pod of the provider's Service (from its EndpointSlices), with
caller authentication, per-tool policy and a call trace for every request.

Options:
  --config FILE       proxy configuration, YAML or JSON (see controller/README.md)
  --listen HOST:PORT  overrides the configuration's listen address (default 0.0.0.0:8080)
  --kubeconfig FILE   Kubernetes client configuration (default: in-cluster, else ~/.kube/config)
  -h, --help          this text

Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or configuration error.
`;

export interface ProxyCliIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Loads and validates a configuration file; errors name the file and the field. */
export function loadProxyConfig(path: string): ProxyConfig {
  let text: string;
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --proxy-config file
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ProxyError(
      "HANGAR_ERR_PROXY_CONFIG",
      `cannot read --config ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  let raw: unknown;
  try {
    raw = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ProxyError(
      "HANGAR_ERR_PROXY_CONFIG",
      `${path}: not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    return parseProxyConfig(raw, path);
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    throw new ProxyError("HANGAR_ERR_PROXY_CONFIG", `${path}: ${(err as Error).message}`, { cause: err });
  }
}

function kubeConfigFor(config: ProxyConfig, path: string | undefined): k8s.KubeConfig | undefined {
  const needed =
    path !== undefined ||
    config.auth?.tokenReview !== undefined ||
    config.providers.some((p) => config.staticEndpoints?.[p.provider] === undefined);
  if (!needed) return undefined;
  const kc = new k8s.KubeConfig();
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else if (process.env["KUBERNETES_SERVICE_HOST"] !== undefined) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new ProxyError(
      "HANGAR_ERR_PROXY_CONFIG",
      `cannot load the Kubernetes configuration${path === undefined ? "" : ` --kubeconfig ${path}`}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return kc;
}

/** Runs the proxy until `signal` aborts. Returns the exit code. */
export async function runProxyCli(
  args: readonly string[],
  io: ProxyCliIO,
  signal: AbortSignal,
): Promise<number> {
  let values: { config?: string; listen?: string; kubeconfig?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        config: { type: "string" },
        listen: { type: "string" },
        kubeconfig: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    io.stderr(`hangar-controller proxy: ${(err as Error).message}\n\n${PROXY_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(PROXY_USAGE);
    return 0;
  }
  if (values.config === undefined) {
    io.stderr(`hangar-controller proxy: --config FILE is required\n\n${PROXY_USAGE}`);
    return 2;
  }
  let running: RunningProxy;
  try {
    const config = loadProxyConfig(values.config);
    if (values.listen !== undefined) config.listen = values.listen;
    const kubeConfig = kubeConfigFor(config, values.kubeconfig);
    running = await startProxy({
      config,
      ...(kubeConfig === undefined ? {} : { kubeConfig }),
      onError: (err) => io.stderr(`${JSON.stringify({ level: "warn", code: err.code, msg: err.message })}\n`),
    });
  } catch (err) {
    const code = err instanceof ProxyError ? err.code : "HANGAR_ERR_PROXY_CONFIG";
    io.stderr(`hangar-controller proxy: ${code}: ${(err as Error).message}\n`);
    return err instanceof ProxyError && err.code === "HANGAR_ERR_PROXY_LISTEN" ? 1 : 2;
  }
  io.stderr(`${JSON.stringify({ level: "info", msg: "MCP proxy listening", url: running.url })}\n`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await running.close();
  return 0;
}
