/**
 * A durable, bounded, on-disk FIFO of encoded records for one SIEM destination.
 *
 * Layout of the spool directory:
 *   <16-digit n>.seg   append-only segments; each record is [u32 LE length][u32 LE CRC-32][bytes]
 *   ack.json           {"segment":n,"offset":o[,"meta":…]}: everything before it was delivered
 *                      (written by rename; `meta` is the caller's, e.g. the hub outbox's next seq)
 *
 * Records are read from a position and acknowledged later (after the destination confirmed
 * them), so a crash between send and ack resends: at-least-once, in order. A torn tail (a crash
 * in the middle of an append) is detected by length/CRC and cut off when the spool opens.
 *
 * Bound: the sum of segment sizes stays ≤ maxBytes. Overflow policy:
 *   drop-oldest (default)  whole oldest segments are deleted to make room; their records
 *                          that were not yet delivered are counted as dropped
 *   drop-newest            records that do not fit are refused and counted as dropped
 *
 * A full disk (ENOSPC, EDQUOT, or a short write) is not the bound: what was written as whole
 * records is kept, a partly written record is cut off at once (the file is truncated back to
 * the end of the last whole record, so the spool never holds a torn record), and the records
 * that did not fit are refused (`write` says how many; `full` is true until a write succeeds
 * again). Nothing older is deleted to make room: the disk may be full of someone else's files.
 */
import { crc32 } from "node:zlib";
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  truncate,
  type FileHandle,
} from "node:fs/promises";
import { join } from "node:path";
import { CoreError } from "./errors.js";

export type OverflowPolicy = "drop-oldest" | "drop-newest";

export interface SpoolOptions {
  readonly dir: string;
  /** Upper bound of the segment files together (default 64 MiB). */
  readonly maxBytes?: number;
  /** A segment is closed and a new one started past this size (default maxBytes/8, at most 4 MiB). */
  readonly segmentBytes?: number;
  readonly overflow?: OverflowPolicy;
  /** fdatasync after each append and ack (default true). */
  readonly fsync?: boolean;
}

export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

interface Segment {
  readonly n: number;
  size: number;
  records: number;
  /** End offset of each record, ascending: positions → record counts without reading the file. */
  readonly ends: number[];
}

/** What `write` did with a batch. */
export interface SpoolWrite {
  /** Records the overflow policy dropped: old undelivered ones (drop-oldest) or these ones (drop-newest, too large). */
  readonly dropped: number;
  /** The last records of the batch, refused because the disk is full (see `full`). */
  readonly refused: number;
}

export interface SpoolRead {
  readonly records: Buffer[];
  /** The position after the last record returned. */
  readonly next: SpoolPosition;
}

const HEADER = 8;
const SEG_RE = /^(\d{16})\.seg$/;
const segName = (n: number): string => `${String(n).padStart(16, "0")}.seg`;

