/**
 * The baseline store on real DuckDB files: lifecycle, restart, caps and
 * collapse, deviations and their noise control, corrupt files, operator
 * actions picked up by a running store, migrations and Parquet export.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Alert } from "@hangar/core";
import {
  BaselineDb,
  MIGRATIONS,
  applyToFile,
  createBaselineStore,
  exportParquet,
  listProviders,
  showBaseline,
  type BaselineStoreOptions,
  type DuckDbBaselineStore,
} from "../src/index.js";
import { T0, connectEv, dnsEv, execEv, fileEv, tempDir, toolEv } from "./events.js";

const MIN = 60_000;

function open(db: string, o: Partial<BaselineStoreOptions> = {}): Promise<DuckDbBaselineStore> {
  return createBaselineStore({ db, learn: false, syncIntervalMs: 0, learningWindowMs: 10 * MIN, ...o });
}

function alertsOf(store: DuckDbBaselineStore, evs: Parameters<DuckDbBaselineStore["observe"]>[0][]): Alert[] {
  const out: Alert[] = [];
  for (const ev of evs) out.push(...(store.observe(ev)?.alerts ?? []));
  return out;
}

/** 12 minutes of normal traffic: learning (10 min window) ends at minute 10; the last two minutes repeat. */
function learnNormal(store: DuckDbBaselineStore, provider = "notes"): void {
  for (let m = 0; m < 12; m++) {
    const t = T0 + m * MIN;
    alertsOf(store, [
      toolEv(t, "search", { provider }),
      connectEv(t + 100, "10.96.0.20", 5432, { provider, tool: "search" }),
      dnsEv(t + 200, "api.example.com", { provider }),
      fileEv(t + 300, `/app/notes/${m % 10}.md`, false, { provider, tool: "search" }),
      execEv(t + 400, "/usr/bin/git", "pull --ff-only", { provider }),
    ]);
  }
}

