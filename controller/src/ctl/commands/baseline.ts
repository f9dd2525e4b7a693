/**
 * `hangar-ctl baseline show|freeze|reset|allow|export`: the learned baseline of
 * one provider, read from (and changed in) a baseline DuckDB file.
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { usageError, type CtlCommand, type CtlIO } from "../command.js";
import { CONNECT_HELP, CONNECT_OPTIONS, EXIT_HELP } from "./controller-client.js";
import {
  fromController,
  sourceOf,
  FACETS,
  fit,
  loadBaselineFiles,
  outputFormat,
  requireDb,
  shortTime,
  table,
  thousands,
  type BaselineReport,
  type FacetName,
} from "./behavioral.js";

export const BASELINE_HELP = `Usage: hangar-ctl baseline <subcommand> [options]

The learned baseline of a provider: what it normally connects to, resolves,
runs, reads and writes, and which tools it serves.

Subcommands:
  show <provider>                      the baseline: state and learning progress, then one
                                       table per facet (value, count, first/last seen, tools)
  freeze <provider>                    stop learning now; new behaviour raises deviations
  reset <provider> --yes               forget what was learned; learning starts again
  allow <provider> <facet> <value>     add an item (facet: egress, dns, binary, file, tool)
  export <dir>                         write providers, items and deviations as Parquet to <dir>

Options:
  --db FILE          the baseline database (the agent's file, e.g. /var/lib/hangar/baseline.duckdb);
                     without it, show reads the controller's merged baseline
                     (GET /v1/providers/<provider>/baseline); the other subcommands need it
  -o, --output FMT   show: table (default), json or yaml
  --limit N          show: rows per facet in the table (default 20; 0 for all)
  --facet NAME       show: only this facet
  --op OP            allow file: the operation (open, read, write, mmap, truncate, execute;
                     default: any)
  --args SHAPE       allow binary: the argument shape, as the alert shows it (default: any)
  --yes              reset: confirm

Values: egress "203.0.113.7:443/tcp", "203.0.113.0/24:443/tcp", "[2001:db8::1]:53/udp",
"10.0.0.0/8" (any port); dns "api.example.com" or "*.example.com"; binary and file
absolute paths ("/tmp/work/**" for everything below a directory).

A running agent using the same file applies freeze, reset and allow at its next sync
(within seconds); show and export wait briefly while the agent writes.

${CONNECT_HELP}

${EXIT_HELP} With --db, a failure names the file and the provider.
`;

const OPTIONS = {
  ...CONNECT_OPTIONS,
  db: { type: "string" },
  limit: { type: "string" },
  facet: { type: "string" },
  op: { type: "string" },
  args: { type: "string" },
  yes: { type: "boolean" },
} as const;

export const baselineCommand: CtlCommand = {
  name: "baseline",
  summary: "show, freeze, reset, allow or export a provider's learned baseline",
  async run(argv: string[], io: CtlIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    const { values: v, positionals } = parsed;
    const [sub, ...rest] = positionals;
    if (v.help === true || sub === "help") {
      io.stdout(BASELINE_HELP);
      return 0;
    }
    const need = (n: number, what: string) => {
      if (rest.length !== n) throw usageError(`baseline ${sub} needs ${what}`);
    };
    switch (sub) {
      case "show": {
        need(1, "<provider>");
        const format = outputFormat(v.output);
        const limit = v.limit === undefined ? 20 : Number(v.limit);
        if (!Number.isInteger(limit) || limit < 0) throw usageError(`--limit must be a whole number ≥ 0`);
        if (v.facet !== undefined && !(FACETS as readonly string[]).includes(v.facet))
          throw usageError(`--facet must be one of ${FACETS.join(", ")}`);
        const source = sourceOf(v);
        let report: BaselineReport;
        if (source.kind === "file")
          report = await (await loadBaselineFiles()).showBaseline(source.db, rest[0] as string);
        else {
          const r = await fromController<BaselineReport>(
            source.flags,
            `/v1/providers/${encodeURIComponent(rest[0] as string)}/baseline`,
            io,
            "baseline",
          );
          if (!r.ok) return r.code;
          report = r.value;
        }
        const where = source.kind === "file" ? source.db : undefined;
        if (v.facet !== undefined) for (const f of FACETS) if (f !== v.facet) report.facets[f] = [];
        if (format === "json") io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        else if (format === "yaml") io.stdout(stringify(report));
        else io.stdout(renderBaseline(report, { limit, db: where, only: v.facet as FacetName | undefined }));
        return 0;
      }
      case "freeze":
      case "reset": {
        need(1, "<provider>");
        const db = requireDb(v, `baseline ${sub}`);
        if (sub === "reset" && v.yes !== true)
          throw usageError(
            `reset forgets everything learned for ${rest[0]} and starts learning again; add --yes to confirm`,
          );
        const mod = await loadBaselineFiles();
        const r = await mod.applyToFile(db, rest[0] as string, sub);
        io.stdout(`${r.message}\n`);
        return 0;
      }
      case "allow": {
        need(3, "<provider> <facet> <value>");
        const [provider, facet, value] = rest as [string, string, string];
        if (!(FACETS as readonly string[]).includes(facet))
          throw usageError(`facet must be one of ${FACETS.join(", ")}, got "${facet}"`);
        if (v.op !== undefined && facet !== "file") throw usageError("--op applies to the file facet only");
        if (v.args !== undefined && facet !== "binary")
          throw usageError("--args applies to the binary facet only");
        const db = requireDb(v, "baseline allow");
        const mod = await loadBaselineFiles();
        const r = await mod.applyToFile(db, provider, "allow", {
          facet,
          value,
          qualifier: v.op ?? v.args ?? "",
        });
        io.stdout(`${r.message}\n`);
        return 0;
      }
      case "export": {
        need(1, "<dir>");
        const db = requireDb(v, "baseline export");
        const mod = await loadBaselineFiles();
        const files = await mod.exportParquet(db, rest[0] as string);
        io.stdout(`${files.join("\n")}\n`);
        return 0;
      }
      case undefined:
        throw usageError("needs a subcommand: show, freeze, reset, allow or export");
      default:
        throw usageError(`unknown subcommand "${sub}" (show, freeze, reset, allow, export)`);
    }
  },
};

const FACET_TITLE: Record<FacetName, string> = {
  egress: "EGRESS (destinations)",
  dns: "DNS NAMES",
  binary: "BINARIES",
  file: "FILES",
  tool: "TOOLS",
};

const QUALIFIER_HEADER: Partial<Record<FacetName, string>> = { binary: "ARGUMENTS", file: "OP" };

function stateLine(r: BaselineReport): string {
  switch (r.state) {
    case "learning":
      return r.progress === null
        ? "learning (until the end of the recording)"
        : `learning, ${Math.floor(r.progress * 100)}% of ${r.learningWindow} (${r.windowSource} window)`;
    case "enforcing":
      return `enforcing since ${shortTime(r.enforcingSince)} (learning ended: ${r.endReason || "window"})`;
    case "frozen":
      return `frozen since ${shortTime(r.enforcingSince)} (by ${r.endReason || "an operator"}): enforcing, no more learning`;
    default:
      return r.state;
  }
}

function bar(progress: number | null): string {
  if (progress === null) return "";
  const n = Math.round(progress * 20);
  return ` [${"#".repeat(n)}${".".repeat(20 - n)}]`;
}

/** The report for people: state first, then a table per facet, rates and recent deviations. */
export function renderBaseline(
  r: BaselineReport,
  o: { limit: number; db?: string | undefined; only?: FacetName | undefined },
): string {
  const out: string[] = [];
  const flags: string[] = [];
  if (r.partial) flags.push(`partial: ${r.partialReason || "learning began on pods already running"}`);
  if (r.capped)
    flags.push(
      `capped: the size cap was reached and entries were collapsed${r.overflow > 0 ? `; ${thousands(r.overflow)} item(s) did not fit and are not in the baseline` : ""}`,
    );
  const head: [string, string][] = [
    ["Provider", `${r.provider}    baseline ${r.version}`],
    ["State", `${stateLine(r)}${r.state === "learning" ? bar(r.progress) : ""}`],
    [
      "Learning",
      `${r.learningWindow === "whole recording" ? "the whole recording (replay --learn)" : `${r.learningWindow} window (${r.windowSource})`}, from ${r.learningStarted === null ? "the next event" : shortTime(r.learningStarted)}; last new item ${r.lastNewItem === null ? "none yet" : shortTime(r.lastNewItem)}`,
    ],
    ["Events", `${thousands(r.events)} observed, last at ${shortTime(r.lastEvent)}`],
  ];
  if (r.nodes.length > 0) head.push(["Nodes", r.nodes.join(", ")]);
  for (const f of flags) head.push(["Note", f]);
  const w = Math.max(...head.map(([k]) => k.length));
  for (const [k, v] of head) out.push(`${k.padEnd(w)}  ${v}`);
  if (r.state === "learning")
    out.push(
      "",
      "While learning, new behaviour is learned, not alerted; rules that ask the baseline get 'learning'.",
    );

  let anyCollapsed = false;
  let anyAllowed = false;
  for (const f of FACETS) {
    if (o.only !== undefined && f !== o.only) continue;
    const items = r.facets[f];
    const collapsed = items.filter((i) => i.collapsed).length;
    out.push(
      "",
      `${FACET_TITLE[f]}: ${thousands(items.length)} ${items.length === 1 ? "entry" : "entries"}${collapsed > 0 ? `, ${collapsed} collapsed` : ""}`,
    );
    if (items.length === 0) {
      out.push("  (none)");
      continue;
    }
    const shown = o.limit === 0 ? items : items.slice(0, o.limit);
    const qh = QUALIFIER_HEADER[f];
    const headers = ["VALUE", ...(qh === undefined ? [] : [qh]), "COUNT", "FIRST SEEN", "LAST SEEN"];
    if (f !== "tool") headers.push("TOOLS");
    const countCol = qh === undefined ? 1 : 2;
    const rows = shown.map((i) => {
      const mark = i.collapsed ? " *" : i.origin === "operator" ? " +" : "";
      if (i.collapsed) anyCollapsed = true;
      if (i.origin === "operator") anyAllowed = true;
      const row = [
        `${fit(i.value, 64)}${mark}`,
        ...(qh === undefined ? [] : [fit(i.qualifier === "*" ? "(any)" : i.qualifier || "-", 32)]),
        thousands(i.count),
        shortTime(i.firstSeen),
        shortTime(i.lastSeen),
      ];
      if (f !== "tool") row.push(i.tools.length === 0 ? "-" : fit(i.tools.join(", "), 40));
      return row;
    });
    out.push(table(headers, rows, new Set([countCol])));
    if (shown.length < items.length)
      out.push(`  … ${thousands(items.length - shown.length)} more (--limit 0 for all, or -o json)`);
  }

  if (o.only === undefined) {
    out.push("", "RATES (per minute, learned)");
    const rateRows = Object.entries(r.rates).map(([metric, s]) =>
      s === null
        ? [metric.replace("_", " "), "-", "-", "-", "not learned yet"]
        : [
            metric.replace("_", " "),
            String(s.median),
            String(s.mad),
            String(s.alertAbove),
            `${s.minutes} min${s.minutes < 10 ? " (too few to alert)" : ""}`,
          ],
    );
    out.push(table(["METRIC", "MEDIAN", "MAD", "ALERT ABOVE", "FROM"], rateRows, new Set([1, 2, 3])));

    out.push("", `RECENT DEVIATIONS: ${thousands(r.deviations)} recorded`);
    if (r.recentDeviations.length === 0) out.push("  (none)");
    else
      out.push(
        table(
          ["KIND", "VALUE", "TOOL", "COUNT", "ALERTS", "LAST SEEN", "WHILE"],
          r.recentDeviations.map((d) => [
            d.kind,
            fit(d.value, 56),
            d.tool || "-",
            thousands(d.count),
            thousands(d.alerts),
            shortTime(d.lastSeen),
            d.state,
          ]),
          new Set([3, 4]),
        ),
      );
  }
  out.push("");
  const legend: string[] = [];
  if (anyCollapsed) legend.push("* collapsed entry (CIDR, *.name or dir/**)");
  if (anyAllowed) legend.push("+ allowed by an operator");
  if (legend.length > 0) out.push(legend.join("; "));
  const db = o.db === undefined ? "FILE" : / /.test(o.db) ? `'${o.db}'` : o.db;
  out.push(
    `Accept a deviation: hangar-ctl baseline allow ${r.provider} <facet> <value> --db ${db}`,
    `Stop or restart learning: hangar-ctl baseline freeze|reset ${r.provider} --db ${db}`,
  );
  return `${out.join("\n")}\n`;
}
