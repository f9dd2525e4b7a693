/**
 * `hangar-local` (what `npm start` runs): reads the flags, starts the local stack (`stack.ts`),
 * runs the scripted scenario (`scenario.ts`) and keeps the stack running for hangar-ctl until
 * Ctrl-C. Exit codes: 0 ok, 1 runtime failure (or, with --exit, a scenario without its alerts
 * and enforcement event), 2 usage or configuration error.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Output, type LocalIO } from "./output.js";
import { runScenario } from "./scenario.js";
import { LocalStack, type StackOptions } from "./stack.js";

export const LOCAL_USAGE = `Usage: hangar-local [options]

The local stack on embedded defaults (what \`npm start\` runs): the controller
(MCP proxy, agent hub, REST API, enforcer in AUDIT mode) in front of a bundled
sample MCP server, and the agent with the rule packs from rules/ and the baseline
engine, fed by the sensor simulator with what the sample server's tools do. A
scripted MCP client makes normal calls while the baseline learns, then one
prompt-injected call: its alerts are printed as CEF, with the chain that ties
them to the call, and the NetworkPolicy the enforcer would apply as a diff.
Then the stack keeps running for hangar-ctl until Ctrl-C. No Kubernetes, no
root: the enforcer works against an empty in-memory cluster and applies nothing.

Options:
  --fast                  learn for 4 s instead of 25 s (and call faster)
  --learning-window DUR   the provider's learning window (e.g. 40s, 2m; overrides --fast)
  --data-dir DIR          where the baseline DuckDB file lives (default ./.hangar)
  --keep                  reuse the baseline an earlier run learned in DIR (the default)
  --reset                 forget the learned baseline first: learning starts again
  --api-listen HOST:PORT  REST API (default 127.0.0.1:8080; a free port if that one is taken)
  --proxy-listen HOST:PORT
                          MCP proxy (default 127.0.0.1:8081; a free port if taken)
  --token TOKEN           the REST API's admin token (default hangar-local; env HANGAR_TOKEN)
  --exit                  exit after the scenario instead of waiting for Ctrl-C
  --json                  one JSON object per line instead of text (kind: stack, progress,
                          call, alert, enforcement, ready, stopped)
  -h, --help              this text

The eBPF probe is not used here: the events come from the simulator.
Exit codes: 0 ok (with --exit: the scenario produced its alerts and enforcement
event), 1 runtime failure or the scenario did not, 2 usage or configuration error
(e.g. a --api-listen address that is taken).
`;

interface Options extends StackOptions {
  callEveryMs: number;
  exit: boolean;
  json: boolean;
}

function parseDur(s: string): number | undefined {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
  if (m === null || s.trim() === "") return undefined;
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000;
}

/** The options of `argv`, "help", or what is wrong with them (a usage error: exit 2). */
function options(argv: string[]): Options | "help" | { usage: string } {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        fast: { type: "boolean" },
        "learning-window": { type: "string" },
        "data-dir": { type: "string" },
        keep: { type: "boolean" },
        reset: { type: "boolean" },
        "api-listen": { type: "string" },
        "proxy-listen": { type: "string" },
        token: { type: "string" },
        exit: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    return { usage: err instanceof Error ? err.message : String(err) };
  }
  if (v.help === true) return "help";
  if (v.keep === true && v.reset === true) return { usage: "--keep and --reset contradict each other" };
  let windowText = v.fast === true ? "4s" : "25s";
  if (v["learning-window"] !== undefined) windowText = v["learning-window"];
  const windowMs = parseDur(windowText);
  if (windowMs === undefined || windowMs < 1000)
    return {
      usage: `--learning-window: ${JSON.stringify(windowText)} is not a duration of at least 1s (e.g. 20s, 2m)`,
    };
  const token = v.token ?? process.env["HANGAR_TOKEN"] ?? "hangar-local";
  if (!/^\S+$/.test(token)) return { usage: "--token: must be non-empty with no spaces" };
  return {
    windowMs,
    windowText,
    callEveryMs: Math.max(150, Math.min(1000, Math.round(windowMs / 25))),
    dataDir: resolve(v["data-dir"] ?? ".hangar"),
    reset: v.reset === true,
    apiListen: v["api-listen"],
    proxyListen: v["proxy-listen"],
    token,
    exit: v.exit === true,
    json: v.json === true,
  };
}

export async function runLocalCli(argv: string[], io: LocalIO, signal: AbortSignal): Promise<number> {
  const o = options(argv);
  if (o === "help") {
    io.stdout(LOCAL_USAGE);
    return 0;
  }
  if ("usage" in o) {
    io.stderr(`hangar-local: ${o.usage}\n\n${LOCAL_USAGE}`);
    return 2;
  }
  const out = new Output(io, o.json);
  const stack = new LocalStack(o, out);
  try {
    await stack.start();
    const ok = await runScenario(stack, out, o, signal);
    if (!o.exit && !signal.aborted) {
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    }
    await stack.stop();
    return o.exit && !ok ? 1 : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.stderr(
      `hangar-local: ${code !== undefined ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}\n`,
    );
    await stack.stop().catch(() => undefined);
    // A port that cannot be had or a bad listen address is a configuration error.
    return code === "HANGAR_ERR_API_CONFIG" || code === "HANGAR_ERR_PROXY_CONFIG" ? 2 : 1;
  }
}
