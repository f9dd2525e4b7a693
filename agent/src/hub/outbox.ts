/**
 * The hub client's outbox: what the agent sends the controller (alerts, enforcement requests,
 * baseline deltas), numbered in order and kept until the hub acknowledges it.
 *
 *   MemoryOutbox  bounded by a count, in memory (library users and tests; lost on exit)
 *   DiskOutbox    a DiskSpool (agent/src/outputs/siem/spool.ts) under `<spool-dir>/hub`:
 *                 bounded by bytes, kept across restarts of the agent
 *
 * Sequence numbers are consecutive over the pending messages: the first one not yet
 * acknowledged has `firstSeq`, the next one appended gets `nextSeq`. The disk outbox keeps
 * messages without their number and stores `firstSeq` in the spool's ack.json, atomically
 * with the acknowledged position, so a new process numbers what it finds exactly as the
 * previous one did (the hub drops what it already has by number) and continues after it.
 *
 * Overflow policy: drop-oldest. Beyond the bound the oldest pending messages are deleted
 * (a whole spool segment at a time on disk) and counted (`hub_outbox_dropped{reason=overflow}`);
 * the hub sees a gap in the numbers, which it accepts. A message larger than the disk bound
 * can never be kept and is refused (`reason=too_large`, `append` returns 0n).
 *
 * A full disk (or another write error): what the disk refused stays in memory, in order, and
 * is written again every second; while that backlog is at its bound (`memoryBytes`, default
 * the segment size) new messages are refused and counted (`reason=spool_full`, or
 * `spool_error` for another disk error). `full` says so
 * (the agent's /healthz reports "degraded: spool full").
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { CoreError, DiskSpool, type SpoolPosition } from "@hangar/core";

type Req = hangar.ConnectRequest;

export interface HubOutbox {
  readonly kind: "memory" | "disk";
  /** Messages not yet acknowledged. */
  readonly pending: number;
  /** The number of the first message not yet acknowledged (= nextSeq when none is pending). */
  readonly firstSeq: bigint;
  /** The number the next appended message gets. */
  readonly nextSeq: bigint;
  /** Bytes on disk (0 for the memory outbox). */
  readonly bytes: number;
  /** Queues a message; returns its number, or 0n when it was refused (too large). */
  append(message: Req["message"]): bigint;
  /** The hub has everything up to and including `seq`. */
  ack(seq: bigint): void;
  /** Numbers the pending messages from `first` on (the hub already has higher numbers). */
  renumber(first: bigint): void;
  /** Up to `max` pending messages from number `from` on (from firstSeq when `from` is older), in order. */
  read(from: bigint, max: number): Promise<Req[]>;
  /** Waits for the disk writes under way and closes the files. */
  close(): Promise<void>;
  /** Called with what the overflow policy dropped (the HubClient sets it to count). */
  onDrop: OutboxDropHandler | undefined;
  /** Disk errors (the disk outbox keeps unwritten messages in memory and retries every second). */
  onError?: ((err: unknown) => void) | undefined;
  /** Called when appended messages became readable (the HubClient then sends them). */
  onWritten?: (() => void) | undefined;
  /** Set while the disk refuses writes (full): since when and why. */
  readonly full?: { readonly since: number; readonly error: string } | undefined;
}

export type OutboxDropReason = "overflow" | "too_large" | "spool_full" | "spool_error";
export type OutboxDropHandler = (count: number, reason: OutboxDropReason) => void;

export class MemoryOutbox implements HubOutbox {
  readonly kind = "memory";
  readonly #limit: number;
  onDrop: OutboxDropHandler | undefined;
  #items: Req[] = [];
  #next = 1n;

  constructor(o: { limit?: number; onDrop?: OutboxDropHandler } = {}) {
    this.#limit = o.limit ?? 100_000;
    this.onDrop = o.onDrop;
  }

