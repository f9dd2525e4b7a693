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
import {
  SENSOR_CHOICES,
  decideSensor,
  realModeFacts,
  sensorLine,
  type RealModeFacts,
  type SensorChoice,
  type SensorDecision,
} from "./sensor-mode.js";
import { LocalStack, type StackOptions } from "./stack.js";

export const LOCAL_USAGE = `Usage: hangar-local [options]

The local stack on embedded defaults (what \`npm start\` runs): the controller
(MCP proxy, agent hub, REST API, enforcer in AUDIT mode) in front of a bundled
sample MCP server, and the agent with the rule packs from rules/ and the baseline
engine. A scripted MCP client makes normal calls while the baseline learns, then
one prompt-injected call: its alerts are printed as CEF, with the chain that ties
them to the call, and the NetworkPolicy the enforcer would apply as a diff. Then
the stack keeps running for hangar-ctl until Ctrl-C. No Kubernetes: the enforcer
works against an empty in-memory cluster and applies nothing.

The sensor: where it can (root, a kernel with BTF, the probe built), real mode:
the sample server runs in a pod of its own (a cgroup and network namespace; its
service-account token in a mount namespace of its own), its tools' shell, token
read and connections really happen (to listeners in another network namespace
the stack makes: nothing leaves this machine), and the agent's eBPF probe reports
them. Elsewhere the sensor simulator reports what the tools would do, and the
first line says what real mode lacks.

Options:
  --sensor auto|probe|simulator
                          auto (default): the probe where possible, else the
                          simulator; probe: real mode or a configuration error
  --fast                  learn for 4 s instead of 25 s (and call faster)
  --learning-window DUR   the provider's learning window (e.g. 40s, 2m; overrides --fast)
  --data-dir DIR          where the baseline DuckDB file lives (default ./.hangar;
                          baseline.duckdb for the simulator, baseline.probe.duckdb
                          for the probe: the two sensors see different things)
  --keep                  reuse the baseline an earlier run learned in DIR (the default)
  --reset                 forget the learned baseline first: learning starts again
  --api-listen HOST:PORT  REST API (default 127.0.0.1:8080; a free port if that one is taken)
  --proxy-listen HOST:PORT
                          MCP proxy (default 127.0.0.1:8081; a free port if taken)
  --token TOKEN           the REST API's admin token (default hangar-local; env HANGAR_TOKEN)
  --exit                  exit after the scenario instead of waiting for Ctrl-C
  --json                  one JSON object per line instead of text (kind: sensor, stack,
                          progress, call, effects, alert, enforcement, ready, stopped)
  -h, --help              this text

Real mode: sudo npm start (after npm run build as yourself); the probe is built by
bash scripts/setup-bpf-tools.sh. The pod, its namespaces and cgroups are removed on
exit and on Ctrl-C.
Exit codes: 0 ok (with --exit: the scenario produced its alerts and enforcement
event), 1 runtime failure or the scenario did not, 2 usage or configuration error
(e.g. a --api-listen address that is taken, or --sensor probe where real mode is
not possible).
`;

interface Options extends Omit<StackOptions, "sensor"> {
  sensorChoice: SensorChoice;
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
        sensor: { type: "string" },
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
  const sensorChoice = (v.sensor ?? "auto") as SensorChoice;
  if (!SENSOR_CHOICES.includes(sensorChoice))
    return { usage: `--sensor: ${JSON.stringify(v.sensor)} is not one of ${SENSOR_CHOICES.join(", ")}` };
  const token = v.token ?? process.env["HANGAR_TOKEN"] ?? "hangar-local";
  if (!/^\S+$/.test(token)) return { usage: "--token: must be non-empty with no spaces" };
  return {
    sensorChoice,
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

export async function runLocalCli(
  argv: string[],
  io: LocalIO,
  signal: AbortSignal,
  facts: () => Promise<RealModeFacts> = realModeFacts,
): Promise<number> {
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
  const decided = decideSensor(o.sensorChoice, await facts());
  if ("error" in decided) {
    io.stderr(
      `hangar-local: --sensor probe: real mode is not possible here: missing ${decided.error.missing.join("; ")}\n` +
        `  to get it: ${decided.error.how.join("; ")}\n  (--sensor auto, the default, falls back to the simulator)\n`,
    );
    return 2;
  }
  const first = sensorLine(decided);
  out.out(first.text, first.json);
  let stack = new LocalStack({ ...o, sensor: decided }, out);
  try {
    try {
      await stack.start();
    } catch (err) {
      // Real mode chosen by auto that did not come up (e.g. the kernel refused the eBPF
      // programs): say why, take everything down, and run on the simulator.
      if (decided.mode !== "probe" || o.sensorChoice !== "auto" || isConfigError(err)) throw err;
      await stack.stop().catch(() => undefined);
      const why = errorText(err);
      const sim: SensorDecision = { mode: "simulator", chosen: false, check: { missing: [why], how: [] } };
      out.out(`sensor: real mode did not start (${why}): the simulator runs instead\n\n`, {
        kind: "sensor",
        mode: "simulator",
        chosen: false,
        reason: `real mode did not start: ${why}`,
        missing: [],
        how: [],
      });
      stack = new LocalStack({ ...o, sensor: sim }, out);
      await stack.start();
    }
    const ok = await runScenario(stack, out, o, signal);
    if (!o.exit && !signal.aborted) {
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    }
    await stack.stop();
    return o.exit && !ok ? 1 : 0;
  } catch (err) {
    io.stderr(`hangar-local: ${errorText(err)}\n`);
    await stack.stop().catch(() => undefined);
    // A port that cannot be had or a bad listen address is a configuration error.
    return isConfigError(err) ? 2 : 1;
  }
}

function isConfigError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "HANGAR_ERR_API_CONFIG" || code === "HANGAR_ERR_PROXY_CONFIG";
}

function errorText(err: unknown): string {
  const code = (err as { code?: string }).code;
  return `${code !== undefined ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}`;
}
