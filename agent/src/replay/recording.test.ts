import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { flow, hangar, tetragon } from "@hangar/proto";
import { AgentError } from "../errors.js";
import { timeMs, Counters } from "@hangar/core";
import type { SensorRecord } from "../sources/records.js";
import {
  JsonSplitter,
  mergeByTime,
  parseLine,
  readRecording,
  type JsonUnit,
  type Malformed,
  type TimedRecord,
} from "./recording.js";

/** The tcp_connect example of the reference (§1.7), on one line. */
const TETRAGON_KPROBE = JSON.stringify({
  process_kprobe: {
    process: {
      exec_id: "bm9kZS1hOjEyMzQ1Njc4OToxMDEw",
      pid: 1010,
      uid: 0,
      cwd: "/",
      binary: "/usr/bin/curl",
      arguments: "https://example.org",
      flags: "execve clone",
      start_time: "2026-01-01T10:00:00.000000000Z",
      auid: 4294967295,
      pod: {
        namespace: "shop",
        name: "web-7d9f",
        container: {
          id: "containerd://ab12",
          name: "web",
          image: { id: "docker.io/library/web@sha256:00", name: "docker.io/library/web:1.2" },
          pid: 42,
        },
        pod_labels: { app: "web" },
        workload: "web",
        workload_kind: "Deployment",
      },
      docker: "ab12",
      parent_exec_id: "bm9kZS1hOjEyMzQ1MDAwMDo5OTk=",
      tid: 1010,
    },
    function_name: "tcp_connect",
    args: [
      {
        sock_arg: {
          family: "AF_INET",
          type: "SOCK_STREAM",
          protocol: "IPPROTO_TCP",
          saddr: "10.0.1.5",
          daddr: "93.184.216.34",
          sport: 40112,
          dport: 443,
          cookie: "18446623",
          state: "TCP_SYN_SENT",
        },
      },
    ],
    action: "KPROBE_ACTION_POST",
    policy_name: "connect",
  },
  node_name: "node-a",
  time: "2026-01-01T10:00:00.100000000Z",
});

const HUBBLE_FLOW = JSON.stringify({
  flow: {
    time: "2026-01-01T10:00:00.200000000Z",
    uuid: "u-1",
    verdict: "FORWARDED",
    IP: { source: "10.0.1.5", destination: "93.184.216.34", ipVersion: "IPv4" },
    l4: { TCP: { source_port: 40112, destination_port: 443, flags: { SYN: true } } },
    source: { ID: 7, identity: 1234, namespace: "shop", labels: ["k8s:app=web"], pod_name: "web-7d9f" },
    destination: { identity: 2, labels: ["reserved:world"] },
    Type: "L3_L4",
    node_name: "node-a",
    traffic_direction: "EGRESS",
    is_reply: false,
  },
  node_name: "node-a",
  time: "2026-01-01T10:00:00.200000000Z",
});

function parse(
  format: "tetragon" | "hubble" | "traces",
  text: string,
  counters = new Counters(),
): SensorRecord {
  return parseLine(format, text, counters);
}

function fails(format: "tetragon" | "hubble" | "traces", text: string, message: RegExp): void {
  const counters = new Counters();
  assert.throws(
    () => parseLine(format, text, counters),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, message);
      return true;
    },
  );
  assert.equal(counters.get("unknown_fields", { sensor: format === "traces" ? "proxy" : format }), 0);
}

