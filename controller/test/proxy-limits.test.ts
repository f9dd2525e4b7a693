/**
 * Issue #18 (proxy): duplicate ids in a batch, batches under protocol versions that removed
 * them, tool names that slip past a deny list, and the cap on sessions per caller — on a real
 * proxy in front of a real SDK server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RpcCode } from "../src/proxy/errors.js";
import { connect, startRig, type Rig } from "./helpers.js";

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function rpc(
  url: URL,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; sid: string | null; text: string; retryAfter: string | null }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    sid: res.headers.get("mcp-session-id"),
    text: await res.text(),
    retryAfter: res.headers.get("retry-after"),
  };
}

const initialize = (version: string, id = 1): unknown => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "raw", version: "0" } },
});

const echo = (id: number | string, text: string): unknown => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "echo", arguments: { text } },
});

function errorOf(text: string): { code: number; message: string } | undefined {
  return (JSON.parse(text) as { error?: { code: number; message: string } }).error;
}

describe("proxy: batches, tool names and sessions per caller", () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      config: {
        maxSessionsPerCaller: 4,
        providers: [
          {
            provider: "weather",
            namespace: "mcp",
            service: "weather",
            policy: { mode: "enforce", deny: ["exec_*", "run_report"] },
          },
        ],
      },
    });
  });
  after(() => rig.close());

  const calls = (): number => rig.pods[0]?.calls.length ?? 0;

  it("caps the sessions one caller holds with 429 and -32020, counted; a closed session frees its place", async () => {
    const sids: string[] = [];
    let refused: Awaited<ReturnType<typeof rpc>> | undefined;
    for (let i = 0; i < 6 && refused === undefined; i++) {
      const r = await rpc(rig.endpoint(), initialize("2025-03-26"));
      if (r.status === 429) refused = r;
      else {
        assert.equal(r.status, 200, r.text);
        sids.push(r.sid ?? "");
      }
    }
    assert.equal(sids.length, 4, "four sessions (the limit), then 429");
    assert.ok(refused !== undefined);
    assert.equal(refused.retryAfter, "30");
    const e = errorOf(refused.text);
    assert.equal(e?.code, RpcCode.TOO_MANY_SESSIONS);
    assert.match(
      e?.message ?? "",
      /client address 127\.0\.0\.1 holds 4 sessions, the most one caller may \(maxSessionsPerCaller\)/,
    );
    assert.equal(
      rig.proxy.proxy.stats.get("requests_refused", { provider: "weather", reason: "sessions_per_caller" }),
      1,
    );
    await fetch(rig.endpoint(), { method: "DELETE", headers: { "mcp-session-id": sids.pop() ?? "" } });
    const again = await rpc(rig.endpoint(), initialize("2025-03-26"));
    assert.equal(again.status, 200, "the place was freed");
    for (const sid of [...sids, again.sid ?? ""])
      await fetch(rig.endpoint(), { method: "DELETE", headers: { "mcp-session-id": sid } });
  });

  it("refuses a batch whose two tools/call share an id, and runs neither", async () => {
    const open = await rpc(rig.endpoint(), initialize("2025-03-26"));
    assert.equal(open.status, 200, open.text);
    assert.ok(open.sid !== null);
    const before = calls();
    const r = await rpc(rig.endpoint(), [echo(7, "a"), echo(7, "b")], { "mcp-session-id": open.sid });
    assert.equal(r.status, 400);
    const e = errorOf(r.text);
    assert.equal(e?.code, RpcCode.INVALID_REQUEST);
    assert.match(
      e?.message ?? "",
      /\[1\]\.id: 7 is also the id of \[0\]; each request of a batch needs its own id/,
    );
    assert.equal(calls(), before, "the pod saw neither call");
    assert.equal(
      rig.proxy.proxy.stats.get("requests_refused", { provider: "weather", reason: "duplicate_id" }),
      1,
    );
    await fetch(rig.endpoint(), { method: "DELETE", headers: { "mcp-session-id": open.sid } });
  });

  it("refuses batches under protocol version 2025-06-18 (header, negotiated, or asked by initialize)", async () => {
    const open = await rpc(rig.endpoint(), initialize("2025-06-18"));
    assert.equal(open.status, 200, open.text);
    assert.ok(open.sid !== null);
    const before = calls();
    // Negotiated 2025-06-18, no header.
    const r1 = await rpc(rig.endpoint(), [echo(1, "a"), echo(2, "b")], { "mcp-session-id": open.sid });
    assert.equal(r1.status, 400);
    assert.match(
      errorOf(r1.text)?.message ?? "",
      /protocol version 2025-06-18 has no batches \(removed in 2025-06-18\)/,
    );
    // The header says so.
    const r2 = await rpc(rig.endpoint(), [echo(1, "a"), echo(2, "b")], {
      "mcp-session-id": open.sid,
      "mcp-protocol-version": "2025-06-18",
    });
    assert.equal(r2.status, 400);
    // An initialize in a batch asking for it.
    const r3 = await rpc(rig.endpoint(), [initialize("2025-06-18", 9)]);
    assert.equal(r3.status, 400);
    assert.match(errorOf(r3.text)?.message ?? "", /has no batches/);
    assert.equal(calls(), before);
    // One message per POST still works.
    const one = await rpc(rig.endpoint(), echo(3, "single"), {
      "mcp-session-id": open.sid,
      "mcp-protocol-version": "2025-06-18",
    });
    assert.equal(one.status, 200);
    assert.match(one.text, /single/);
    await fetch(rig.endpoint(), { method: "DELETE", headers: { "mcp-session-id": open.sid } });
  });

  it("refuses tool names that slip past a deny list as exact strings (newline, case, zero-width, full-width)", async () => {
    const { client } = await connect(rig.endpoint());
    const before = calls();
    for (const name of [
      "run_report\n",
      "RUN_REPORT",
      "run\u200breport",
      " run_report",
      "ｒｕｎ_report",
      "EXEC_shell",
      "exec\u2060_shell",
    ]) {
      const err = await client.callTool({ name, arguments: {} }).then(
        () => undefined,
        (e: unknown) => e as { code?: number; message?: string },
      );
      assert.equal(err?.code, RpcCode.TOOL_DENIED, JSON.stringify(name));
    }
    assert.equal(calls(), before, "the pod saw none of them");
    const trace = rig.traces.find((t) => t.tool === "run\u200breport");
    assert.match(trace?.policyRule ?? "", /refused name: control or format characters/);
    // An ordinary allowed name still goes through.
    const ok = await client.callTool({ name: "echo", arguments: { text: "fine" } });
    assert.ok(JSON.stringify(ok).includes("fine"));
    await client.close();
  });
});
