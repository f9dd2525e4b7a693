/**
 * The baseline database: one DuckDB file on the node (or at the controller).
 * Versioned migrations; batched writes through the appender into temporary
 * stage tables, merged with one statement per table; a corrupt or unreadable
 * file is moved aside and a new one started. Nothing here runs per event.
 *
 * DuckDB lets one process write a file, or several read it. The agent therefore
 * opens the file only for a sync (every few seconds) and closes it again, so
 * that `hangar-ctl --db` can read in between; both sides wait briefly for the
 * lock and the agent keeps everything in memory until a sync succeeds.
 */
import { existsSync, renameSync } from "node:fs";
import { resolve } from "node:path";
import {
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBAppender,
  type DuckDBConnection,
} from "@duckdb/node-api";
import { errorMessage } from "@hangar/core";
import type { Item, ItemOrigin } from "./collapse.js";
import type { FacetName } from "./facets.js";
import { BehavioralError } from "./errors.js";

export type LifecycleState = "learning" | "enforcing" | "frozen";

export interface ProviderRecord {
  provider: string;
  state: LifecycleState;
  partial: boolean;
  partialReason: string;
  capped: boolean;
  learningWindowMs: number;
  /** Where the window came from: default, label, annotation, option, replay. */
  windowSource: string;
  learningStarted: number | undefined;
  enforcingSince: number | undefined;
  /** Why learning ended: window, stable, operator, end of recording, merged. */
  endReason: string;
  lastNewItem: number | undefined;
  lastEvent: number | undefined;
  events: number;
  /** Items not stored because the facet was at its cap even after collapse. */
  overflow: number;
  version: number;
  /** Learned rate statistics, JSON. */
  rates: string;
  /** Nodes whose agents contributed (controller), comma separated. */
  nodes: string;
}

export interface ItemRecord extends Item {
  provider: string;
}

export type DeviationKind =
  | "new-egress"
  | "new-dns"
  | "new-binary"
  | "new-file"
  | "new-tool"
  | "new-file-op"
  | "new-args"
  | "tool-new-egress"
  | "tool-new-dns"
  | "tool-new-binary"
  | "tool-new-file"
  | "rate-tool_calls"
  | "rate-connects"
  | "rate-execs";

export interface DeviationRecord {
  provider: string;
  kind: DeviationKind;
  facet: string;
  tool: string;
  value: string;
  qualifier: string;
  /** The lifecycle state when it was first seen. */
  state: LifecycleState;
  /** Increment since the last sync (writes add it to the stored count). */
  count: number;
  first: number;
  last: number;
  /** Alerts raised (increment, as `count`). */
  alerts: number;
  lastAlert: number | undefined;
  baselineVersion: string;
  /** One line: the event that showed it. */
  evidence: string;
}

export type ActionName = "freeze" | "reset" | "allow";

export interface ActionRecord {
  id: number;
  provider: string;
  action: ActionName;
  facet: string;
  value: string;
  qualifier: string;
  requestedAt: number;
}

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "providers, items, deviations, operator actions",
    sql: `
CREATE TABLE providers (
  provider VARCHAR PRIMARY KEY,
  state VARCHAR NOT NULL,
  partial BOOLEAN NOT NULL,
  partial_reason VARCHAR NOT NULL,
  capped BOOLEAN NOT NULL,
  learning_window_ms BIGINT NOT NULL,
  window_source VARCHAR NOT NULL,
  learning_started TIMESTAMP,
  enforcing_since TIMESTAMP,
  end_reason VARCHAR NOT NULL,
  last_new_item TIMESTAMP,
  last_event TIMESTAMP,
  events UBIGINT NOT NULL,
  overflow UBIGINT NOT NULL,
  version UBIGINT NOT NULL,
  rates VARCHAR NOT NULL,
  nodes VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE TABLE items (
  provider VARCHAR NOT NULL,
  facet VARCHAR NOT NULL,
  tool VARCHAR NOT NULL,
  qualifier VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  count UBIGINT NOT NULL,
  first_seen TIMESTAMP NOT NULL,
  last_seen TIMESTAMP NOT NULL,
  collapsed BOOLEAN NOT NULL,
  origin VARCHAR NOT NULL,
  PRIMARY KEY (provider, facet, tool, qualifier, value)
);
CREATE TABLE deviations (
  provider VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  facet VARCHAR NOT NULL,
  tool VARCHAR NOT NULL,
  qualifier VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  state VARCHAR NOT NULL,
  count UBIGINT NOT NULL,
  first_seen TIMESTAMP NOT NULL,
  last_seen TIMESTAMP NOT NULL,
  alerts UBIGINT NOT NULL,
  last_alert TIMESTAMP,
  baseline_version VARCHAR NOT NULL,
  evidence VARCHAR NOT NULL,
  PRIMARY KEY (provider, kind, tool, qualifier, value)
);
CREATE SEQUENCE action_id START 1;
CREATE TABLE actions (
  id BIGINT PRIMARY KEY DEFAULT nextval('action_id'),
  provider VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  facet VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  qualifier VARCHAR NOT NULL,
  requested_at TIMESTAMP NOT NULL,
  applied_at TIMESTAMP
);`,
  },
];