describe("parseLine: valid lines", () => {
  it("parses Tetragon's JSON export (snake_case proto names, 64-bit ints as strings, enum names)", () => {
    const counters = new Counters();
    const rec = parse("tetragon", TETRAGON_KPROBE, counters);
    assert.equal(rec.sensor, "tetragon");
    if (rec.sensor !== "tetragon") return;
    assert.equal(rec.msg.nodeName, "node-a");
    assert.equal(rec.msg.event.case, "processKprobe");
    if (rec.msg.event.case !== "processKprobe") return;
    const k = rec.msg.event.value;
    assert.equal(k.functionName, "tcp_connect");
    assert.equal(k.action, tetragon.KprobeAction.POST);
    assert.equal(k.process?.pid, 1010);
    assert.equal(k.process?.uid, 0);
    assert.equal(k.process?.pod?.podLabels["app"], "web");
    const arg = k.args[0]?.arg;
    assert.equal(arg?.case, "sockArg");
    if (arg?.case !== "sockArg") return;
    assert.equal(arg.value.dport, 443);
    assert.equal(arg.value.cookie, 18446623n);
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 0);
  });

  it("parses `hubble observe -o json` lines", () => {
    const rec = parse("hubble", HUBBLE_FLOW);
    assert.equal(rec.sensor, "hubble");
    if (rec.sensor !== "hubble" || rec.msg.responseTypes.case !== "flow") return assert.fail("not a flow");
    const f = rec.msg.responseTypes.value;
    assert.equal(f.verdict, flow.Verdict.FORWARDED);
    assert.equal(f.trafficDirection, flow.TrafficDirection.EGRESS);
    assert.equal(f.l4?.protocol.case, "TCP");
    assert.equal(f.source?.podName, "web-7d9f");
  });

  it("accepts a hubble lost_events line", () => {
    const rec = parse("hubble", '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"5"}}');
    assert.equal(rec.sensor === "hubble" ? rec.msg.responseTypes.case : "", "lostEvents");
  });

  it("parses a CallTrace with JSON names and with proto names", () => {
    for (const line of [
      '{"traceId":"abc","spanId":"01","tool":"get_forecast","startTime":"2026-03-02T09:00:00Z","podName":"p"}',
      '{"trace_id":"abc","span_id":"01","tool":"get_forecast","start_time":"2026-03-02T09:00:00Z","pod_name":"p"}',
    ]) {
      const rec = parse("traces", line);
      assert.equal(rec.sensor, "proxy");
      if (rec.sensor !== "proxy") return;
      assert.equal(rec.trace.traceId, "abc");
      assert.equal(rec.trace.spanId, "01");
      assert.equal(rec.trace.tool, "get_forecast");
      assert.equal(rec.trace.podName, "p");
      assert.equal(timeMs(rec.trace.startTime), Date.parse("2026-03-02T09:00:00Z"));
    }
  });

  it("accepts an unknown field inside a known variant and counts it", () => {
    const counters = new Counters();
    const rec = parse(
      "tetragon",
      '{"process_exec":{"process":{"binary":"/bin/sh","new_field_from_the_future":1}},"node_name":"n"}',
      counters,
    );
    assert.equal(rec.sensor === "tetragon" ? rec.msg.event.case : "", "processExec");
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 1);
  });

  it("accepts an unknown enum name (as the zero value) and counts it", () => {
    const counters = new Counters();
    const rec = parse(
      "tetragon",
      '{"process_kprobe":{"function_name":"tcp_connect","action":"KPROBE_ACTION_FROM_THE_FUTURE"}}',
      counters,
    );
    if (rec.sensor !== "tetragon" || rec.msg.event.case !== "processKprobe")
      return assert.fail("not a kprobe");
    assert.equal(rec.msg.event.value.action, tetragon.KprobeAction.UNKNOWN);
    assert.equal(rec.msg.event.value.functionName, "tcp_connect");
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 1);
  });

  it("accepts unknown fields in a hubble flow and a trace, counting them per sensor", () => {
    const counters = new Counters();
    parse("hubble", '{"flow":{"uuid":"u","new_thing":{"a":1}}}', counters);
    parse("traces", '{"traceId":"t","newTraceField":true}', counters);
    assert.equal(counters.get("unknown_fields", { sensor: "hubble" }), 1);
    assert.equal(counters.get("unknown_fields", { sensor: "proxy" }), 1);
  });
});

