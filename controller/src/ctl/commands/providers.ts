/** `hangar-ctl providers`: every provider with a baseline, its state and counts. */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { usageError, type CtlCommand, type CtlIO } from "../command.js";
import { CONNECT_HELP, CONNECT_OPTIONS, EXIT_HELP } from "./controller-client.js";
import {
  fromController,
  loadBaselineFiles,
  outputFormat,
  sourceOf,
  shortTime,
  table,
  thousands,
  type ProviderSummaryReport,
} from "./behavioral.js";

export const PROVIDERS_HELP = `Usage: hangar-ctl providers [--db FILE | --server URL] [-o table|json|yaml]

Lists the providers (MCP servers) that have a baseline: state and learning
progress, events observed, and the number of entries per facet. Reads the
controller's merged baselines (GET /v1/providers), or a node's file with --db.

Options:
  --db FILE            the baseline database (the agent's file, e.g. /var/lib/hangar/baseline.duckdb)
  -o, --output FMT     table (default), json or yaml

${CONNECT_HELP}

${EXIT_HELP}
`;

function state(p: ProviderSummaryReport): string {
  const flags = [p.partial ? "partial" : "", p.capped ? "capped" : ""].filter((f) => f !== "");
  const base =
    p.state === "learning"
      ? p.progress === null
        ? "learning (recording)"
        : `learning ${Math.floor(p.progress * 100)}%`
      : p.state;
  return flags.length === 0 ? base : `${base}, ${flags.join(", ")}`;
}

export function renderProviders(list: readonly ProviderSummaryReport[]): string {
  if (list.length === 0)
    return `No provider has a baseline here yet. A baseline starts with the first event of a pod labelled
mcp-hangar.io/provider=<name>; an agent writes its file every few seconds. If events flow and nothing
appears, check that the pods carry the label and that the agent has a baseline database.
`;
  const rows = list.map((p) => [
    p.provider,
    state(p),
    p.version,
    thousands(p.events),
    String(p.items.egress),
    String(p.items.dns),
    String(p.items.binary),
    String(p.items.file),
    String(p.items.tool),
    thousands(p.deviations),
    shortTime(p.lastEvent),
  ]);
  return `${table(
    [
      "PROVIDER",
      "STATE",
      "VERSION",
      "EVENTS",
      "EGRESS",
      "DNS",
      "BINARY",
      "FILE",
      "TOOL",
      "DEVIATIONS",
      "LAST EVENT",
    ],
    rows,
    new Set([3, 4, 5, 6, 7, 8, 9]),
  )}\n`;
}

export const providersCommand: CtlCommand = {
  name: "providers",
  summary: "list providers with their baseline state and counts",
  async run(argv: string[], io: CtlIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...CONNECT_OPTIONS, db: { type: "string" } },
        allowPositionals: false,
        strict: true,
      });
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    const v = parsed.values;
    if (v.help === true) {
      io.stdout(PROVIDERS_HELP);
      return 0;
    }
    const format = outputFormat(v.output);
    const source = sourceOf(v);
    let list: ProviderSummaryReport[];
    if (source.kind === "file") list = await (await loadBaselineFiles()).listProviders(source.db);
    else {
      const r = await fromController<{ providers: ProviderSummaryReport[] }>(
        source.flags,
        "/v1/providers",
        io,
        "providers",
      );
      if (!r.ok) return r.code;
      list = r.value.providers;
    }
    if (format === "json") io.stdout(`${JSON.stringify(list, null, 2)}\n`);
    else if (format === "yaml") io.stdout(stringify(list));
    else io.stdout(renderProviders(list));
    return 0;
  },
};
