/**
 * SIEM export against a real rsyslog (Debian's rsyslogd, started by @hangar/testkit on
 * loopback): every CEF field, hostile values included, must come out of rsyslog's own CEF
 * parsing (mmnormalize / liblognorm) exactly as documented in docs/reference/siem-export.md,
 * over TCP (LF and octet-counting framing), TLS (RFC 5425, mutual TLS) and UDP, with RFC 5424
 * and RFC 3164 headers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, fromJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import {
  skipUnlessRsyslog,
  startRsyslog,
  type Rsyslog,
  type RsyslogMessage,
  memoryLogger,
  tempDir,
} from "@hangar/testkit";
import { Counters } from "@hangar/core";
import { SiemSink, type SiemDestinationConfig } from "../src/siem/sink.js";

const KB10 = "x".repeat(5000) + "é".repeat(2500) + "😀".repeat(1250) + "=|\\";

/** Values that try every escaping rule and cap. */
const HOSTILE: readonly string[] = [
  "plain",
  "pipe|in|value",
  "equals=in=value",
  "back\\slash\\",
  "\\",
  "=",
  "line1\nline2\rline3\r\nline4",
  "ctl\u0001\u0002\u001f\u007f\u0085end",
  "tab\there",
  "non-ASCII: é ü ß 中文 עברית 😀 𝔘",
  "lone surrogate \ud800 here",
  "  spaces around  ",
  "key=value other=thing",
  "a\\=b\\\\c\\nd",
  KB10,
];

/** The documented transformation of an extension value: what a SIEM must see. */
function expected(v: string, cap = 1023): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  let s = v.toWellFormed().replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, "");
  s = s.replaceAll("\t", " ");
  s = [...s].slice(0, cap).join("");
  return s.replace(/^ +| +$/g, "");
}

/** Header fields: CR/LF become spaces, no escapes left after parsing. */
function expectedHeader(v: string, cap: number): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  let s = v.toWellFormed().replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, "");
  s = s.replaceAll("\t", " ").replace(/\r\n|[\r\n]/g, " ");
  return [...s].slice(0, cap).join("");
}

const T0 = Date.UTC(2026, 10, 22, 3, 4, 5, 678);

/** Rule ids carry hostile text too: it lands in the CEF header (Signature ID, Name) and in cs4. */
function ruleIdOf(i: number, value: string): string {
  return `hangar.exfil/${i} shell|spawn ${value.slice(0, 700)}`;
}

function hostileAlert(i: number, value: string): hangar.Alert {
  return create(hangar.AlertSchema, {
    id: `alert-${i}`,
    ruleId: ruleIdOf(i, value),
    severity: hangar.Severity.HIGH,
    provider: value,
    message: value,
    explanation: `explains ${i}`,
    time: timestampFromMs(T0 + i),
    node: "node-a",
    source: hangar.AlertSource.RULE,
    mitre: ["T1059", "T1041"],
    score: 87.4,
    evidence: [
      create(hangar.RuntimeEventSchema, {
        id: `ev-${i}`,
        kind: hangar.EventKind.CONNECT,
        detail: {
          case: "connect",
          value: create(hangar.ConnectDetailSchema, {
            protocol: "tcp",
            sourceIp: "10.0.0.7",
            sourcePort: 40000 + i,
            destinationIp: "203.0.113.66",
            destinationPort: 443,
          }),
        },
        process: create(hangar.ProcessIdentitySchema, { binary: "/bin/sh", pid: 4242 }),
      }),
    ],
    toolCalls: [
      create(hangar.CallTraceSchema, {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        sessionId: value,
        tool: "run_query",
        caller: create(hangar.CallerSchema, { subject: value }),
      }),
    ],
  });
}

