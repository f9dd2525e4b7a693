import type { Counters } from "./counters.js";

export interface BoundedQueueOptions {
  /** Maximum number of items held; pushes beyond it are dropped and counted. */
  capacity: number;
  /** Name used in counters: `queue_dropped{queue=<name>,reason=full|closed}`. */
  name: string;
  counters: Counters;
}

/**
 * A bounded single-consumer queue that is also an AsyncIterable. Producers never
 * wait: when the queue is full the new item is dropped and counted (the sensor
 * side keeps flowing; a slow pipeline loses the newest events, visibly).
 * `close()` lets the consumer drain what is queued and then ends the iteration.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #name: string;
  readonly #counters: Counters;
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #error: unknown = undefined;
  #waiter: (() => void) | undefined = undefined;

  constructor(options: BoundedQueueOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`queue ${options.name}: capacity must be a positive integer`);
    }
    this.#capacity = options.capacity;
    this.#name = options.name;
    this.#counters = options.counters;
    // Its depth, read when metrics are collected: queue_depth{queue=<name>}.
    options.counters.gauge("queue_depth", { queue: options.name }, () => this.size);
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Returns false when the item was dropped (queue full or closed). */
  push(item: T): boolean {
    if (this.#closed) {
      this.#counters.inc("queue_dropped", { queue: this.#name, reason: "closed" });
      return false;
    }
    if (this.size >= this.#capacity) {
      this.#counters.inc("queue_dropped", { queue: this.#name, reason: "full" });
      return false;
    }
    this.#items.push(item);
    this.#wake();
    return true;
  }

  /** Ends the queue; queued items are still delivered. With an error, iteration throws after draining. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w();
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.#head < this.#items.length) {
        const item = this.#items[this.#head] as T;
        this.#head++;
        if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        yield item;
      }
      if (this.#closed) {
        if (this.#error !== undefined) {
          throw this.#error instanceof Error
            ? this.#error
            : new Error("queue closed with an error", { cause: this.#error });
        }
        return;
      }
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }
}
