import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { flow, observer, tetragon } from "@hangar/proto";
import { hubbleRequest } from "../sources/hubble.js";
import { tetragonRequest } from "../sources/tetragon.js";
import { hubbleAllows, matchesSelector, tetragonAllows } from "./filters.js";

describe("matchesSelector", () => {
  const labels = { app: "weather", "mcp-hangar.io/provider": "weather", tier: "" };

  it("'key' requires the key (any value, even empty)", () => {
    assert.equal(matchesSelector("mcp-hangar.io/provider", labels), true);
    assert.equal(matchesSelector("tier", labels), true);
    assert.equal(matchesSelector("team", labels), false);
  });

  it("'!key' requires the key to be absent", () => {
    assert.equal(matchesSelector("!team", labels), true);
    assert.equal(matchesSelector("!app", labels), false);
  });

  it("'key=value' and 'key==value' require that value", () => {
    assert.equal(matchesSelector("app=weather", labels), true);
    assert.equal(matchesSelector("app==weather", labels), true);
    assert.equal(matchesSelector("app=web", labels), false);
    assert.equal(matchesSelector("team=x", labels), false);
    assert.equal(matchesSelector("tier=", labels), true);
  });

  it("'key!=value' matches another value or a missing key", () => {
    assert.equal(matchesSelector("app!=web", labels), true);
    assert.equal(matchesSelector("team!=x", labels), true);
    assert.equal(matchesSelector("app!=weather", labels), false);
  });

  it("a comma is AND, spaces around terms are ignored", () => {
    assert.equal(matchesSelector("app=weather, mcp-hangar.io/provider", labels), true);
    assert.equal(matchesSelector("app=weather,!mcp-hangar.io/provider", labels), false);
    assert.equal(matchesSelector("app=weather,team", labels), false);
  });

  it("an empty selector matches everything", () => {
    assert.equal(matchesSelector("", {}), true);
    assert.equal(matchesSelector(" , ", labels), true);
  });

  it("does not see Object.prototype members as labels", () => {
    assert.equal(matchesSelector("constructor", {}), false);
    assert.equal(matchesSelector("toString", { app: "x" }), false);
    assert.equal(matchesSelector("!hasOwnProperty", {}), true);
  });
});

function exec(
  namespace: string | undefined,
  podLabels: Record<string, string> = {},
): tetragon.GetEventsResponse {
  return create(tetragon.GetEventsResponseSchema, {
    event: {
      case: "processExec",
      value: {
        process: {
          binary: "/bin/sh",
          ...(namespace === undefined ? {} : { pod: { namespace, name: "p", podLabels } }),
        },
      },
    },
  });
}

const MCP = { app: "weather", "mcp-hangar.io/provider": "weather" };
const rateLimit = create(tetragon.GetEventsResponseSchema, {
  event: { case: "rateLimitInfo", value: { numberOfDroppedProcessEvents: 1n } },
});
const throttle = create(tetragon.GetEventsResponseSchema, {
  event: { case: "processThrottle", value: { type: tetragon.ThrottleType.THROTTLE_START } },
});

function request(allow: tetragon.Filter[], deny: tetragon.Filter[] = []): tetragon.GetEventsRequest {
  return create(tetragon.GetEventsRequestSchema, { allowList: allow, denyList: deny });
}
const filter = (init: Parameters<typeof create<typeof tetragon.FilterSchema>>[1]): tetragon.Filter =>
  create(tetragon.FilterSchema, init);

describe("tetragonAllows", () => {
  it("an empty request allows everything", () => {
    assert.equal(tetragonAllows(request([]), exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(request([]), rateLimit), true);
  });

  it("a label filter matches pods with the label and never matches pod-less events", () => {
    const req = request([filter({ labels: ["mcp-hangar.io/provider"] })]);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(req, exec("shop", { app: "web" })), false);
    assert.equal(tetragonAllows(req, exec(undefined)), false);
    assert.equal(tetragonAllows(req, rateLimit), false);
  });

  it("several label selectors in one filter are OR", () => {
    const req = request([filter({ labels: ["app=web", "app=weather"] })]);
    assert.equal(tetragonAllows(req, exec("shop", { app: "web" })), true);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(req, exec("x", { app: "db" })), false);
  });

  it("event_set selects by event type number", () => {
    const req = request([filter({ eventSet: [tetragon.EventType.RATE_LIMIT_INFO] })]);
    assert.equal(tetragonAllows(req, rateLimit), true);
    assert.equal(tetragonAllows(req, throttle), false);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), false);
  });

  it("namespace restricts to pods in those namespaces", () => {
    const req = request([filter({ namespace: ["mcp"] })]);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(req, exec("shop", MCP)), false);
    assert.equal(tetragonAllows(req, exec(undefined)), false);
  });

  it("fields within one filter are AND", () => {
    const req = request([filter({ namespace: ["mcp"], labels: ["app=weather"] })]);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(req, exec("mcp", { app: "web" })), false);
    assert.equal(tetragonAllows(req, exec("shop", MCP)), false);
  });

  it("the deny list wins over the allow list; a deny list alone removes only what it matches", () => {
    const deny = [filter({ namespace: ["kube-system"] })];
    const req = request([filter({ labels: ["app"] })], deny);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(req, exec("kube-system", { app: "coredns" })), false);
    const denyOnly = request([], deny);
    assert.equal(tetragonAllows(denyOnly, exec("kube-system", {})), false);
    assert.equal(tetragonAllows(denyOnly, rateLimit), true);
  });

  it("the agent's own request lets MCP pods and the accounting events through, and nothing else", () => {
    const req = tetragonRequest(["mcp"]);
    assert.equal(tetragonAllows(req, exec("mcp", MCP)), true);
    assert.equal(tetragonAllows(req, rateLimit), true);
    assert.equal(tetragonAllows(req, throttle), true);
    assert.equal(tetragonAllows(req, exec("other", MCP)), false);
    assert.equal(tetragonAllows(req, exec("mcp", { app: "web" })), false);
    assert.equal(tetragonAllows(req, exec(undefined)), false);
  });
});

