import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { TraceFeed } from "./feed.js";

const trace = (n: number) => create(hangar.CallTraceSchema, { spanId: String(n) });

async function nextId(it: AsyncIterator<hangar.CallTrace>): Promise<string | undefined> {
  const r = await it.next();
  return r.done === true ? undefined : r.value.spanId;
}

describe("TraceFeed", () => {
  it("delivers to every subscriber from the moment it subscribed, until its signal aborts", async () => {
    const feed = new TraceFeed();
    feed.publish(trace(0));
    const ac = new AbortController();
    const a = feed.subscribe(ac.signal);
    const b = feed.source().traces(ac.signal)[Symbol.asyncIterator]();
    feed.publish(trace(1));
    feed.publish(trace(2));
    assert.equal(await nextId(a), "1");
    assert.equal(await nextId(a), "2");
    assert.equal(await nextId(b), "1");
    const pending = a.next();
    ac.abort();
    assert.equal((await pending).done, true);
    assert.equal(feed.published, 3);
  });

  it("a slow subscriber loses its oldest traces, counted, and nobody else does", async () => {
    const feed = new TraceFeed();
    const ac = new AbortController();
    const slow = feed.subscribe(ac.signal, { maxQueue: 2 });
    const fast = feed.subscribe(ac.signal);
    for (let i = 0; i < 5; i++) feed.publish(trace(i));
    assert.equal(await nextId(slow), "3");
    assert.equal(await nextId(slow), "4");
    for (let i = 0; i < 5; i++) assert.equal(await nextId(fast), String(i));
    assert.equal(feed.dropped, 3);
    ac.abort();
    await slow.return(undefined);
    await fast.return(undefined);
    assert.equal(feed.subscribers, 0);
    assert.equal(feed.dropped, 3, "drops stay counted after the subscriber left");
  });
});
