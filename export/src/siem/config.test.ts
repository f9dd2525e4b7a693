import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExportError } from "../errors.js";
import { parseSiemUrl } from "./config.js";

describe("--siem URLs", () => {
  it("tcp with defaults: CEF, spool under the root, named after host and port", () => {
    assert.deepEqual(parseSiemUrl("tcp://siem.example:514", "/var/spool"), {
      name: "tcp-siem.example-514",
      format: "cef",
      transport: "tcp",
      host: "siem.example",
      port: 514,
      spoolDir: "/var/spool/tcp-siem.example-514",
    });
  });

  it("tls with files, framing and tuning", () => {
    const c = parseSiemUrl(
      "tls://[fd00::1]:6514?ca=/ca.pem&cert=/c.pem&key=/k.pem&server-name=siem&facility=local7&batch=100&overflow=drop-newest&name=qradar",
      "/s",
    );
    assert.equal(c.host, "fd00::1");
    assert.deepEqual(c.tls, { caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem", serverName: "siem" });
    assert.equal(c.facility, "local7");
    assert.equal(c.maxBatch, 100);
    assert.equal(c.overflow, "drop-newest");
    assert.equal(c.spoolDir, "/s/qradar");
  });

  it("file and stdout default to JSON lines without a spool", () => {
    assert.deepEqual(parseSiemUrl("file:///var/log/a%20b.jsonl", undefined), {
      name: "file-0",
      format: "json",
      transport: "file",
      path: "/var/log/a b.jsonl",
    });
    assert.equal(parseSiemUrl("stdout:?format=cef", undefined, 3).format, "cef");
  });

  it("rejects what cannot work, naming the URL and the parameter", () => {
    const bad: [string, RegExp][] = [
      ["nonsense", /not a URL/],
      ["http://x:1", /unknown scheme "http:"/],
      ["tcp://x", /needs a port/],
      ["tls://x:6514?framing=lf", /octet-counting/],
      ["udp://x:514?framing=lf", /framing applies to tcp and tls only/],
      ["tcp://x:514?format=xml", /format must be cef, leef or json/],
      ["tcp://x:514?facility=local9", /facility/],
      ["tcp://x:514?batch=0", /batch must be an integer ≥ 1/],
      ["tcp://x:514?colour=red", /unknown parameter "colour"/],
      ["tcp://x:514?ca=/x", /apply to tls only/],
      ["tcp://x:514?name=hub", /"hub" is reserved/],
      ["tcp://x:514?wal=maybe", /wal must be on or off/],
      ["tcp://x:514?wal=on&spool=off", /wal=on needs the spool/],
      ["tcp://x:514?name=..", /name "\.\." is not a directory name of its own/],
      ["tcp://x:514?name=.", /name "\." is not a directory name of its own/],
    ];
    for (const [url, re] of bad) {
      assert.throws(
        () => parseSiemUrl(url, "/s"),
        (err: unknown) =>
          err instanceof ExportError &&
          err.code === "HANGAR_ERR_CONFIG_INVALID" &&
          re.test(err.message) &&
          err.message.includes(url),
        url,
      );
    }
    assert.throws(() => parseSiemUrl("tcp://x:514", undefined), /spool=on needs --spool-dir/);
  });

  it("wal: absent means the default (on with a spool); off is passed on", () => {
    assert.equal(parseSiemUrl("tcp://x:514", "/s").writeAhead, undefined);
    assert.equal(parseSiemUrl("tcp://x:514?wal=off", "/s").writeAhead, false);
    assert.equal(parseSiemUrl("tcp://x:514?wal=on", "/s").writeAhead, true);
  });
});