describe("parseLine: malformed lines", () => {
  it("truncated JSON", () => {
    fails("tetragon", '{"process_exec":{"process":{"binary":"/bin/', /^not valid JSON \(/);
  });

  it("not JSON at all", () => {
    fails("tetragon", "time=2026-01-01 level=info msg=hello", /^not valid JSON/);
  });

  it("JSON that is not an object", () => {
    fails("tetragon", "[1,2]", /^expected a JSON object, got an array \(of 2\): .*jq -c '\.\[\]' FILE/);
    fails("hubble", "42", /^expected a JSON object, got number$/);
    fails("tetragon", "null", /^expected a JSON object, got null$/);
    fails("traces", '"process_exec"', /^expected a JSON object, got string$/);
  });

  it("an unknown tetragon event variant is named", () => {
    fails(
      "tetragon",
      '{"process_future":{},"node_name":"n"}',
      /^unknown tetragon event variant "process_future"$/,
    );
  });

  it("a hubble line with no flow lists its keys", () => {
    fails(
      "hubble",
      '{"node_name":"n","time":"2026-01-01T10:00:00Z"}',
      /^no hubble event in the line \(keys: node_name, time\)$/,
    );
    fails("hubble", "{}", /^no hubble event in the line \(keys: none\)$/);
  });

  it("a tetragon line given as hubble is an unknown hubble variant", () => {
    fails(
      "hubble",
      TETRAGON_KPROBE,
      /^unknown hubble event variant "process_kprobe" \(a Tetragon event: give this file with --tetragon\)$/,
    );
  });

  it("a wrong field type names the field and the expected type", () => {
    fails(
      "tetragon",
      '{"process_exec":{"process":{"pid":"abc"}}}',
      /^process_exec\.process\.pid: .*expected number.*"abc"/,
    );
    fails(
      "tetragon",
      '{"process_kprobe":{"args":[{"sock_arg":{"dport":"x"}}]}}',
      /^process_kprobe\.args\[0\]\.sock_arg\.dport: .*expected number.*"x"/,
    );
    fails(
      "hubble",
      '{"flow":{"l4":{"TCP":{"destination_port":"x"}}}}',
      /^flow\.l4\.TCP\.destination_port: .*"x"/,
    );
  });

  it("a wrong type is rejected even when the line also has an unknown field", () => {
    fails(
      "tetragon",
      '{"process_exec":{"process":{"new_field":1,"pid":"abc"}}}',
      /^process_exec\.process\.pid: .*"abc"/,
    );
  });

  it("a trace with a bad timestamp is rejected", () => {
    fails("traces", '{"traceId":"t","startTime":"yesterday"}', /^startTime: .*RFC 3339/);
  });
});

function rec(name: string): SensorRecord {
  return { sensor: "proxy", trace: create(hangar.CallTraceSchema, { traceId: name }) };
}

async function* input(file: number, items: readonly [string, number][]): AsyncIterable<TimedRecord> {
  let line = 0;
  for (const [name, t] of items) {
    line++;
    yield await Promise.resolve({ rec: rec(name), t, file, line });
  }
}

async function names(it: AsyncIterable<SensorRecord>): Promise<string[]> {
  const out: string[] = [];
  for await (const r of it) out.push(r.sensor === "proxy" ? r.trace.traceId : "?");
  return out;
}

describe("mergeByTime", () => {
  it("orders the records of several inputs by time", { timeout: 5000 }, async () => {
    const merged = mergeByTime([
      input(0, [
        ["a1", 1],
        ["a2", 4],
        ["a3", 9],
      ]),
      input(1, [
        ["b1", 2],
        ["b2", 3],
        ["b3", 10],
      ]),
      input(2, [["c1", 5]]),
    ]);
    assert.deepEqual(await names(merged), ["a1", "b1", "b2", "a2", "c1", "a3", "b3"]);
  });

  it("breaks ties by input order, then by line", { timeout: 5000 }, async () => {
    const merged = mergeByTime([
      input(0, [
        ["a1", 5],
        ["a2", 5],
      ]),
      input(1, [["b1", 5]]),
    ]);
    assert.deepEqual(await names(merged), ["a1", "a2", "b1"]);
    const reversed = mergeByTime([
      input(0, [["a1", 5]]),
      input(1, [
        ["b1", 5],
        ["b2", 5],
      ]),
    ]);
    assert.deepEqual(await names(reversed), ["a1", "b1", "b2"]);
  });

  it("fixes out-of-order records within the reorder window", { timeout: 5000 }, async () => {
    const merged = mergeByTime(
      [
        input(0, [
          ["t3", 3],
          ["t1", 1],
          ["t2", 2],
          ["t5", 5],
          ["t4", 4],
        ]),
      ],
      2,
    );
    assert.deepEqual(await names(merged), ["t1", "t2", "t3", "t4", "t5"]);
  });

  it("cannot fix disorder wider than the window (documents the bound)", { timeout: 5000 }, async () => {
    const merged = mergeByTime(
      [
        input(0, [
          ["t3", 3],
          ["t2", 2],
          ["t1", 1],
        ]),
      ],
      1,
    );
    assert.deepEqual(await names(merged), ["t3", "t2", "t1"]);
  });

  it("handles empty inputs and no inputs", { timeout: 5000 }, async () => {
    assert.deepEqual(await names(mergeByTime([])), []);
    assert.deepEqual(await names(mergeByTime([input(0, []), input(1, [["b", 1]])])), ["b"]);
  });
});

describe("readRecording", () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-recording-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "yields records with time, file index and line; reports malformed lines with file:line and goes on",
    { timeout: 5000 },
    async () => {
      const path = join(dir, "tetragon.json");
      writeFileSync(
        path,
        [
          TETRAGON_KPROBE,
          "",
          "   ",
          '{"process_exec":{"process":{"pid":"abc"}}}',
          "not json",
          TETRAGON_KPROBE,
        ].join("\r\n"),
      );
      const counters = new Counters();
      const malformed: Malformed[] = [];
      let lines = 0;
      const out: TimedRecord[] = [];
      for await (const r of readRecording({
        path,
        format: "tetragon",
        fileIndex: 3,
        counters,
        malformed,
        onLine: () => lines++,
      })) {
        out.push(r);
      }
      assert.deepEqual(
        out.map((r) => [r.file, r.line, r.t]),
        [
          [3, 1, Date.parse("2026-01-01T10:00:00.100Z")],
          [3, 6, Date.parse("2026-01-01T10:00:00.100Z")],
        ],
      );
      assert.equal(lines, 4, "blank lines are not counted as read");
      assert.deepEqual(
        malformed.map((m) => [m.file, m.line]),
        [
          [path, 4],
          [path, 5],
        ],
      );
      assert.match(malformed[0]?.error ?? "", /pid/);
      assert.match(malformed[1]?.error ?? "", /not valid JSON/);
      assert.equal(counters.get("malformed", { format: "tetragon" }), 2);
    },
  );

  it("a missing file is a HANGAR_ERR_RECORDING_READ naming the path", { timeout: 5000 }, async () => {
    const path = join(dir, "missing.json");
    const it = readRecording({
      path,
      format: "hubble",
      fileIndex: 0,
      counters: new Counters(),
      malformed: [],
    });
    await assert.rejects(
      async () => {
        for await (const _ of it) assert.fail("no record expected");
      },
      (err: unknown) => {
        assert.ok(err instanceof AgentError);
        assert.equal(err.code, "HANGAR_ERR_RECORDING_READ");
        assert.ok(err.message.includes(path));
        return true;
      },
    );
  });

  it("a tetragon exec without a response time is timed by the process start", { timeout: 5000 }, async () => {
    const path = join(dir, "exec.json");
    writeFileSync(path, '{"process_exec":{"process":{"start_time":"2026-01-01T09:00:00Z"}}}\n');
    const out: TimedRecord[] = [];
    for await (const r of readRecording({
      path,
      format: "tetragon",
      fileIndex: 0,
      counters: new Counters(),
      malformed: [],
    }))
      out.push(r);
    assert.equal(out[0]?.t, Date.parse("2026-01-01T09:00:00Z"));
  });

  it("a hubble flow is timed by the flow's own time", { timeout: 5000 }, async () => {
    const path = join(dir, "hubble.json");
    writeFileSync(path, `${HUBBLE_FLOW}\n`);
    const out: TimedRecord[] = [];
    for await (const r of readRecording({
      path,
      format: "hubble",
      fileIndex: 0,
      counters: new Counters(),
      malformed: [],
    }))
      out.push(r);
    assert.equal(out[0]?.t, Date.parse("2026-01-01T10:00:00.200Z"));
  });
});

