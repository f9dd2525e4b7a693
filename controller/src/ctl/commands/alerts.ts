/** `hangar-ctl alerts [--follow]`: recent alerts from the controller, or a live feed. */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { usageError, type CtlCommand, type CtlIO } from "../command.js";
import {
  ApiError,
  CONNECT_HELP,
  CONNECT_OPTIONS,
  EXIT,
  EXIT_HELP,
  connectController,
  outputOf,
  renderTable,
} from "./controller-client.js";

export const ALERTS_HELP = `Usage: hangar-ctl alerts [--follow] [filters] [-o table|json|yaml]

Recent alerts held by the controller, oldest first; with --follow, then every
new alert as it arrives, until Ctrl-C (exit 1 if the controller drops this client
for not reading fast enough: it says so on stderr).

Filters:
  --provider NAME      one provider
  --severity LEVEL     at least this severity: info, low, medium, high, critical
  --rule ID            one rule
  --since TIME         at or after an ISO time (2026-11-22T00:00:00Z)
  --limit N            at most N of the newest (default 100)
  -f, --follow         keep printing new alerts (json/yaml print one document per alert)
  -o, --output FMT     table (default), json or yaml

${CONNECT_HELP}

${EXIT_HELP}
`;

type AlertJson = Record<string, unknown>;

function text(v: unknown): string {
  return typeof v === "string" || typeof v === "number" ? String(v) : "";
}

function severity(a: AlertJson): string {
  return text(a["severity"])
    .replace(/^SEVERITY_/, "")
    .toLowerCase();
}

function row(a: AlertJson): string[] {
  return [
    text(a["time"]),
    severity(a),
    text(a["provider"]),
    text(a["ruleId"]),
    text(a["node"]),
    text(a["message"]),
  ];
}
const HEADERS = ["TIME", "SEVERITY", "PROVIDER", "RULE", "NODE", "MESSAGE"];

export function renderAlerts(list: AlertJson[], format: "table" | "json" | "yaml"): string {
  if (format === "json") return `${JSON.stringify(list, null, 2)}\n`;
  if (format === "yaml") return stringify(list);
  if (list.length === 0) return "No alerts.\n";
  return renderTable(HEADERS, list.map(row));
}

export const alertsCommand: CtlCommand = {
  name: "alerts",
  summary: "recent alerts from the controller; --follow for a live feed",
  run: (argv, io) => runAlerts(argv, io),
};

/** `hangar-ctl alerts`; `signal` ends --follow (default: SIGINT). */
export async function runAlerts(argv: string[], io: CtlIO, signal?: AbortSignal): Promise<number> {
  {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          ...CONNECT_OPTIONS,
          provider: { type: "string" },
          severity: { type: "string" },
          rule: { type: "string" },
          since: { type: "string" },
          limit: { type: "string" },
          follow: { type: "boolean", short: "f" },
        },
        allowPositionals: false,
        strict: true,
      }));
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    if (values.help === true) {
      io.stdout(ALERTS_HELP);
      return EXIT.ok;
    }
    const format = outputOf(values.output);
    if (
      values.severity !== undefined &&
      !["info", "low", "medium", "high", "critical"].includes(values.severity)
    )
      throw usageError(
        `--severity: ${JSON.stringify(values.severity)} is not info, low, medium, high or critical`,
      );
    if (values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit))
      throw usageError(`--limit: ${JSON.stringify(values.limit)} is not a positive number`);
    if (values.since !== undefined && Number.isNaN(Date.parse(values.since)))
      throw usageError(`--since: ${JSON.stringify(values.since)} is not an ISO time`);
    const q = new URLSearchParams();
    for (const k of ["provider", "severity", "rule", "since", "limit"] as const) {
      const v = values[k];
      if (v !== undefined) q.set(k, v);
    }
    const client = await connectController(values);
    try {
      if (values.follow !== true) {
        const res = await client.json<{ alerts: AlertJson[] }>("GET", `/v1/alerts?${q.toString()}`);
        io.stdout(renderAlerts(res.alerts, format));
        return EXIT.ok;
      }
      q.set("follow", "true");
      if (format === "table") io.stdout(renderTable(HEADERS, []));
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      if (signal === undefined) process.once("SIGINT", onSigint);
      signal?.addEventListener("abort", () => ac.abort(), { once: true });
      let dropped: string | undefined;
      try {
        await client.events(
          `/v1/alerts?${q.toString()}`,
          (event, data) => {
            // The controller drops a follower that fell too far behind, saying why, then ends the stream.
            if (event === "dropped") {
              try {
                const m = (JSON.parse(data) as { message?: unknown }).message;
                dropped = typeof m === "string" ? m : data;
              } catch {
                dropped = data;
              }
              return;
            }
            if (event !== "alert") return;
            const a = JSON.parse(data) as AlertJson;
            if (format === "json") io.stdout(`${JSON.stringify(a)}\n`);
            else if (format === "yaml") io.stdout(`---\n${stringify(a)}`);
            else
              io.stdout(
                renderTable(HEADERS, [row(a)])
                  .split("\n")
                  .slice(1)
                  .join("\n"),
              );
          },
          ac.signal,
        );
      } finally {
        process.removeListener("SIGINT", onSigint);
      }
      if (dropped !== undefined) {
        io.stderr(`hangar-ctl alerts: the controller stopped following for this client: ${dropped}\n`);
        return EXIT.failed;
      }
      return EXIT.ok;
    } catch (err) {
      if (err instanceof ApiError) {
        io.stderr(`hangar-ctl alerts: ${err.code}: ${err.message}\n`);
        return err.exitCode;
      }
      throw err;
    } finally {
      await client.close();
    }
  }
}