function flowOf(
  src: Partial<{ ns: string; pod: string; labels: string[] }>,
  dst: typeof src = {},
): observer.GetFlowsResponse {
  const ep = (e: typeof src) =>
    create(flow.EndpointSchema, { namespace: e.ns ?? "", podName: e.pod ?? "", labels: e.labels ?? [] });
  return create(observer.GetFlowsResponseSchema, {
    responseTypes: { case: "flow", value: { source: ep(src), destination: ep(dst) } },
  });
}

const mcpEp = {
  ns: "mcp",
  pod: "weather-1",
  labels: ["k8s:app=weather", "k8s:mcp-hangar.io/provider=weather"],
};
const webEp = { ns: "shop", pod: "web-1", labels: ["k8s:app=web"] };
const world = { labels: ["reserved:world"] };

describe("hubbleAllows", () => {
  const flowReq = (white: flow.FlowFilter[], black: flow.FlowFilter[] = []): observer.GetFlowsRequest =>
    create(observer.GetFlowsRequestSchema, { whitelist: white, blacklist: black });
  const ff = (init: Parameters<typeof create<typeof flow.FlowFilterSchema>>[1]): flow.FlowFilter =>
    create(flow.FlowFilterSchema, init);

  it("no filters allow everything", () => {
    assert.equal(hubbleAllows(flowReq([]), flowOf(webEp, world)), true);
  });

  it("the whitelist is an OR of its filters", () => {
    const req = flowReq([
      ff({ sourceLabel: ["k8s:app=weather"] }),
      ff({ destinationLabel: ["k8s:app=weather"] }),
    ]);
    assert.equal(hubbleAllows(req, flowOf(mcpEp, world)), true);
    assert.equal(hubbleAllows(req, flowOf(webEp, mcpEp)), true);
    assert.equal(hubbleAllows(req, flowOf(webEp, world)), false);
  });

  it("source_pod and destination_pod match by namespace/name prefix", () => {
    assert.equal(hubbleAllows(flowReq([ff({ sourcePod: ["mcp/"] })]), flowOf(mcpEp, world)), true);
    assert.equal(hubbleAllows(flowReq([ff({ sourcePod: ["mcp/weather"] })]), flowOf(mcpEp, world)), true);
    assert.equal(hubbleAllows(flowReq([ff({ sourcePod: ["shop/"] })]), flowOf(mcpEp, world)), false);
    assert.equal(hubbleAllows(flowReq([ff({ destinationPod: ["mcp/"] })]), flowOf(webEp, mcpEp)), true);
  });

  it("the blacklist removes matching flows from the whitelist", () => {
    const req = flowReq([ff({ sourceLabel: ["k8s:app"] })], [ff({ destinationPod: ["shop/"] })]);
    assert.equal(hubbleAllows(req, flowOf(mcpEp, world)), true);
    assert.equal(hubbleAllows(req, flowOf(mcpEp, webEp)), false);
    assert.equal(hubbleAllows(flowReq([], [ff({ sourcePod: ["shop/"] })]), flowOf(webEp, world)), false);
  });

  it("lost_events and node_status are never filtered", () => {
    const req = flowReq([ff({ sourcePod: ["nothing/"] })], [ff({ sourceLabel: [""] })]);
    const lost = create(observer.GetFlowsResponseSchema, {
      responseTypes: { case: "lostEvents", value: { numEventsLost: 3n } },
    });
    const status = create(observer.GetFlowsResponseSchema, {
      responseTypes: { case: "nodeStatus", value: {} },
    });
    assert.equal(hubbleAllows(req, lost), true);
    assert.equal(hubbleAllows(req, status), true);
  });

  it("the agent's own request keeps flows from or to MCP pods in its namespaces", () => {
    const req = hubbleRequest(["mcp"]);
    assert.equal(hubbleAllows(req, flowOf(mcpEp, world)), true);
    assert.equal(hubbleAllows(req, flowOf(webEp, mcpEp)), true);
    assert.equal(hubbleAllows(req, flowOf(webEp, world)), false);
    assert.equal(hubbleAllows(req, flowOf({ ...mcpEp, ns: "other" }, world)), false);
  });
});