describe("the formats users actually have", () => {
  it("a bare Flow per line (older hubble observe -o json) is read as a flow", () => {
    const counters = new Counters();
    const rec = parse(
      "hubble",
      JSON.stringify({
        time: "2026-03-02T10:00:07.000000000Z",
        verdict: "FORWARDED",
        IP: { source: "10.244.1.23", destination: "198.51.100.7", ipVersion: "IPv4" },
        l4: { TCP: { source_port: 51300, destination_port: 443 } },
        Type: "L3_L4",
        node_name: "kind-hangar/kind-worker",
      }),
      counters,
    );
    assert.equal(rec.sensor, "hubble");
    if (rec.sensor !== "hubble" || rec.msg.responseTypes.case !== "flow") return assert.fail("not a flow");
    assert.equal(rec.msg.responseTypes.value.IP?.destination, "198.51.100.7");
    assert.equal(rec.msg.responseTypes.value.verdict, flow.Verdict.FORWARDED);
  });
  it("a line with only node_name and time is not taken for a bare flow", () => {
    fails("hubble", '{"node_name":"n","time":"2026-01-01T10:00:00Z"}', /^no hubble event/);
  });
  it("a Hubble flow given as a Tetragon recording says which flag to use", () => {
    fails(
      "tetragon",
      '{"flow":{"uuid":"u"}}',
      /unknown tetragon event variant "flow" \(a Hubble flow: give this file with --hubble\)/,
    );
  });
  it("variants of an enterprise distribution are refused naming their origin", () => {
    fails(
      "tetragon",
      '{"process_connect":{"process":{"binary":"/usr/bin/curl"},"destination_ip":"203.0.113.50"},"node_name":"n"}',
      /^"process_connect" is not in the open-source Tetragon API \(cilium\/tetragon\); it comes from an enterprise distribution .* tcp_connect/,
    );
    fails("tetragon", '{"process_listen":{}}', /^"process_listen" is not in the open-source Tetragon API/);
  });
  it("unknown fields are counted by message type and name, unknown enum names by field and value", () => {
    const counters = new Counters();
    parse(
      "tetragon",
      JSON.stringify({
        process_kprobe: {
          process: { binary: "/bin/sh", cgroup_id_v3: "1", pod: { namespace: "mcp", pod_ip: "x" } },
          function_name: "tcp_connect",
          action: "KPROBE_ACTION_FROM_THE_FUTURE",
          args: [{ sock_arg: { daddr: "1.2.3.4", netns: 4 } }],
        },
        node_name: "n",
        cluster_uid: "c",
      }),
      counters,
    );
    assert.deepEqual(counters.byLabel("unknown_field_names", "field"), {
      "tetragon.GetEventsResponse.cluster_uid": 1,
      "tetragon.Process.cgroup_id_v3": 1,
      "tetragon.Pod.pod_ip": 1,
      "tetragon.KprobeSock.netns": 1,
      "tetragon.ProcessKprobe.action=KPROBE_ACTION_FROM_THE_FUTURE": 1,
    });
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 5);
  });
});

