/** `hangar-ctl enforcement list|show|revert`: what the controller enforced (or audited), and undoing it. */
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
  type ControllerClient,
} from "./controller-client.js";

export const ENFORCEMENT_HELP = `Usage: hangar-ctl enforcement <list|show|revert> [options]

  list [--provider NAME] [--state STATE] [--namespace NS] [--limit N]
                       enforcements, newest first (states: pending, audited, applied,
                       reverted, expired, refused, failed)
  show <id>            one enforcement: the exact object, the diff against what existed,
                       the prior state and the history
  revert <id>          undo it: the prior object is put back exactly (deleted when the
                       enforcement created it). Needs an admin token.

Options:
  -o, --output FMT     table (default), json or yaml

${CONNECT_HELP}

${EXIT_HELP}
`;

type Row = Record<string, string>;

export function renderList(list: Row[], format: "table" | "json" | "yaml"): string {
  if (format === "json") return `${JSON.stringify(list, null, 2)}\n`;
  if (format === "yaml") return stringify(list);
  if (list.length === 0) return "No enforcements.\n";
  return renderTable(
    ["ID", "STATE", "MODE", "ACTION", "PROVIDER", "DESTINATION", "OBJECT", "EXPIRES", "ERROR"],
    list.map((r) => [
      r["id"] ?? "",
      r["state"] ?? "",
      r["mode"] ?? "",
      r["action"] ?? "",
      `${r["namespace"] ?? ""}/${r["provider"] ?? ""}`,
      r["destination"] ?? "",
      r["object"] ?? "",
      r["expiresAt"] ?? "",
      r["error"] ?? "",
    ]),
  );
}

interface RecordJson {
  id: string;
  state: string;
  revertRequest?: { actor: string; time: string };
  mode: string;
  modeSource: string;
  actor: string;
  request: {
    provider: string;
    namespace: string;
    action: string;
    destination?: string;
    alertId: string;
    ruleId: string;
  };
  objectKind?: string;
  objectName?: string;
  manifest?: unknown;
  diff: string;
  notes: string[];
  expiresAt?: string;
  error?: string;
  history: { time: string; state: string; actor: string; message?: string }[];
}

export function renderRecord(r: RecordJson, format: "table" | "json" | "yaml"): string {
  if (format === "json") return `${JSON.stringify(r, null, 2)}\n`;
  if (format === "yaml") return stringify(r);
  const lines = [
    `ID:          ${r.id}`,
    `State:       ${r.state}`,
    `Mode:        ${r.mode} (${r.modeSource})`,
    `Action:      ${r.request.action}${r.request.destination !== undefined ? ` ${r.request.destination}` : ""}`,
    `Provider:    ${r.request.namespace}/${r.request.provider}`,
    `Alert:       ${r.request.alertId || "-"} (rule ${r.request.ruleId || "-"}, by ${r.actor})`,
    `Object:      ${r.objectKind !== undefined ? `${r.objectKind} ${r.request.namespace}/${r.objectName ?? ""}` : "-"}`,
    `Expires:     ${r.expiresAt ?? "-"}`,
  ];
  if (r.error !== undefined) lines.push(`Error:       ${r.error}`);
  for (const n of r.notes) lines.push(`Note:        ${n}`);
  lines.push("", "History:");
  for (const h of r.history)
    lines.push(
      `  ${h.time}  ${h.state.padEnd(8)}  ${h.actor}${h.message !== undefined ? `  ${h.message}` : ""}`,
    );
  if (r.diff !== "") lines.push("", "Diff:", r.diff.trimEnd());
  return `${lines.join("\n")}\n`;
}

async function runSub(
  client: ControllerClient,
  sub: string,
  positionals: string[],
  values: Record<string, string | boolean | undefined>,
  io: CtlIO,
): Promise<number> {
  const format = outputOf(values["output"] as string | undefined);
  const id = positionals[0];
  if (sub === "list") {
    if (positionals.length > 0) throw usageError(`list takes no arguments, got ${positionals.join(" ")}`);
    const q = new URLSearchParams();
    for (const k of ["provider", "state", "namespace", "limit"]) {
      const v = values[k];
      if (typeof v === "string") q.set(k, v);
    }
    const res = await client.json<{ enforcements: Row[] }>("GET", `/v1/enforcements?${q.toString()}`);
    io.stdout(renderList(res.enforcements, format));
    return EXIT.ok;
  }
  if (id === undefined || positionals.length > 1) throw usageError(`${sub} takes one enforcement id`);
  if (!/^e[0-9a-f]{12}$/.test(id))
    throw usageError(
      `${JSON.stringify(id)} is not an enforcement id (e and 12 hex digits, see 'hangar-ctl enforcement list')`,
    );
  if (sub === "show") {
    io.stdout(renderRecord(await client.json<RecordJson>("GET", `/v1/enforcements/${id}`), format));
    return EXIT.ok;
  }
  const r = await client.json<RecordJson>("POST", `/v1/enforcements/${id}/revert`);
  if (format === "table" && r.revertRequest !== undefined) {
    io.stdout(
      `${r.id} ${r.state}: revert requested; the replica holding the Lease carries it out on its next tick (check with 'hangar-ctl enforcement show ${r.id}')\n`,
    );
  } else if (format === "table") {
    const last = r.history.at(-1);
    io.stdout(
      `${r.id} ${r.state}${r.objectKind !== undefined ? `: ${r.objectKind} ${r.request.namespace}/${r.objectName ?? ""}` : ""}${last?.message !== undefined ? ` (${last.message})` : ""}\n`,
    );
  } else io.stdout(renderRecord(r, format));
  return EXIT.ok;
}

export const enforcementCommand: CtlCommand = {
  name: "enforcement",
  summary: "list, show and revert enforcements (NetworkPolicy changes)",
  async run(argv: string[], io: CtlIO): Promise<number> {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        options: {
          ...CONNECT_OPTIONS,
          provider: { type: "string" },
          state: { type: "string" },
          limit: { type: "string" },
        },
        allowPositionals: true,
        strict: true,
      }));
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    const [sub, ...rest] = positionals;
    if (values.help === true || sub === "help") {
      io.stdout(ENFORCEMENT_HELP);
      return EXIT.ok;
    }
    if (sub === undefined) throw usageError("missing subcommand: list, show or revert");
    if (!["list", "show", "revert"].includes(sub))
      throw usageError(`unknown subcommand ${JSON.stringify(sub)}: list, show or revert`);
    if (values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit))
      throw usageError(`--limit: ${JSON.stringify(values.limit)} is not a positive number`);
    outputOf(values.output);
    const client = await connectController(values);
    try {
      return await runSub(client, sub, rest, values, io);
    } catch (err) {
      if (err instanceof ApiError) {
        io.stderr(`hangar-ctl enforcement ${sub}: ${err.code}: ${err.message}\n`);
        return err.exitCode;
      }
      throw err;
    } finally {
      await client.close();
    }
  },
};
