/**
 * The reference server for the official MCP conformance suite
 * (`@modelcontextprotocol/conformance server`): every tool, resource, prompt
 * and behaviour its server scenarios look for, on the official SDK's `Server`
 * and Streamable HTTP server transport, written here because the suite's own
 * reference server is not published to a registry. What each scenario expects
 * is taken from the suite's checks: tool names, contents, the sampling and
 * elicitation requests (sent on the session's standalone GET stream, since
 * they are not tied to the call's request), the SEP-1699 polling tool that
 * closes its stream mid-call (an event store and `retry`), and DNS-rebinding
 * protection (only loopback Host values are accepted). Each session keeps
 * its own event store, so a resumption replays what that stream missed.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  StreamableHTTPServerTransport,
  type EventStore,
} from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  CreateMessageResultSchema,
  type CallToolResult,
  type GetPromptResult,
  type JSONRPCMessage,
  type ReadResourceResult,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";

/** A 1×1 PNG and a minimal WAV, as base64 (what the image/audio scenarios check for). */
export const CONFORMANCE_PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
export const CONFORMANCE_WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

export interface ConformanceServer {
  /** `http://127.0.0.1:<port>/mcp` (the DNS-rebinding scenario needs a loopback address). */
  readonly url: string;
  readonly port: number;
  /** Open sessions. */
  readonly sessions: number;
  close(): Promise<void>;
}

export interface ConformanceServerOptions {
  /** Interval the SSE priming events announce (`retry:`), in ms. Default 500. */
  retryMs?: number;
  /** How long `test_reconnection` works after closing its stream, in ms. Default 100. */
  reconnectionWorkMs?: number;
}

const text = (t: string): CallToolResult => ({ content: [{ type: "text", text: t }] });
const argText = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v ?? ""));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const EMPTY = { type: "object" as const, properties: {} };

/** One in-memory event store per session: ids are `<stream>|<seq>`, ordered per stream. */
function sessionEventStore(): EventStore {
  const streams = new Map<string, { id: string; message: JSONRPCMessage }[]>();
  let seq = 0;
  return {
    storeEvent(streamId, message) {
      const id = `${streamId}|${String(++seq).padStart(8, "0")}`;
      let list = streams.get(streamId);
      if (list === undefined) streams.set(streamId, (list = []));
      list.push({ id, message });
      return Promise.resolve(id);
    },
    async replayEventsAfter(lastEventId, { send }) {
      const streamId = lastEventId.slice(0, lastEventId.lastIndexOf("|"));
      for (const e of streams.get(streamId) ?? [])
        if (e.id > lastEventId && Object.keys(e.message).length > 0) await send(e.id, e.message);
      return streamId;
    },
  };
}

const TOOLS: Tool[] = [
  { name: "test_simple_text", description: "Tests simple text content response", inputSchema: EMPTY },
  { name: "test_image_content", description: "Tests image content response", inputSchema: EMPTY },
  { name: "test_audio_content", description: "Tests audio content response", inputSchema: EMPTY },
  { name: "test_embedded_resource", description: "Tests embedded resource content", inputSchema: EMPTY },
  {
    name: "test_multiple_content_types",
    description: "Tests a response with text, image and resource content",
    inputSchema: EMPTY,
  },
  { name: "test_tool_with_logging", description: "Emits log messages while it runs", inputSchema: EMPTY },
  { name: "test_tool_with_progress", description: "Reports progress while it runs", inputSchema: EMPTY },
  { name: "test_error_handling", description: "Always fails (isError)", inputSchema: EMPTY },
  {
    name: "test_reconnection",
    description: "Closes its SSE stream mid-call; the client resumes (SEP-1699)",
    inputSchema: EMPTY,
  },
  {
    name: "test_sampling",
    description: "Asks the client's model (sampling/createMessage)",
    inputSchema: { type: "object", properties: { prompt: { type: "string" } }, required: ["prompt"] },
  },
  {
    name: "test_elicitation",
    description: "Asks the user (elicitation/create)",
    inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
  },
  {
    name: "test_elicitation_sep1034_defaults",
    description: "Elicitation with a default for every primitive type (SEP-1034)",
    inputSchema: EMPTY,
  },
  {
    name: "test_elicitation_sep1330_enums",
    description: "Elicitation with the five enum schema forms (SEP-1330)",
    inputSchema: EMPTY,
  },
  {
    name: "json_schema_2020_12_tool",
    description: "An input schema with JSON Schema 2020-12 features (SEP-1613)",
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: {
        address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } },
      },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
      additionalProperties: false,
    },
  },
];

const SEP1034_SCHEMA = {
  type: "object" as const,
  properties: {
    name: { type: "string" as const, description: "User name", default: "John Doe" },
    age: { type: "integer" as const, description: "User age", default: 30 },
    score: { type: "number" as const, description: "User score", default: 95.5 },
    status: {
      type: "string" as const,
      description: "User status",
      enum: ["active", "inactive", "pending"],
      default: "active",
    },
    verified: { type: "boolean" as const, description: "Verification status", default: true },
  },
  required: [],
};

