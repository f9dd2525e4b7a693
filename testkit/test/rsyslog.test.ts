import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { describe, it } from "node:test";
import { lognormalizeCef, skipUnlessRsyslog, startRsyslog } from "../src/index.js";

function send(port: number, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => s.end(data, () => resolve()));
    s.on("error", reject);
  });
}

describe("startRsyslog", { skip: skipUnlessRsyslog() }, () => {
  it("parses CEF over TCP and TLS, stops and resumes on the same ports, and cleans up", async () => {
    const rs = await startRsyslog({ mutualTls: true });
    try {
      await send(
        rs.ports.tcp,
        "<165>1 2026-11-22T03:00:00.123Z node-a app 1 alert - CEF:0|V|P|1|sig|Name \\| x|7| a=b\\=c\n",
      );
      const [m] = await rs.waitFor(1);
      assert.equal(m?.host, "node-a");
      assert.equal(m?.pri, 165);
      assert.equal(m?.input, "tcp");
      assert.equal(m?.timereported, "2026-11-22T03:00:00.123Z");
      assert.deepEqual(m?.cef?.Extensions, { a: "b=c" });
      assert.equal(m?.cef?.Name, "Name | x");

      const msg = "<14>1 - host app - - - CEF:0|V|P|1|s|n|3| t=tls";
      await new Promise<void>((resolve, reject) => {
        const s = tlsConnect(
          {
            host: "127.0.0.1",
            port: rs.ports.tls,
            servername: rs.serverName,
            ca: readFileSync(rs.caFile),
            cert: readFileSync(rs.clientCertFile),
            key: readFileSync(rs.clientKeyFile),
          },
          () => s.end(`${Buffer.byteLength(msg)} ${msg}`, () => resolve()),
        );
        s.on("error", reject);
      });
      const got = await rs.waitFor(2);
      assert.equal(got[1]?.input, "tls");
      assert.equal(got[1]?.cef?.Extensions["t"], "tls");

      await rs.pause();
      await assert.rejects(send(rs.ports.tcp, "x\n"), /ECONNREFUSED/);
      await rs.resume();
      await send(rs.ports.tcp, "<14>1 - host app - - - not cef\n");
      const after = await rs.waitFor(3);
      assert.ok(after[2]?.unparsed !== undefined, "a non-CEF message is reported as unparsed");
    } finally {
      await rs.stop();
    }
    assert.equal(existsSync(rs.dir), false, "the temp dir is removed");
  });

  it("lognormalizeCef parses lines and reports rejects", async () => {
    const out = await lognormalizeCef(["CEF:0|V|P|1|s|n|3| k=v", "CEF:1|V|P|1|s|n|3| k=v"]);
    assert.deepEqual((out[0]?.["cef"] as { Extensions: unknown }).Extensions, { k: "v" });
    assert.ok(out[1]?.["unparsed"] !== undefined, "liblognorm accepts only CEF:0");
  });
});
