import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { describeEvent } from "./describe.js";

type Detail = hangar.RuntimeEvent["detail"];

function event(kind: hangar.EventKind, sensor: hangar.Sensor, detail: Detail): hangar.RuntimeEvent {
  return create(hangar.RuntimeEventSchema, {
    kind,
    sensor,
    provider: "weather",
    time: timestampFromMs(Date.parse("2026-03-02T09:00:01.234Z")),
    pod: { namespace: "mcp", name: "weather-1" },
    process: { binary: "/usr/bin/curl", arguments: "-s https://203.0.113.66/u", execId: "e1" },
    detail,
  });
}

const { EventKind, Sensor } = hangar;

describe("describeEvent", () => {
  it("exec: time, provider, sensor, binary with arguments, pod", () => {
    const line = describeEvent(
      event(EventKind.EXEC, Sensor.TETRAGON, {
        case: "exec",
        value: create(hangar.ExecDetailSchema, { flags: ["execve"] }),
      }),
    );
    assert.match(
      line,
      /^09:00:01\.234 {2}weather {4}tetragon exec \/usr\/bin\/curl -s https:\/\/203\.0\.113\.66\/u {2}\[mcp\/weather-1\]$/,
    );
  });

  it("exit: binary, status and signal", () => {
    const line = describeEvent(
      event(EventKind.EXIT, Sensor.TETRAGON, {
        case: "exit",
        value: create(hangar.ExitDetailSchema, { status: 137, signal: "SIGKILL" }),
      }),
    );
    assert.match(line, /exit \/usr\/bin\/curl status=137 signal=SIGKILL/);
    const clean = describeEvent(
      event(EventKind.EXIT, Sensor.TETRAGON, {
        case: "exit",
        value: create(hangar.ExitDetailSchema, { status: 0 }),
      }),
    );
    assert.match(clean, /exit \/usr\/bin\/curl status=0 {2}\[/);
    assert.doesNotMatch(clean, /signal=/);
  });

  it("connect: binary, destination ip:port/protocol and hook", () => {
    const line = describeEvent(
      event(EventKind.CONNECT, Sensor.TETRAGON, {
        case: "connect",
        value: create(hangar.ConnectDetailSchema, {
          destinationIp: "203.0.113.66",
          destinationPort: 443,
          protocol: "tcp",
          hook: "tcp_connect",
        }),
      }),
    );
    assert.match(line, /connect \/usr\/bin\/curl → 203\.0\.113\.66:443\/tcp \(tcp_connect\)/);
  });

  it("connect with an unknown protocol shows '?'", () => {
    const line = describeEvent(
      event(EventKind.CONNECT, Sensor.TETRAGON, {
        case: "connect",
        value: create(hangar.ConnectDetailSchema, {
          destinationIp: "2001:db8::1",
          destinationPort: 80,
          hook: "h",
        }),
      }),
    );
    assert.match(line, /→ 2001:db8::1:80\/\? \(h\)/);
  });

  it("dns: answer or query, name and addresses", () => {
    const answer = describeEvent(
      event(EventKind.DNS, Sensor.HUBBLE, {
        case: "dns",
        value: create(hangar.DnsDetailSchema, {
          query: "api.weather.example",
          ips: ["198.51.100.7", "198.51.100.8"],
          response: true,
        }),
      }),
    );
    assert.match(answer, /hubble {3}dns answer api\.weather\.example → 198\.51\.100\.7,198\.51\.100\.8/);
    const query = describeEvent(
      event(EventKind.DNS, Sensor.HUBBLE, {
        case: "dns",
        value: create(hangar.DnsDetailSchema, { query: "evil.example" }),
      }),
    );
    assert.match(query, /dns query evil\.example {2}\[/);
  });

  it("file: operation, path and binary", () => {
    const line = describeEvent(
      event(EventKind.FILE, Sensor.TETRAGON, {
        case: "file",
        value: create(hangar.FileDetailSchema, {
          path: "/var/run/secrets/kubernetes.io/serviceaccount/token",
          operation: hangar.FileOperation.READ,
        }),
      }),
    );
    assert.match(
      line,
      /file read \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token by \/usr\/bin\/curl/,
    );
  });

  it("flow: direction, endpoints, protocol, verdict and DNS names", () => {
    const line = describeEvent(
      event(EventKind.FLOW, Sensor.HUBBLE, {
        case: "flow",
        value: create(hangar.FlowDetailSchema, {
          direction: "egress",
          sourceIp: "10.244.1.17",
          sourcePort: 48562,
          destinationIp: "198.51.100.7",
          destinationPort: 443,
          protocol: "tcp",
          verdict: "DROPPED",
          destinationNames: ["api.weather.example"],
        }),
      }),
    );
    assert.match(
      line,
      /flow egress 10\.244\.1\.17:48562 → 198\.51\.100\.7:443\/tcp DROPPED \(api\.weather\.example\)/,
    );
  });

  it("privilege: hook and target uid (0 is shown)", () => {
    const line = describeEvent(
      event(EventKind.PRIVILEGE, Sensor.TETRAGON, {
        case: "privilege",
        value: create(hangar.PrivilegeDetailSchema, { hook: "__sys_setuid", targetUid: 0 }),
      }),
    );
    assert.match(line, /privilege __sys_setuid uid→0/);
    const noUid = describeEvent(
      event(EventKind.PRIVILEGE, Sensor.TETRAGON, {
        case: "privilege",
        value: create(hangar.PrivilegeDetailSchema, { hook: "security_capset" }),
      }),
    );
    assert.doesNotMatch(noUid, /uid→/);
  });

  it("tool_call: method and tool", () => {
    const line = describeEvent(
      event(EventKind.TOOL_CALL, Sensor.PROXY, {
        case: "toolCall",
        value: create(hangar.ToolCallDetailSchema, { trace: { method: "tools/call", tool: "get_forecast" } }),
      }),
    );
    assert.match(line, /proxy {4}tool_call tools\/call get_forecast/);
  });

  it("an event without detail and without time or pod still gives a line", () => {
    const ev = create(hangar.RuntimeEventSchema, { provider: "p" });
    assert.equal(describeEvent(ev), "--:--:--.---  p          unspecified event  []");
  });

  it("names the call an event was attributed to", () => {
    const ev = event(EventKind.CONNECT, Sensor.TETRAGON, {
      case: "connect",
      value: create(hangar.ConnectDetailSchema, { destinationIp: "203.0.113.66", destinationPort: 443 }),
    });
    ev.attributions = [
      create(hangar.AttributionSchema, {
        tool: "fetch_forecast_report",
        sessionId: "session-7f3a",
        caller: "agent:travel-planner",
      }),
    ];
    assert.match(
      describeEvent(ev),
      /\[mcp\/weather-1\] {2}← during fetch_forecast_report \(session session-7f3a, caller agent:travel-planner\)$/,
    );
  });
});

describe("describeEvent: attribution details", () => {
  it("says when the call was found by lineage, and how unsure overlapping calls make it", () => {
    const ev = create(hangar.RuntimeEventSchema, {
      kind: hangar.EventKind.CONNECT,
      provider: "weather",
      pod: { namespace: "mcp", name: "weather-1" },
      detail: {
        case: "connect",
        value: { destinationIp: "203.0.113.66", destinationPort: 443, protocol: "tcp" },
      },
      attributions: [
        {
          tool: "a",
          sessionId: "s1",
          caller: "alice",
          reason: hangar.AttributionReason.LINEAGE,
          confidence: 0.5,
        },
        {
          tool: "b",
          sessionId: "s2",
          caller: "bob",
          reason: hangar.AttributionReason.LINEAGE,
          confidence: 0.5,
        },
      ],
    });
    assert.match(
      describeEvent(ev),
      /← during a \(session s1, caller alice\) \[via lineage; 1 of 2 overlapping calls, confidence 0\.50\]$/,
    );
  });
});