describe("JsonSplitter", () => {
  function split(lines: string[]): JsonUnit[] {
    const s = new JsonSplitter();
    const out: JsonUnit[] = [];
    lines.forEach((l, i) => s.push(l, i + 1, out));
    s.end(out);
    return out;
  }
  it("passes one-object lines through untouched", () => {
    assert.deepEqual(split(['{"a":1}', "", '{"b":"}{"}']), [
      { line: 1, text: '{"a":1}' },
      { line: 3, text: '{"b":"}{"}' },
    ]);
  });
  it("joins an object pretty-printed over several lines, braces inside strings ignored", () => {
    const units = split([
      "{",
      '  "process_exec": {',
      '    "arguments": "-c \\"}\\" {",',
      '    "pid": 1',
      "  }",
      "}",
      '{"next":1}',
    ]);
    assert.equal(units.length, 2);
    assert.equal(units[0]?.line, 1);
    assert.deepEqual(JSON.parse(units[0]?.text ?? ""), { process_exec: { arguments: '-c "}" {', pid: 1 } });
    assert.deepEqual(units[1], { line: 7, text: '{"next":1}' });
  });
  it("a pretty-printed array is one unit (refused later as a whole, not line by line)", () => {
    const units = split(["[", "  {", '    "a": 1', "  },", "  {", '    "a": 2', "  }", "]"]);
    assert.equal(units.length, 1);
    assert.deepEqual(JSON.parse(units[0]?.text ?? ""), [{ a: 1 }, { a: 2 }]);
  });
  it("an object still open at the end of the file is one error at its first line", () => {
    assert.deepEqual(split(["{", '  "a": {', '    "b": 1']), [
      {
        line: 1,
        error: "an object starting here is not closed by the end of the file (truncated recording?)",
      },
    ]);
  });
  it("a line cut inside a string is a broken line, not the start of a multi-line object", () => {
    const units = split(['{"process_exec":{"process":{"binary":"/bin/', '{"ok":1}']);
    assert.equal(units.length, 2);
    assert.equal(units[0]?.line, 1);
    assert.deepEqual(units[1], { line: 2, text: '{"ok":1}' });
  });
});

describe("readRecording: pretty-printed files", () => {
  const dir = mkdtempSync(join(tmpdir(), "hangar-recording-pretty-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it(
    "reads jq-style objects with the line each starts at, and reports what is broken once",
    { timeout: 5000 },
    async () => {
      const path = join(dir, "pretty.json");
      const pretty = JSON.stringify(JSON.parse(TETRAGON_KPROBE), null, 2);
      writeFileSync(path, `${pretty}\n${pretty}\n[\n  1\n]\n${pretty.split("\n").slice(0, 5).join("\n")}\n`);
      const counters = new Counters();
      const malformed: Malformed[] = [];
      const out: TimedRecord[] = [];
      let read = 0;
      for await (const r of readRecording({
        path,
        format: "tetragon",
        fileIndex: 0,
        counters,
        malformed,
        onLine: () => read++,
      }))
        out.push(r);
      const n = pretty.split("\n").length;
      assert.deepEqual(
        out.map((r) => r.line),
        [1, n + 1],
      );
      assert.deepEqual(
        malformed.map((m) => [m.line, m.error.slice(0, 40)]),
        [
          [2 * n + 1, "expected a JSON object, got an array (of"],
          [2 * n + 4, "an object starting here is not closed by"],
        ],
      );
      assert.equal(read, 4, "read counts records, not lines");
    },
  );
});
