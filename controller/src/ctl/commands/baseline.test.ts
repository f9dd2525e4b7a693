/**
 * `hangar-ctl baseline` and `hangar-ctl providers` against a real baseline
 * DuckDB file, written by the baseline engine (loaded the way the controller
 * loads it, through the bootstrap).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { runtimeEvent } from "@hangar/testkit";
import { parse } from "yaml";
import { loadBehavioral } from "../../bootstrap/plugins.js";
import type { CtlIO } from "../command.js";
import { ctl } from "../ctl.js";
import type { BaselineReport, ProviderSummaryReport } from "./behavioral.js";

interface Store {
  observe(ev: hangar.RuntimeEvent): unknown;
  finishLearning(reason?: string): void;
  close(): Promise<void>;
}

const T0 = Date.parse("2026-03-02T09:00:00Z");

/** An event of provider "notes" (testkit's builder), attributed to `tool` when given. */
function ev(ms: number, detail: hangar.RuntimeEvent["detail"], tool = ""): hangar.RuntimeEvent {
  return runtimeEvent(hangar.EventKind.UNSPECIFIED, detail, {
    at: ms,
    provider: "notes",
    pod: "notes-0",
    processStartMs: ms,
    ...(tool === ""
      ? {}
      : {
          attributions: [
            create(hangar.AttributionSchema, { tool, sessionId: "s-1", caller: "agent:test", traceId: "ab" }),
          ],
        }),
  });
}

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io: CtlIO & { out: string; err: string } = {
    out: "",
    err: "",
    stdout: (t) => void (io.out += t),
    stderr: (t) => void (io.err += t),
  };
  return ctl(argv, io).then((code) => ({ code, out: io.out, err: io.err }));
}

