/**
 * One SIEM destination as a batch processor: a bounded in-memory queue, batches of up to
 * `maxBatch` records sent when full or after `flushIntervalMs`, an export timeout, counters,
 * and a shutdown that flushes once.
 *
 * Delivery is at-least-once, in order. While the destination is healthy, records go from
 * memory to the transport. When a send fails, a stream connection drops, or the queue
 * overflows, everything not yet confirmed (sent within the confirmation window, the failed
 * batch, the queue) moves to the destination's disk spool in order, and from then on new
 * records are appended to the spool too; the worker sends from the spool (with capped
 * exponential backoff while the destination is down), acknowledges what is confirmed, and
 * returns to memory mode once the spool is empty. Records resent after a lost connection may
 * arrive twice; none is lost unless the spool overflows (counted).
 *
 * Write-ahead (`writeAhead`, the default with a spool): every record goes to the spool first
 * (group commit: what arrives during one write and fdatasync goes in the next) and is sent from
 * there, always, so a crash (`kill -9`, OOM) loses only the records of the write under way —
 * not the records a memory queue would hold for up to flush-ms plus a send. Without it
 * (`wal=off`), records go from memory while the destination is healthy, and a crash loses
 * what was queued or being sent (the window measured in docs/reference/siem-export.md).
 *
 * Counters (label `destination`): siem_records, siem_sent, siem_spooled, siem_resent,
 * siem_send_errors, siem_dropped{reason: queue_full|spool_overflow|spool_full|spool_error|encode_error|closed},
 * and the gauges siem_queue_depth, siem_spool_records, siem_spool_bytes, siem_up.
 */
import type { Logger } from "pino";
import {
  Backoff,
  type BackoffOptions,
  type Counters,
  type DiskSpool,
  type SpoolPosition,
} from "@hangar/core";
import type { Transport } from "./transport.js";

export interface DestinationOptions {
  /** Names the destination in counters, logs and the spool directory. */
  readonly name: string;
  readonly transport: Transport;
  /** Durable spool; without one, records are held in memory only (bounded, drops counted). */
  readonly spool?: DiskSpool;
  /** With a spool: every record to the spool before it is sent (default true). */
  readonly writeAhead?: boolean;
  /** Records held in memory before the destination spills to the spool (default 8192). */
  readonly maxQueue?: number;
  /** Records per send (default 512). */
  readonly maxBatch?: number;
  /** Longest a record waits for a batch to fill (default 200 ms). */
  readonly flushIntervalMs?: number;
  /** Limit for one send, connect included (default 10 000 ms). */
  readonly exportTimeoutMs?: number;
  /**
   * Stream transports: how long a connection must stay up after a write before the write
   * counts as delivered (default 1000 ms). Records sent within this window are resent if the
   * connection drops.
   */
  readonly confirmMs?: number;
  /**
   * The resend window: at most this many sent records are kept for a resend (default 16 384);
   * older ones count as delivered even inside the confirmation window.
   */
  readonly maxInflight?: number;
  readonly backoff?: BackoffOptions;
  readonly counters: Counters;
  readonly logger: Logger;
}

