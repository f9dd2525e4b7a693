import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { lognormalizeCef, skipUnlessRsyslog } from "@hangar/testkit";
import { cefHeader, cefValue, encodeCef } from "./cef.js";
import { encodeJson } from "./json.js";
import { encodeLeef } from "./leef.js";
import { CefLinesAlertSink } from "./lines.js";
import { alertRecord, enforcementRecord, externalId, signatureId } from "./record.js";
import { frame, syslogLine } from "./syslog.js";
import { capChars } from "./text.js";

const T = Date.UTC(2026, 0, 5, 7, 8, 9, 10);

function alert(over: MessageInitShape<typeof hangar.AlertSchema> = {}): hangar.Alert {
  return create(hangar.AlertSchema, {
    id: "a-1",
    ruleId: "hangar.exfil.shell",
    severity: hangar.Severity.CRITICAL,
    provider: "weather",
    message: "shell spawned",
    time: timestampFromMs(T),
    node: "node-a",
    score: 91.6,
    ...over,
  });
}

describe("CEF escaping", () => {
  it("header: escapes \\ and |, leaves =, turns CR/LF into spaces", () => {
    assert.equal(cefHeader("a|b\\c=d\r\ne\nf", 100), "a\\|b\\\\c=d e f");
  });
  it("extension: escapes \\ = LF CR, leaves |, strips controls, trims spaces", () => {
    assert.equal(cefValue(" a=b|c\\d\ne\rf\u0001\u007f\tg ", 100), "a\\=b|c\\\\d\\ne\\rf g");
  });
  it("caps by characters before escaping (never splits an escape or a UTF-8 sequence)", () => {
    assert.equal(cefValue("==========", 3), "\\=\\=\\=");
    assert.equal(capChars("😀😀😀", 2), "😀😀");
    assert.equal(cefValue("é😀x", 2), "é😀");
  });
  it("lone surrogates become U+FFFD so the UTF-8 is well formed", () => {
    assert.equal(cefValue("a\ud800b", 10), "a\ufffdb");
  });
});