function checkCef(m: RsyslogMessage, i: number, value: string, cap = 1023): void {
  assert.equal(
    m.unparsed,
    undefined,
    `message ${i} was rejected by rsyslog's CEF parser: ${m.msg.slice(0, 300)}`,
  );
  const cef = m.cef;
  assert.ok(cef, `message ${i} has no CEF parse`);
  assert.equal(cef.DeviceVendor, "MCP Hangar");
  assert.equal(cef.DeviceProduct, "hangar-agent");
  const rule = ruleIdOf(i, value);
  // The documented Signature ID rule: runs outside [A-Za-z0-9._:-] become one "_".
  assert.equal(cef.SignatureID, rule.replace(/[^A-Za-z0-9._:-]+/g, "_").slice(0, 1023));
  assert.equal(cef.Name, expectedHeader(rule, 512));
  assert.equal(cef.Severity, "8");
  const x = cef.Extensions;
  assert.equal(x["rt"], String(T0 + i));
  assert.equal(x["externalId"], `alert-${i}`);
  assert.equal(x["act"], "alert");
  assert.equal(x["src"], "10.0.0.7");
  assert.equal(x["spt"], String(40000 + i));
  assert.equal(x["dst"], "203.0.113.66");
  assert.equal(x["dpt"], "443");
  assert.equal(x["proto"], "TCP");
  assert.equal(x["dvchost"], "node-a");
  assert.equal(x["sproc"], "/bin/sh");
  assert.equal(x["spid"], "4242");
  assert.equal(x["cs1Label"], "provider");
  assert.equal(x["cs2Label"], "tool");
  assert.equal(x["cs2"], "run_query");
  assert.equal(x["cs3Label"], "session");
  assert.equal(x["cs4Label"], "ruleId");
  assert.equal(x["cs4"], expected(rule));
  assert.equal(x["cs5Label"], "mitreTechnique");
  assert.equal(x["cs5"], "T1059,T1041");
  assert.equal(x["cs6Label"], "traceId");
  assert.equal(x["cs6"], "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(x["cn1Label"], "score");
  assert.equal(x["cn1"], "87");
  assert.equal(x["reason"], `explains ${i}`);
  const want = expected(value, cap);
  for (const key of ["cs1", "cs3", "msg"]) {
    if (want === "") assert.equal(x[key], undefined, `${key} of message ${i} is omitted when empty`);
    else
      assert.equal(
        x[key],
        want,
        `${key} of message ${i} round-trips (${JSON.stringify(value.slice(0, 40))})`,
      );
  }
  // suser has its own cap (1023, the same)
  assert.equal(x["suser"], want === "" ? undefined : want);
  for (const key of Object.keys(x)) assert.match(key, /^[A-Za-z0-9]+$/, `key ${key} is alphanumeric`);
}

describe("SIEM export to a real rsyslog", { skip: skipUnlessRsyslog() }, () => {
  let rs: Rsyslog;
  const tmp = tempDir("hangar-siem-rsyslog-");
  before(async () => {
    rs = await startRsyslog({ mutualTls: true });
  });
  after(async () => {
    await rs.stop();
    tmp.cleanup();
  });

  async function sendAll(dest: Omit<SiemDestinationConfig, "name">, name: string): Promise<RsyslogMessage[]> {
    const before = (await rs.received()).length;
    const counters = new Counters();
    const { logger, lines } = memoryLogger();
    const sink = await SiemSink.start({
      destinations: [{ name, confirmMs: 100, ...dest }],
      hostname: "node-a",
      counters,
      logger,
    });
    HOSTILE.forEach((v, i) => sink.write(hostileAlert(i, v)));
    await sink.flush();
    await sink.shutdown();
    const all = await rs.waitFor(before + HOSTILE.length).catch((err: unknown) => {
      throw new Error(`${String(err)}\nsink log:\n${lines.join("")}`);
    });
    assert.equal(counters.get("siem_sent", { destination: name }), HOSTILE.length);
    assert.equal(counters.get("siem_send_errors", { destination: name }), 0);
    return all.slice(before);
  }

  for (const framing of ["lf", "octet-counting"] as const) {
    it(`TCP, ${framing} framing, RFC 5424: every field round-trips`, async () => {
      const got = await sendAll(
        { format: "cef", transport: "tcp", host: rs.host, port: rs.ports.tcp, framing, maxBytes: 65536 },
        `tcp-${framing}`,
      );
      assert.equal(got.length, HOSTILE.length);
      got.forEach((m, i) => {
        assert.equal(m.input, "tcp");
        assert.equal(m.protocolVersion, "1");
        assert.equal(m.host, "node-a");
        assert.equal(m.app, "hangar-agent");
        assert.equal(m.msgid, "alert");
        assert.equal(m.procid, String(process.pid));
        assert.equal(m.facility, 20, "local4");
        assert.equal(m.severity, 3, "CEF 8 → err");
        assert.equal(m.pri, 20 * 8 + 3);
        assert.equal(Date.parse(m.timereported), T0 + i);
        checkCef(m, i, HOSTILE[i] as string);
      });
    });
  }

  it("TLS (RFC 5425) with a client certificate: every field round-trips", async () => {
    const got = await sendAll(
      {
        format: "cef",
        transport: "tls",
        host: rs.host,
        port: rs.ports.tls,
        tls: {
          caFile: rs.caFile,
          certFile: rs.clientCertFile,
          keyFile: rs.clientKeyFile,
          serverName: rs.serverName,
        },
        maxBytes: 65536,
      },
      "tls",
    );
    got.forEach((m, i) => {
      assert.equal(m.input, "tls");
      checkCef(m, i, HOSTILE[i] as string);
    });
  });

  it("TLS refuses a server it cannot verify (wrong CA, wrong name): nothing sent, errors counted, records spooled", async () => {
    for (const [name, tls] of [
      ["tls-wrong-ca", { caFile: rs.clientCertFile, serverName: rs.serverName }],
      ["tls-wrong-name", { caFile: rs.caFile, serverName: "siem.example" }],
    ] as const) {
      const counters = new Counters();
      const { logger, lines } = memoryLogger();
      const sink = await SiemSink.start({
        destinations: [
          {
            name,
            format: "cef",
            transport: "tls",
            host: rs.host,
            port: rs.ports.tls,
            tls: { ...tls, certFile: rs.clientCertFile, keyFile: rs.clientKeyFile },
            spoolDir: `${tmp.dir}/${name}`,
            backoff: { initialMs: 50, maxMs: 100 },
          },
        ],
        hostname: "node-a",
        counters,
        logger,
      });
      sink.write(hostileAlert(0, "x"));
      await sink.flush();
      await sink.shutdown();
      const d = { destination: name };
      assert.ok(counters.get("siem_send_errors", d) > 0, name);
      assert.equal(counters.get("siem_sent", d), 0, name);
      assert.equal(counters.get("siem_spool_records", d), 1, `${name}: the record waits in the spool`);
      assert.ok(
        lines.some((l) => /HANGAR_ERR_SIEM_SEND/.test(l) && /certificate|altnames|Hostname/i.test(l)),
        name,
      );
    }
  });

  it("UDP: datagrams stay within 2048 bytes; long values are cut, the rest round-trips", async () => {
    const got = await sendAll({ format: "cef", transport: "udp", host: rs.host, port: rs.ports.udp }, "udp");
    // UDP may reorder in theory; on loopback it does not, but match by externalId anyway.
    const byId = new Map(got.map((m) => [m.cef?.Extensions["externalId"], m]));
    HOSTILE.forEach((v, i) => {
      const m = byId.get(`alert-${i}`);
      assert.ok(m, `alert-${i} arrived over UDP`);
      assert.equal(m.input, "udp");
      assert.ok(Buffer.byteLength(m.msg) <= 2048, `message ${i} is ${Buffer.byteLength(m.msg)} bytes`);
      if (Buffer.byteLength(ruleIdOf(i, v)) + Buffer.byteLength(v) * 4 < 1500) checkCef(m, i, v);
      else {
        const msg = m.cef?.Extensions["msg"] ?? "";
        assert.ok(msg.length > 0 && expected(v).startsWith(msg), `msg of ${i} is a prefix of the value`);
      }
    });
  });

  it("JSON lines over TCP (LF framing): every alert arrives whole, hostile values exactly", async () => {
    const got = await sendAll(
      { format: "json", transport: "tcp", host: rs.host, port: rs.ports.tcp, framing: "lf", maxBytes: 65536 },
      "tcp-json",
    );
    got.forEach((m, i) => {
      const a = fromJsonString(hangar.AlertSchema, m.msg);
      assert.equal(a.id, `alert-${i}`);
      assert.equal(a.message, (HOSTILE[i] as string).toWellFormed(), `message ${i}`);
      assert.equal(a.toolCalls[0]?.caller?.subject, (HOSTILE[i] as string).toWellFormed());
    });
  });

  it("RFC 3164 header without a tag keeps CEF: right after the header", async () => {
    const got = await sendAll(
      {
        format: "cef",
        transport: "tcp",
        host: rs.host,
        port: rs.ports.tcp,
        syslog: "rfc3164",
        facility: "local7",
        maxBytes: 65536,
      },
      "tcp-3164",
    );
    got.forEach((m, i) => {
      assert.equal(m.protocolVersion, "0");
      assert.equal(m.host, "node-a");
      assert.equal(m.facility, 23);
      assert.ok(m.msg.startsWith("CEF:0|"), m.msg.slice(0, 40));
      checkCef(m, i, HOSTILE[i] as string);
    });
  });
});
