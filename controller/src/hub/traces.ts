/**
 * Trace routing: each call trace the MCP proxy publishes goes to the agent of the node whose
 * pod served the call (`CallTrace.node`), so that agent can tie what the pod did to the call.
 * The traces come as any async iterable (the proxy's `feed.subscribe(signal)`), so the hub
 * needs nothing of the proxy.
 */
import type { hangar } from "@hangar/proto";
import type { AgentHub } from "./hub.js";

/**
 * Sends every trace of `traces` with a node to that node's agent, until the iterable ends
 * (its subscription's signal aborts); `onRouted` hears which provider runs on which node
 * (the merged-baseline fan-out learns its hosts from it).
 */
export async function routeCallTraces(
  traces: AsyncIterable<hangar.CallTrace>,
  hub: Pick<AgentHub, "send">,
  onRouted?: (provider: string, node: string) => void,
): Promise<void> {
  for await (const t of traces) {
    if (t.node === "") continue;
    hub.send(t.node, { case: "callTrace", value: t });
    onRouted?.(t.provider, t.node);
  }
}