const ITEM_COLUMNS =
  "provider VARCHAR, facet VARCHAR, tool VARCHAR, qualifier VARCHAR, value VARCHAR, count UBIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP, collapsed BOOLEAN, origin VARCHAR";
const DEVIATION_COLUMNS =
  "provider VARCHAR, kind VARCHAR, facet VARCHAR, tool VARCHAR, qualifier VARCHAR, value VARCHAR, state VARCHAR, count UBIGINT, first_seen TIMESTAMP, last_seen TIMESTAMP, alerts UBIGINT, last_alert TIMESTAMP, baseline_version VARCHAR, evidence VARCHAR";
const PROVIDER_COLUMNS =
  "provider VARCHAR, state VARCHAR, partial BOOLEAN, partial_reason VARCHAR, capped BOOLEAN, learning_window_ms BIGINT, window_source VARCHAR, learning_started TIMESTAMP, enforcing_since TIMESTAMP, end_reason VARCHAR, last_new_item TIMESTAMP, last_event TIMESTAMP, events UBIGINT, overflow UBIGINT, version UBIGINT, rates VARCHAR, nodes VARCHAR, updated_at TIMESTAMP";

export interface OpenOptions {
  readOnly?: boolean;
  /** How long to wait for another process's lock, ms (default 5000). */
  waitMs?: number;
  /** Told when a corrupt file was moved aside. */
  onWarning?: (message: string) => void;
  migrations?: readonly Migration[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * DuckDB's file lock only keeps other processes out: two instances in one
 * process may open the same file read-write at once and damage it. Every open
 * of a path in this process therefore waits for the previous one to close
 * (the controller merges deltas and serves reads from one process; tests run
 * an agent and hangar-ctl side by side). Keyed by the resolved path; holds
 * nothing once the file is closed.
 */
const inProcess = new Map<string, Promise<void>>();

async function acquire(path: string): Promise<() => void> {
  const key = resolve(path);
  const previous = inProcess.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = previous.then(() => mine);
  inProcess.set(key, tail);
  await previous;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
    if (inProcess.get(key) === tail) inProcess.delete(key);
  };
}

function isLockError(err: unknown): boolean {
  return /Could not set lock|Conflicting lock/i.test(errorMessage(err));
}

function isCorruption(err: unknown): boolean {
  return /not a valid DuckDB database|Could not read enough bytes|corrupt|checksum|Serialization|database file .* is not|INTERNAL Error|failed to read/i.test(
    errorMessage(err),
  );
}

function ts(ms: number): DuckDBTimestampValue {
  return new DuckDBTimestampValue(BigInt(Math.round(ms * 1000)));
}

function appendTs(a: DuckDBAppender, ms: number | undefined): void {
  if (ms === undefined || !Number.isFinite(ms)) a.appendNull();
  else a.appendTimestamp(ts(ms));
}

function num(v: unknown): number {
  return typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0;
}

function ms(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (v instanceof DuckDBTimestampValue) return Number(v.micros) / 1000;
  return num(v);
}

export class BaselineDb {
  readonly path: string;
  readonly #instance: DuckDBInstance;
  readonly conn: DuckDBConnection;
  /** The file was created by this open (it did not exist, or a corrupt one was moved aside). */
  created = false;
  #closed = false;
  #release: () => void = () => undefined;

