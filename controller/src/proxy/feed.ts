/**
 * The proxy's call traces as a stream others can subscribe to. The agent hub
 * (agent⇄controller stream) subscribes and forwards each trace to the agent on
 * the node of the serving pod; tests plug a subscription straight into the
 * agent's `TraceSource` port (`{ traces(signal) }` has the same shape).
 *
 * Every call is published twice, with the same trace_id/span_id: when it is
 * forwarded (no end_time: the call is in flight, so runtime events during it can
 * be attributed live) and when it ends (end_time, status, sizes).
 *
 * Each subscriber has its own bounded queue: a slow subscriber loses its oldest
 * traces (counted in `dropped`), never slows the proxy, and never affects other
 * subscribers.
 */
import type { hangar } from "@hangar/proto";

export type CallTrace = hangar.CallTrace;

export interface SubscribeOptions {
  /** Traces held for this subscriber before the oldest are dropped. Default 10 000. */
  maxQueue?: number;
}

class Subscriber {
  readonly queue: CallTrace[] = [];
  head = 0;
  dropped = 0;
  wake: (() => void) | undefined;
  constructor(readonly max: number) {}

  push(t: CallTrace): void {
    if (this.queue.length - this.head >= this.max) {
      this.head++;
      this.dropped++;
    }
    this.queue.push(t);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

export class TraceFeed {
  readonly #subs = new Set<Subscriber>();
  #published = 0;
  #droppedTotal = 0;

  /** Traces published so far (both the start and the end of each call count). */
  get published(): number {
    return this.#published;
  }

  /** Traces dropped for slow subscribers, over all subscribers ever. */
  get dropped(): number {
    let d = this.#droppedTotal;
    for (const s of this.#subs) d += s.dropped;
    return d;
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  publish(trace: CallTrace): void {
    this.#published++;
    for (const s of this.#subs) s.push(trace);
  }

  /**
   * Traces published from this call on (the subscription starts now, not at the
   * first `next()`), until `signal` aborts.
   */
  subscribe(signal: AbortSignal, options: SubscribeOptions = {}): AsyncGenerator<CallTrace> {
    const sub = new Subscriber(options.maxQueue ?? 10_000);
    if (!signal.aborted) this.#subs.add(sub);
    return this.#drain(sub, signal);
  }

  async *#drain(sub: Subscriber, signal: AbortSignal): AsyncGenerator<CallTrace> {
    const onAbort = (): void => {
      const w = sub.wake;
      sub.wake = undefined;
      w?.();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        while (sub.head < sub.queue.length) {
          if (signal.aborted) return;
          const t = sub.queue[sub.head] as CallTrace;
          sub.queue[sub.head++] = undefined as unknown as CallTrace;
          yield t;
        }
        sub.queue.length = 0;
        sub.head = 0;
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          sub.wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#droppedTotal += sub.dropped;
      this.#subs.delete(sub);
    }
  }

  /** The agent's `TraceSource` port shape, for wiring a feed into an agent in-process. */
  source(options: SubscribeOptions = {}): { traces(signal: AbortSignal): AsyncIterable<CallTrace> } {
    return { traces: (signal: AbortSignal) => this.subscribe(signal, options) };
  }
}