const SEP1330_SCHEMA = {
  type: "object" as const,
  properties: {
    untitledSingle: { type: "string", description: "Pick one", enum: ["option1", "option2", "option3"] },
    titledSingle: {
      type: "string",
      description: "Pick one (titled)",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Pick one (legacy titles)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Pick several",
      minItems: 1,
      maxItems: 3,
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Pick several (titled)",
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
  required: [],
};

function newServer(
  o: Required<ConformanceServerOptions>,
  transportOf: () => StreamableHTTPServerTransport,
): Server {
  const server = new Server(
    { name: "hangar-conformance-reference", version: "1.0.0" },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );
  const log = (data: string): void => {
    server
      .notification({ method: "notifications/message", params: { level: "info", logger: "reference", data } })
      .catch(() => undefined);
  };
  const elicit = async (params: Record<string, unknown>, label: string): Promise<CallToolResult> => {
    try {
      const r = await server.request({ method: "elicitation/create", params }, ElicitResultSchema);
      return text(`${label}: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
    } catch (err) {
      return text(`Elicitation not supported or error: ${(err as Error).message}`);
    }
  };
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const args = req.params.arguments ?? {};
    switch (req.params.name) {
      case "test_simple_text":
        return text("This is a simple text response for testing.");
      case "test_image_content":
        return { content: [{ type: "image", data: CONFORMANCE_PNG, mimeType: "image/png" }] };
      case "test_audio_content":
        return { content: [{ type: "audio", data: CONFORMANCE_WAV, mimeType: "audio/wav" }] };
      case "test_embedded_resource":
        return {
          content: [
            {
              type: "resource",
              resource: {
                uri: "test://embedded-resource",
                mimeType: "text/plain",
                text: "This is an embedded resource content.",
              },
            },
          ],
        };
      case "test_multiple_content_types":
        return {
          content: [
            { type: "text", text: "Multiple content types test:" },
            { type: "image", data: CONFORMANCE_PNG, mimeType: "image/png" },
            {
              type: "resource",
              resource: {
                uri: "test://mixed-content-resource",
                mimeType: "application/json",
                text: JSON.stringify({ test: "data", value: 123 }),
              },
            },
          ],
        };
      case "test_tool_with_logging":
        for (const [i, step] of [
          "Tool execution started",
          "Tool processing data",
          "Tool execution completed",
        ].entries()) {
          if (i > 0) await sleep(50);
          await extra.sendNotification({
            method: "notifications/message",
            params: { level: "info", data: step },
          });
        }
        return text("Tool with logging executed successfully");
      case "test_tool_with_progress": {
        const progressToken = req.params._meta?.progressToken ?? 0;
        for (const progress of [0, 50, 100]) {
          if (progress > 0) await sleep(50);
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
        }
        return text(String(progressToken));
      }
      case "test_error_handling":
        return {
          content: [{ type: "text", text: "This tool intentionally returns an error for testing" }],
          isError: true,
        };
      case "test_reconnection":
        // SEP-1699: end this call's stream now; the client reconnects with Last-Event-ID after `retry`.
        if (extra.requestId !== undefined) transportOf().closeSSEStream(extra.requestId);
        await sleep(o.reconnectionWorkMs);
        return text("Reconnection test completed successfully: the client resumed the stream.");
      case "test_sampling": {
        try {
          const r = await server.request(
            {
              method: "sampling/createMessage",
              params: {
                messages: [{ role: "user", content: { type: "text", text: argText(args["prompt"]) } }],
                maxTokens: 100,
              },
            },
            CreateMessageResultSchema,
          );
          return text(`LLM response: ${r.content.type === "text" ? r.content.text : "No response"}`);
        } catch (err) {
          return text(`Sampling not supported or error: ${(err as Error).message}`);
        }
      }
      case "test_elicitation":
        return elicit(
          {
            message: argText(args["message"]),
            requestedSchema: {
              type: "object",
              properties: { response: { type: "string", description: "User's response" } },
              required: ["response"],
            },
          },
          "User response",
        );
      case "test_elicitation_sep1034_defaults":
        return elicit(
          {
            message: "Please review and update the form fields with defaults",
            requestedSchema: SEP1034_SCHEMA,
          },
          "Elicitation completed",
        );
      case "test_elicitation_sep1330_enums":
        return elicit(
          { message: "Please select options from the enum fields", requestedSchema: SEP1330_SCHEMA },
          "Elicitation completed",
        );
      case "json_schema_2020_12_tool":
        return text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`);
      default:
        return { content: [{ type: "text", text: `unknown tool ${req.params.name}` }], isError: true };
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [
      {
        uri: "test://static-text",
        name: "static-text",
        title: "Static Text Resource",
        mimeType: "text/plain",
      },
      {
        uri: "test://static-binary",
        name: "static-binary",
        title: "Static Binary Resource",
        mimeType: "image/png",
      },
      {
        uri: "test://watched-resource",
        name: "watched-resource",
        title: "Watched Resource",
        mimeType: "text/plain",
      },
    ],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      { uriTemplate: "test://template/{id}/data", name: "template", mimeType: "application/json" },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (req): ReadResourceResult => {
    const uri = req.params.uri;
    if (uri === "test://static-text")
      return {
        contents: [{ uri, mimeType: "text/plain", text: "This is the content of the static text resource." }],
      };
    if (uri === "test://static-binary")
      return { contents: [{ uri, mimeType: "image/png", blob: CONFORMANCE_PNG }] };
    if (uri === "test://watched-resource")
      return { contents: [{ uri, mimeType: "text/plain", text: "Watched resource content" }] };
    const m = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
    if (m !== null) {
      const id = decodeURIComponent(m[1] as string);
      return {
        contents: [
          {
            uri,
            mimeType: "application/json",
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      };
    }
    throw new Error(`Resource ${uri} not found`);
  });
  server.setRequestHandler(SubscribeRequestSchema, (req) => {
    log(`Subscribed to resource: ${req.params.uri}`);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (req) => {
    log(`Unsubscribed from resource: ${req.params.uri}`);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: [
      { name: "test_simple_prompt", description: "A prompt without arguments" },
      {
        name: "test_prompt_with_arguments",
        description: "A prompt with required arguments",
        arguments: [
          { name: "arg1", description: "First test argument", required: true },
          { name: "arg2", description: "Second test argument", required: true },
        ],
      },
      {
        name: "test_prompt_with_embedded_resource",
        description: "A prompt with an embedded resource",
        arguments: [{ name: "resourceUri", description: "URI of the resource to embed", required: true }],
      },
      { name: "test_prompt_with_image", description: "A prompt with image content" },
    ],
  }));
  server.setRequestHandler(GetPromptRequestSchema, (req): GetPromptResult => {
    const a = req.params.arguments ?? {};
    switch (req.params.name) {
      case "test_simple_prompt":
        return {
          messages: [
            { role: "user", content: { type: "text", text: "This is a simple prompt for testing." } },
          ],
        };
      case "test_prompt_with_arguments":
        return {
          messages: [
            {
              role: "user",
              content: {
                type: "text",
                text: `Prompt with arguments: arg1='${a["arg1"] ?? ""}', arg2='${a["arg2"] ?? ""}'`,
              },
            },
          ],
        };
      case "test_prompt_with_embedded_resource":
        return {
          messages: [
            {
              role: "user",
              content: {
                type: "resource",
                resource: {
                  uri: a["resourceUri"] ?? "test://example-resource",
                  mimeType: "text/plain",
                  text: "Embedded resource content for testing.",
                },
              },
            },
            { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
          ],
        };
      case "test_prompt_with_image":
        return {
          messages: [
            { role: "user", content: { type: "image", data: CONFORMANCE_PNG, mimeType: "image/png" } },
            { role: "user", content: { type: "text", text: "Please analyze the image above." } },
          ],
        };
      default:
        throw new Error(`Prompt ${req.params.name} not found`);
    }
  });
  server.setRequestHandler(SetLevelRequestSchema, (req) => {
    log(`Log level set to: ${req.params.level}`);
    return {};
  });
  server.setRequestHandler(CompleteRequestSchema, () => ({
    completion: { values: [], total: 0, hasMore: false },
  }));
  return server;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** Starts the reference server on a free loopback port. */
export async function startConformanceServer(
  opts: ConformanceServerOptions = {},
): Promise<ConformanceServer> {
  const o: Required<ConformanceServerOptions> = {
    retryMs: opts.retryMs ?? 500,
    reconnectionWorkMs: opts.reconnectionWorkMs ?? 100,
  };
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let allowedHosts: string[] = [];

  const cors = (res: ServerResponse): void => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-expose-headers", "Mcp-Session-Id");
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === "OPTIONS") {
      cors(res);
      res.writeHead(204, {
        "access-control-allow-methods": "GET, POST, DELETE",
        "access-control-allow-headers": "Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID",
      });
      res.end();
      return;
    }
    cors(res);
    const sid = req.headers["mcp-session-id"];
    let body: unknown;
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }),
        );
        return;
      }
    }
    if (typeof sid === "string" && sid !== "") {
      const t = sessions.get(sid);
      if (t === undefined) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }),
        );
        return;
      }
      await t.handleRequest(req, res, body);
      return;
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: null,
          error: { code: -32000, message: "Invalid or missing session ID" },
        }),
      );
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      eventStore: sessionEventStore(),
      retryInterval: o.retryMs,
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await newServer(o, () => transport).connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  allowedHosts = LOOPBACK_NAMES.map((h) => `${h}:${port}`);
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    get sessions() {
      return sessions.size;
    },
    async close() {
      for (const t of [...sessions.values()]) await t.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
