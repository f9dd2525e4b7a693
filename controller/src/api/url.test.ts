import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { MemoryBaselineView } from "../baselines/baselines.js";
import type { Enforcer } from "../enforce/engine.js";
import { AlertStore } from "./alerts.js";
import { buildApp } from "./app.js";
import { Authenticator } from "./auth.js";

// The enforcer is never reached: these requests fail before any route runs.
const app = buildApp({
  enforcer: {} as Enforcer,
  alerts: new AlertStore(),
  baseline: new MemoryBaselineView(),
  auth: new Authenticator({ staticTokens: [{ user: "admin", role: "admin", token: "t" }] }),
});
after(() => app.close());

describe("REST API URL decoding", () => {
  it("answers a path that is not valid percent-encoding with 400 and the documented error shape", async () => {
    for (const url of [
      "/v1/providers/%ZZ/baseline",
      "/v1/enforcements/%E0%A4%A",
      "/v1/enforcements/%/revert",
      "/v1/%ZZ",
    ]) {
      for (const method of ["GET", "POST"] as const) {
        const r = await app.inject({ method, url, headers: { authorization: "Bearer t" } });
        assert.equal(r.statusCode, 400, `${method} ${url}`);
        const body = r.json<{ error: { code: string; message: string } }>();
        assert.deepEqual(Object.keys(body), ["error"]);
        assert.equal(body.error.code, "HANGAR_ERR_API_REQUEST");
        assert.match(body.error.message, /the path is not valid percent-encoding/);
      }
    }
  });

  it("decodes a valid encoding and checks the name against its pattern", async () => {
    const r = await app.inject({
      method: "GET",
      url: "/v1/providers/a%2Fb/baseline",
      headers: { authorization: "Bearer t" },
    });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json<{ error: { code: string } }>().error.code, "HANGAR_ERR_API_REQUEST");
  });
});