describe("record mapping", () => {
  it("signature ids keep only [A-Za-z0-9._:-]; long external ids are hashed, stably", () => {
    assert.equal(signatureId("rule id/with spaces|pipes=eq", "x"), "rule_id_with_spaces_pipes_eq");
    assert.equal(signatureId("|||", "fallback"), "fallback");
    const long = "x".repeat(80);
    assert.equal(externalId(long), externalId(long));
    assert.equal(externalId(long).length, 40);
    assert.equal(externalId("short"), "short");
  });

  it("an alert becomes one CEF:0 line with the documented keys", () => {
    const line = encodeCef(alertRecord(alert({ mitre: ["T1059"] })));
    assert.equal(
      line,
      "CEF:0|MCP Hangar|hangar-agent|0.1.0|hangar.exfil.shell|hangar.exfil.shell|10| " +
        `rt=${T} externalId=a-1 act=alert cat=hangar/rule dvchost=node-a cs1Label=provider cs1=weather ` +
        "cs4Label=ruleId cs4=hangar.exfil.shell cs5Label=mitreTechnique cs5=T1059 cn1Label=score cn1=92 msg=shell spawned",
    );
  });

  it("IPv6 addresses go to c6a2/c6a3 (CEF 0.x has no IPv6 in src/dst)", () => {
    const a = alert({
      evidence: [
        create(hangar.RuntimeEventSchema, {
          detail: {
            case: "connect",
            value: create(hangar.ConnectDetailSchema, {
              protocol: "tcp",
              sourceIp: "fd00::1",
              destinationIp: "2001:db8::2",
              destinationPort: 443,
            }),
          },
        }),
      ],
    });
    const line = encodeCef(alertRecord(a));
    assert.match(line, /c6a2Label=Source IPv6 Address c6a2=fd00::1 /);
    assert.match(line, /c6a3Label=Destination IPv6 Address c6a3=2001:db8::2 dpt=443 proto=TCP/);
    assert.doesNotMatch(line, / src=| dst=/);
  });

  it("an enforcement event maps action, outcome, destination, actor, mode and the diff summary", () => {
    const ev = create(hangar.EnforcementEventSchema, {
      id: "enf-1",
      alertId: "a-1",
      provider: "weather",
      namespace: "mcp",
      action: hangar.EnforcementAction.BLOCK_EGRESS,
      mode: hangar.EnforcementMode.ENFORCE,
      outcome: hangar.EnforcementOutcome.APPLIED,
      objectKind: "NetworkPolicy",
      objectName: "hangar-egress-weather",
      destination: "203.0.113.66:443",
      actor: "hangar.exfil.shell",
      time: timestampFromMs(T),
      diff: '--- before\n+++ after\n@@ -0,0 +1,3 @@\n+{\n+  "kind": "NetworkPolicy"\n+}\n',
    });
    const line = encodeCef(enforcementRecord(ev));
    assert.equal(
      line,
      "CEF:0|MCP Hangar|hangar-agent|0.1.0|hangar:enforcement:block_egress|Enforcement block_egress|6| " +
        `rt=${T} externalId=enf-1 act=block_egress outcome=applied cat=hangar/enforcement/enforce dst=203.0.113.66 dpt=443 ` +
        "suser=hangar.exfil.shell cs1Label=provider cs1=weather cs2Label=alertId cs2=a-1 cs3Label=namespace cs3=mcp " +
        "cs4Label=mode cs4=enforce cs5Label=object cs5=NetworkPolicy/hangar-egress-weather " +
        "cs6Label=diffSummary cs6=+3 -0 lines msg=block_egress applied (enforce) NetworkPolicy/hangar-egress-weather",
    );
  });

  it("maxBytes trims msg and cs* until the line fits", () => {
    const big = alert({ message: "m".repeat(5000), provider: "p".repeat(5000) });
    const line = encodeCef(alertRecord(big), { maxBytes: 1500 });
    assert.ok(Buffer.byteLength(line) <= 1500, `${Buffer.byteLength(line)} bytes`);
    assert.match(line, /cs1=p+ /);
    assert.match(line, /msg=m+$/);
  });
});

describe("LEEF 2.0", () => {
  it("tab-separated attributes declared as x09, no tabs or newlines inside values", () => {
    const line = encodeLeef(alertRecord(alert({ message: "a\tb\nc|d=e" })));
    const [head, ...rest] = line.split("|");
    assert.equal(head, "LEEF:2.0");
    assert.deepEqual(rest.slice(0, 5), ["MCP Hangar", "hangar-agent", "0.1.0", "hangar.exfil.shell", "x09"]);
    const attrs = Object.fromEntries(
      rest
        .slice(5)
        .join("|")
        .split("\t")
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    assert.equal(attrs["devTime"], "Jan 05 2026 07:08:09.010 UTC");
    assert.equal(attrs["devTimeFormat"], "MMM dd yyyy HH:mm:ss.SSS z");
    assert.equal(attrs["sev"], "10");
    assert.equal(attrs["msg"], "a b c|d=e");
    assert.equal(attrs["provider"], "weather");
    assert.ok(!line.includes("\n"));
  });

  it("maxBytes cuts free text until the line fits", () => {
    const line = encodeLeef(alertRecord(alert({ message: "é".repeat(3000), provider: "p".repeat(3000) })), {
      maxBytes: 1800,
    });
    assert.ok(Buffer.byteLength(line) <= 1800, `${Buffer.byteLength(line)} bytes`);
    assert.match(line, /\tmsg=é+/);
  });
});

describe("JSON lines", () => {
  it("one line per record; lone surrogates become U+FFFD, escaped text stays as it is", () => {
    const line = encodeJson(alertRecord(alert({ message: "a\nb\ud800c", provider: "x\\ud800y 😀" })));
    assert.ok(!line.includes("\n"));
    const back = JSON.parse(line) as { message: string; provider: string };
    assert.equal(back.message, "a\nb\ufffdc");
    assert.equal(back.provider, "x\\ud800y 😀");
  });
});

describe("syslog", () => {
  it("RFC 5424: PRI from facility and severity, NILVALUE SD, MSG starts at CEF:", () => {
    const line = syslogLine(
      "CEF:0|x",
      { protocol: "rfc5424", facility: 20, hostname: "node a", appName: "hangar-agent", procId: "7" },
      T,
      10,
      "alert",
    );
    assert.equal(line, "<162>1 2026-01-05T07:08:09.010Z nodea hangar-agent 7 alert - CEF:0|x");
  });
  it("RFC 3164: space-padded day, no tag by default", () => {
    const line = syslogLine(
      "CEF:0|x",
      { protocol: "rfc3164", facility: 16, hostname: "n", appName: "hangar-agent" },
      T,
      5,
      "alert",
    );
    assert.equal(line, "<132>Jan  5 07:08:09 n CEF:0|x");
  });
  it("octet counting counts UTF-8 bytes; LF framing appends a newline", () => {
    assert.equal(frame(Buffer.from("é😀"), "octet-counting").toString(), "6 é😀");
    assert.equal(frame(Buffer.from("ab"), "lf").toString(), "ab\n");
  });
});

describe("CefLinesAlertSink (replay --format cef)", () => {
  it("writes one CEF line per alert", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const sink = new CefLinesAlertSink(out);
    sink.write(alert());
    sink.write(alert({ id: "a-2" }));
    await sink.shutdown();
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.startsWith("CEF:0|MCP Hangar|")));
  });
});

