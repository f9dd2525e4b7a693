import { hostname } from "node:os";
import * as k8s from "@kubernetes/client-node";
import { startAgent, type SensorEndpoint } from "../agent.js";
import { AgentError } from "../errors.js";
import { JsonLinesAlertSink, eventJson } from "../outputs/json-lines.js";
import { HUBBLE_DEFAULT_ADDRESS } from "../sources/hubble.js";
import { TETRAGON_DEFAULT_ADDRESS } from "../sources/tetragon.js";
import type { TlsOptions } from "../sources/grpc.js";
import { intOption, parse } from "./args.js";
import { stderrLogger } from "./logger.js";

const HELP = `Usage: hangar-agent run [options]

Consumes the Tetragon and Hubble event streams of this node for MCP provider pods
(label mcp-hangar.io/provider), and runs them through normalize → resolve →
correlate → detect. Alerts go to stdout as JSON lines.

Sensors:
  --tetragon ADDR          Tetragon gRPC address (default ${TETRAGON_DEFAULT_ADDRESS}); "none" disables
  --hubble ADDR            Hubble gRPC address (default ${HUBBLE_DEFAULT_ADDRESS}); "none" disables
  --tetragon-ca FILE, --tetragon-cert FILE, --tetragon-key FILE, --tetragon-server-name NAME
                           TLS for a TCP Tetragon address (ignored for unix sockets)
  --hubble-ca FILE, --hubble-cert FILE, --hubble-key FILE, --hubble-server-name NAME
                           TLS for a TCP Hubble address
  --max-recv-bytes N       largest gRPC message accepted (default 67108864; gRPC's own is 4 MiB)
  --namespace NS           only pods in this namespace (repeatable; default all)
  --queue N                events buffered per sensor before drops are counted (default 16384)

Identity:
  --node NAME              this node's name (default $NODE_NAME, else the hostname)
  --kubeconfig FILE        watch this node's pods with this kubeconfig (default: in-cluster
                           config when running in a pod; otherwise no watch, identity from event labels)
  --no-kube                do not watch pods

Operations:
  --health-port N          serve /healthz and /readyz on this port (default 9876; 0 = any free port)
  --print-events           also print every kept event to stdout (JSON lines)
  --log-level LEVEL        trace|debug|info|warn|error (default info)
`;

function tls(v: Record<string, unknown>, prefix: string): TlsOptions | undefined {
  const pick = (k: string): string | undefined => {
    const x = v[`${prefix}-${k}`];
    return typeof x === "string" ? x : undefined;
  };
  const out: TlsOptions = {};
  const ca = pick("ca");
  const cert = pick("cert");
  const key = pick("key");
  const serverName = pick("server-name");
  if (ca !== undefined) out.caFile = ca;
  if (cert !== undefined) out.certFile = cert;
  if (key !== undefined) out.keyFile = key;
  if (serverName !== undefined) out.serverName = serverName;
  if ((cert === undefined) !== (key === undefined)) {
    throw new AgentError("HANGAR_ERR_CONFIG_INVALID", `--${prefix}-cert and --${prefix}-key go together`);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

export async function runCommand(args: string[]): Promise<number> {
  const v = parse("run", args, {
    tetragon: { type: "string" },
    hubble: { type: "string" },
    "tetragon-ca": { type: "string" },
    "tetragon-cert": { type: "string" },
    "tetragon-key": { type: "string" },
    "tetragon-server-name": { type: "string" },
    "hubble-ca": { type: "string" },
    "hubble-cert": { type: "string" },
    "hubble-key": { type: "string" },
    "hubble-server-name": { type: "string" },
    "max-recv-bytes": { type: "string" },
    namespace: { type: "string", multiple: true },
    queue: { type: "string" },
    node: { type: "string" },
    kubeconfig: { type: "string" },
    "no-kube": { type: "boolean" },
    "health-port": { type: "string" },
    "print-events": { type: "boolean" },
    "log-level": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const logger = stderrLogger(v["log-level"] ?? "info");
  const maxRecv = intOption("run", "max-recv-bytes", v["max-recv-bytes"], 1024);
  const endpoint = (address: string, prefix: string): SensorEndpoint => {
    const t = tls(v, prefix);
    return {
      address,
      ...(t === undefined ? {} : { tls: t }),
      ...(maxRecv === undefined ? {} : { maxReceiveMessageBytes: maxRecv }),
    };
  };
  const tetragonAddr = v.tetragon ?? TETRAGON_DEFAULT_ADDRESS;
  const hubbleAddr = v.hubble ?? HUBBLE_DEFAULT_ADDRESS;
  if (tetragonAddr === "none" && hubbleAddr === "none") {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "run: at least one sensor is needed (--tetragon or --hubble)",
    );
  }
  let kubeConfig: k8s.KubeConfig | undefined;
  if (v["no-kube"] !== true) {
    if (v.kubeconfig !== undefined) {
      kubeConfig = new k8s.KubeConfig();
      try {
        kubeConfig.loadFromFile(v.kubeconfig);
      } catch (err) {
        throw AgentError.from(err, "HANGAR_ERR_CONFIG_INVALID", `reading kubeconfig ${v.kubeconfig}`);
      }
    } else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) {
      kubeConfig = new k8s.KubeConfig();
      kubeConfig.loadFromCluster();
    }
  }
  if (kubeConfig === undefined)
    logger.info("no Kubernetes API access: provider identity comes from event labels only");
  const node = v.node ?? process.env.NODE_NAME ?? hostname();
  const queue = intOption("run", "queue", v.queue, 1);
  const healthPort = intOption("run", "health-port", v["health-port"], 0) ?? 9876;
  const sink = new JsonLinesAlertSink(process.stdout);
  const agent = await startAgent({
    node,
    ...(tetragonAddr === "none" ? {} : { tetragon: endpoint(tetragonAddr, "tetragon") }),
    ...(hubbleAddr === "none" ? {} : { hubble: endpoint(hubbleAddr, "hubble") }),
    namespaces: v.namespace ?? [],
    ...(kubeConfig === undefined ? {} : { kubeConfig }),
    healthPort,
    sinks: [sink],
    ...(v["print-events"] === true ? { onEvent: (ev) => process.stdout.write(`${eventJson(ev)}\n`) } : {}),
    logger,
    ...(queue === undefined ? {} : { queueCapacity: queue }),
  });
  logger.info({ node, healthPort: agent.health?.port }, "hangar-agent running");
  // Runs until SIGINT/SIGTERM; if the pipeline itself fails, stop and report it.
  const failed = agent.done.then(
    () => undefined,
    (err: unknown) => err,
  );
  const outcome = await Promise.race([waitForSignal().then(() => undefined), failed]);
  await agent.stop();
  if (outcome !== undefined)
    throw AgentError.from(outcome, "HANGAR_ERR_INTAKE_STREAM", "the pipeline failed");
  return 0;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
