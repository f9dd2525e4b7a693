import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { TestkitError } from "../src/errors.js";
import { writeTestCerts } from "../src/pki.js";

const noOpenssl =
  spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0 ? false : "openssl is not on PATH";

describe("writeTestCerts", { skip: noOpenssl }, () => {
  it("makes a CA, a server and a client certificate that the CA verifies, with the names asked for", () => {
    const dir = mkdtempSync(join(tmpdir(), "hangar-pki-"));
    try {
      const c = writeTestCerts(dir, { serverSan: "DNS:hub.test,IP:127.0.0.1", clientCn: "agent-node-a" });
      for (const cert of [c.serverCert, c.clientCert])
        assert.match(
          execFileSync("openssl", ["verify", "-CAfile", c.ca, cert], { encoding: "utf8" }),
          /: OK/,
        );
      const text = (f: string): string =>
        execFileSync("openssl", ["x509", "-in", f, "-noout", "-text"], { encoding: "utf8" });
      assert.match(text(c.serverCert), /DNS:hub\.test, IP Address:127\.0\.0\.1/);
      assert.match(text(c.serverCert), /TLS Web Server Authentication/);
      assert.match(text(c.clientCert), /Subject: CN ?= ?agent-node-a/);
      assert.match(text(c.clientCert), /TLS Web Client Authentication/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails with a TestkitError carrying openssl's message when it cannot write", () => {
    assert.throws(
      () => writeTestCerts(join(tmpdir(), "hangar-pki-missing-dir", "nested")),
      (e: unknown) =>
        e instanceof TestkitError &&
        e.code === "HANGAR_ERR_TESTKIT_SETUP_FAILED" &&
        /openssl req/.test(e.message),
    );
  });
});
