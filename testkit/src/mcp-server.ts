/**
 * A real MCP server for tests and benches: the official SDK's `Server` behind
 * its Streamable HTTP server transport on a real socket, stateful (one
 * transport per session), the way a provider pod runs. It plays one "pod":
 * `whoami` answers its pod name, so tests can see which pod served a call.
 */
import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";

export interface ToolContext {
  args: Record<string, unknown>;
  signal: AbortSignal;
  progress: (progress: number, total: number) => Promise<void>;
  /** Asks the client's model (sampling/createMessage, a server→client request on the call's stream). */
  sample: (prompt: string) => Promise<string>;
  /** Sends a log message notification related to the call. */
  log: (text: string) => Promise<void>;
}

export type ToolHandler = (ctx: ToolContext) => Promise<CallToolResult> | CallToolResult;

export interface TestServerOptions {
  /** The pod this server plays (answered by `whoami`). */
  pod: string;
  /** Extra tools, next to the built-in ones. */
  tools?: Record<string, ToolHandler>;
  /** Answer JSON bodies instead of SSE streams. */
  jsonResponse?: boolean;
  /** Serve HTTPS with this certificate (PEM); with `ca`, require client certificates it signed (mTLS). */
  tls?: { cert: string; key: string; ca?: string };
}

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly pod: string;
  /** Every tool call received: name, arguments, the traceparent and Origin headers of its POST. */
  readonly calls: {
    name: string;
    args: Record<string, unknown>;
    traceparent: string | undefined;
    origin: string | undefined;
    /** The Mcp-Protocol-Version header of its POST. */
    protocolVersion: string | undefined;
  }[];
  /** Tool calls whose handler saw its signal abort (cancellation reached the server). */
  readonly cancelled: string[];
  readonly sessions: Map<string, StreamableHTTPServerTransport>;
  close(): Promise<void>;
}

const str = (v: unknown, dflt: string): string =>
  v === undefined ? dflt : typeof v === "string" ? v : JSON.stringify(v);
const text = (t: string): CallToolResult => ({ content: [{ type: "text", text: t }] });

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error("aborted"));
      return;
    }
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(new Error("aborted"));
      },
      { once: true },
    );
  });
}

export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const calls: TestServer["calls"] = [];
  const cancelled: string[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let lastTraceparent: string | undefined;
  let lastOrigin: string | undefined;
  let lastProtocolVersion: string | undefined;
  const builtins: Record<string, ToolHandler> = {
    whoami: () => text(opts.pod),
    echo: ({ args }) => text(str(args["text"], "")),
    exec_shell: ({ args }) => text(`ran ${str(args["cmd"], "")}`),
    fail: () => ({ content: [{ type: "text", text: "it failed" }], isError: true }),
    ask: async ({ args, sample, log }) => {
      await log(`asking about ${str(args["topic"], "nothing")}`);
      return text(`the model said: ${await sample(`tell me about ${str(args["topic"], "nothing")}`)}`);
    },
    slow: async ({ args, signal, progress }) => {
      const steps = Number(args["steps"] ?? 3);
      for (let i = 1; i <= steps; i++) {
        await sleep(Number(args["ms"] ?? 20), signal);
        await progress(i, steps);
      }
      return text(`done after ${steps} steps`);
    },
    wait: async ({ args, signal }) => {
      try {
        await sleep(Number(args["ms"] ?? 10_000), signal);
      } catch {
        cancelled.push(str(args["tag"], "wait"));
        throw new Error("cancelled");
      }
      return text("waited");
    },
  };
  const tools = { ...builtins, ...opts.tools };

  const newServer = (): Server => {
    const server = new Server(
      { name: `test-${opts.pod}`, version: "1.0.0" },
      { capabilities: { tools: {}, logging: {}, resources: {}, prompts: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: Object.keys(tools).map((name) => ({
        name,
        description: `test tool ${name}`,
        inputSchema: { type: "object" as const, properties: {} },
      })),
    }));
    server.setRequestHandler(ListResourcesRequestSchema, () => ({
      resources: [{ uri: "file:///etc/motd", name: "motd" }],
    }));
    server.setRequestHandler(ReadResourceRequestSchema, (req) => ({
      contents: [{ uri: req.params.uri, text: `contents of ${req.params.uri}` }],
    }));
    server.setRequestHandler(ListPromptsRequestSchema, () => ({
      prompts: [{ name: "summarize", arguments: [{ name: "doc" }, { name: "api_token" }] }],
    }));
    server.setRequestHandler(GetPromptRequestSchema, (req) => ({
      messages: [
        {
          role: "user" as const,
          content: { type: "text" as const, text: `summarize ${req.params.arguments?.["doc"] ?? ""}` },
        },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
      const name = req.params.name;
      const args = req.params.arguments ?? {};
      calls.push({
        name,
        args,
        traceparent: lastTraceparent,
        origin: lastOrigin,
        protocolVersion: lastProtocolVersion,
      });
      const handler = tools[name];
      if (handler === undefined)
        return { content: [{ type: "text", text: `no tool ${name}` }], isError: true };
      const token = req.params._meta?.progressToken;
      return handler({
        args,
        signal: extra.signal,
        progress: async (progress, total) => {
          if (token !== undefined)
            await extra.sendNotification({
              method: "notifications/progress",
              params: { progressToken: token, progress, total },
            });
        },
        sample: async (prompt) => {
          const r = await extra.sendRequest(
            {
              method: "sampling/createMessage",
              params: {
                messages: [{ role: "user", content: { type: "text", text: prompt } }],
                maxTokens: 50,
              },
            },
            CreateMessageResultSchema,
          );
          return r.content.type === "text" ? r.content.text : "";
        },
        log: async (t) => {
          await extra.sendNotification({
            method: "notifications/message",
            params: { level: "info", data: t },
          });
        },
      });
    });
    return server;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const sid = req.headers["mcp-session-id"];
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      lastTraceparent = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
      lastOrigin = req.headers.origin;
      const pv = req.headers["mcp-protocol-version"];
      lastProtocolVersion = typeof pv === "string" ? pv : undefined;
      if (typeof sid === "string") {
        const t = sessions.get(sid);
        if (t === undefined) {
          res.writeHead(404).end();
          return;
        }
        await t.handleRequest(req, res, body);
        return;
      }
      if (!isInitializeRequest(body)) {
        res.writeHead(400).end();
        return;
      }
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: opts.jsonResponse ?? false,
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      await newServer().connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const t = typeof sid === "string" ? sessions.get(sid) : undefined;
    if (t === undefined) {
      res.writeHead(typeof sid === "string" ? 404 : 400).end();
      return;
    }
    await t.handleRequest(req, res);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const tls = opts.tls;
  const http: HttpServer =
    tls === undefined
      ? createServer(onRequest)
      : createHttpsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: true }),
          },
          onRequest,
        );
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}/mcp`,
    port,
    pod: opts.pod,
    calls,
    cancelled,
    sessions,
    async close() {
      for (const t of sessions.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
