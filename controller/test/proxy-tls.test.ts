/**
 * TLS from the proxy to pods: real HTTPS SDK servers with certificates made
 * here by openssl (a CA, a serving certificate for weather.mcp.svc, a client
 * certificate), the official SDK client calling through the proxy.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { RpcCode } from "../src/proxy/errors.js";
import { parseProxyConfig, startProxy, type RunningProxy } from "../src/proxy/serve.js";
import { connect, textOf } from "./helpers.js";
import { startTestServer, type TestServer } from "@hangar/testkit/mcp";

const NO_OPENSSL =
  spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0
    ? undefined
    : "openssl is not on PATH (needed to make the test certificates; .ci/run installs it)";

function skipped(t: TestContext): boolean {
  if (NO_OPENSSL === undefined) return false;
  t.skip(NO_OPENSSL);
  return true;
}

/** A CA, a second CA, a serving certificate for weather.mcp.svc and a client certificate. */
function makeCerts(dir: string): (name: string) => string {
  const f = (name: string): string => join(dir, name);
  const ossl = (...args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const ca of ["ca", "other-ca"])
    ossl(
      "req",
      "-x509",
      ...ec,
      "-days",
      "1",
      "-keyout",
      f(`${ca}.key`),
      "-out",
      f(`${ca}.crt`),
      "-subj",
      `/CN=hangar-test-${ca}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    );
  const issue = (name: string, ext: string): void => {
    ossl("req", ...ec, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${name}`);
    writeFileSync(f(`${name}.ext`), ext);
    ossl(
      "x509",
      "-req",
      "-in",
      f(`${name}.csr`),
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      f(`${name}.crt`),
      "-extfile",
      f(`${name}.ext`),
    );
  };
  issue("server", "subjectAltName=DNS:weather.mcp.svc\nextendedKeyUsage=serverAuth\n");
  issue("client", "extendedKeyUsage=clientAuth\n");
  return f;
}

