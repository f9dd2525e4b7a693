/**
 * `@hangar/testkit/mcp`: the MCP harness — a real MCP server playing a provider pod and the SDK
 * client side. A subpath of its own so that only the workspaces that use the MCP SDK (the
 * controller's and the stack's tests) see the SDK's types; the others import `@hangar/testkit`
 * without them.
 */
export {
  startTestServer,
  type TestServer,
  type TestServerOptions,
  type ToolContext,
  type ToolHandler,
} from "./mcp-server.js";
export { connectMcp, textOf } from "./mcp-client.js";
export {
  startConformanceServer,
  CONFORMANCE_PNG,
  CONFORMANCE_WAV,
  type ConformanceServer,
  type ConformanceServerOptions,
} from "./conformance-server.js";
export {
  conformanceCli,
  conformanceVerdicts,
  runConformance,
  type ConformanceCheck,
  type ConformanceRun,
} from "./conformance.js";
