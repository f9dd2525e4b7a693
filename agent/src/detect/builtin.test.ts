/** The MIT core's built-in detections: what fires, what does not, and the alert it makes. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { BuiltinDetector } from "./builtin.js";

const ev = (detail: hangar.RuntimeEvent["detail"], binary = "/usr/local/bin/node", provider = "weather") =>
  create(hangar.RuntimeEventSchema, {
    id: `e-${Math.random()}`,
    kind: hangar.EventKind.EXEC,
    provider,
    node: "node-a",
    process: { binary, pid: 7 },
    pod: { namespace: "mcp", name: "weather-0" },
    detail,
  });
const exec = { case: "exec" as const, value: create(hangar.ExecDetailSchema, {}) };
const connect = (ip: string) => ({
  case: "connect" as const,
  value: create(hangar.ConnectDetailSchema, { destinationIp: ip, destinationPort: 80 }),
});
const dns = (query: string, response = false) => ({
  case: "dns" as const,
  value: create(hangar.DnsDetailSchema, { query, response }),
});

it("a shell started in a provider's pod is an alert; other binaries and non-provider pods are not", () => {
  const d = new BuiltinDetector();
  const a = d.process(ev(exec, "/bin/bash"))?.alerts[0];
  assert.equal(a?.ruleId, "hangar.builtin.shell_in_provider");
  assert.equal(a?.severity, hangar.Severity.HIGH);
  assert.equal(a?.provider, "weather");
  assert.equal(a?.pod?.name, "weather-0");
  assert.deepEqual(a?.mitre, ["T1059.004"]);
  assert.equal(a?.evidence.length, 1);
  assert.equal(d.process(ev(exec, "/usr/bin/curl")), undefined);
  assert.equal(d.process(ev(exec, "/bin/sh", "")), undefined, "not an MCP pod");
  assert.equal(d.process(ev(exec, "/opt/bashful")), undefined);
});

it("cloud metadata: connects to the metadata addresses and lookups of the metadata names", () => {
  const d = new BuiltinDetector();
  for (const ip of ["169.254.169.254", "fd00:ec2::254", "169.254.170.2"])
    assert.equal(d.process(ev(connect(ip)))?.alerts[0]?.ruleId, "hangar.builtin.cloud_metadata", ip);
  assert.equal(d.process(ev(connect("198.51.100.7"))), undefined);
  assert.equal(
    d.process(ev(dns("metadata.google.internal.")))?.alerts[0]?.ruleId,
    "hangar.builtin.cloud_metadata",
  );
  assert.equal(
    d.process(ev(dns("metadata.google.internal", true))),
    undefined,
    "the answer is not a second alert",
  );
  assert.equal(d.process(ev(dns("api.weather.example"))), undefined);
});

it("the same event gives the same alert id (a resend is not a second alert)", () => {
  const d = new BuiltinDetector();
  const e = ev(exec, "/bin/sh");
  assert.equal(d.process(e)?.alerts[0]?.id, d.process(e)?.alerts[0]?.id);
});
