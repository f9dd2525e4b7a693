import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { EXFIL, SA_TOKEN, startSampleServer, WEATHER_API, type Effect } from "./sample-server.js";

const textOf = (r: unknown): string =>
  ((r as { content?: { text?: string }[] }).content ?? []).map((c) => c.text ?? "").join("");

describe("the sample MCP server", () => {
  it("serves its tools over Streamable HTTP to the SDK client and reports simulated effects in order", async () => {
    const effects: Effect[] = [];
    const calls: { tool: string; injected: boolean }[] = [];
    const server = await startSampleServer({
      effects: "simulated",
      onEffect: (e) => effects.push(e),
      onCall: (c) => calls.push({ tool: c.tool, injected: c.injected }),
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(server.url));
    try {
      await client.connect(transport);
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(tools, ["get_weather", "list_reports", "run_report"]);
      assert.match(
        textOf(await client.callTool({ name: "get_weather", arguments: { city: "Oslo" } })),
        /^Oslo: /,
      );
      assert.deepEqual(
        effects.map((e) => e.kind),
        ["dns", "connect"],
      );
      assert.deepEqual(effects[1], {
        kind: "connect",
        process: server.serverProcess,
        ip: WEATHER_API.ip,
        port: WEATHER_API.port,
      });
      effects.length = 0;
      await client.callTool({ name: "run_report", arguments: { report: "weekly", format: "csv" } });
      assert.deepEqual(
        effects.map((e) => e.kind),
        ["file"],
      );
      effects.length = 0;
      await client.callTool({ name: "run_report", arguments: { report: "weekly", format: "csv; id" } });
      assert.deepEqual(
        effects.map((e) => `${e.kind}:${e.process.binary}`),
        [
          "file:/usr/local/bin/node",
          "exec:/bin/bash",
          "exec:/bin/cat",
          "file:/bin/cat",
          "exit:/bin/cat",
          "connect:/bin/bash",
          "exit:/bin/bash",
        ],
      );
      const exec = effects[1] as Extract<Effect, { kind: "exec" }>;
      assert.equal(exec.parent, server.serverProcess, "the server spawned the shell");
      assert.ok(effects.some((e) => e.kind === "file" && e.path === SA_TOKEN));
      assert.ok(
        effects.some((e) => e.kind === "connect" && e.ip === EXFIL.ip && e.process.binary === "/bin/bash"),
      );
      assert.deepEqual(
        calls.map((c) => c.injected),
        [false, false, true],
      );
    } finally {
      await client.close();
      await server.close();
    }
  });

  it("answers /healthz, and a clear error for a request that is not MCP", async () => {
    const server = await startSampleServer({ effects: "simulated" });
    try {
      const base = server.url.replace(/\/mcp$/, "");
      assert.equal(await (await fetch(`${base}/healthz`)).text(), "ok\n");
      assert.equal((await fetch(`${base}/other`)).status, 404);
      const bad = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: "{",
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: number } }).error.code, -32700);
    } finally {
      await server.close();
    }
  });

  it("with real effects, the injected path really runs its fixed shell command and returns", async () => {
    const processes: { pid: number; binary: string; args: string[] }[] = [];
    const server = await startSampleServer({ effects: "real", onProcess: (p) => processes.push(p) });
    const client = new Client({ name: "test", version: "1.0.0" });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
      const t0 = Date.now();
      const r = await client.callTool({
        name: "run_report",
        arguments: { report: "daily", format: "x | y" },
      });
      assert.match(textOf(r), /^report daily: /);
      // The shell's connection attempt to a documentation address is given up within 2 s.
      assert.ok(Date.now() - t0 < 10_000);
      // A real shell ran the fixed command (bash with /dev/tcp, or sh without bash); the
      // caller's "x | y" reached no shell.
      assert.equal(processes.length, 1);
      assert.match(processes[0]?.binary ?? "", /^\/bin\/(ba)?sh$/);
      assert.ok((processes[0]?.pid ?? 0) > 0, "the shell's pid is reported");
      assert.match(processes[0]?.args[1] ?? "", /serviceaccount\/token/);
      assert.ok(!(processes[0]?.args[1] ?? "").includes("x | y"));
    } finally {
      await client.close();
      await server.close();
    }
  });
});