interface Inflight {
  readonly count: number;
  /** Memory mode: the records themselves. */
  readonly records?: Buffer[];
  /** Spool mode: the spool position after the batch. */
  readonly next?: SpoolPosition;
  readonly generation: number;
  readonly sentAt: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Destination {
  readonly name: string;
  readonly #o: DestinationOptions;
  readonly #t: Transport;
  readonly #spool: DiskSpool | undefined;
  readonly #labels: { destination: string };
  readonly #backoff: Backoff;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #flushMs: number;
  readonly #timeoutMs: number;
  readonly #confirmMs: number;
  readonly #maxInflight: number;
  #queue: Buffer[] = [];
  #firstQueuedAt = 0;
  #inflight: Inflight[] = [];
  #inflightRecords = 0;
  #spooling: boolean;
  readonly #writeAhead: boolean;
  #readPos: SpoolPosition | undefined;
  #retryAt = 0;
  #closed = false;
  /** The spool's disk was full at the last spill (logged once per episode). */
  #diskFull = false;
  #stopping = false;
  #flushRequested = 0;
  #wake: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #worker: Promise<void>;

  constructor(o: DestinationOptions) {
    this.#o = o;
    this.name = o.name;
    this.#t = o.transport;
    this.#spool = o.spool;
    this.#labels = { destination: o.name };
    this.#backoff = new Backoff({ initialMs: 250, maxMs: 30_000, ...o.backoff });
    this.#maxQueue = o.maxQueue ?? 8192;
    this.#maxBatch = o.maxBatch ?? 512;
    this.#flushMs = o.flushIntervalMs ?? 200;
    this.#timeoutMs = o.exportTimeoutMs ?? 10_000;
    this.#confirmMs = o.transport.stream ? (o.confirmMs ?? 1000) : 0;
    this.#maxInflight = o.maxInflight ?? 16_384;
    this.#writeAhead = o.spool !== undefined && (o.writeAhead ?? true);
    this.#spooling = this.#writeAhead || (o.spool?.pending ?? 0) > 0;
    if ((o.spool?.pending ?? 0) > 0) {
      o.logger.info(
        { destination: o.name, pending: o.spool?.pending },
        "SIEM destination starts with a non-empty spool; sending it first",
      );
    }
    this.#gauges();
    this.#worker = this.#run().catch((err: unknown) => {
      o.logger.error({ err, destination: o.name }, "SIEM destination worker failed");
    });
  }

  /** Takes one encoded record. Never blocks; drops are counted. */
  write(record: Buffer): void {
    const c = this.#o.counters;
    if (this.#closed) {
      c.inc("siem_dropped", { ...this.#labels, reason: "closed" });
      return;
    }
    c.inc("siem_records", this.#labels);
    if (this.#queue.length >= this.#maxQueue) {
      if (this.#spool === undefined || this.#queue.length >= this.#maxQueue * 2) {
        c.inc("siem_dropped", { ...this.#labels, reason: "queue_full" });
        return;
      }
      // Behind: spill to the spool rather than drop.
      this.#spooling = true;
    }
    const first = this.#queue.length === 0;
    if (first) this.#firstQueuedAt = Date.now();
    this.#queue.push(record);
    // The first record starts the flush timer; a full batch or spooling needs the worker now.
    if (first || this.#queue.length >= this.#maxBatch || this.#spooling) this.#wakeUp();
  }

  /** Resolves when everything written so far is delivered (confirmed) or in the spool. */
  flush(): Promise<void> {
    this.#flushRequested++;
    this.#wakeUp();
    return new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    }).finally(() => {
      this.#flushRequested--;
    });
  }

  /**
   * Stops taking records, delivers or spools what is queued, waits up to the confirmation
   * window for what is in flight, spools anything still unconfirmed, and closes.
   */
  async shutdown(timeoutMs = 5_000): Promise<void> {
    if (this.#closed) return this.#worker;
    this.#closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.#stopping = true;
    this.#wakeUp();
    await this.#worker;
    await this.#t.close().catch(() => undefined);
    await this.#spool?.close();
    this.#gauges();
  }

  /** Records waiting in memory. */
  get queued(): number {
    return this.#queue.length;
  }

  get spooling(): boolean {
    return this.#spooling;
  }

  /** The spool, if any (health reads whether its disk is full). */
  get spool(): DiskSpool | undefined {
    return this.#spool;
  }

  #wakeUp(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #idle(): boolean {
    return (
      this.#queue.length === 0 && this.#inflight.length === 0 && (!this.#spooling || this.#sendingDone())
    );
  }

  /** Spool mode counts as idle once the queue is in the spool and nothing is in flight. */
  #sendingDone(): boolean {
    return this.#queue.length === 0 && this.#inflight.length === 0;
  }

  #checkIdle(): void {
    if (!this.#idle()) return;
    const waiters = this.#idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  #gauges(): void {
    const c = this.#o.counters;
    c.set("siem_queue_depth", this.#queue.length, this.#labels);
    c.set("siem_spool_records", this.#spool?.pending ?? 0, this.#labels);
    c.set("siem_spool_bytes", this.#spool?.bytes ?? 0, this.#labels);
    c.set("siem_up", this.#retryAt === 0 ? 1 : 0, this.#labels);
  }

  async #wait(ms: number): Promise<void> {
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    for (;;) {
      await this.#confirm();
      this.#gauges();
      this.#checkIdle();
      if (this.#stopping) {
        await this.#finish();
        return;
      }
      const now = Date.now();
      if (this.#retryAt > now) {
        // Down: keep the queue in the spool while waiting for the next attempt.
        if (this.#queue.length > 0 && this.#spool !== undefined) {
          await this.#spill(this.#queue.splice(0));
          continue;
        }
        await this.#wait(this.#retryAt - now);
        continue;
      }
      if (this.#spooling) {
        if (this.#queue.length > 0) {
          await this.#spill(this.#queue.splice(0));
          continue;
        }
        const spool = this.#spool as DiskSpool;
        const batch = await spool.read(this.#maxBatch, 1 << 20, this.#readPos);
        if (batch.records.length === 0) {
          if (!this.#writeAhead && this.#inflight.length === 0 && spool.pending === 0) {
            this.#spooling = false;
            this.#readPos = undefined;
            this.#o.logger.info({ destination: this.name }, "SIEM spool drained; back to direct delivery");
            continue;
          }
          await this.#wait(this.#inflight.length > 0 ? this.#nextConfirmIn() : this.#flushMs);
          continue;
        }
        if (await this.#send(batch.records)) {
          this.#readPos = batch.next;
          this.#track({ count: batch.records.length, next: batch.next });
          if (this.#inflightRecords > this.#maxInflight) await this.#confirm();
        } else {
          await this.#failed([]);
        }
        continue;
      }
      // Memory mode.
      const due =
        this.#queue.length >= this.#maxBatch ||
        (this.#queue.length > 0 && (this.#flushRequested > 0 || now - this.#firstQueuedAt >= this.#flushMs));
      if (!due) {
        const waitMs =
          this.#queue.length > 0
            ? this.#flushMs - (now - this.#firstQueuedAt)
            : this.#inflight.length > 0
              ? this.#nextConfirmIn()
              : 60_000;
        await this.#wait(waitMs);
        continue;
      }
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#firstQueuedAt = Date.now();
      if (await this.#send(batch)) {
        this.#track({ count: batch.length, records: batch });
        if (this.#inflightRecords > this.#maxInflight) await this.#confirm();
      } else await this.#failed(batch);
    }
  }

  #nextConfirmIn(): number {
    const first = this.#inflight[0];
    return first === undefined ? this.#flushMs : Math.max(1, first.sentAt + this.#confirmMs - Date.now());
  }

  async #send(records: Buffer[]): Promise<boolean> {
    try {
      await this.#t.send(records, this.#timeoutMs);
      if (this.#retryAt !== 0) {
        this.#o.logger.info({ destination: this.name }, "SIEM destination reachable again");
      }
      this.#retryAt = 0;
      this.#backoff.reset();
      return true;
    } catch (err) {
      this.#o.counters.inc("siem_send_errors", this.#labels);
      const delay = this.#backoff.next();
      this.#retryAt = Date.now() + delay;
      this.#o.logger.warn(
        {
          destination: this.name,
          code: "HANGAR_ERR_SIEM_SEND",
          err: err instanceof Error ? err.message : String(err),
          retryInMs: delay,
        },
        `SIEM destination ${this.#t.describe} failed; ${this.#spool === undefined ? "holding records in memory" : "spooling"}`,
      );
      return false;
    }
  }

  #track(e: { count: number; records?: Buffer[]; next?: SpoolPosition }): void {
    const entry: Inflight = { ...e, generation: this.#t.generation, sentAt: Date.now() };
    this.#inflight.push(entry);
    this.#inflightRecords += e.count;
  }

  /** Confirms what has been sent long enough ago on a connection that is still up. */
  async #confirm(): Promise<void> {
    if (this.#inflight.length === 0) return;
    const gen = this.#t.generation;
    if (this.#inflight.some((f) => f.generation !== gen)) {
      // The connection that carried them is gone: resend.
      this.#o.counters.inc("siem_resent", this.#labels, this.#inflightRecords);
      this.#o.logger.warn(
        { destination: this.name, records: this.#inflightRecords },
        "SIEM connection lost with unconfirmed records; resending them",
      );
      const delay = this.#backoff.next();
      this.#retryAt = Date.now() + delay;
      await this.#failed([]);
      return;
    }
    const now = Date.now();
    let n = 0;
    let last: Inflight | undefined;
    let count = 0;
    while (n < this.#inflight.length) {
      const f = this.#inflight[n] as Inflight;
      // Old enough, or pushed out of the resend window by newer records.
      const beyondWindow = this.#inflightRecords - count > this.#maxInflight;
      if (this.#confirmMs > 0 && now - f.sentAt < this.#confirmMs && !beyondWindow) break;
      last = f;
      count += f.count;
      n++;
    }
    if (n === 0 || last === undefined) return;
    this.#inflight.splice(0, n);
    this.#inflightRecords -= count;
    if (last.next !== undefined && this.#spool !== undefined) {
      try {
        await this.#spool.ack(last.next, count);
      } catch (err) {
        this.#o.logger.error(
          { err, destination: this.name, code: "HANGAR_ERR_SPOOL" },
          "could not record delivery in the spool; those records may be sent again",
        );
      }
    }
    this.#o.counters.inc("siem_sent", this.#labels, count);
  }

  /**
   * A send failed or a connection dropped. Memory mode: everything unconfirmed, the failed
   * batch and the queue go to the spool, in that order. Spool mode: rewind to the last ack.
   */
  async #failed(batch: Buffer[]): Promise<void> {
    if (this.#spooling) {
      this.#inflight = [];
      this.#inflightRecords = 0;
      this.#readPos = undefined;
      return;
    }
    const unconfirmed: Buffer[] = [];
    for (const f of this.#inflight) if (f.records !== undefined) unconfirmed.push(...f.records);
    this.#inflight = [];
    this.#inflightRecords = 0;
    const all = [...unconfirmed, ...batch, ...this.#queue.splice(0)];
    if (this.#spool === undefined) {
      // No spool: keep them in memory, newest dropped beyond the bound.
      const keep = all.slice(0, this.#maxQueue);
      const dropped = all.length - keep.length;
      if (dropped > 0)
        this.#o.counters.inc("siem_dropped", { ...this.#labels, reason: "queue_full" }, dropped);
      this.#queue = keep;
      this.#firstQueuedAt = Date.now();
      return;
    }
    this.#spooling = true;
    this.#readPos = undefined;
    await this.#spill(all);
  }

  async #spill(records: Buffer[]): Promise<void> {
    if (records.length === 0) return;
    const spool = this.#spool as DiskSpool;
    try {
      const { dropped, refused } = await spool.write(records);
      this.#o.counters.inc("siem_spooled", this.#labels, records.length - refused);
      let lost = refused;
      if (refused > 0 && this.#writeAhead && this.#retryAt === 0 && !this.#stopping) {
        // Write-ahead on a full disk while the destination is up: send what the disk refused
        // straight from memory (best effort: not resent if this connection drops, and ahead
        // of older records still in the spool) rather than drop it.
        const rest = records.slice(records.length - refused);
        if (await this.#send(rest)) {
          this.#o.counters.inc("siem_sent", this.#labels, rest.length);
          lost = 0;
        }
      }
      if (refused > 0) {
        // A full disk: what did not fit is dropped (the oldest stay on disk, in order).
        if (lost > 0) this.#o.counters.inc("siem_dropped", { ...this.#labels, reason: "spool_full" }, lost);
        if (!this.#diskFull) {
          this.#diskFull = true;
          this.#o.logger.error(
            { destination: this.name, code: "HANGAR_ERR_SPOOL", dir: spool.dir, error: spool.full?.error },
            "SIEM spool disk is full: records that do not fit are sent from memory while the destination is up, else dropped and counted (siem_dropped{reason=spool_full}), until there is room again",
          );
        }
      } else if (this.#diskFull) {
        this.#diskFull = false;
        this.#o.logger.info({ destination: this.name, dir: spool.dir }, "SIEM spool disk has room again");
      }
      if (dropped > 0) {
        this.#o.counters.inc("siem_dropped", { ...this.#labels, reason: "spool_overflow" }, dropped);
        this.#o.logger.warn(
          { destination: this.name, dropped, policy: spool.overflow },
          "SIEM spool full; records dropped by the overflow policy",
        );
      }
    } catch (err) {
      this.#o.counters.inc("siem_dropped", { ...this.#labels, reason: "spool_error" }, records.length);
      this.#o.logger.error(
        { err, destination: this.name, code: "HANGAR_ERR_SPOOL", records: records.length },
        "could not write to the SIEM spool; records dropped",
      );
    }
  }

  /** Shutdown: wait out the confirmation window, then spool whatever is still unconfirmed. */
  async #finish(): Promise<void> {
    const deadline = Date.now() + this.#confirmMs + 50;
    while (this.#inflight.length > 0 && Date.now() < deadline) {
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
      await this.#confirm();
    }
    if (this.#spool !== undefined && !this.#spooling) {
      const rest: Buffer[] = [];
      for (const f of this.#inflight) if (f.records !== undefined) rest.push(...f.records);
      rest.push(...this.#queue.splice(0));
      await this.#spill(rest);
    } else if (this.#spool !== undefined) {
      await this.#spill(this.#queue.splice(0));
    } else if (this.#queue.length > 0) {
      this.#o.counters.inc("siem_dropped", { ...this.#labels, reason: "closed" }, this.#queue.length);
      this.#queue = [];
    }
    this.#inflight = [];
    this.#inflightRecords = 0;
    this.#checkIdle();
  }
}
