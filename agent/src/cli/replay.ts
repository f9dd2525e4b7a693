import { createWriteStream } from "node:fs";
import { pino } from "pino";
import { defaultRulesDir, replay } from "../replay/replay.js";
import { parse } from "@hangar/core";

const HELP = `Usage: hangar-agent replay [--tetragon FILE]... [--hubble FILE]... [--traces FILE]...
                           [--rules PATH]... [--default-rules] [--db FILE] [--learn] [--format json|cef] [--strict]

Runs the agent's pipeline (normalize → resolve → correlate → detect) over recordings,
merged by event time, and prints alerts to stdout, one per line (JSON or CEF).

Inputs (each may be given several times):
  --tetragon FILE   JSON lines as written by 'tetra getevents -o json' or Tetragon's JSON export
  --hubble FILE     JSON lines as written by 'hubble observe -o json'
  --traces FILE     JSON lines of hangar.v1.CallTrace (proto JSON), from the MCP proxy

Detection:
  --rules PATH      rule files or directories (needs the enterprise rule engine)
  --default-rules   also load the packs shipped in the repository's rules/ directory
                    ($HANGAR_RULES_DIR overrides it); without --rules or --default-rules
                    no rule engine runs (replay then only normalizes and correlates)
  --db FILE         baseline database (needs the enterprise baseline engine)
  --learn           learn baselines from the recording into --db

Output:
  --format json|cef alert format on stdout (default json); cef prints CEF:0 lines (no syslog
                    header) with the same encoder as the SIEM export (docs/reference/siem-export.md)
  --events FILE     also write every kept event (hangar.v1.RuntimeEvent JSON, after correlation)
                    to FILE; "-" for stdout
  --strict          exit 1 if any line was malformed

stderr: malformed lines as "file:line: error" for people; the last line is one JSON object
{"read":N,"kept":N,"dropped":{"<reason>":N},"malformed":[{"file":…,"line":N,"error":…}],"alerts":N}.
Exit codes: 0 done (malformed lines are skipped and reported), 1 --strict and malformed lines, 2 usage error.
`;

export async function replayCommand(args: string[]): Promise<number> {
  const v = parse("replay", args, {
    tetragon: { type: "string", multiple: true },
    hubble: { type: "string", multiple: true },
    traces: { type: "string", multiple: true },
    rules: { type: "string", multiple: true },
    "default-rules": { type: "boolean" },
    db: { type: "string" },
    learn: { type: "boolean" },
    format: { type: "string" },
    strict: { type: "boolean" },
    events: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const format = v.format ?? "json";
  if (format !== "json" && format !== "cef") {
    process.stderr.write(`hangar-agent replay: --format must be json or cef, got "${format}"\n`);
    return 2;
  }
  const events =
    v.events === undefined ? undefined : v.events === "-" ? process.stdout : createWriteStream(v.events);
  // People read stderr: plain lines, not JSON logs.
  const logger = pino(
    { level: "warn", base: null, timestamp: false },
    { write: (line: string) => humanLine(line) },
  );
  const { summary, exitCode } = await replay({
    tetragon: v.tetragon ?? [],
    hubble: v.hubble ?? [],
    traces: v.traces ?? [],
    rules: [...(v.rules ?? []), ...(v["default-rules"] === true ? [defaultRulesDir()] : [])],
    ...(v.db === undefined ? {} : { db: v.db }),
    learn: v.learn ?? false,
    format,
    strict: v.strict ?? false,
    ...(events === undefined ? {} : { events }),
    stdout: process.stdout,
    logger,
  });
  if (events !== undefined && events !== process.stdout)
    await new Promise<void>((r) => events.end(() => r()));
  process.stderr.write(`${JSON.stringify(summary)}\n`);
  return exitCode;
}

function humanLine(line: string): void {
  try {
    const o = JSON.parse(line) as { msg?: string };
    process.stderr.write(`${o.msg ?? line.trim()}\n`);
  } catch {
    process.stderr.write(line);
  }
}
