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
 */
import { crc32 } from "node:zlib";
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from "node:fs/promises";
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
  append(records: readonly Buffer[]): Promise<number> {
    return this.#serial(async () => {
      if (this.#segments.length === 0 && records.length > 0) {
        this.#segments.push({ n: this.#ack.segment, size: 0, records: 0, ends: [] });
        this.#ack = { segment: this.#ack.segment, offset: 0 };
        this.#ackedInHead = 0;
      }
      let dropped = 0;
      const accepted: Buffer[] = [];
      let incoming = 0;
      for (const r of records) {
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
          await this.#flushAccepted(accepted);
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
          await this.#flushAccepted(accepted);
          accepted.length = 0;
          incoming = 0;
          await this.#roll();
        }
      }
      await this.#flushAccepted(accepted);
      return dropped;
    });
  }

  async #flushAccepted(records: readonly Buffer[]): Promise<void> {
    if (records.length === 0) return;
    const w = await this.#writerHandle();
    const parts: Buffer[] = [];
    for (const r of records) {
      const h = Buffer.allocUnsafe(HEADER);
      h.writeUInt32LE(r.length, 0);
      h.writeUInt32LE(crc32(r), 4);
      parts.push(h, r);
    }
    const data = Buffer.concat(parts);
    await w.fh.write(data);
    if (this.#fsync) await w.fh.datasync();
    const seg = this.#segments.at(-1);
    if (seg !== undefined) {
      let end = seg.size;
      for (const r of records) {
        end += HEADER + r.length;
        seg.ends.push(end);
      }
      seg.size += data.length;
      seg.records += records.length;
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
          const one = Buffer.allocUnsafe(len);
          await this.#reader.fh.read(one, 0, len, pos.offset + HEADER);
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
    const tmp = join(this.dir, "ack.json.tmp");
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
    const fh = await open(tmp, "w", 0o640);
    await fh.writeFile(
      JSON.stringify(this.#meta === undefined ? this.#ack : { ...this.#ack, meta: this.#meta }),
    );
    if (this.#fsync) await fh.datasync();
    await fh.close();
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- inside the configured spool directory; file names are this module's (segment names, ack.json)
    await rename(tmp, join(this.dir, "ack.json"));
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
