import assert from "node:assert/strict";
import { it } from "node:test";
import { TimerHeap } from "./heap.js";

/** A tiny deterministic generator (the test must repeat exactly). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

it("TimerHeap: pops by deadline, equal deadlines in insertion order, interleaved with pushes and retain", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const heap = new TimerHeap<number>();
    // The model: a list kept sorted by (deadline, insertion number).
    let model: { at: number; n: number }[] = [];
    let n = 0;
    for (let step = 0; step < 300; step++) {
      const op = r();
      if (op < 0.55) {
        const at = Math.floor(r() * 20); // few distinct deadlines: many ties
        heap.push(at, n);
        model.push({ at, n });
        n++;
      } else if (op < 0.95) {
        if (model.length === 0) continue;
        model.sort((x, y) => x.at - y.at || x.n - y.n);
        const want = model.shift() as { at: number; n: number };
        assert.equal(heap.peek(), want.at, `seed ${seed} step ${step}: peek`);
        assert.equal(heap.pop(), want.n, `seed ${seed} step ${step}: pop`);
      } else {
        const odd = (x: number): boolean => x % 2 === 1;
        const dropped = heap.retain((_at, item) => !odd(item));
        assert.equal(dropped, model.filter((m) => odd(m.n)).length, `seed ${seed} step ${step}: retain`);
        model = model.filter((m) => !odd(m.n));
      }
      assert.equal(heap.size, model.length);
    }
  }
  assert.equal(new TimerHeap<number>().peek(), Infinity);
});