export class DiskSpool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly overflow: OverflowPolicy;
  readonly #fsync: boolean;
  readonly #segments: Segment[] = [];
  #ack: SpoolPosition = { segment: 0, offset: 0 };
  /** Records of the head segment before the ack position. */
  #ackedInHead = 0;
  #writer: { n: number; fh: FileHandle } | undefined;
  #reader: { n: number; fh: FileHandle } | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #recovered = { segments: 0, truncatedBytes: 0 };
  /** The last write found the disk full (cleared by the next write that succeeds). */
  #full: { since: number; error: string } | undefined;
  /** A caller's small JSON value kept in ack.json with the position (written atomically with it). */
  #meta: unknown;

  private constructor(o: SpoolOptions) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    this.segmentBytes = o.segmentBytes ?? Math.min(4 * 1024 * 1024, Math.floor(this.maxBytes / 8));
    this.overflow = o.overflow ?? "drop-oldest";
    this.#fsync = o.fsync ?? true;
    if (this.segmentBytes * 2 > this.maxBytes) {
      throw new CoreError(
        "HANGAR_ERR_CONFIG_INVALID",
        `spool ${o.dir}: segmentBytes (${this.segmentBytes}) must be at most half of maxBytes (${this.maxBytes})`,
      );
    }
  }

  /** Opens (or creates) the spool in `dir`, recovering what a previous process left. */
  static async open(o: SpoolOptions): Promise<DiskSpool> {
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      await mkdir(o.dir, { recursive: true, mode: 0o750 });
      const spool = new DiskSpool(o);
      await spool.#load();
      return spool;
    } catch (err) {
      throw CoreError.from(err, "HANGAR_ERR_SPOOL", `opening spool ${o.dir}`);
    }
  }

  async #load(): Promise<void> {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
    const names = (await readdir(this.dir)).filter((f) => SEG_RE.test(f)).sort();
    let ack: SpoolPosition | undefined;
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      const raw = JSON.parse(await readFile(join(this.dir, "ack.json"), "utf8")) as Partial<SpoolPosition> & {
        meta?: unknown;
      };
      if (typeof raw.segment === "number" && typeof raw.offset === "number") {
        ack = { segment: raw.segment, offset: raw.offset };
      }
      this.#meta = raw.meta;
    } catch {
      ack = undefined;
    }
    let torn = 0;
    let tornBytes = 0;
    for (const name of names) {
      const n = Number(SEG_RE.exec(name)?.[1]);
      if (ack !== undefined && n < ack.segment) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      const buf = await readFile(join(this.dir, name));
      let off = 0;
      let records = 0;
      let ackedRecords = 0;
      const ends: number[] = [];
      while (off + HEADER <= buf.length) {
        const len = buf.readUInt32LE(off);
        const sum = buf.readUInt32LE(off + 4);
        if (
          off + HEADER + len > buf.length ||
          crc32(buf.subarray(off + HEADER, off + HEADER + len)) !== sum
        ) {
          break;
        }
        if (ack !== undefined && n === ack.segment && off < ack.offset) ackedRecords++;
        off += HEADER + len;
        ends.push(off);
        records++;
      }
      if (off < buf.length) {
        // A torn append (or damage): keep what is intact, drop the rest, and say so.
        torn++;
        tornBytes += buf.length - off;
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
        const fh = await open(join(this.dir, name), "r+");
        await fh.truncate(off);
        await fh.close();
      }
      if (records === 0 && off === 0) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      this.#segments.push({ n, size: off, records, ends });
      if (ack !== undefined && n === ack.segment) {
        this.#ack = { segment: n, offset: Math.min(ack.offset, off) };
        this.#ackedInHead = ackedRecords;
      }
    }
    const head = this.#segments[0];
    if (head !== undefined && (ack === undefined || head.n !== this.#ack.segment)) {
      this.#ack = { segment: head.n, offset: 0 };
      this.#ackedInHead = 0;
    }
    this.#recovered = { segments: torn, truncatedBytes: tornBytes };
    if (this.pending === 0) await this.#reset();
  }

  /** Segments whose torn or damaged tail was cut off when the spool was opened, and the bytes cut. */
  get recovered(): { readonly segments: number; readonly truncatedBytes: number } {
    return this.#recovered;
  }

  /** Set while the disk is full: since when (epoch ms) and the error the file system gave. */
  get full(): { readonly since: number; readonly error: string } | undefined {
    return this.#full;
  }

  /** The value last stored with `ack(…, meta)` or `saveMeta`, as the previous process left it. */
  get meta(): unknown {
    return this.#meta;
  }

  /** Stores a small JSON value in ack.json (atomically, by rename) without moving the position. */
  saveMeta(meta: unknown): Promise<void> {
    return this.#serial(async () => {
      this.#meta = meta;
      await this.#writeAck();
    });
  }

  /** Records not yet acknowledged. */
  get pending(): number {
    let n = 0;
    for (const s of this.#segments) n += s.records;
    return n - this.#ackedInHead;
  }

  /** Bytes on disk (segments, including the acknowledged part of the oldest one). */
  get bytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.size;
    return n;
  }

  /** Where reading starts: the first unacknowledged record. */
  get ackPosition(): SpoolPosition {
    return this.#ack;
  }

  /** The position after the last record appended. */
  get endPosition(): SpoolPosition {
    const last = this.#segments.at(-1);
    return last === undefined ? this.#ack : { segment: last.n, offset: last.size };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn, fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Appends records in order. Resolves with the number of records dropped by the overflow
   * policy (old ones for drop-oldest, these ones for drop-newest).
   */
  async append(records: readonly Buffer[]): Promise<number> {
    const w = await this.write(records);
    return w.dropped + w.refused;
  }

  /**
   * Appends records in order, like `append`, and says apart what the overflow policy dropped
   * and what a full disk refused (the batch's last `refused` records: none of them is on disk).
   */
  write(records: readonly Buffer[]): Promise<SpoolWrite> {
    return this.#serial(async () => {
      let refused = 0;
      const flush = async (batch: readonly Buffer[]): Promise<boolean> => {
        const kept = await this.#flushAccepted(batch);
        if (kept === batch.length) return true;
        refused = batch.length - kept;
        return false;
      };
      if (this.#segments.length === 0 && records.length > 0) {
        this.#segments.push({ n: this.#ack.segment, size: 0, records: 0, ends: [] });
        this.#ack = { segment: this.#ack.segment, offset: 0 };
        this.#ackedInHead = 0;
      }
      let dropped = 0;
      const accepted: Buffer[] = [];
      let incoming = 0;
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as Buffer;
        const size = HEADER + r.length;
        if (size > this.maxBytes - this.segmentBytes) {
          dropped++; // can never fit
          continue;
        }
        if (this.bytes + incoming + size > this.maxBytes) {
          if (this.overflow === "drop-newest") {
            dropped++;
            continue;
          }
          if (!(await flush(accepted))) return { dropped, refused: refused + records.length - i };
          accepted.length = 0;
          incoming = 0;
          while (this.bytes + size > this.maxBytes) {
            if (this.#segments.length > 1) dropped += await this.#dropHead();
            else await this.#roll();
          }
        }
        accepted.push(r);
        incoming += size;
        const last = this.#segments.at(-1);
        if (last !== undefined && last.size + incoming >= this.segmentBytes) {
          if (!(await flush(accepted))) return { dropped, refused: refused + records.length - i - 1 };
          accepted.length = 0;
          incoming = 0;
          await this.#roll();
        }
      }
      await flush(accepted);
      return { dropped, refused };
    });
  }

  /**
   * Writes records at the end of the current segment; returns how many were written whole.
   * A full disk (or a short write) keeps the whole records written, cuts a partly written one
   * off at once, and marks the spool full.
   */
  async #flushAccepted(records: readonly Buffer[]): Promise<number> {
    if (records.length === 0) return 0;
    const parts: Buffer[] = [];
    for (const r of records) {
      const h = Buffer.allocUnsafe(HEADER);
      h.writeUInt32LE(r.length, 0);
      h.writeUInt32LE(crc32(r), 4);
      parts.push(h, r);
    }
    const data = Buffer.concat(parts);
    let written = 0;
    let failure: unknown;
    let w: { n: number; fh: FileHandle } | undefined;
    try {
      w = await this.#writerHandle();
      // write(2) may write less than asked (a disk filling up): go on until all is written or it fails.
      while (written < data.length) {
        const { bytesWritten } = await w.fh.write(data, written, data.length - written);
        if (bytesWritten === 0) throw Object.assign(new Error("write made no progress"), { code: "ENOSPC" });
        written += bytesWritten;
      }
      if (this.#fsync) await w.fh.datasync();
    } catch (err) {
      if (!isDiskFull(err)) {
        await this.#cutBack(w, written);
        throw err;
      }
      failure = err;
    }
    const seg = this.#segments.at(-1) as Segment;
    let end = seg.size;
    let kept = 0;
    for (const r of records) {
      if (end + HEADER + r.length - seg.size > written) break;
      end += HEADER + r.length;
      seg.ends.push(end);
      kept++;
    }
    if (failure !== undefined) {
      // The bytes after the last whole record are a torn record: cut them off now.
      await this.#cutBack(w, end - seg.size);
      this.#full ??= {
        since: Date.now(),
        error: failure instanceof Error ? failure.message : "no space left on device",
      };
    } else this.#full = undefined;
    seg.records += kept;
    seg.size = end;
    return kept;
  }

  /** Truncates the segment being written back to its known size plus `keep` bytes (a failed write). */
  async #cutBack(w: { n: number; fh: FileHandle } | undefined, keep: number): Promise<void> {
    const seg = this.#segments.at(-1);
    if (w === undefined || seg === undefined || w.n !== seg.n) return;
    try {
      await w.fh.truncate(seg.size + keep);
    } catch {
      // The handle is unusable: reopen before the next write; the spool's open cuts any torn tail.
      await w.fh.close().catch(() => undefined);
      this.#writer = undefined;
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      await truncate(join(this.dir, segName(seg.n)), seg.size + keep).catch(() => undefined);
    }
  }

  async #writerHandle(): Promise<{ n: number; fh: FileHandle }> {
    const last = this.#segments.at(-1);
    if (last === undefined) {
      const n = this.#ack.segment;
      this.#segments.push({ n, size: 0, records: 0, ends: [] });
      this.#ack = { segment: n, offset: 0 };
      this.#ackedInHead = 0;
    }
    const seg = this.#segments.at(-1) as Segment;
    if (this.#writer?.n !== seg.n) {
      await this.#writer?.fh.close();
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      this.#writer = { n: seg.n, fh: await open(join(this.dir, segName(seg.n)), "a", 0o640) };
    }
    return this.#writer;
  }

  async #roll(): Promise<void> {
    const last = this.#segments.at(-1);
    if (last === undefined || last.size === 0) return;
    await this.#writer?.fh.close();
    this.#writer = undefined;
    this.#segments.push({ n: last.n + 1, size: 0, records: 0, ends: [] });
  }

  /** Deletes the oldest segment (never the one being written); returns its undelivered records. */
  async #dropHead(): Promise<number> {
    const head = this.#segments.shift() as Segment;
    const dropped = head.records - this.#ackedInHead;
    if (this.#reader?.n === head.n) {
      await this.#reader.fh.close();
      this.#reader = undefined;
    }
    await rm(join(this.dir, segName(head.n)), { force: true });
    const next = this.#segments[0] as Segment;
    this.#ack = { segment: next.n, offset: 0 };
    this.#ackedInHead = 0;
    await this.#writeAck();
    return dropped;
  }

  /**
   * Reads up to `maxRecords` records (and about `maxBytes`) starting at `from` (default: the
   * ack position). A position before the oldest segment (dropped by overflow) reads from the
   * oldest record left.
   */
  read(maxRecords: number, maxBytes: number, from?: SpoolPosition): Promise<SpoolRead> {
    return this.#serial(async () => {
      let pos = from ?? this.#ack;
      if (
        pos.segment < this.#ack.segment ||
        (pos.segment === this.#ack.segment && pos.offset < this.#ack.offset)
      ) {
        pos = this.#ack;
      }
      const out: Buffer[] = [];
      let bytes = 0;
      while (out.length < maxRecords && bytes < maxBytes) {
        const seg = this.#segments.find((s) => s.n === pos.segment);
        if (seg === undefined) break;
        if (pos.offset >= seg.size) {
          const next = this.#segments.find((s) => s.n > seg.n);
          if (next === undefined) break;
          pos = { segment: next.n, offset: 0 };
          continue;
        }
        if (this.#reader?.n !== seg.n) {
          await this.#reader?.fh.close();
          // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
          this.#reader = { n: seg.n, fh: await open(join(this.dir, segName(seg.n)), "r") };
        }
        const want = Math.min(seg.size - pos.offset, Math.max(64 * 1024, maxBytes - bytes + HEADER));
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await this.#reader.fh.read(buf, 0, want, pos.offset);
        if (bytesRead < HEADER) throw damaged(this.dir, seg.n, pos.offset, "the file ends before the record");
        let off = 0;
        let progressed = false;
        while (off + HEADER <= bytesRead && out.length < maxRecords && bytes < maxBytes) {
          const len = buf.readUInt32LE(off);
          if (off + HEADER + len > bytesRead) break;
          out.push(Buffer.from(buf.subarray(off + HEADER, off + HEADER + len)));
          bytes += len;
          off += HEADER + len;
          progressed = true;
        }
        if (!progressed) {
          // One record larger than the chunk: read it alone.
          const len = buf.readUInt32LE(0);
          if (pos.offset + HEADER + len > seg.size)
            throw damaged(this.dir, seg.n, pos.offset, `a record of ${len} bytes runs past the end`);
          const one = Buffer.allocUnsafe(len);
          const r1 = await this.#reader.fh.read(one, 0, len, pos.offset + HEADER);
          if (r1.bytesRead < len)
            throw damaged(this.dir, seg.n, pos.offset, "the file ends inside the record");
          out.push(one);
          bytes += len;
          off = HEADER + len;
        }
        pos = { segment: seg.n, offset: pos.offset + off };
      }
      return { records: out, next: pos };
    });
  }

  /**
   * Acknowledges everything before `pos`. Finished segments are deleted; when everything is
   * acknowledged the spool is reset to empty. A position in a segment that overflow already
   * dropped is ignored. (`_count` is accepted for callers that know it; positions decide.)
   * `meta`, when given, is stored in ack.json together with the position.
   */
  ack(pos: SpoolPosition, _count?: number, meta?: unknown): Promise<void> {
    return this.#serial(async () => {
      if (meta !== undefined) this.#meta = meta;
      if (pos.segment < this.#ack.segment) {
        if (meta !== undefined) await this.#writeAck();
        return;
      }
      while (this.#segments.length > 0) {
        const head = this.#segments[0] as Segment;
        if (pos.segment <= head.n) break;
        this.#segments.shift();
        if (this.#reader?.n === head.n) {
          await this.#reader.fh.close();
          this.#reader = undefined;
        }
        if (this.#writer?.n === head.n) {
          await this.#writer.fh.close();
          this.#writer = undefined;
        }
        await rm(join(this.dir, segName(head.n)), { force: true });
        const next = this.#segments[0];
        this.#ack = { segment: next?.n ?? pos.segment, offset: 0 };
        this.#ackedInHead = 0;
      }
      const head = this.#segments[0];
      if (head !== undefined && pos.segment === head.n && pos.offset > this.#ack.offset) {
        this.#ack = { segment: head.n, offset: Math.min(pos.offset, head.size) };
        this.#ackedInHead = recordsBefore(head.ends, this.#ack.offset);
      }
      if (this.pending <= 0) await this.#reset();
      else await this.#writeAck();
    });
  }

  async #writeAck(): Promise<void> {
    const json = JSON.stringify(this.#meta === undefined ? this.#ack : { ...this.#ack, meta: this.#meta });
    const tmp = join(this.dir, "ack.json.tmp");
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      const fh = await open(tmp, "w", 0o640);
      try {
        await fh.writeFile(json);
        if (this.#fsync) await fh.datasync();
      } finally {
        await fh.close();
      }
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      await rename(tmp, join(this.dir, "ack.json"));
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // A full disk has no block for a new file: overwrite ack.json in place (a few hundred
      // bytes in the block it already has), padded with spaces to its old length.
      await rm(tmp, { force: true });
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      const fh = await open(join(this.dir, "ack.json"), "r+");
      try {
        const old = (await fh.stat()).size;
        await fh.write(json.padEnd(old, " "), 0);
        if (this.#fsync) await fh.datasync();
      } finally {
        await fh.close();
      }
    }
  }

  /** Everything delivered: delete the segments and start over at a new segment number. */
  async #reset(): Promise<void> {
    await this.#writer?.fh.close();
    await this.#reader?.fh.close();
    this.#writer = undefined;
    this.#reader = undefined;
    const nextN = (this.#segments.at(-1)?.n ?? this.#ack.segment) + 1;
    for (const s of this.#segments.splice(0)) await rm(join(this.dir, segName(s.n)), { force: true });
    this.#ack = { segment: nextN, offset: 0 };
    this.#ackedInHead = 0;
    await this.#writeAck();
  }

  /** Bytes on disk as the file system reports them (for tests). */
  async diskBytes(): Promise<number> {
    let n = 0;
    for (const s of this.#segments) {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
      n += (await stat(join(this.dir, segName(s.n))).catch(() => ({ size: 0 }))).size;
    }
    return n;
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      await this.#writer?.fh.close();
      await this.#reader?.fh.close();
      this.#writer = undefined;
      this.#reader = undefined;
    });
  }
}

/** How many records end at or before `offset` (binary search over ascending end offsets). */
function recordsBefore(ends: readonly number[], offset: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ends[mid] as number) <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** ENOSPC and EDQUOT: the disk (or the quota) is full; anything else is another failure. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

function damaged(dir: string, n: number, offset: number, what: string): CoreError {
  return new CoreError(
    "HANGAR_ERR_SPOOL",
    `spool ${dir}: segment ${segName(n)} is damaged at offset ${offset}: ${what} (it was changed outside the agent)`,
  );
}
