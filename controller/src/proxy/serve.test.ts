import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseProxyConfig } from "./serve.js";

describe("parseProxyConfig", () => {
  it("fills defaults and keeps what was given", () => {
    const c = parseProxyConfig({
      listen: "127.0.0.1:9000",
      maxBodyBytes: 1024,
      providers: [{ provider: "weather", policy: { mode: "enforce", deny: ["exec_*"] }, timeoutMs: 5000 }],
    });
    assert.deepEqual(c.providers, [
      {
        provider: "weather",
        namespace: "default",
        service: "weather",
        timeoutMs: 5000,
        policy: { mode: "enforce", deny: ["exec_*"] },
      },
    ]);
    assert.equal(c.listen, "127.0.0.1:9000");
    assert.equal(c.maxBodyBytes, 1024);
  });

  it("names the field of every mistake", () => {
    const bad: [unknown, RegExp][] = [
      [[], /: config: must be a mapping$/],
      [{ providers: [] }, /config\.providers: must be a non-empty list$/],
      [{ providers: [{}] }, /config\.providers\[0\]\.provider: required$/],
      [
        { providers: [{ provider: "Bad_Name" }] },
        /config\.providers\[0\]\.provider: "Bad_Name" is not a DNS label-like name/,
      ],
      [
        { providers: [{ provider: "a" }, { provider: "a" }] },
        /config\.providers\[1\]\.provider: "a" is listed twice/,
      ],
      [
        { providers: [{ provider: "a", policy: { mode: "block" } }] },
        /config\.providers\[0\]\.policy\.mode: must be "audit" or "enforce"/,
      ],
      [
        { providers: [{ provider: "a", policy: { deny: ["/(/"] } }] },
        /config\.providers\[0\]\.policy\.deny\[0\]/,
      ],
      [
        { providers: [{ provider: "a", timeoutMs: -1 }] },
        /config\.providers\[0\]\.timeoutMs: must be a positive integer/,
      ],
      [
        { providers: [{ provider: "a" }], maxBodyBytes: "1MB" },
        /config\.maxBodyBytes: must be a positive integer/,
      ],
      [
        { providers: [{ provider: "a" }], auth: { jwt: { issuer: "x", audience: "y" } } },
        /config\.auth\.jwt: needs jwksUri or jwks/,
      ],
      [
        { providers: [{ provider: "a" }], staticEndpoints: { b: [] } },
        /config\.staticEndpoints\.b: no provider of that name/,
      ],
      [
        { providers: [{ provider: "a" }], staticEndpoints: { a: [{}] } },
        /config\.staticEndpoints\.a\[0\]\.url: required/,
      ],
      [{ providers: [{ provider: "a" }], typo: 1 }, /config\.typo: unknown field/],
      [
        { providers: [{ provider: "a" }], resumeGraceMs: 0 },
        /config\.resumeGraceMs: must be a positive integer/,
      ],
      [
        { providers: [{ provider: "a" }], replayMaxEvents: 1.5 },
        /config\.replayMaxEvents: must be a positive integer/,
      ],
      [
        { providers: [{ provider: "a" }], staticEndpoints: { a: [{ url: "ftp://x/mcp" }] } },
        /config\.staticEndpoints\.a\[0\]\.url: must be http:\/\/ or https:\/\//,
      ],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseProxyConfig(raw), re, JSON.stringify(raw));
  });
});
