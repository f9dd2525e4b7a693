import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { MergedBaselineFanout } from "./baselines.js";

/** The hub's sendLatest, recorded; and merged baselines held in memory (the stage alone). */
function rig(debounceMs = 20) {
  const sent: string[] = [];
  const file = new Map<string, hangar.MergedBaseline>();
  let failing = false;
  const errors: string[] = [];
  const fanout = new MergedBaselineFanout({
    hub: {
      sendLatest: (node, key, m) => {
        const v = m.case === "mergedBaseline" ? m.value.version : -1n;
        sent.push(`${node} ${key} v${v}`);
        return 0n;
      },
    },
    merge: {
      merged: (provider) => {
        if (failing) return Promise.reject(new Error("database is locked"));
        return Promise.resolve(
          provider === undefined ? [...file.values()] : file.has(provider) ? [file.get(provider)!] : [],
        );
      },
    },
    debounceMs,
    onError: (err, provider) => errors.push(`${provider ?? "*"}: ${(err as Error).message}`),
  });
  const put = (provider: string, version: bigint, nodes: string[]): void =>
    void file.set(provider, create(hangar.MergedBaselineSchema, { provider, version, nodes }));
  return { fanout, sent, put, errors, fail: (f: boolean) => (failing = f) };
}

describe("MergedBaselineFanout", () => {
  it("sends a changed merged baseline once per host after the debounce", async () => {
    const { fanout, sent, put } = rig();
    put("notes", 1n, ["node-a"]);
    fanout.changed("notes", "node-a");
    put("notes", 2n, ["node-a", "node-b"]);
    fanout.changed("notes", "node-b");
    assert.deepEqual(sent, [], "nothing before the debounce");
    await sleep(60);
    await fanout.flush();
    assert.deepEqual(sent.sort(), ["node-a baseline/notes v2", "node-b baseline/notes v2"]);
    fanout.close();
  });

  it("a node that starts hosting the provider, and a node saying hello, get the newest at once", async () => {
    const { fanout, sent, put } = rig();
    put("notes", 3n, ["node-a"]);
    put("files", 1n, ["node-c"]);
    await fanout.load();
    assert.deepEqual(fanout.hostsOf("notes"), ["node-a"], "hosts from the file");
    fanout.hosted("notes", "node-d"); // the proxy sent node-d a call trace of notes
    fanout.hosted("notes", "node-d");
    assert.deepEqual(sent, ["node-d baseline/notes v3"]);
    fanout.hello("node-a");
    await sleep(0);
    assert.deepEqual(sent.slice(1), ["node-a baseline/notes v3"], "only what node-a hosts");
    fanout.hello("node-z");
    await sleep(0);
    assert.equal(sent.length, 2, "a node hosting nothing gets nothing");
    fanout.close();
  });

  it("a merged baseline that cannot be read is reported and tried again with the next change", async () => {
    const { fanout, sent, put, errors, fail } = rig();
    put("notes", 1n, ["node-a"]);
    fail(true);
    fanout.changed("notes", "node-a");
    await sleep(60);
    assert.deepEqual(errors, ["notes: database is locked"]);
    assert.deepEqual(sent, []);
    fail(false);
    put("notes", 2n, ["node-a"]);
    fanout.changed("files", "node-c");
    await sleep(60);
    await fanout.flush();
    assert.deepEqual(sent, ["node-a baseline/notes v2"], "notes again, with the next change");
    fanout.close();
  });
});
