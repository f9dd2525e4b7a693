import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AgentError } from "../errors.js";
import { grpcTarget } from "./grpc.js";

function rejects(address: string, message: RegExp): void {
  assert.throws(
    () => grpcTarget(address),
    (err: unknown) => {
      assert.ok(err instanceof AgentError);
      assert.equal(err.code, "HANGAR_ERR_CONFIG_INVALID");
      assert.match(err.message, message);
      return true;
    },
  );
}

describe("grpcTarget", () => {
  it("turns unix:///abs into unix:/abs", () => {
    assert.equal(
      grpcTarget("unix:///var/run/tetragon/tetragon.sock"),
      "unix:/var/run/tetragon/tetragon.sock",
    );
  });

  it("keeps unix:/abs as it is", () => {
    assert.equal(grpcTarget("unix:/var/run/cilium/hubble.sock"), "unix:/var/run/cilium/hubble.sock");
  });

  it("turns a bare absolute path into a unix target", () => {
    assert.equal(grpcTarget("/var/run/tetragon/tetragon.sock"), "unix:/var/run/tetragon/tetragon.sock");
  });

  it("keeps host:port, IPv6 [addr]:port and dns: targets", () => {
    assert.equal(grpcTarget("localhost:54321"), "localhost:54321");
    assert.equal(grpcTarget("10.0.0.7:4244"), "10.0.0.7:4244");
    assert.equal(grpcTarget("[::1]:4245"), "[::1]:4245");
    assert.equal(grpcTarget("dns:///hubble-relay.kube-system:80"), "dns:///hubble-relay.kube-system:80");
  });

  it("rejects a relative unix:// path, naming the address", () => {
    rejects("unix://var/run/tetragon.sock", /must be absolute: unix:\/\/var\/run\/tetragon\.sock/);
  });

  it("rejects garbage with the accepted forms in the message", () => {
    rejects("tetragon", /not a gRPC address: "tetragon".*unix:\/\/\/path\/to\.sock or host:port/);
    rejects("", /not a gRPC address: ""/);
    rejects("localhost:port", /not a gRPC address/);
    rejects("http://localhost:54321", /not a gRPC address/);
    rejects("host name:80", /not a gRPC address/);
  });
});