  get pending(): number {
    return this.#items.length;
  }
  get firstSeq(): bigint {
    return this.#items[0]?.seq ?? this.#next;
  }
  get nextSeq(): bigint {
    return this.#next;
  }
  get bytes(): number {
    return 0;
  }

  append(message: Req["message"]): bigint {
    const req = create(hangar.ConnectRequestSchema, { seq: this.#next++, message });
    this.#items.push(req);
    if (this.#items.length > this.#limit) {
      const n = this.#items.length - this.#limit;
      this.#items.splice(0, n);
      this.onDrop?.(n, "overflow");
    }
    return req.seq;
  }

  ack(seq: bigint): void {
    let drop = 0;
    while (drop < this.#items.length && (this.#items[drop] as Req).seq <= seq) drop++;
    if (drop > 0) this.#items.splice(0, drop);
  }

  renumber(first: bigint): void {
    const shift = first - this.firstSeq;
    for (const r of this.#items) r.seq += shift;
    this.#next += shift;
  }

  read(from: bigint, max: number): Promise<Req[]> {
    const i = from <= this.firstSeq ? 0 : Number(from - this.firstSeq);
    return Promise.resolve(this.#items.slice(i, i + max));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface DiskOutboxOptions {
  /** The outbox directory, e.g. `<spool-dir>/hub`. */
  readonly dir: string;
  /** Bound of the spool files together (default 64 MiB). */
  readonly maxBytes?: number;
  /** Segment size (default maxBytes/8, at most 4 MiB); overflow drops whole segments. */
  readonly segmentBytes?: number;
  /** fdatasync after each append and acknowledgement (default true). */
  readonly fsync?: boolean;
  /** Messages the disk refused (full), kept in memory and retried, up to this many bytes (default: the segment size). */
  readonly memoryBytes?: number;
  readonly onDrop?: OutboxDropHandler;
}

interface Meta {
  /** Decimal: the number of the message at the spool's acknowledged position. */
  firstSeq?: string;
}

export class DiskOutbox implements HubOutbox {
  readonly kind = "disk";
  readonly #spool: DiskSpool;
  onDrop: OutboxDropHandler | undefined;
  onError: ((err: unknown) => void) | undefined;
  onWritten: (() => void) | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** First message the hub has not acknowledged (in memory; the disk catches up). */
  #first: bigint;
  /** Number of the message at the spool's acknowledged position. */
  #diskFirst: bigint;
  #next: bigint;
  #chain: Promise<unknown> = Promise.resolve();
  #ackScheduled = false;
  /** Appended, not yet handed to the spool (written by the next task in the chain). */
  #toWrite: Buffer[] = [];
  #toWriteBytes = 0;
  readonly #memoryBytes: number;
  /** The disk refused the last write (an error other than a full disk: `spool.full` says that). */
  #writeError: string | undefined;
  #fullReported = false;
  /** Sum of all renumbering shifts (an acknowledgement round in flight adds what happened during it). */
  #shifted = 0n;
  /** Where the last read stopped: the number and spool position of the next message. */
  #cursor: { seq: bigint; pos: SpoolPosition } | undefined;

  private constructor(
    spool: DiskSpool,
    first: bigint,
    onDrop: OutboxDropHandler | undefined,
    memoryBytes: number | undefined,
  ) {
    this.#spool = spool;
    this.#memoryBytes = memoryBytes ?? spool.segmentBytes;
    this.onDrop = onDrop;
    this.#first = first;
    this.#diskFirst = first;
    this.#next = first + BigInt(spool.pending);
  }

  /** Opens (or creates) the outbox; what a previous process left is pending again, numbered as before. */
  static async open(o: DiskOutboxOptions): Promise<DiskOutbox> {
    const spool = await DiskSpool.open({
      dir: o.dir,
      overflow: "drop-oldest",
      ...(o.maxBytes === undefined ? {} : { maxBytes: o.maxBytes }),
      ...(o.segmentBytes === undefined ? {} : { segmentBytes: o.segmentBytes }),
      ...(o.fsync === undefined ? {} : { fsync: o.fsync }),
    });
    const meta = spool.meta as Meta | undefined;
    let first = 1n;
    if (typeof meta?.firstSeq === "string" && /^\d+$/.test(meta.firstSeq)) first = BigInt(meta.firstSeq);
    if (first < 1n) first = 1n;
    return new DiskOutbox(spool, first, o.onDrop, o.memoryBytes);
  }

  get dir(): string {
    return this.#spool.dir;
  }
  /** Torn tail cut off when the spool opened (a crash during a write). */
  get recovered(): { readonly segments: number; readonly truncatedBytes: number } {
    return this.#spool.recovered;
  }
  get pending(): number {
    return Number(this.#next - this.#first);
  }
  get firstSeq(): bigint {
    return this.#first;
  }
  get nextSeq(): bigint {
    return this.#next;
  }
  get bytes(): number {
    return this.#spool.bytes;
  }
  get full(): { readonly since: number; readonly error: string } | undefined {
    return (
      this.#spool.full ?? (this.#writeError === undefined ? undefined : { since: 0, error: this.#writeError })
    );
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn, fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  append(message: Req["message"]): bigint {
    const buf = Buffer.from(
      toBinary(hangar.ConnectRequestSchema, create(hangar.ConnectRequestSchema, { message })),
    );
    if (buf.length + 8 > this.#spool.maxBytes - this.#spool.segmentBytes) {
      this.onDrop?.(1, "too_large");
      return 0n;
    }
    const refusing = this.#fullReported || this.#writeError !== undefined;
    if (refusing && this.#toWriteBytes > 0 && this.#toWriteBytes + buf.length > this.#memoryBytes) {
      // The disk is not taking them (full or failing) and the memory bound is reached.
      this.onDrop?.(1, this.#fullReported ? "spool_full" : "spool_error");
      return 0n;
    }
    const seq = this.#next++;
    // Group commit: what is appended while a write is under way goes in the next one (one fsync).
    this.#toWrite.push(buf);
    this.#toWriteBytes += buf.length;
    if (this.#toWrite.length === 1 && this.#retry === undefined) this.#write();
    return seq;
  }

  #write(): void {
    void this.#serial(async () => {
      const batch = this.#toWrite;
      this.#toWrite = [];
      if (batch.length === 0) return;
      const before = this.#diskFirst;
      let dropped: number;
      let refused: number;
      try {
        ({ dropped, refused } = await this.#spool.write(batch));
        this.#writeError = undefined;
      } catch (err) {
        // Not on disk (read-only, gone …): kept in memory, in order, and tried again.
        if (this.#writeError === undefined)
          this.onError?.(
            CoreError.from(err, "HANGAR_ERR_SPOOL", `hub outbox ${this.#spool.dir}: write failed`),
          );
        this.#writeError = err instanceof Error ? err.message : String(err);
        this.#toWrite = batch.concat(this.#toWrite);
        this.#retryLater();
        return;
      }
      const written = batch.length - refused;
      for (let i = 0; i < written; i++) this.#toWriteBytes -= (batch[i] as Buffer).length;
      if (refused > 0) {
        // The disk is full: the rest stays in memory, in order, and is tried again.
        this.#toWrite = batch.slice(written).concat(this.#toWrite);
        this.#retryLater();
        if (!this.#fullReported) {
          this.#fullReported = true;
          this.onError?.(
            new CoreError(
              "HANGAR_ERR_SPOOL",
              `hub outbox ${this.#spool.dir}: the disk is full (${this.#spool.full?.error ?? "no space"}); messages wait in memory (up to ${this.#memoryBytes} bytes), then new ones are dropped and counted (hub_outbox_dropped{reason="spool_full"})`,
            ),
          );
        }
      } else this.#fullReported = false;
      if (written > 0) this.onWritten?.();
      if (dropped === 0) return;
      // drop-oldest deleted the `dropped` oldest messages on disk (some may be acknowledged
      // in memory already: those were delivered, the rest are lost).
      this.#diskFirst = before + BigInt(dropped);
      const lost = this.#diskFirst - (this.#first > before ? this.#first : before);
      if (this.#first < this.#diskFirst) this.#first = this.#diskFirst;
      if (lost > 0n) this.onDrop?.(Number(lost), "overflow");
      await this.#spool
        .saveMeta({ firstSeq: String(this.#diskFirst) } satisfies Meta)
        .catch(this.#reportError);
    });
  }

  #retryLater(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#write();
    }, 1_000);
    this.#retry.unref();
  }

  readonly #reportError = (err: unknown): void => {
    this.onError?.(err);
  };

  ack(seq: bigint): void {
    if (seq < this.#first) return;
    this.#first = seq + 1n > this.#next ? this.#next : seq + 1n;
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    // Acknowledgements that arrive while one is written are taken together.
    void this.#serial(async () => {
      this.#ackScheduled = false;
      // Later acknowledgements may arrive during the awaits below: they schedule another round.
      const target = this.#first;
      const shifted = this.#shifted;
      const n = target - this.#diskFirst;
      if (n <= 0n) return;
      try {
        const pos =
          this.#cursor !== undefined && this.#cursor.seq === target
            ? this.#cursor.pos
            : (await this.#spool.read(Number(n), Number.MAX_SAFE_INTEGER)).next;
        await this.#spool.ack(pos, Number(n), { firstSeq: String(target) } satisfies Meta);
        // A renumbering meanwhile moved the numbers (not the position) on.
        this.#diskFirst = target + (this.#shifted - shifted);
      } catch (err) {
        // The position stays where it was: the next acknowledgement writes it (a restart
        // before that resends these messages, and the hub drops them by number).
        this.onError?.(err);
      }
    });
  }

  renumber(first: bigint): void {
    const shift = first - this.#first;
    if (shift === 0n) return;
    this.#shifted += shift;
    this.#first += shift;
    this.#diskFirst += shift;
    this.#next += shift;
    if (this.#cursor !== undefined) this.#cursor = { seq: this.#cursor.seq + shift, pos: this.#cursor.pos };
    const diskFirst = (): string => String(this.#diskFirst);
    void this.#serial(() =>
      this.#spool.saveMeta({ firstSeq: diskFirst() } satisfies Meta).catch(this.#reportError),
    );
  }

  read(from: bigint, max: number): Promise<Req[]> {
    return this.#serial(async () => {
      let start = from < this.#first ? this.#first : from;
      if (start < this.#diskFirst) start = this.#diskFirst;
      let pos: SpoolPosition | undefined =
        this.#cursor !== undefined && this.#cursor.seq === start ? this.#cursor.pos : undefined;
      if (pos === undefined) {
        pos = this.#spool.ackPosition;
        const skip = Number(start - this.#diskFirst);
        if (skip > 0) pos = (await this.#spool.read(skip, Number.MAX_SAFE_INTEGER)).next;
      }
      const r = await this.#spool.read(max, 4 * 1024 * 1024, pos);
      const out = r.records.map((b, i) => {
        const req = fromBinary(hangar.ConnectRequestSchema, b);
        req.seq = start + BigInt(i);
        return req;
      });
      this.#cursor = { seq: start + BigInt(out.length), pos: r.next };
      return out;
    });
  }

  close(): Promise<void> {
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    return this.#serial(async () => {
      // One last try for what waits in memory; what the disk still refuses is lost, and counted.
      if (this.#toWrite.length > 0) {
        const batch = this.#toWrite;
        this.#toWrite = [];
        const refused = await this.#spool.write(batch).then(
          (w) => w.refused,
          () => batch.length,
        );
        if (refused > 0)
          this.onDrop?.(refused, this.#spool.full !== undefined ? "spool_full" : "spool_error");
        this.#toWriteBytes = 0;
      }
      await this.#spool.close();
    });
  }
}
