/**
 * The MCP client side of tests: the official SDK's `Client` over Streamable HTTP, connected
 * (optionally with a bearer token and a sampling handler), and the text of a tool result.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

/** An SDK client connected to `url`; `sampling` answers the server's sampling requests. */
export async function connectMcp(
  url: URL,
  opts: { token?: string; name?: string; sampling?: (prompt: string) => string } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(
    url,
    opts.token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${opts.token}` } } },
  );
  const client = new Client(
    { name: opts.name ?? "test-client", version: "1.2.3" },
    opts.sampling === undefined ? {} : { capabilities: { sampling: {} } },
  );
  const sampling = opts.sampling;
  if (sampling !== undefined)
    client.setRequestHandler(CreateMessageRequestSchema, (req) => {
      const first = req.params.messages[0]?.content;
      const prompt =
        first !== undefined && "text" in first && typeof first.text === "string" ? first.text : "";
      return { role: "assistant", model: "test-model", content: { type: "text", text: sampling(prompt) } };
    });
  await client.connect(transport);
  return { client, transport };
}

/** The text parts of a tool result, joined. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}