  private constructor(path: string, instance: DuckDBInstance, conn: DuckDBConnection) {
    this.path = path;
    this.#instance = instance;
    this.conn = conn;
  }

  /**
   * Opens (or creates) the database at `path` and brings its schema up to date.
   * A file DuckDB cannot read is renamed to `<path>.corrupt-<time>` and a new
   * one is created (never for read-only opens, which fail instead).
   */
  static async open(path: string, options: OpenOptions = {}): Promise<BaselineDb> {
    const release = await acquire(path);
    try {
      const db = await BaselineDb.#open(path, options);
      db.#release = release;
      return db;
    } catch (err) {
      release();
      throw err;
    }
  }

  static async #open(path: string, options: OpenOptions): Promise<BaselineDb> {
    const readOnly = options.readOnly ?? false;
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the baseline database file of the operator's --db flag (and its .wal beside it)
    if (readOnly && !existsSync(path)) {
      throw new BehavioralError("HANGAR_ERR_BASELINE_DB_OPEN", `no baseline database at ${path}`, {
        details: { path },
      });
    }
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the baseline database file of the operator's --db flag (and its .wal beside it)
    const existed = existsSync(path);
    try {
      const db = await BaselineDb.#connect(path, readOnly, options.waitMs ?? 5000);
      db.created = !existed;
      try {
        if (readOnly) await db.#checkSchema(options.migrations ?? MIGRATIONS);
        else await db.#migrate(options.migrations ?? MIGRATIONS);
      } catch (err) {
        db.close();
        throw err;
      }
      return db;
    } catch (err) {
      if (err instanceof BehavioralError && err.code !== "HANGAR_ERR_BASELINE_DB_OPEN") throw err;
      const cause = err instanceof BehavioralError && err.cause !== undefined ? err.cause : err;
      if (readOnly || !isCorruption(cause)) throw err;
      const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      try {
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- the baseline database file of the operator's --db flag (and its .wal beside it)
        renameSync(path, aside);
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- the baseline database file of the operator's --db flag (and its .wal beside it)
        if (existsSync(`${path}.wal`)) renameSync(`${path}.wal`, `${aside}.wal`);
      } catch (renameErr) {
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_DB_OPEN",
          `${path} is unreadable (${errorMessage(cause)}) and could not be moved aside: ${errorMessage(renameErr)}`,
          { cause: renameErr, details: { path } },
        );
      }
      options.onWarning?.(
        `baseline database ${path} was unreadable (${errorMessage(cause)}); moved it to ${aside} and started a new one: every provider learns again`,
      );
      const db = await BaselineDb.#connect(path, false, options.waitMs ?? 5000);
      db.created = true;
      await db.#migrate(options.migrations ?? MIGRATIONS);
      return db;
    }
  }

  static async #connect(path: string, readOnly: boolean, waitMs: number): Promise<BaselineDb> {
    const deadline = Date.now() + waitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const instance = await DuckDBInstance.create(path, readOnly ? { access_mode: "READ_ONLY" } : {});
        try {
          return new BaselineDb(path, instance, await instance.connect());
        } catch (err) {
          instance.closeSync();
          throw err;
        }
      } catch (err) {
        if (isLockError(err)) {
          if (Date.now() < deadline) {
            await sleep(Math.min(25 * 2 ** Math.min(attempt, 3), 200));
            continue;
          }
          throw new BehavioralError(
            "HANGAR_ERR_BASELINE_DB_LOCKED",
            `${path} is held by another process (${errorMessage(err)}); waited ${waitMs} ms`,
            { cause: err, details: { path } },
          );
        }
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_DB_OPEN",
          `cannot open baseline database ${path}: ${errorMessage(err)}`,
          { cause: err, details: { path } },
        );
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.closeSync();
      this.#instance.closeSync();
    } finally {
      this.#release();
    }
  }

  async schemaVersion(): Promise<number> {
    const r = await this.conn.runAndReadAll(
      "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'",
    );
    if (num(r.getRows()[0]?.[0]) === 0) return 0;
    const v = await this.conn.runAndReadAll("SELECT coalesce(max(version), 0) FROM schema_migrations");
    return num(v.getRows()[0]?.[0]);
  }

  async #checkSchema(migrations: readonly Migration[]): Promise<void> {
    const have = await this.schemaVersion();
    const want = migrations[migrations.length - 1]?.version ?? 0;
    if (have === 0)
      throw new BehavioralError(
        "HANGAR_ERR_BASELINE_DB_SCHEMA",
        `${this.path} is a DuckDB file but not a hangar baseline database (no schema_migrations table)`,
      );
    if (have > want) throw this.#tooNew(have, want);
  }

  #tooNew(have: number, want: number): BehavioralError {
    return new BehavioralError(
      "HANGAR_ERR_BASELINE_DB_SCHEMA",
      `${this.path} has baseline schema v${have}, this build knows up to v${want}: it was written by a newer hangar-agent`,
      { details: { path: this.path, have, want } },
    );
  }

  /** Applies the migrations the file lacks, each in its own transaction. */
  async #migrate(migrations: readonly Migration[]): Promise<void> {
    await this.conn.run(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)",
    );
    const have = await this.schemaVersion();
    const want = migrations[migrations.length - 1]?.version ?? 0;
    if (have > want) throw this.#tooNew(have, want);
    for (const m of migrations) {
      if (m.version <= have) continue;
      await this.conn.run("BEGIN TRANSACTION");
      try {
        await this.conn.run(m.sql);
        await this.conn.run(
          "INSERT INTO schema_migrations VALUES ($version, $description, current_timestamp::TIMESTAMP)",
          { version: m.version, description: m.description },
        );
        await this.conn.run("COMMIT");
      } catch (err) {
        await this.conn.run("ROLLBACK");
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_DB_SCHEMA",
          `${this.path}: migration v${m.version} (${m.description}) failed: ${errorMessage(err)}`,
          { cause: err },
        );
      }
    }
  }

  // ── reads ────────────────────────────────────────────────────────────────

  async providers(provider?: string): Promise<ProviderRecord[]> {
    const r = await this.conn.runAndReadAll(
      `SELECT * FROM providers ${provider === undefined ? "" : "WHERE provider = $p"} ORDER BY provider`,
      provider === undefined ? undefined : { p: provider },
    );
    return r.getRowObjects().map((o) => ({
      provider: String(o.provider),
      state: String(o.state) as LifecycleState,
      partial: o.partial === true,
      partialReason: String(o.partial_reason),
      capped: o.capped === true,
      learningWindowMs: num(o.learning_window_ms),
      windowSource: String(o.window_source),
      learningStarted: ms(o.learning_started),
      enforcingSince: ms(o.enforcing_since),
      endReason: String(o.end_reason),
      lastNewItem: ms(o.last_new_item),
      lastEvent: ms(o.last_event),
      events: num(o.events),
      overflow: num(o.overflow),
      version: num(o.version),
      rates: String(o.rates),
      nodes: String(o.nodes),
    }));
  }

  async items(provider?: string): Promise<ItemRecord[]> {
    const r = await this.conn.runAndReadAll(
      `SELECT * FROM items ${provider === undefined ? "" : "WHERE provider = $p"} ORDER BY provider, facet, tool, value, qualifier`,
      provider === undefined ? undefined : { p: provider },
    );
    return r.getRowObjects().map((o) => ({
      provider: String(o.provider),
      facet: String(o.facet) as FacetName,
      tool: String(o.tool),
      value: String(o.value),
      qualifier: String(o.qualifier),
      count: num(o.count),
      first: ms(o.first_seen) ?? 0,
      last: ms(o.last_seen) ?? 0,
      collapsed: o.collapsed === true,
      origin: String(o.origin) as ItemOrigin,
    }));
  }

  async deviations(provider?: string): Promise<DeviationRecord[]> {
    const r = await this.conn.runAndReadAll(
      `SELECT * FROM deviations ${provider === undefined ? "" : "WHERE provider = $p"} ORDER BY last_seen DESC`,
      provider === undefined ? undefined : { p: provider },
    );
    return r.getRowObjects().map((o) => ({
      provider: String(o.provider),
      kind: String(o.kind) as DeviationKind,
      facet: String(o.facet),
      tool: String(o.tool),
      value: String(o.value),
      qualifier: String(o.qualifier),
      state: String(o.state) as LifecycleState,
      count: num(o.count),
      first: ms(o.first_seen) ?? 0,
      last: ms(o.last_seen) ?? 0,
      alerts: num(o.alerts),
      lastAlert: ms(o.last_alert),
      baselineVersion: String(o.baseline_version),
      evidence: String(o.evidence),
    }));
  }

  async pendingActions(): Promise<ActionRecord[]> {
    const r = await this.conn.runAndReadAll("SELECT * FROM actions WHERE applied_at IS NULL ORDER BY id");
    return r.getRowObjects().map((o) => ({
      id: num(o.id),
      provider: String(o.provider),
      action: String(o.action) as ActionName,
      facet: String(o.facet),
      value: String(o.value),
      qualifier: String(o.qualifier),
      requestedAt: ms(o.requested_at) ?? 0,
    }));
  }

  // ── writes ───────────────────────────────────────────────────────────────

  async addAction(a: Omit<ActionRecord, "id">, applied: boolean): Promise<number> {
    const r = await this.conn.runAndReadAll(
      `INSERT INTO actions (provider, action, facet, value, qualifier, requested_at, applied_at)
       VALUES ($provider, $action, $facet, $value, $qualifier, make_timestamp($at::BIGINT * 1000), ${applied ? "current_timestamp::TIMESTAMP" : "NULL"})
       RETURNING id`,
      {
        provider: a.provider,
        action: a.action,
        facet: a.facet,
        value: a.value,
        qualifier: a.qualifier,
        at: Math.round(a.requestedAt),
      },
    );
    return num(r.getRows()[0]?.[0]);
  }

  /**
   * Writes one batch in one transaction: provider rows and items replace what
   * is stored (the caller holds the truth in memory); for `rewrite` providers
   * the stored items are dropped first (collapse, reset); deviation counts add up.
   */
  async write(batch: WriteBatch): Promise<void> {
    const c = this.conn;
    try {
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_items (${ITEM_COLUMNS})`);
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_deviations (${DEVIATION_COLUMNS})`);
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_providers (${PROVIDER_COLUMNS})`);
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_rewrite (provider VARCHAR)`);
      const now = Date.now();
      await this.#append("stage_providers", batch.providers, (a, p) => {
        a.appendVarchar(p.provider);
        a.appendVarchar(p.state);
        a.appendBoolean(p.partial);
        a.appendVarchar(p.partialReason);
        a.appendBoolean(p.capped);
        a.appendBigInt(BigInt(Math.round(p.learningWindowMs)));
        a.appendVarchar(p.windowSource);
        appendTs(a, p.learningStarted);
        appendTs(a, p.enforcingSince);
        a.appendVarchar(p.endReason);
        appendTs(a, p.lastNewItem);
        appendTs(a, p.lastEvent);
        a.appendUBigInt(BigInt(p.events));
        a.appendUBigInt(BigInt(p.overflow));
        a.appendUBigInt(BigInt(p.version));
        a.appendVarchar(p.rates);
        a.appendVarchar(p.nodes);
        appendTs(a, now);
      });
      await this.#append("stage_rewrite", batch.rewrite, (a, p) => {
        a.appendVarchar(p);
      });
      await this.#append("stage_items", batch.items, (a, it) => {
        a.appendVarchar(it.provider);
        a.appendVarchar(it.facet);
        a.appendVarchar(it.tool);
        a.appendVarchar(it.qualifier);
        a.appendVarchar(it.value);
        a.appendUBigInt(BigInt(it.count));
        appendTs(a, it.first);
        appendTs(a, it.last);
        a.appendBoolean(it.collapsed);
        a.appendVarchar(it.origin);
      });
      await this.#append("stage_deviations", batch.deviations, (a, d) => {
        a.appendVarchar(d.provider);
        a.appendVarchar(d.kind);
        a.appendVarchar(d.facet);
        a.appendVarchar(d.tool);
        a.appendVarchar(d.qualifier);
        a.appendVarchar(d.value);
        a.appendVarchar(d.state);
        a.appendUBigInt(BigInt(d.count));
        appendTs(a, d.first);
        appendTs(a, d.last);
        a.appendUBigInt(BigInt(d.alerts));
        appendTs(a, d.lastAlert);
        a.appendVarchar(d.baselineVersion);
        a.appendVarchar(d.evidence);
      });
      await c.run("BEGIN TRANSACTION");
      try {
        if (batch.rewrite.length > 0) {
          await c.run("DELETE FROM items WHERE provider IN (SELECT provider FROM stage_rewrite)");
        }
        if (batch.clearDeviations.length > 0)
          await c.run(
            `DELETE FROM deviations WHERE provider IN (${batch.clearDeviations.map((p) => `'${p.replace(/'/g, "''")}'`).join(",")})`,
          );
        if (batch.providers.length > 0)
          await c.run("INSERT OR REPLACE INTO providers SELECT * FROM stage_providers");
        if (batch.items.length > 0) await c.run("INSERT OR REPLACE INTO items SELECT * FROM stage_items");
        if (batch.deviations.length > 0)
          await c.run(`INSERT INTO deviations SELECT * FROM stage_deviations
            ON CONFLICT (provider, kind, tool, qualifier, value) DO UPDATE SET
              count = deviations.count + excluded.count,
              first_seen = least(deviations.first_seen, excluded.first_seen),
              last_seen = greatest(deviations.last_seen, excluded.last_seen),
              alerts = deviations.alerts + excluded.alerts,
              last_alert = coalesce(excluded.last_alert, deviations.last_alert),
              baseline_version = excluded.baseline_version,
              evidence = excluded.evidence`);
        if (batch.applied.length > 0)
          await c.run(
            `UPDATE actions SET applied_at = current_timestamp::TIMESTAMP WHERE id IN (${batch.applied.map((n) => Math.trunc(n)).join(",")})`,
          );
        await c.run("COMMIT");
      } catch (err) {
        await c.run("ROLLBACK");
        throw err;
      }
      if (batch.checkpoint === true) await c.run("CHECKPOINT");
    } catch (err) {
      throw new BehavioralError(
        "HANGAR_ERR_BASELINE_DB_WRITE",
        `writing ${batch.items.length} items, ${batch.deviations.length} deviations to ${this.path} failed: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  async #append<T>(table: string, rows: readonly T[], row: (a: DuckDBAppender, v: T) => void): Promise<void> {
    if (rows.length === 0) return;
    const a = await this.conn.createAppender(table);
    try {
      for (const r of rows) {
        row(a, r);
        a.endRow();
      }
      a.flushSync();
    } finally {
      a.closeSync();
    }
  }

  /** Writes every table to `<dir>/<table>.parquet`. Returns the files written. */
  async exportParquet(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const table of ["providers", "items", "deviations"]) {
      const file = `${dir.replace(/\/$/, "")}/${table}.parquet`;
      await this.conn.run(`COPY ${table} TO '${file.replace(/'/g, "''")}' (FORMAT parquet)`);
      out.push(file);
    }
    return out;
  }
}

export interface WriteBatch {
  providers: ProviderRecord[];
  items: ItemRecord[];
  rewrite: string[];
  /** Providers whose recorded deviations are dropped (reset). */
  clearDeviations: string[];
  deviations: DeviationRecord[];
  applied: number[];
  checkpoint?: boolean;
}

export function emptyBatch(): WriteBatch {
  return { providers: [], items: [], rewrite: [], clearDeviations: [], deviations: [], applied: [] };
}
