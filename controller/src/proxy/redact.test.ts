import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redactor, toValue } from "./redact.js";

describe("Redactor", () => {
  const r = new Redactor();

  it("replaces values under secret-looking keys, at any depth, case-insensitively", () => {
    assert.deepEqual(
      r.redact({
        user: "bob",
        Password: "x",
        nested: { API_KEY: "k", list: [{ client_secret: "s" }] },
        authorization: "Bearer abc",
      }),
      {
        user: "bob",
        Password: "[REDACTED:key]",
        nested: { API_KEY: "[REDACTED:key]", list: [{ client_secret: "[REDACTED:key]" }] },
        authorization: "[REDACTED:key]",
      },
    );
  });

  it("replaces secrets recognised by shape inside any string", () => {
    const jwt =
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert.equal(
      r.redact(`curl -H "Authorization: Bearer sk_live_abcdef123456" https://x`),
      'curl -H "Authorization: Bearer [REDACTED:bearer]" https://x',
    );
    assert.equal(r.redact(`token=${jwt}`), "token=[REDACTED:jwt]");
    assert.equal(r.redact("aws AKIAIOSFODNN7EXAMPLE here"), "aws [REDACTED:aws-access-key] here");
    assert.equal(
      r.redact("postgres://admin:hunter2@db:5432/x"),
      "postgres://admin:[REDACTED:url-password]@db:5432/x",
    );
    assert.equal(
      r.redact("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"),
      "[REDACTED:private-key]",
    );
  });

  it("takes extra keys and patterns from configuration, or only them", () => {
    const custom = new Redactor({
      keys: ["ssn"],
      patterns: [{ name: "card", regex: "\\b\\d{4}(?:[ -]?\\d{4}){3}\\b" }],
    });
    assert.deepEqual(custom.redact({ ssn: "1", note: "card 4111 1111 1111 1111", password: "p" }), {
      ssn: "[REDACTED:key]",
      note: "card [REDACTED:card]",
      password: "[REDACTED:key]",
    });
    const only = new Redactor({ keys: ["ssn"], replaceDefaults: true });
    assert.deepEqual(only.redact({ ssn: "1", password: "p" }), { ssn: "[REDACTED:key]", password: "p" });
  });

  it("bounds strings, depth and width", () => {
    const small = new Redactor({ maxString: 5, maxDepth: 2, maxItems: 2 });
    assert.equal(small.redact("abcdefgh"), "abcde…[3 more chars]");
    assert.deepEqual(small.redact({ a: { b: { c: 1 } } }), { a: { b: "[TRUNCATED:depth]" } });
    assert.deepEqual(small.redact([1, 2, 3, 4]), [1, 2, "[TRUNCATED:2 more items]"]);
    assert.deepEqual(small.redact({ a: 1, b: 2, c: 3 }), { a: 1, b: 2, "…": "[TRUNCATED:1 more keys]" });
  });

  it("cuts a long string before its patterns run, still redacting a secret that crosses the cut", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
    const long = `${"a".repeat(1000)} ${jwt} ${"b".repeat(4 * 1024 * 1024)}`;
    const out = r.redact(long) as string;
    assert.ok(out.startsWith(`${"a".repeat(1000)} [REDACTED:`), out.slice(990, 1040));
    assert.ok(!out.includes("eyJzdWIi"), "no part of the token is left");
    assert.match(out, new RegExp(`…\\[${long.length - 1024} more chars\\]$`));
    assert.ok(out.length < 1100);
  });

  it("keeps a caller's \"__proto__\" key as a key: the copy's prototype stays Object.prototype", () => {
    const input = JSON.parse('{"__proto__": {"isAdmin": true}, "a": {"__proto__": {"role": "x"}}}') as object;
    const out = r.redact(input) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.ok(Object.hasOwn(out, "__proto__"), "the key is kept");
    assert.equal(
      (out as { isAdmin?: unknown }).isAdmin,
      undefined,
      "nothing inherited from the caller's object",
    );
    assert.equal(JSON.stringify(out), '{"__proto__":{"isAdmin":true},"a":{"__proto__":{"role":"x"}}}');
    const v = toValue(input as never);
    assert.ok(v.kind.case === "structValue" && Object.hasOwn(v.kind.value.fields, "__proto__"));
  });

  it("never modifies its input", () => {
    const input = { password: "p", list: ["AKIAIOSFODNN7EXAMPLE"] };
    r.redact(input);
    assert.deepEqual(input, { password: "p", list: ["AKIAIOSFODNN7EXAMPLE"] });
  });

  it("names a bad rule by its place", () => {
    assert.throws(
      () => new Redactor({ patterns: [{ name: "x", regex: "(" }] }, "config.redact"),
      /config\.redact\.patterns\[7\] \(x\): not a valid regular expression/,
    );
  });

  it("converts to google.protobuf.Value", () => {
    const v = toValue({ a: [1, "x", true, null] });
    assert.equal(v.kind.case, "structValue");
  });
});
