/**
 * A binary min-heap on (deadline, insertion order) in parallel arrays: the
 * engine's event-time timers and its reorder buffer. Equal deadlines come out
 * in the order they went in.
 */
export class TimerHeap<T> {
  #at: number[] = [];
  #seq: number[] = [];
  #items: T[] = [];
  #next = 0;

  get size(): number {
    return this.#at.length;
  }

  /** The earliest deadline, or Infinity when empty. */
  peek(): number {
    return this.#at.length === 0 ? Infinity : (this.#at[0] as number);
  }

  #less(i: number, at: number, seq: number): boolean {
    const a = this.#at[i] as number;
    return a < at || (a === at && (this.#seq[i] as number) < seq);
  }

  push(at: number, item: T): void {
    const a = this.#at;
    const s = this.#seq;
    const it = this.#items;
    const seq = this.#next++;
    let i = a.length;
    a.push(at);
    s.push(seq);
    it.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#less(p, at, seq)) break;
      a[i] = a[p] as number;
      s[i] = s[p] as number;
      it[i] = it[p] as T;
      i = p;
    }
    a[i] = at;
    s[i] = seq;
    it[i] = item;
  }

  /** Removes and returns the earliest item (call only when size > 0). */
  pop(): T {
    const a = this.#at;
    const s = this.#seq;
    const it = this.#items;
    const top = it[0] as T;
    const lastAt = a.pop() as number;
    const lastSeq = s.pop() as number;
    const lastItem = it.pop() as T;
    if (a.length > 0) {
      // The last item goes to the root and sinks to its place.
      a[0] = lastAt;
      s[0] = lastSeq;
      it[0] = lastItem;
      this.#down(0);
    }
    return top;
  }

  /**
   * Keeps only the items `keep` accepts (with their deadlines and order) and rebuilds the
   * heap in O(n). Returns how many were dropped. The engine uses it to shed timers whose
   * partial match was replaced or removed, which would otherwise stay until their deadline.
   */
  retain(keep: (at: number, item: T) => boolean): number {
    const a = this.#at;
    const s = this.#seq;
    const it = this.#items;
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      if (!keep(a[i] as number, it[i] as T)) continue;
      a[n] = a[i] as number;
      s[n] = s[i] as number;
      it[n] = it[i] as T;
      n++;
    }
    const dropped = a.length - n;
    a.length = n;
    s.length = n;
    it.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#down(i);
    return dropped;
  }

  #down(i: number): void {
    const a = this.#at;
    const s = this.#seq;
    const it = this.#items;
    const n = a.length;
    const at = a[i] as number;
    const seq = s[i] as number;
    const item = it[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#less(r, a[l] as number, s[l] as number) ? r : l;
      if (!this.#less(c, at, seq)) break;
      a[i] = a[c] as number;
      s[i] = s[c] as number;
      it[i] = it[c] as T;
      i = c;
    }
    a[i] = at;
    s[i] = seq;
    it[i] = item;
  }
}
