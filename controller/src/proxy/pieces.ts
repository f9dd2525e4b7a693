/**
 * Recycled 256 KiB buffers for the bytes of large answers that must outlive the
 * read that brought them: a read's bytes may be a view of a read buffer that is
 * reused (h1.ts), so what is kept (the start of a long SSE line, a JSON body's
 * first chunks, a piece waiting in a socket's write queue) is copied. Copies of
 * that size allocated per answer are memory outside the JavaScript heap, and
 * ~15 MB/s of it (three copies of the first 64–128 KiB of every large answer)
 * started a full garbage collection ("external memory pressure") every two
 * seconds; pieces taken from here and given back when done allocate nothing in
 * a steady state.
 */
export const PIECE_BYTES = 256 * 1024;

/** Pieces kept for reuse (4 MiB). */
export const MAX_FREE_PIECES = 16;
const free: Buffer[] = [];

/** A piece of PIECE_BYTES bytes (its contents are whatever it held last). */
export function takePiece(): Buffer {
  return free.pop() ?? Buffer.allocUnsafe(PIECE_BYTES);
}

/** Gives back a piece from `takePiece` that nothing refers to any more (not a view of one). */
export function givePiece(b: Buffer): void {
  if (b.length === PIECE_BYTES && free.length < MAX_FREE_PIECES) free.push(b);
}

/** Pieces free now (for tests). */
export function freePieces(): number {
  return free.length;
}

/** Below this many bytes kept, copies are made to size (see `KeptBytes`). */
export const EXACT_BELOW = 64 * 1024;

/**
 * Bytes copied into pieces, kept until `release()`: `views` are the copies in
 * order (each piece is filled before the next is taken, so many short reads
 * share a piece). Until EXACT_BELOW bytes are kept, copies are made to size
 * instead: a stream that stops in the middle of a short line (a slow or
 * hostile pod, on each of many sessions) then holds what it sent, not a
 * 256 KiB piece.
 */
export class KeptBytes {
  readonly #views: Buffer[] = [];
  #length = 0;
  readonly #owned: Buffer[] = [];
  /** The piece being filled: the last view is its used part. */
  #tail: Buffer | undefined;

  /** The copies, in order (views that are valid until `release()`). */
  get views(): readonly Buffer[] {
    return this.#views;
  }

  /** Bytes kept. */
  get length(): number {
    return this.#length;
  }

  /** The copies, then `last` (e.g. the rest of a line, still in the read buffer), as a new list. */
  viewsThen(last: Buffer): Buffer[] {
    return [...this.#views, last];
  }

  /** Appends a copy of `b`. */
  keep(b: Buffer): void {
    this.#length += b.length;
    if (this.#tail === undefined && this.#length < EXACT_BELOW) {
      this.#views.push(Buffer.from(b));
      return;
    }
    let off = 0;
    while (off < b.length) {
      let used = this.#tail === undefined ? 0 : (this.#views[this.#views.length - 1] as Buffer).length;
      if (this.#tail === undefined || used === this.#tail.length) {
        this.#tail = takePiece();
        this.#owned.push(this.#tail);
        this.#views.push(this.#tail.subarray(0, 0));
        used = 0;
      }
      const n = b.copy(this.#tail, used, off);
      off += n;
      this.#views[this.#views.length - 1] = this.#tail.subarray(0, used + n);
    }
  }

  /**
   * The bytes kept as one buffer of their own, which outlives `release()` (no copy when they are one
   * short copy already); then releases.
   */
  detach(): Buffer {
    const one = this.#views.length === 1 && this.#owned.length === 0 ? (this.#views[0] as Buffer) : undefined;
    const b = one ?? Buffer.concat(this.#views, this.#length);
    this.release();
    return b;
  }

  /** Forgets the bytes and gives the pieces back: no view of them may be used after this. */
  release(): void {
    for (const p of this.#owned) givePiece(p);
    this.#owned.length = 0;
    this.#tail = undefined;
    this.#views.length = 0;
    this.#length = 0;
  }
}