describe("proxy: TLS to pods", () => {
  let dir = "";
  let file: (name: string) => string = (n) => n;
  let pod: TestServer | undefined;
  let mtlsPod: TestServer | undefined;
  let proxy: RunningProxy | undefined;

  before(async () => {
    if (NO_OPENSSL !== undefined) return;
    dir = mkdtempSync(join(tmpdir(), "hangar-proxy-tls-"));
    file = makeCerts(dir);
    const read = (n: string): string => readFileSync(file(n), "utf8");
    pod = await startTestServer({
      pod: "weather-tls",
      tls: { cert: read("server.crt"), key: read("server.key") },
    });
    mtlsPod = await startTestServer({
      pod: "weather-mtls",
      tls: { cert: read("server.crt"), key: read("server.key"), ca: read("ca.crt") },
    });
    const ep = (p: TestServer): { url: string; pod: string; namespace: string } => ({
      url: p.url,
      pod: p.pod,
      namespace: "mcp",
    });
    const tls = { ca: file("ca.crt"), serverName: "weather.mcp.svc" };
    proxy = await startProxy({
      config: parseProxyConfig({
        listen: "127.0.0.1:0",
        providers: [
          { provider: "verified", namespace: "mcp", tls },
          { provider: "inline-ca", namespace: "mcp", tls: { ...tls, ca: read("ca.crt") } },
          { provider: "no-server-name", namespace: "mcp", tls: { ca: file("ca.crt") } },
          { provider: "wrong-ca", namespace: "mcp", tls: { ...tls, ca: file("other-ca.crt") } },
          { provider: "skip-verify", namespace: "mcp", tls: { insecureSkipVerify: true } },
          {
            provider: "mtls",
            namespace: "mcp",
            tls: { ...tls, cert: file("client.crt"), key: file("client.key") },
          },
          { provider: "mtls-no-cert", namespace: "mcp", tls },
        ],
        staticEndpoints: {
          verified: [ep(pod)],
          "inline-ca": [ep(pod)],
          "no-server-name": [ep(pod)],
          "wrong-ca": [ep(pod)],
          "skip-verify": [ep(pod)],
          mtls: [ep(mtlsPod)],
          "mtls-no-cert": [ep(mtlsPod)],
        },
      }),
    });
  });

  after(async () => {
    await proxy?.close();
    await pod?.close();
    await mtlsPod?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const endpoint = (provider: string): URL => new URL(`${proxy?.url ?? ""}/mcp/${provider}`);

  async function refused(provider: string): Promise<McpError> {
    const err = await connect(endpoint(provider)).then(
      () => assert.fail(`initialize through ${provider} should fail`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof McpError, `expected an McpError, got ${String(err)}`);
    assert.equal(err.code, RpcCode.UPSTREAM_UNAVAILABLE);
    return err;
  }

  it("dials the pod over https, verifying its certificate against the CA and serverName", async (t) => {
    if (skipped(t)) return;
    for (const provider of ["verified", "inline-ca"]) {
      const { client } = await connect(endpoint(provider));
      assert.equal(textOf(await client.callTool({ name: "whoami", arguments: {} })), "weather-tls");
      assert.equal(
        textOf(await client.callTool({ name: "echo", arguments: { text: "over tls" } })),
        "over tls",
      );
      await client.close();
    }
  });

  it("refuses a pod whose certificate does not name the address it was dialled at (no serverName)", async (t) => {
    if (skipped(t)) return;
    const err = await refused("no-server-name");
    assert.match(err.message, /cannot reach 127\.0\.0\.1:\d+: .*(altnames|ERR_TLS_CERT_ALTNAME_INVALID)/);
  });

  it("refuses a pod whose certificate another CA signed", async (t) => {
    if (skipped(t)) return;
    const err = await refused("wrong-ca");
    assert.match(
      err.message,
      /cannot reach 127\.0\.0\.1:\d+: .*(unable to verify|UNABLE_TO_VERIFY|self-signed)/i,
    );
  });

  it("insecureSkipVerify connects without verifying (and without a CA)", async (t) => {
    if (skipped(t)) return;
    const { client } = await connect(endpoint("skip-verify"));
    assert.equal(textOf(await client.callTool({ name: "whoami", arguments: {} })), "weather-tls");
    await client.close();
  });

  it("presents the client certificate to a pod that requires mTLS; without it the pod refuses", async (t) => {
    if (skipped(t)) return;
    const { client } = await connect(endpoint("mtls"));
    assert.equal(textOf(await client.callTool({ name: "whoami", arguments: {} })), "weather-mtls");
    await client.close();
    const err = await refused("mtls-no-cert");
    assert.match(err.message, /cannot reach 127\.0\.0\.1:\d+/);
  });

  it("names the field of every TLS configuration mistake", (t) => {
    if (skipped(t)) return;
    const p = (tls: unknown, extra: Record<string, unknown> = {}): unknown => ({
      providers: [{ provider: "a", tls }],
      ...extra,
    });
    const bad: [unknown, RegExp][] = [
      [p("yes"), /config\.providers\[0\]\.tls: must be a mapping$/],
      [p({}), /config\.providers\[0\]\.tls\.ca: required/],
      [p({ ca: file("ca.crt"), verify: false }), /config\.providers\[0\]\.tls\.verify: unknown field/],
      [p({ ca: file("ca.crt"), cert: file("client.crt") }), /tls\.key: required with cert/],
      [p({ ca: file("ca.crt"), key: file("client.key") }), /tls\.cert: required with key/],
      [p({ ca: file("nope.crt") }), /config\.providers\[0\]\.tls\.ca: cannot read .*nope\.crt: ENOENT/],
      [p({ ca: file("client.key") }), /tls\.ca: .*client\.key holds no PEM certificate/],
      [
        p({ ca: file("ca.crt"), cert: file("client.crt"), key: file("server.key") }),
        /tls\.key: not usable for TLS/,
      ],
      [p({ insecureSkipVerify: "yes" }), /tls\.insecureSkipVerify: must be true or false/],
      [p({ ca: file("ca.crt"), serverName: "" }), /tls\.serverName: must be a non-empty string/],
      [
        p({ ca: file("ca.crt") }, { staticEndpoints: { a: [{ url: "http://127.0.0.1:1/mcp" }] } }),
        /config\.staticEndpoints\.a\[0\]\.url: provider "a" has tls, so its endpoints must be https:\/\/ URLs/,
      ],
    ];
    for (const [raw, re] of bad) assert.throws(() => parseProxyConfig(raw), re, JSON.stringify(raw));
  });
});
