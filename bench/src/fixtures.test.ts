import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { Counters } from "@hangar/core";
import { TetragonNormalizer } from "@hangar/agent";
import { tetragon } from "@hangar/proto";
import { encode, execMessages, loadPool, mixedMessages, PROVIDER_LABEL } from "./fixtures.js";

describe("fixtures", () => {
  it("builds exec messages with process, parent, pod labels and container, all distinct", () => {
    const pool = execMessages(256);
    for (const m of pool) {
      assert.equal(m.event.case, "processExec");
      if (m.event.case !== "processExec") continue;
      const { process, parent } = m.event.value;
      assert.ok(process?.pod?.podLabels[PROVIDER_LABEL]);
      assert.ok(process.pod.container?.image?.name);
      assert.ok(parent?.execId);
      assert.equal(process.parentExecId, parent.execId);
    }
    assert.equal(new Set(encode(pool).map((b) => Buffer.from(b).toString("base64"))).size, pool.length);
  });

  it("is deterministic, so that two processes build the same pool", () => {
    assert.deepEqual(encode(mixedMessages(64)), encode(mixedMessages(64)));
  });

  it("mixes exec, exit, connect and file events, and pods without the provider label", () => {
    const counters = new Counters();
    const normalizer = new TetragonNormalizer(counters);
    const kinds = new Map<string, number>();
    let unlabelled = 0;
    const pool = mixedMessages(1024);
    for (const m of pool) {
      const r = normalizer.normalize(m);
      if (r.event === undefined) {
        assert.equal(r.dropped, "sensor_notice");
        continue;
      }
      const kind = r.event.detail.case ?? "none";
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (r.event.pod?.labels[PROVIDER_LABEL] === undefined) unlabelled++;
    }
    const share = (k: string): number => (kinds.get(k) ?? 0) / pool.length;
    assert.ok(share("exec") > 0.2 && share("exec") < 0.4, `exec ${share("exec")}`);
    assert.ok(share("exit") > 0.15, `exit ${share("exit")}`);
    assert.ok(share("connect") > 0.15, `connect ${share("connect")}`);
    assert.ok(share("file") > 0.1, `file ${share("file")}`);
    assert.ok(unlabelled / pool.length > 0.05 && unlabelled / pool.length < 0.15, `unlabelled ${unlabelled}`);
  });

  it("loads a pool built in a child process, byte for byte", () => {
    const pool = loadPool("exec", 32);
    assert.deepEqual(
      pool.map((b) => Buffer.from(b)),
      encode(execMessages(32)).map((b) => Buffer.from(b)),
    );
    const msg = fromBinary(tetragon.GetEventsResponseSchema, pool[0] as Uint8Array);
    assert.equal(msg.event.case, "processExec");
  });
});