describe("liblognorm lognormalizer parses what we emit", { skip: skipUnlessRsyslog() }, () => {
  it("a fuzz corpus of hostile values round-trips through the cef parser", async () => {
    const alphabet = [
      "a",
      "Z",
      "0",
      " ",
      "|",
      "=",
      "\\",
      "\n",
      "\r",
      "\t",
      "\u0000",
      "\u001b",
      "\u007f",
      "é",
      "中",
      "😀",
      "\ud800",
      "-",
      ":",
      '"',
      "'",
      "]",
      "%",
      "#",
    ];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const values: string[] = [];
    for (let i = 0; i < 300; i++) {
      const len = 1 + rnd(i % 50 === 0 ? 3000 : 40);
      let v = "";
      for (let j = 0; j < len; j++) v += alphabet[rnd(alphabet.length)] ?? "";
      values.push(v);
    }
    values.push("\\", "=", "x\\", " ", "trailing\\\\", "a".repeat(10_240));
    const lines = values.map((v, i) =>
      encodeCef(alertRecord(alert({ id: `f-${i}`, message: v, provider: v, ruleId: `r|${v.slice(0, 20)}` }))),
    );
    const parsed = await lognormalizeCef(lines);
    assert.equal(parsed.length, lines.length);
    parsed.forEach((p, i) => {
      const v = values[i] as string;
      assert.equal(
        p["unparsed"],
        undefined,
        `line ${i} rejected: ${JSON.stringify(lines[i]?.slice(0, 200))}`,
      );
      const cef = p["cef"] as { Name: string; Extensions: Record<string, string> };
      const want = [
        ...v
          .toWellFormed()
          // eslint-disable-next-line no-control-regex -- matching control characters is the point
          .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, "")
          .replaceAll("\t", " "),
      ]
        .slice(0, 1023)
        .join("")
        .replace(/^ +| +$/g, "");
      assert.equal(cef.Extensions["msg"], want === "" ? undefined : want, `msg of line ${i}`);
      assert.equal(cef.Extensions["cs1"], want === "" ? undefined : want, `cs1 of line ${i}`);
      assert.equal(cef.Extensions["externalId"], `f-${i}`);
      const name = [
        ...`r|${v.slice(0, 20)}`
          .toWellFormed()
          // eslint-disable-next-line no-control-regex -- matching control characters is the point
          .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, "")
          .replaceAll("\t", " ")
          .replace(/\r\n|[\r\n]/g, " "),
      ].join("");
      assert.equal(cef.Name, name, `Name of line ${i}`);
    });
  });
});
