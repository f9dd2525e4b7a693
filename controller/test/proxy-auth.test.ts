/** Caller identity from a bearer JWT verified against a JWKS, issuer and audience. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { RpcCode } from "../src/proxy/errors.js";
import { connect, post, startRig, textOf, type Rig } from "./helpers.js";
import { waitFor } from "@hangar/testkit";

const ISSUER = "https://idp.example.com";
const AUDIENCE = "hangar-mcp";

describe("proxy: JWT callers", () => {
  let rig: Rig;
  let sign: (claims: { sub?: string; aud?: string; exp?: number }) => Promise<string>;

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    sign = (c) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer(ISSUER)
        .setAudience(c.aud ?? AUDIENCE)
        .setSubject(c.sub ?? "alice@example.com")
        .setIssuedAt()
        .setExpirationTime(c.exp ?? Math.floor(Date.now() / 1000) + 600)
        .sign(privateKey);
    rig = await startRig({
      config: { auth: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] } } } },
    });
  });
  after(() => rig.close());

  it("puts the verified subject and issuer on the call trace", async () => {
    const { client } = await connect(rig.endpoint(), { token: await sign({}) });
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text: "x" } })), "x");
    await waitFor(
      "trace",
      () => rig.traces.some((t) => t.tool === "echo" && t.endTime !== undefined),
      undefined,
      2000,
    );
    const caller = rig.traces.find((t) => t.tool === "echo")?.caller;
    assert.equal(caller?.subject, "alice@example.com");
    assert.equal(caller?.issuer, ISSUER);
    assert.equal(caller?.authMethod, "jwt");
    await client.close();
  });

  it("answers 401 with WWW-Authenticate for a missing, foreign-audience or expired token", async () => {
    const init = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
    });
    const none = await post(rig.endpoint(), init);
    assert.equal(none.status, 401);
    assert.equal(none.json?.error?.code, RpcCode.UNAUTHENTICATED);
    const aud = await post(rig.endpoint(), init, {
      authorization: `Bearer ${await sign({ aud: "someone-else" })}`,
    });
    assert.equal(aud.status, 401);
    assert.match(aud.json?.error?.message ?? "", /the JWT was rejected: .*aud/);
    const expired = await post(rig.endpoint(), init, {
      authorization: `Bearer ${await sign({ exp: Math.floor(Date.now() / 1000) - 120 })}`,
    });
    assert.equal(expired.status, 401);
    assert.match(expired.json?.error?.message ?? "", /exp/);
  });

  it("refuses another caller's token on an existing session (403)", async () => {
    const { client, transport } = await connect(rig.endpoint(), {
      token: await sign({ sub: "alice@example.com" }),
    });
    const sid = transport.sessionId ?? "";
    const r = await post(rig.endpoint(), JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }), {
      "mcp-session-id": sid,
      "mcp-protocol-version": "2025-06-18",
      authorization: `Bearer ${await sign({ sub: "mallory@example.com" })}`,
    });
    assert.equal(r.status, 403);
    assert.equal(r.json?.error?.code, RpcCode.FORBIDDEN);
    await client.close();
  });
});
