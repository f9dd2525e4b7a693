import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Counters } from "./counters.js";
import { BoundedQueue } from "./queue.js";

function queue<T>(capacity: number, counters = new Counters()): BoundedQueue<T> {
  return new BoundedQueue<T>({ capacity, name: "q", counters });
}

async function drain<T>(q: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of q) out.push(v);
  return out;
}

describe("BoundedQueue", () => {
  it("rejects a capacity that is not a positive integer", () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new BoundedQueue({ capacity, name: "bad", counters: new Counters() }),
        /queue bad: capacity must be a positive integer/,
      );
    }
  });

  it("delivers items in FIFO order", { timeout: 5000 }, async () => {
    const q = queue<number>(10);
    for (let i = 0; i < 5; i++) assert.equal(q.push(i), true);
    assert.equal(q.size, 5);
    q.close();
    assert.deepEqual(await drain(q), [0, 1, 2, 3, 4]);
    assert.equal(q.size, 0);
  });

  it("drops pushes beyond capacity and counts them with reason full", { timeout: 5000 }, async () => {
    const counters = new Counters();
    const q = queue<number>(2, counters);
    assert.equal(q.push(1), true);
    assert.equal(q.push(2), true);
    assert.equal(q.push(3), false);
    assert.equal(q.push(4), false);
    assert.equal(counters.get("queue_dropped", { queue: "q", reason: "full" }), 2);
    q.close();
    assert.deepEqual(await drain(q), [1, 2]);
  });

  it("has room again once the consumer has taken items", { timeout: 5000 }, async () => {
    const counters = new Counters();
    const q = queue<number>(1, counters);
    const it = q[Symbol.asyncIterator]();
    q.push(1);
    assert.deepEqual(await it.next(), { value: 1, done: false });
    assert.equal(q.push(2), true);
    assert.equal(counters.get("queue_dropped", { queue: "q", reason: "full" }), 0);
  });

  it("drops pushes after close and counts them with reason closed", { timeout: 5000 }, async () => {
    const counters = new Counters();
    const q = queue<number>(5, counters);
    q.push(1);
    q.close();
    assert.equal(q.closed, true);
    assert.equal(q.push(2), false);
    assert.equal(counters.get("queue_dropped", { queue: "q", reason: "closed" }), 1);
    assert.equal(counters.get("queue_dropped", { queue: "q", reason: "full" }), 0);
    assert.deepEqual(await drain(q), [1]);
  });

  it("close drains what is queued, then ends the iteration", { timeout: 5000 }, async () => {
    const q = queue<string>(5);
    q.push("a");
    q.push("b");
    q.close();
    q.close(new Error("ignored: already closed"));
    assert.deepEqual(await drain(q), ["a", "b"]);
  });

  it("close(error) delivers queued items first, then throws that error", { timeout: 5000 }, async () => {
    const q = queue<string>(5);
    q.push("a");
    q.push("b");
    const boom = new Error("stream failed");
    q.close(boom);
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const v of q) seen.push(v);
    }, boom);
    assert.deepEqual(seen, ["a", "b"]);
  });

  it("close with a non-Error value throws an Error with that value as cause", { timeout: 5000 }, async () => {
    const q = queue<string>(5);
    q.close("reason");
    await assert.rejects(drain(q), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /queue closed with an error/);
      assert.equal(err.cause, "reason");
      return true;
    });
  });

  it("wakes a waiting consumer on push", { timeout: 5000 }, async () => {
    const q = queue<number>(5);
    const it = q[Symbol.asyncIterator]();
    const next = it.next();
    let settled = false;
    void next.then(() => {
      settled = true;
    });
    await delay(5);
    assert.equal(settled, false, "consumer must wait while the queue is empty");
    q.push(7);
    assert.deepEqual(await next, { value: 7, done: false });
  });

  it("wakes a waiting consumer on close", { timeout: 5000 }, async () => {
    const q = queue<number>(5);
    const it = q[Symbol.asyncIterator]();
    const next = it.next();
    await delay(5);
    q.close();
    assert.deepEqual(await next, { value: undefined, done: true });
  });

  it(
    "keeps FIFO order across its internal compaction (more than 1024 items through)",
    { timeout: 5000 },
    async () => {
      const q = queue<number>(5000);
      const it = q[Symbol.asyncIterator]();
      const got: number[] = [];
      for (let i = 0; i < 3000; i++) q.push(i);
      for (let i = 0; i < 2000; i++) {
        const r = await it.next();
        if (r.done === true) break;
        got.push(r.value);
      }
      for (let i = 3000; i < 4000; i++) q.push(i);
      assert.equal(q.size, 2000);
      q.close();
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        got.push(r.value);
      }
      assert.deepEqual(
        got,
        Array.from({ length: 4000 }, (_, i) => i),
      );
    },
  );
});