describe("hangar-ctl baseline / providers --db", () => {
  let dir = "";
  let db = "";
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "hangar-ctl-baseline-"));
    db = join(dir, "baseline.duckdb");
    const mod = await loadBehavioral<{
      createBaselineStore(o: { db: string; learn: boolean }): Promise<Store>;
    }>(["createBaselineStore"]);
    const store = await mod.createBaselineStore({ db, learn: true });
    for (let i = 0; i < 40; i++) {
      const t = T0 + i * 20_000;
      store.observe(
        ev(t, {
          case: "toolCall",
          value: create(hangar.ToolCallDetailSchema, { trace: { tool: "read_note", method: "tools/call" } }),
        }),
      );
      store.observe(
        ev(
          t + 10,
          {
            case: "file",
            value: create(hangar.FileDetailSchema, {
              path: `/app/notes/${i}.md`,
              operation: hangar.FileOperation.READ,
            }),
          },
          "read_note",
        ),
      );
      store.observe(
        ev(
          t + 20,
          {
            case: "connect",
            value: create(hangar.ConnectDetailSchema, {
              destinationIp: "10.96.0.20",
              destinationPort: 5432,
              protocol: "tcp",
            }),
          },
          "read_note",
        ),
      );
    }
    store.finishLearning();
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("lists providers as a table and as JSON/YAML", async () => {
    const t = await run(["providers", "--db", db]);
    assert.equal(t.code, 0, t.err);
    assert.match(
      t.out,
      /^ {2}PROVIDER\s+STATE\s+VERSION\s+EVENTS\s+EGRESS\s+DNS\s+BINARY\s+FILE\s+TOOL\s+DEVIATIONS\s+LAST EVENT$/m,
    );
    assert.match(t.out, /^ {2}notes\s+enforcing\s+v1\s+120\s+1\s+0\s+0\s+1\s+1\s+0\s+2026-03-02 09:13:00Z$/m);
    const j = JSON.parse((await run(["providers", "--db", db, "-o", "json"])).out) as ProviderSummaryReport[];
    assert.deepEqual(
      j.map((p) => [p.provider, p.state, p.items.file]),
      [["notes", "enforcing", 1]],
    );
    const y = parse((await run(["providers", "--db", db, "-o", "yaml"])).out) as ProviderSummaryReport[];
    assert.deepEqual(y, j);
  });

  it("shows the state first, then a table per facet, for people; the same data as JSON", async () => {
    const t = await run(["baseline", "show", "notes", "--db", db]);
    assert.equal(t.code, 0, t.err);
    const lines = t.out.split("\n");
    assert.match(lines[0]!, /^Provider\s+notes\s+baseline v1$/);
    assert.match(
      lines[1]!,
      /^State\s+enforcing since 2026-03-02 09:13:00Z \(learning ended: end of recording\)$/,
    );
    assert.match(t.out, /^FILES: 1 entry, 1 collapsed$/m);
    assert.match(
      t.out,
      /^ {2}\/app\/notes\/\*\* \*\s+read\s+40\s+2026-03-02 09:00:00Z\s+2026-03-02 09:13:00Z\s+read_note$/m,
    );
    assert.match(t.out, /^ {2}10\.96\.0\.20:5432\/tcp\s+40\s+.*read_note$/m);
    assert.match(t.out, /^\* collapsed entry/m);
    assert.match(t.out, /hangar-ctl baseline allow notes <facet> <value> --db /);
    const j = JSON.parse(
      (await run(["baseline", "show", "notes", "--db", db, "-o", "json"])).out,
    ) as BaselineReport;
    assert.equal(j.facets.file[0]?.value, "/app/notes/**");
    assert.equal(j.facets.file[0]?.count, 40);
    const only = await run(["baseline", "show", "notes", "--db", db, "--facet", "egress"]);
    assert.doesNotMatch(only.out, /FILES/);
    assert.match(only.out, /EGRESS/);
  });

  it("allows, freezes and resets, and says when a running agent sees it", async () => {
    const allow = await run(["baseline", "allow", "notes", "egress", "203.0.113.66:443/tcp", "--db", db]);
    assert.equal(allow.code, 0, allow.err);
    assert.match(
      allow.out,
      /^allowed egress 203\.0\.113\.66:443\/tcp for notes; baseline v2\. An agent using .* applies it at its next sync/,
    );
    const show = await run(["baseline", "show", "notes", "--db", db, "--facet", "egress"]);
    assert.match(show.out, /^ {2}203\.0\.113\.66:443\/tcp \+\s+0\s/m);
    assert.match(show.out, /^\+ allowed by an operator$/m);
    const file = await run(["baseline", "allow", "notes", "file", "/etc/hosts", "--op", "read", "--db", db]);
    assert.equal(file.code, 0, file.err);
    const bad = await run(["baseline", "allow", "notes", "egress", "example.com", "--db", db]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /HANGAR_ERR_BASELINE_VALUE: value: "example.com" is not an egress value/);
    const noYes = await run(["baseline", "reset", "notes", "--db", db]);
    assert.equal(noYes.code, 2);
    assert.match(noYes.err, /add --yes to confirm/);
    const freeze = await run(["baseline", "freeze", "notes", "--db", db]);
    assert.equal(freeze.code, 0);
    assert.match((await run(["providers", "--db", db])).out, /notes\s+frozen/);
    const reset = await run(["baseline", "reset", "notes", "--db", db, "--yes"]);
    assert.equal(reset.code, 0, reset.err);
    const after = JSON.parse(
      (await run(["baseline", "show", "notes", "--db", db, "-o", "json"])).out,
    ) as BaselineReport;
    assert.equal(after.state, "learning");
    assert.equal(after.facets.egress.length, 0);
  });

  it("reads the controller's baselines over its REST API when there is no --db", async () => {
    const mod = await loadBehavioral<{
      listProviders(db: string): Promise<unknown>;
      showBaseline(db: string, p: string): Promise<unknown>;
    }>(["listProviders", "showBaseline"]);
    // The controller's two read routes, answering from the same file (the API's own tests cover the API).
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.url === "/v1/providers")
        void mod.listProviders(db).then((providers) => send(200, { providers }));
      else if (req.url === "/v1/providers/notes/baseline")
        void mod.showBaseline(db, "notes").then((b) => send(200, b));
      else send(404, { error: { code: "HANGAR_ERR_API_NOT_FOUND", message: `provider has no baseline` } });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const list = await run(["providers", "--server", url, "--token", "t0ken-for-tests-123"]);
      assert.equal(list.code, 0, list.err);
      assert.match(list.out, /^ {2}notes\s+/m);
      const show = await run(["baseline", "show", "notes", "--server", url, "-o", "json"]);
      assert.equal(show.code, 0, show.err);
      assert.equal((JSON.parse(show.out) as BaselineReport).provider, "notes");
      const table = await run(["baseline", "show", "notes", "--server", url]);
      assert.match(table.out, /^Provider\s+notes\s+baseline v\d+$/m);
      assert.match(table.out, /--db FILE$/m);
      const missing = await run(["baseline", "show", "nobody", "--server", url]);
      assert.equal(missing.code, 3);
      assert.match(missing.err, /hangar-ctl baseline: HANGAR_ERR_API_NOT_FOUND: provider has no baseline/);
      assert.deepEqual(seen.slice(0, 2), [
        "GET /v1/providers Bearer t0ken-for-tests-123",
        "GET /v1/providers/notes/baseline ",
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("exports Parquet, and explains what is missing or wrong with exit codes 1 and 2", async () => {
    const out = join(dir, "parquet");
    const e = await run(["baseline", "export", out, "--db", db]);
    assert.equal(e.code, 0, e.err);
    assert.ok(existsSync(join(out, "items.parquet")));
    const noDb = await run(["baseline", "freeze", "notes", "--server", "http://127.0.0.1:1"]);
    assert.equal(noDb.code, 2);
    assert.match(
      noDb.err,
      /baseline freeze needs --db FILE .*the controller's API serves baselines read-only/,
    );
    const who = await run(["baseline", "show", "nobody", "--db", db]);
    assert.equal(who.code, 1);
    assert.match(
      who.err,
      /HANGAR_ERR_BASELINE_PROVIDER: unknown provider "nobody": no baseline for it in .*baseline\.duckdb \(it has: notes\)/,
    );
    const missing = await run(["providers", "--db", join(dir, "nope.duckdb")]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no baseline database at .*nope\.duckdb/);
    assert.equal((await run(["baseline", "frobnicate"])).code, 2);
    const help = await run(["baseline", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: hangar-ctl baseline <subcommand>/);
  });
});
