/**
 * Live ordering for the join. The proxy publishes a call's start trace before
 * it forwards the request, but that trace reaches the agent over the network
 * (controller → agent stream) while the kernel events the call causes come from
 * the node's own sensor, and can get here first. The correlator needs the call
 * open before the events it caused, so the live agent holds runtime records back
 * for `holdMs` (wall clock) and lets call traces through at once: a trace that
 * is up to `holdMs` late still opens its window first.
 *
 * Records keep their order among themselves. Held records are bounded: past
 * `maxHeld` the oldest is released early (counted as `correlator_hold_overflow`).
 * Replay does not need this: it merges recordings by event time.
 */
import type { Counters } from "@hangar/core";
import type { SourceRecord } from "../sources/records.js";

export interface HoldOptions {
  /** How long runtime records wait for late call traces (default 250 ms). */
  holdMs?: number;
  /** Most runtime records held at once (default 100 000). */
  maxHeld?: number;
  counters: Counters;
}

export async function* holdRuntime(
  records: AsyncIterable<SourceRecord>,
  options: HoldOptions,
  signal: AbortSignal,
): AsyncGenerator<SourceRecord> {
  const holdMs = options.holdMs ?? 250;
  const maxHeld = options.maxHeld ?? 100_000;
  // Held records and when each is due, side by side (no wrapper object per record: every
  // held record outlives a young-generation collection, and each object there is copied).
  const held: (SourceRecord | undefined)[] = [];
  const due: number[] = [];
  let heldHead = 0;
  const ready: SourceRecord[] = [];
  let readyHead = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const release = (now: number): void => {
    while (heldHead < held.length && (due[heldHead] as number) <= now) {
      ready.push(held[heldHead] as SourceRecord);
      held[heldHead++] = undefined;
    }
    if (heldHead > 1024 && heldHead * 2 > held.length) {
      held.splice(0, heldHead);
      due.splice(0, heldHead);
      heldHead = 0;
    }
  };
  const arm = (): void => {
    if (timer !== undefined || heldHead >= held.length) return;
    const wait = Math.max(0, (due[heldHead] as number) - performance.now());
    timer = setTimeout(() => {
      timer = undefined;
      release(performance.now());
      arm();
      poke();
    }, wait);
  };
  const pump = (async () => {
    try {
      for await (const rec of records) {
        if (rec.sensor === "proxy") ready.push(rec);
        else {
          held.push(rec);
          due.push(performance.now() + holdMs);
          if (held.length - heldHead > maxHeld) {
            ready.push(held[heldHead] as SourceRecord);
            held[heldHead++] = undefined;
            options.counters.inc("correlator_hold_overflow");
          }
          arm();
        }
        poke();
        if (signal.aborted) break;
      }
    } catch (err) {
      failure =
        err instanceof Error
          ? err
          : new Error(`the record stream failed: ${JSON.stringify(err)}`, { cause: err });
    } finally {
      ended = true;
      poke();
    }
  })();
  const onAbort = (): void => poke();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      while (readyHead < ready.length) {
        const rec = ready[readyHead] as SourceRecord;
        ready[readyHead++] = undefined as unknown as SourceRecord;
        yield rec;
      }
      ready.length = 0;
      readyHead = 0;
      if (ended) {
        // The input ended: what is still held goes now, in order.
        release(Infinity);
        if (readyHead < ready.length) continue;
        if (failure !== undefined) throw failure;
        return;
      }
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (timer !== undefined) clearTimeout(timer);
    void pump;
  }
}
