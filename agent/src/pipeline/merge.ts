/** Several record sources as one async stream, in arrival order (the live agent's sensors). */

/**
 * Merges several async iterables into one, in arrival order. Ends when all end;
 * an error in one ends the merge with that error.
 */
export async function* merge<T>(sources: readonly AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const pull = (i: number): void => {
    const it = iterators[i];
    if (it !== undefined)
      pending.set(
        i,
        it.next().then((r) => ({ i, r })),
      );
  };
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done === true) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield r.value;
    }
  } finally {
    // Every source still in `pending` has a next() in flight. An async generator
    // handles return() only after that next() settles, which for an idle live
    // source may be never: awaiting it here would hang the merge instead of
    // ending it. Close them without waiting, and ignore what the next() brings.
    for (const [i, p] of pending) {
      p.catch(() => undefined);
      iterators[i]?.return?.()?.catch(() => undefined);
    }
  }
}
