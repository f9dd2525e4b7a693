/**
 * Shared setup for the cross-part tests: the proxy in front of test pods (testkit's real MCP
 * server, as the controller's proxy tests have it), the controller's Kubernetes client as
 * admin, and testkit's SDK client, namespace and pod helpers under the names these tests use.
 */
import * as k8s from "@kubernetes/client-node";
import type { hangar } from "@hangar/proto";
import { KubeClient, startProxy, type ProxyConfig, type RunningProxy } from "@hangar/controller";
import type { ControlPlane } from "@hangar/testkit";
import { startTestServer, type TestServer, type TestServerOptions } from "@hangar/testkit/mcp";

export { ensureNamespace, providerPod } from "@hangar/testkit";
export { connectMcp as connect, textOf } from "@hangar/testkit/mcp";

/** The controller's Kubernetes client as the control plane's admin. */
export function adminClient(cp: ControlPlane): KubeClient {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return new KubeClient(kc);
}

export interface Rig {
  pods: TestServer[];
  proxy: RunningProxy;
  /** Every trace published since the rig started. */
  traces: hangar.CallTrace[];
  close(): Promise<void>;
}

/** Starts `pods` test servers for provider "weather" behind a proxy (static endpoints). */
export async function startRig(
  opts: { pods?: (Omit<TestServerOptions, "pod"> & { pod: string })[]; config?: Partial<ProxyConfig> } = {},
): Promise<Rig> {
  const pods = await Promise.all((opts.pods ?? [{ pod: "weather-0" }]).map((p) => startTestServer(p)));
  const config: ProxyConfig = {
    listen: "127.0.0.1:0",
    providers: [{ provider: "weather", namespace: "mcp", service: "weather" }],
    ...opts.config,
  };
  // Provider "weather" is served by the test pods; other providers start without pods.
  config.staticEndpoints ??= Object.fromEntries(
    config.providers.map((p) => [
      p.provider,
      p.provider !== "weather"
        ? []
        : pods.map((x) => ({ url: x.url, pod: x.pod, namespace: "mcp", node: "node-a" })),
    ]),
  );
  const proxy = await startProxy({ config });
  const traces: hangar.CallTrace[] = [];
  const ac = new AbortController();
  const sub = proxy.proxy.feed.subscribe(ac.signal);
  const pump = (async () => {
    for await (const t of sub) traces.push(t);
  })();
  return {
    pods,
    proxy,
    traces,
    async close() {
      ac.abort();
      await pump;
      await proxy.close();
      await Promise.all(pods.map((p) => p.close()));
    },
  };
}
