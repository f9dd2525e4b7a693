/**
 * Shared setup for the proxy tests: test pods (testkit's real MCP server), a proxy in front of
 * them, SDK clients (testkit's, under the names these tests use).
 */
import type { hangar } from "@hangar/proto";
import { startTestServer, type TestServer, type TestServerOptions } from "@hangar/testkit/mcp";
import type { PodEndpoint } from "../src/proxy/endpoints.js";
import { startProxy, type ProxyConfig, type RunningProxy } from "../src/proxy/serve.js";

export { connectMcp as connect, textOf } from "@hangar/testkit/mcp";

export function podEndpoint(server: TestServer, namespace = "mcp"): PodEndpoint {
  return {
    key: `${namespace}/${server.pod}`,
    podNamespace: namespace,
    podName: server.pod,
    podUid: `uid-${server.pod}`,
    node: "node-a",
    address: "127.0.0.1",
    port: server.port,
    url: server.url,
    ready: true,
    slice: "",
  };
}

export interface Rig {
  pods: TestServer[];
  proxy: RunningProxy;
  /** Every trace published since the rig started. */
  traces: hangar.CallTrace[];
  endpoint(provider?: string): URL;
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
    endpoint: (provider = "weather") => new URL(`${proxy.url}/mcp/${provider}`),
    async close() {
      ac.abort();
      await pump;
      await proxy.close();
      await Promise.all(pods.map((p) => p.close()));
    },
  };
}

/** Raw POST to the proxy (for malformed input). */
export async function post(
  url: URL,
  body: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  json: { error?: { code: number; message: string } } | undefined;
  text: string;
}> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let json: { error?: { code: number; message: string } } | undefined;
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}