describe("baseline store on DuckDB", () => {
  it("learns for its window, then enforces; a restart keeps the baseline and its version", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const a = await open(db);
      learnNormal(a);
      assert.equal(a.lookup("notes", "egress", "10.96.0.20:5432/tcp"), "known");
      assert.equal(a.lookup("notes", "egress", "203.0.113.66:443/tcp"), "new");
      assert.equal(a.lookup("other", "egress", "10.96.0.20:5432/tcp"), "none");
      const version = a.version("notes");
      assert.match(version, /^v\d+$/);
      await a.close();

      const b = await open(db);
      assert.equal(b.version("notes"), version, "same version after restart");
      assert.equal(b.lookup("notes", "egress", "10.96.0.20:5432/tcp"), "known");
      assert.equal(b.lookup("notes", "dns", "api.example.com"), "known");
      assert.equal(b.lookup("notes", "binary", "/usr/bin/git"), "known");
      assert.equal(b.lookup("notes", "file", "/app/notes/3.md"), "known");
      assert.equal(b.lookup("notes", "tool", "search"), "known");
      // Rules ask by address alone (`destination.ip not in baseline(egress)`).
      assert.equal(b.lookup("notes", "egress", "10.96.0.20"), "known");
      assert.equal(b.lookup("notes", "egress", "10.96.0.21"), "new");
      const alerts = alertsOf(b, [connectEv(T0 + 13 * MIN, "203.0.113.66", 443, { tool: "search" })]);
      assert.deepEqual(
        alerts.map((x) => [x.ruleId, x.baselineVersion]),
        [["baseline/new-egress", version]],
      );
      await b.close();
      const report = await showBaseline(db, "notes");
      assert.equal(report.state, "enforcing");
      assert.equal(report.endReason, "window");
      assert.equal(report.learningWindow, "10m");
      assert.deepEqual(
        report.recentDeviations.map((d) => [d.kind, d.value, d.count, d.alerts]),
        [["new-egress", "203.0.113.66:443/tcp", 1, 1]],
      );
    } finally {
      cleanup();
    }
  });

  it("answers 'learning' while learning, takes the window from the pod label, and ends early when stable", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db, { stableMs: 3 * MIN, minEvents: 5, learningWindowMs: 60 * MIN });
      const warnings: string[] = [];
      const labels = { "mcp-hangar.io/learning-window": "5m" };
      s.observe(connectEv(T0, "10.0.0.1", 80, { provider: "short", labels, processStartMs: T0 }));
      assert.equal(s.lookup("short", "egress", "10.0.0.1:80/tcp"), "learning");
      assert.equal(s.profile("short")?.rec.learningWindowMs, 5 * MIN);
      assert.equal(s.profile("short")?.rec.windowSource, "label");
      s.observe(connectEv(T0 + 5 * MIN, "10.0.0.1", 80, { provider: "short", labels }));
      assert.equal(s.profile("short")?.rec.state, "enforcing");
      assert.equal(s.profile("short")?.rec.endReason, "window");

      // Stability: the same items for 3 minutes (after 5 events) end a 60-minute window early.
      for (let i = 0; i < 6; i++)
        s.observe(connectEv(T0 + i * 30_000, "10.0.0.2", 443, { provider: "steady" }));
      assert.equal(s.profile("steady")?.rec.state, "learning");
      s.observe(connectEv(T0 + 4 * MIN, "10.0.0.2", 443, { provider: "steady" }));
      assert.equal(s.profile("steady")?.rec.state, "enforcing");
      assert.equal(s.profile("steady")?.rec.endReason, "stable");

      // The pod annotation, handed over by whoever watches pods, wins over the default.
      s.configureProvider("annotated", { learningWindowMs: 2 * MIN });
      s.observe(connectEv(T0, "10.0.0.4", 443, { provider: "annotated" }));
      assert.equal(s.profile("annotated")?.rec.windowSource, "annotation");
      s.observe(connectEv(T0 + 2 * MIN, "10.0.0.4", 443, { provider: "annotated" }));
      assert.equal(s.lookup("annotated", "egress", "10.0.0.4:443/tcp"), "known");
      // A label that is not a duration is reported and the default is used.
      const bad = await open(join(dir, "c.duckdb"), {
        onWarning: (m) => warnings.push(m),
      });
      bad.observe(
        connectEv(T0, "10.0.0.5", 443, {
          provider: "odd",
          labels: { "mcp-hangar.io/learning-window": "soon" },
        }),
      );
      assert.match(
        warnings[0] ?? "",
        /provider odd: pod label mcp-hangar.io\/learning-window="soon" is not a duration/,
      );
      assert.equal(bad.profile("odd")?.rec.learningWindowMs, 10 * MIN);
      await bad.close();

      // A pod whose server started long before learning is marked partial, with the reason.
      s.observe(connectEv(T0, "10.0.0.3", 443, { provider: "old", processStartMs: T0 - 3_600_000 }));
      assert.equal(s.profile("old")?.rec.partial, true);
      assert.match(s.profile("old")?.rec.partialReason ?? "", /started 1h before the first event/);
      await s.close();
      const providers = await listProviders(db);
      assert.deepEqual(
        providers.map((p) => [p.provider, p.state, p.partial]),
        [
          ["annotated", "enforcing", false],
          ["old", "learning", true],
          ["short", "enforcing", false],
          ["steady", "enforcing", false],
        ],
      );
    } finally {
      cleanup();
    }
  });

  it("records deviations during learning without alerting, and alerts once per value per cooldown when enforcing", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db, { maxAlertsPerKind: 3, cooldownMs: 30 * MIN, learningWindowMs: 15 * MIN });
      // Learning with steady rates, then a burst while still learning: recorded, not alerted.
      for (let m = 0; m < 11; m++)
        for (let i = 0; i < 3; i++) s.observe(toolEv(T0 + m * MIN + i * 1000, "search"));
      const learningBurst = alertsOf(
        s,
        Array.from({ length: 40 }, (_, i) => toolEv(T0 + 11 * MIN + i * 100, "search")),
      );
      assert.deepEqual(learningBurst, []);
      assert.equal(s.profile("notes")?.deviations.size, 1, "the burst is recorded");
      s.observe(fileEv(T0 + 11 * MIN, "/etc/hosts", false));
      s.observe(toolEv(T0 + 16 * MIN, "search"));
      assert.equal(s.profile("notes")?.rec.state, "enforcing");

      const t = T0 + 17 * MIN;
      const first = alertsOf(s, [connectEv(t, "203.0.113.66", 443), connectEv(t + 1, "203.0.113.66", 443)]);
      assert.equal(first.length, 1, "one alert per value per cooldown");
      // Five more new destinations: three alerts (budget), two recorded quietly.
      const more = alertsOf(
        s,
        [1, 2, 3, 4, 5].map((i) => connectEv(t + 10 + i, `203.0.113.${100 + i}`, 443)),
      );
      assert.equal(more.length, 2, "budget of 3 per kind per window (1 already used)");
      // After the window the next alert says how many went unalerted.
      const later = alertsOf(s, [connectEv(t + 31 * MIN, "192.0.2.1", 443)]);
      assert.equal(later.length, 1);
      assert.match(later[0]!.explanation, /3 similar deviation\(s\) were recorded without an alert/);
      // A known file written for the first time; a sensitive file read.
      const files = alertsOf(s, [
        fileEv(t + 32 * MIN, "/etc/hosts", true),
        fileEv(t + 32 * MIN + 1, "/var/run/secrets/kubernetes.io/serviceaccount/token"),
      ]);
      assert.deepEqual(
        files.map((a) => [a.ruleId, a.severity]),
        [
          ["baseline/new-file-op", 3],
          ["baseline/new-file", 4],
        ],
      );
      assert.match(files[0]!.fixHint, /hangar-ctl baseline allow notes file \/etc\/hosts --op write --db /);
      await s.close();
      const report = await showBaseline(db, "notes");
      const dev = report.recentDeviations.find((d) => d.kind === "rate-tool_calls");
      assert.equal(dev?.state, "learning");
      assert.equal(dev?.alerts, 0);
      assert.equal(report.recentDeviations.filter((d) => d.kind === "new-egress").length, 7);
    } finally {
      cleanup();
    }
  });

  it("tells a known binary with new arguments and a known item new to a tool apart from new items", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const s = await open(join(dir, "b.duckdb"));
      learnNormal(s);
      const t = T0 + 13 * MIN;
      const alerts = alertsOf(s, [
        execEv(t, "/usr/bin/git", "pull --ff-only"),
        execEv(t + 1, "/usr/bin/git", "push --force https://203.0.113.66/x.git"),
        dnsEv(t + 2, "api.example.com", { tool: "search" }),
        connectEv(t + 3, "10.96.0.20", 5432, { tool: "search" }),
      ]);
      assert.deepEqual(
        alerts.map((a) => [a.ruleId, a.severity, a.message]),
        [
          [
            "baseline/new-args",
            2,
            'notes ran /usr/bin/git with arguments shaped "push --force <url>": the binary is in its baseline, these arguments are not',
          ],
          [
            "baseline/tool-new-dns",
            2,
            "notes resolved api.example.com during tool search: known to the provider, but never during search",
          ],
        ],
      );
      assert.match(alerts[0]!.fixHint, /allow notes binary \/usr\/bin\/git --args 'push --force <url>'/);
      await s.close();
    } finally {
      cleanup();
    }
  });

  it("only records deviations when alerts are left to the rules", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db, { deviationAlerts: false });
      learnNormal(s);
      assert.deepEqual(alertsOf(s, [connectEv(T0 + 13 * MIN, "203.0.113.66", 443)]), []);
      await s.close();
      assert.deepEqual(
        (await showBaseline(db, "notes")).recentDeviations.map((d) => [d.value, d.count, d.alerts]),
        [["203.0.113.66:443/tcp", 1, 0]],
      );
    } finally {
      cleanup();
    }
  });

  it("alerts on a rate burst when enforcing, with its robust statistics, once per cooldown", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const s = await open(join(dir, "b.duckdb"), { learningWindowMs: 30 * MIN });
      for (let m = 0; m < 31; m++)
        for (let i = 0; i < 2 + (m % 2); i++) s.observe(toolEv(T0 + m * MIN + i * 1000, "search"));
      assert.equal(s.profile("notes")?.rec.state, "enforcing");
      const burst = alertsOf(
        s,
        Array.from({ length: 60 }, (_, i) => toolEv(T0 + 40 * MIN + i * 500, "search")),
      );
      assert.equal(burst.length, 1);
      assert.equal(burst[0]!.ruleId, "baseline/rate-tool_calls");
      assert.match(
        burst[0]!.message,
        /notes: 13 tool calls in one minute, usual is 2\.5 \(alert above 13\)|notes: \d+ tool calls in one minute, usual is [\d.]+/,
      );
      const again = alertsOf(
        s,
        Array.from({ length: 60 }, (_, i) => toolEv(T0 + 42 * MIN + i * 500, "search")),
      );
      assert.equal(again.length, 0, "rate cooldown (10 min)");
      await s.close();
    } finally {
      cleanup();
    }
  });

  it("at the size cap collapses instead of ending learning, and counts what still does not fit", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db, { maxItemsPerFacet: 40, learningWindowMs: 60 * MIN });
      for (let i = 0; i < 300; i++) s.observe(connectEv(T0 + i * 1000, `10.1.${i % 30}.${i % 250}`, 443));
      const p = s.profile("notes")!;
      assert.equal(p.rec.capped, true);
      assert.equal(p.rec.state, "learning", "learning goes on");
      assert.ok((p.facetCounts.get("egress") ?? 0) <= 40);
      // Scattered addresses that cannot collapse overflow.
      for (let i = 0; i < 100; i++)
        s.observe(connectEv(T0 + 400_000 + i, `172.${16 + (i % 10)}.${i}.1`, 8443 + i));
      assert.ok(p.rec.overflow > 0);
      s.finishLearning();
      assert.equal(s.lookup("notes", "egress", "10.1.7.250:443/tcp"), "known", "covered by a collapsed CIDR");
      await s.close();
      const report = await showBaseline(db, "notes");
      assert.ok(report.capped);
      assert.ok(report.facets.egress.some((e) => e.collapsed && /^10\.1\.0\.0\/16:443\/tcp$/.test(e.value)));
      assert.ok(report.overflow > 0);
    } finally {
      cleanup();
    }
  });

  it("moves a corrupt or truncated file aside with a clear warning and starts a new one", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      writeFileSync(db, "definitely not a duckdb file\n".repeat(200));
      const warnings: string[] = [];
      const s = await open(db, { onWarning: (m) => warnings.push(m) });
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0]!,
        /unreadable .*not a valid DuckDB database.*moved it to .*\.corrupt-.*every provider learns again/,
      );
      const aside = readdirSync(dir).filter((f) => f.includes(".corrupt-"));
      assert.equal(aside.length, 1);
      assert.equal(
        readFileSync(join(dir, aside[0]!), "utf8").slice(0, 10),
        "definitely",
        "the old bytes are kept",
      );
      learnNormal(s);
      await s.close();

      // A real baseline cut short is unreadable too.
      const good = readFileSync(db);
      writeFileSync(db, good.subarray(0, 5000));
      const w2: string[] = [];
      const s2 = await open(db, { onWarning: (m) => w2.push(m) });
      assert.match(w2[0] ?? "", /moved it to/);
      assert.equal(s2.lookup("notes", "egress", "10.96.0.20:5432/tcp"), "none");
      await s2.close();
      // Readers never move a file aside: they fail and say why.
      writeFileSync(db, "garbage");
      await assert.rejects(listProviders(db), /HANGAR_ERR_BASELINE_DB_OPEN|not a valid DuckDB database/);
      assert.ok(existsSync(db));
    } finally {
      cleanup();
    }
  });

  it("loses nothing when a sync fails or the file disappears: the next sync writes it all", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db);
      learnNormal(s);
      await s.persist();
      // Someone breaks the table between syncs: the write fails and says where.
      const breakIt = async (sql: string) => {
        const inst = await DuckDBInstance.create(db);
        const c = await inst.connect();
        await c.run(sql);
        c.closeSync();
        inst.closeSync();
      };
      await breakIt("ALTER TABLE deviations RENAME TO deviations_moved");
      s.observe(connectEv(T0 + 13 * MIN, "203.0.113.66", 443));
      await assert.rejects(
        s.persist(),
        /HANGAR_ERR_BASELINE_DB_WRITE|writing \d+ items, 1 deviations to .*b\.duckdb failed/,
      );
      await breakIt("ALTER TABLE deviations_moved RENAME TO deviations");
      await s.persist();
      let report = await showBaseline(db, "notes");
      assert.deepEqual(
        report.recentDeviations.map((d) => [d.value, d.count]),
        [["203.0.113.66:443/tcp", 1]],
        "the deviation recorded during the failed sync is written by the next one",
      );
      // The file is deleted under the running agent: the next sync writes everything again.
      rmSync(db);
      s.observe(connectEv(T0 + 14 * MIN, "10.96.0.20", 5432));
      await s.close();
      report = await showBaseline(db, "notes");
      assert.equal(report.state, "enforcing");
      assert.equal(report.facets.egress.find((e) => e.value === "10.96.0.20:5432/tcp")?.count, 13);
      assert.equal(report.recentDeviations.length, 1);
    } finally {
      cleanup();
    }
  });

  it("picks up hangar-ctl actions written to the file while it runs: allow, freeze, reset", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db);
      learnNormal(s);
      s.observe(connectEv(T0 + 20 * MIN, "10.0.0.1", 80, { provider: "fresh" }));
      await s.persist();
      assert.equal(s.lookup("notes", "egress", "203.0.113.66:443/tcp"), "new");
      const r = await applyToFile(db, "notes", "allow", { facet: "egress", value: "203.0.113.66:443/tcp" });
      assert.match(r.message, /allowed egress 203\.0\.113\.66:443\/tcp for notes/);
      await applyToFile(db, "fresh", "freeze");
      await s.persist();
      assert.equal(s.lookup("notes", "egress", "203.0.113.66:443/tcp"), "known");
      assert.equal(s.version("notes"), r.version, "the agent's version matches the file's");
      assert.equal(s.profile("fresh")?.rec.state, "frozen");
      assert.equal(s.lookup("fresh", "egress", "10.0.0.1:80/tcp"), "known");
      await applyToFile(db, "notes", "reset");
      await s.persist();
      assert.equal(s.lookup("notes", "egress", "10.96.0.20:5432/tcp"), "learning");
      await s.close();
      const report = await showBaseline(db, "notes");
      assert.equal(report.state, "learning");
      assert.equal(report.facets.egress.length, 0);
      // A restarted agent does not apply the actions a second time.
      const again = await open(db);
      again.observe(connectEv(T0 + 30 * MIN, "10.96.0.20", 5432));
      await again.close();
      assert.equal((await showBaseline(db, "notes")).facets.egress.length, 1);
      await assert.rejects(
        applyToFile(db, "nobody", "freeze"),
        /unknown provider "nobody": no baseline for it in .* \(it has: fresh, notes\)/,
      );
      await assert.rejects(
        applyToFile(db, "notes", "allow", { facet: "egress", value: "example.com:443" }),
        /value: "example.com:443" is not an egress value/,
      );
    } finally {
      cleanup();
    }
  });

  it("serializes opens of one file within a process: concurrent writers and readers all see consistent data", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db);
      learnNormal(s);
      await s.close();
      const writes = Array.from({ length: 8 }, (_, i) =>
        applyToFile(db, "notes", "allow", { facet: "egress", value: `192.0.2.${i + 1}:443/tcp` }),
      );
      const reads = Array.from({ length: 4 }, () => listProviders(db));
      const [written, read] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
      assert.deepEqual(
        written.map((w) => w.version).sort(),
        ["v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"],
        "each write saw the one before it",
      );
      for (const r of read) assert.equal(r[0]?.provider, "notes");
      const report = await showBaseline(db, "notes");
      assert.equal(report.facets.egress.filter((e) => e.origin === "operator").length, 8);
    } finally {
      cleanup();
    }
  });

  it("applies versioned migrations once, and refuses a file from a newer build", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      (await BaselineDb.open(db)).close();
      const v2 = [
        ...MIGRATIONS,
        { version: 2, description: "test column", sql: "ALTER TABLE items ADD COLUMN note VARCHAR" },
      ];
      const d2 = await BaselineDb.open(db, { migrations: v2 });
      assert.equal(await d2.schemaVersion(), 2);
      d2.close();
      (await BaselineDb.open(db, { migrations: v2 })).close();
      await assert.rejects(BaselineDb.open(db), /has baseline schema v2, this build knows up to v1/);
      assert.ok(existsSync(db), "a newer file is never moved aside");

      const other = join(dir, "other.duckdb");
      const inst = await DuckDBInstance.create(other);
      const c = await inst.connect();
      await c.run("CREATE TABLE t (a INTEGER)");
      c.closeSync();
      inst.closeSync();
      await assert.rejects(listProviders(other), /not a hangar baseline database/);
    } finally {
      cleanup();
    }
  });

  it("a database of the previous schema keeps its data through a migration; a failed one rolls back", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      // A file as the current release (schema v1) leaves it, with a learned item in it.
      const d1 = await BaselineDb.open(db);
      await d1.conn.run(
        "INSERT INTO items VALUES ('weather', 'egress', '', '', '198.51.100.7:443/tcp', 3, TIMESTAMP '2026-12-01 10:00:00', TIMESTAMP '2026-12-01 11:00:00', false, 'learned')",
      );
      d1.close();
      // The next release adds a column with a default: the row is still there, with the default.
      const v2 = [
        ...MIGRATIONS,
        {
          version: 2,
          description: "item notes",
          sql: "ALTER TABLE items ADD COLUMN note VARCHAR DEFAULT ''",
        },
      ];
      const d2 = await BaselineDb.open(db, { migrations: v2 });
      const rows = (await d2.conn.runAndReadAll("SELECT provider, value, count, note FROM items")).getRows();
      assert.deepEqual(
        rows.map((r) => r.map(String)),
        [["weather", "198.51.100.7:443/tcp", "3", ""]],
      );
      d2.close();
      // A migration that fails is rolled back whole: the file stays at v2 with its data.
      const v3 = [
        ...v2,
        {
          version: 3,
          description: "broken",
          sql: "ALTER TABLE items ADD COLUMN tag VARCHAR; ALTER TABLE no_such_table ADD COLUMN x INTEGER",
        },
      ];
      await assert.rejects(BaselineDb.open(db, { migrations: v3 }), (err: unknown) => {
        const e = err as { code?: string; message?: string };
        return (
          e.code === "HANGAR_ERR_BASELINE_DB_SCHEMA" && /migration v3 \(broken\) failed/.test(e.message ?? "")
        );
      });
      const back = await BaselineDb.open(db, { migrations: v2 });
      assert.equal(await back.schemaVersion(), 2);
      const cols = (
        await back.conn.runAndReadAll(
          "SELECT column_name FROM information_schema.columns WHERE table_name = 'items'",
        )
      )
        .getRows()
        .map((r) => String(r[0]));
      assert.ok(!cols.includes("tag"), "the failed migration's first statement was rolled back too");
      assert.equal((await back.conn.runAndReadAll("SELECT count(*) FROM items")).getRows()[0]?.[0], 1n);
      back.close();
    } finally {
      cleanup();
    }
  });

  it("exports providers, items and deviations to Parquet", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = join(dir, "b.duckdb");
      const s = await open(db);
      learnNormal(s);
      s.observe(connectEv(T0 + 13 * MIN, "203.0.113.66", 443));
      await s.close();
      const files = await exportParquet(db, join(dir, "export"));
      assert.deepEqual(
        files.map((f) => f.slice(dir.length)),
        ["/export/providers.parquet", "/export/items.parquet", "/export/deviations.parquet"],
      );
      const inst = await DuckDBInstance.create(":memory:");
      const c = await inst.connect();
      const r = await c.runAndReadAll(
        `SELECT facet, count(*)::INTEGER AS n FROM '${join(dir, "export", "items.parquet")}' WHERE tool = '' GROUP BY facet ORDER BY facet`,
      );
      assert.deepEqual(r.getRowObjectsJson(), [
        { facet: "binary", n: 1 },
        { facet: "dns", n: 1 },
        { facet: "egress", n: 1 },
        { facet: "file", n: 10 },
        { facet: "tool", n: 1 },
      ]);
      c.closeSync();
      inst.closeSync();
    } finally {
      cleanup();
    }
  });
});
