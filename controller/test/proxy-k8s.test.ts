/**
 * Pod discovery and TokenReview on a real kube-apiserver (testkit): the proxy
 * watches real EndpointSlices and asks the real API server about callers'
 * service-account tokens.
 *
 * The "pods" are SDK servers on this machine. EndpointSlice validation refuses
 * loopback addresses, so the slices hold documentation addresses (192.0.2.0/24,
 * RFC 5737) with real pod references, and the proxy's `addressMap` (a test and
 * local-development switch, documented in endpoints.ts) maps each `ip:port` to
 * the local server playing that pod. Watch, readiness, pod identity and pod loss
 * run the production code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { hangar } from "@hangar/proto";
import { skipUnlessControlPlane, startControlPlane, type ControlPlane, waitFor } from "@hangar/testkit";
import { startTestServer, type TestServer } from "@hangar/testkit/mcp";
import { RpcCode } from "../src/proxy/errors.js";
import { startProxy, type RunningProxy } from "../src/proxy/serve.js";
import { connect, textOf } from "./helpers.js";

const NS = "mcp";
const skip = skipUnlessControlPlane();

function endpoint(ip: string, pod: string, ready = true): k8s.V1Endpoint {
  return {
    addresses: [ip],
    conditions: { ready, serving: true, terminating: false },
    nodeName: "node-a",
    targetRef: { kind: "Pod", namespace: NS, name: pod, uid: `uid-${pod}` },
  };
}

function slice(endpoints: k8s.V1Endpoint[], resourceVersion?: string): k8s.V1EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "weather-x7k2p",
      namespace: NS,
      labels: { "kubernetes.io/service-name": "weather" },
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    addressType: "IPv4",
    ports: [{ name: "mcp", port: 8080, protocol: "TCP" }],
    endpoints,
  };
}

describe("proxy on a real API server", { skip }, () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let discovery: k8s.DiscoveryV1Api;
  let pods: TestServer[];
  let running: RunningProxy;
  const traces: hangar.CallTrace[] = [];
  const ac = new AbortController();
  let token: string;

  before(async () => {
    cp = await startControlPlane();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    pods = await Promise.all([startTestServer({ pod: "weather-a" }), startTestServer({ pod: "weather-b" })]);
    await discovery.createNamespacedEndpointSlice({
      namespace: NS,
      body: slice([endpoint("192.0.2.10", "weather-a"), endpoint("192.0.2.11", "weather-b")]),
    });
    await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: "planner" } } });
    const tr = await core.createNamespacedServiceAccountToken({
      name: "planner",
      namespace: NS,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    token = tr.status?.token ?? "";
    running = await startProxy({
      kubeConfig: kc,
      config: {
        listen: "127.0.0.1:0",
        providers: [{ provider: "weather", namespace: NS, service: "weather", port: "mcp" }],
        auth: { tokenReview: {} },
        addressMap: {
          "192.0.2.10:8080": `http://127.0.0.1:${pods[0]?.port}`,
          "192.0.2.11:8080": `http://127.0.0.1:${pods[1]?.port}`,
        },
      },
    });
    const sub = running.proxy.feed.subscribe(ac.signal);
    void (async () => {
      for await (const t of sub) traces.push(t);
    })();
    await running.synced;
  });

  after(async () => {
    ac.abort();
    await running?.close();
    await Promise.all((pods ?? []).map((p) => p.close()));
    await cp?.stop();
  });

  it("lists the provider's pods from its EndpointSlices, with their identity", () => {
    const eps = [...running.directory.all("weather")].sort((a, b) => (a.key < b.key ? -1 : 1));
    assert.deepEqual(
      eps.map((e) => [e.key, e.podUid, e.node, e.address, e.port, e.ready]),
      [
        ["mcp/weather-a", "uid-weather-a", "node-a", "192.0.2.10", 8080, true],
        ["mcp/weather-b", "uid-weather-b", "node-a", "192.0.2.11", 8080, true],
      ],
    );
  });

  it("refuses a caller without a token (401) and accepts a service-account token via TokenReview", async () => {
    await assert.rejects(connect(new URL(`${running.url}/mcp/weather`)), /missing bearer token/);
    await assert.rejects(
      connect(new URL(`${running.url}/mcp/weather`), { token: "not-a-token" }),
      /TokenReview|did not accept/,
    );
    const { client } = await connect(new URL(`${running.url}/mcp/weather`), { token });
    const pod = textOf(await client.callTool({ name: "whoami", arguments: {} }));
    assert.match(pod, /^weather-[ab]$/);
    await waitFor(
      "trace",
      () => traces.some((t) => t.tool === "whoami" && t.endTime !== undefined),
      undefined,
      2000,
    );
    const t = traces.find((x) => x.tool === "whoami" && x.endTime !== undefined);
    assert.equal(t?.caller?.subject, "system:serviceaccount:mcp:planner");
    assert.equal(t?.caller?.authMethod, "tokenreview");
    assert.equal(t?.podName, pod);
    assert.equal(t?.podUid, `uid-${pod}`);
    await client.close();
  });

  it("ends the sessions of a pod removed from the EndpointSlice, and sends new sessions to the pods left", async () => {
    const { client } = await connect(new URL(`${running.url}/mcp/weather`), { token });
    const pod = textOf(await client.callTool({ name: "whoami", arguments: {} }));
    const server = pods.find((p) => p.pod === pod);
    assert.ok(server !== undefined);
    const call = client.callTool({ name: "wait", arguments: { ms: 20_000, tag: "k8s-lost" } });
    // Handled from the start: the call may end before the slice update below has resolved.
    const ended = call.then(
      () => assert.fail("the call should end with an error"),
      (e: unknown) => e,
    );
    await waitFor(
      "the call to reach the pod",
      () => server.calls.some((c) => c.args["tag"] === "k8s-lost"),
      undefined,
      3000,
    );
    const current = await discovery.readNamespacedEndpointSlice({ name: "weather-x7k2p", namespace: NS });
    const left =
      pod === "weather-a" ? endpoint("192.0.2.11", "weather-b") : endpoint("192.0.2.10", "weather-a");
    await discovery.replaceNamespacedEndpointSlice({
      name: "weather-x7k2p",
      namespace: NS,
      body: slice([left], current.metadata?.resourceVersion),
    });
    const err = await ended;
    assert.ok(err instanceof McpError);
    assert.equal(err.code, RpcCode.SESSION_ENDED);
    assert.match(err.message, new RegExp(`pod mcp/${pod} of provider "weather" went away`));
    const fresh = await connect(new URL(`${running.url}/mcp/weather`), { token });
    assert.equal(
      textOf(await fresh.client.callTool({ name: "whoami", arguments: {} })),
      left.targetRef?.name,
    );
    await fresh.client.close();
  });

  it("offers a pod that is not ready to no new session", async () => {
    const current = await discovery.readNamespacedEndpointSlice({ name: "weather-x7k2p", namespace: NS });
    await discovery.replaceNamespacedEndpointSlice({
      name: "weather-x7k2p",
      namespace: NS,
      body: slice(
        [endpoint("192.0.2.10", "weather-a", false), endpoint("192.0.2.11", "weather-b")],
        current.metadata?.resourceVersion,
      ),
    });
    await waitFor(
      "the update",
      () => running.directory.get("weather", "mcp/weather-a")?.ready === false,
      undefined,
      3000,
    );
    for (let i = 0; i < 3; i++) {
      const { client } = await connect(new URL(`${running.url}/mcp/weather`), { token });
      assert.equal(textOf(await client.callTool({ name: "whoami", arguments: {} })), "weather-b");
      await client.close();
    }
  });
});
