import { createWriteStream } from "node:fs";
import { pino } from "pino";
import { defaultRulesDir, readPods, replay } from "../replay/replay.js";
import { escapeControls, escapeJsonControls } from "../replay/bounded.js";
import { parseProviderMapping, type ProviderMapping } from "../resolve/workloads.js";
import { parse } from "@hangar/core";

const HELP = `Usage: hangar-agent replay [--tetragon FILE]... [--hubble FILE]... [--traces FILE]...
                           [--pods FILE] [--provider NAMESPACE[/POD-PREFIX]=PROVIDER]...
                           [--rules PATH]... [--default-rules] [--db FILE] [--learn] [--format json|cef] [--strict]

Runs the agent's pipeline (normalize → resolve → correlate → detect) over recordings,
merged by event time, and prints alerts to stdout, one per line (JSON or CEF).

Inputs (each may be given several times):
  --tetragon FILE   JSON lines as written by 'tetra getevents -o json' or Tetragon's JSON export
  --hubble FILE     JSON lines as written by 'hubble observe -o json' or Hubble's flow export
                    (GetFlowsResponse lines, or a bare Flow per line as older versions wrote)
  --traces FILE     JSON lines of hangar.v1.CallTrace (proto JSON), from the MCP proxy
                    Objects pretty-printed over several lines (jq ., the upstream docs) are read too.

Pods (only events of pods labelled mcp-hangar.io/provider=<name> are kept):
  --pods FILE       the pods of the recording ('kubectl get pods -o json'), so that events that
                    carry only a container id, pod uid or IP resolve to their pod
  --provider NAMESPACE[/POD-PREFIX]=PROVIDER
                    treat pods without the label as this provider (repeatable), e.g.
                    --provider mcp/fs-tools-=fs-tools, or --provider mcp=fs-tools for a namespace

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

stderr: malformed records as "file:line: error" for people (and a hint when nothing was kept because
no event came from a labelled pod); the last line is one JSON object {"read":N,"kept":N,
"dropped":{"<reason>":N},"malformed":[{"file":…,"line":N,"error":…}] (the first 100, each message cut
to 500 characters),"malformed_omitted":N (the rest),"alerts":N,"folded":{…},
"unknown_fields":{"<type>.<field>":N},"unsupported_hooks":{"<function>":N}}. read counts records
(JSON objects), whatever lines they span. Control characters from the input (ESC and the rest
of C0, DEL, C1, bidi overrides) never reach the terminal raw: escaped as \\xNN on stderr and
\\uNNNN in JSON. Each alert line on stdout is at most 1 MiB: longer strings in it are cut with
a "…[truncated N bytes]" marker (the line stays valid JSON).
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
    pods: { type: "string" },
    provider: { type: "string", multiple: true },
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
  const providers: ProviderMapping[] = [];
  for (const p of v.provider ?? []) {
    try {
      providers.push(parseProviderMapping(p));
    } catch (err) {
      process.stderr.write(`hangar-agent replay: --provider ${(err as Error).message}\n`);
      return 2;
    }
  }
  const pods = v.pods === undefined ? undefined : await readPods(v.pods);
  const events =
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --events file
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
    ...(pods === undefined ? {} : { pods }),
    providers,
    stdout: process.stdout,
    logger,
  });
  if (events !== undefined && events !== process.stdout)
    await new Promise<void>((r) => events.end(() => r()));
  process.stderr.write(`${escapeJsonControls(JSON.stringify(summary))}\n`);
  return exitCode;
}

function humanLine(line: string): void {
  try {
    const o = JSON.parse(line) as { msg?: string };
    process.stderr.write(`${escapeControls(o.msg ?? line.trim())}\n`);
  } catch {
    process.stderr.write(`${escapeControls(line.trimEnd())}\n`);
  }
}
