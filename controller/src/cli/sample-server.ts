/**
 * `hangar-controller sample-server`: the bundled sample MCP server on its own,
 * doing what its tools do for real where that is safe (see sample-server.ts),
 * e.g. as the provider pod of an end-to-end test in a cluster watched by
 * Tetragon. Runs until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { isIP } from "node:net";
import { startSampleServer, type Destination } from "../sample/sample-server.js";

/** `IP:PORT` (an IPv6 address in brackets) as a destination, or an error naming the flag. */
export function destination(value: string, flag: string): Destination {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value);
  const ip = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (ip === undefined || isIP(ip) === 0 || !(port > 0 && port < 65536))
    throw new Error(`${flag} must be IP:PORT (an address, not a name; [v6]:PORT), got "${value}"`);
  return { ip, port };
}

export const SAMPLE_SERVER_USAGE = `Usage: hangar-controller sample-server [--listen HOST:PORT] [--upstream IP:PORT] [--exfil IP:PORT]

The bundled sample MCP server (the official SDK's server, Streamable HTTP at
/mcp, GET /healthz for probes), with three tools:

  get_weather {city}         benign: resolves api.weather.example, tries 198.51.100.7:443
                             (a documentation address; gives up after 300 ms), answers a
                             made-up forecast
  list_reports {}            benign: reads /app/reports
  run_report {report, format}
                             benign for plain arguments (reads one template). Arguments
                             with shell metacharacters (; | & $ \`) take the sample's
                             deliberate command-injection path: /bin/bash -c runs cat on the
                             service-account token (into /dev/null) and tries a TCP
                             connection to 203.0.113.66:443 (a documentation address),
                             killed after 2 s. The command is fixed: what a caller sends
                             never reaches a shell.

Under a sensor (Tetragon, the eBPF probe) these are the events the local stack
simulates: a shell spawned by the server, a token read, a connection out.

Options:
  --listen HOST:PORT   where to listen (default 0.0.0.0:8000)
  --upstream IP:PORT   where get_weather connects, without a DNS lookup (default: look up
                       api.weather.example, then 198.51.100.7:443)
  --exfil IP:PORT      where the injected shell connects (default 203.0.113.66:443)
  -h, --help           this text

Outside a cluster (a test on this machine) point --upstream and --exfil at listeners of the
test, so that no packet leaves it.

Exit codes: 0 after SIGINT/SIGTERM, 1 cannot listen, 2 usage error.
`;

export async function runSampleServerCli(
  argv: string[],
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
  signal: AbortSignal,
): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({
      args: argv,
      options: {
        listen: { type: "string" },
        upstream: { type: "string" },
        exfil: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    io.stderr(`hangar-controller sample-server: ${(err as Error).message}\n\n${SAMPLE_SERVER_USAGE}`);
    return 2;
  }
  if (v.help === true) {
    io.stdout(SAMPLE_SERVER_USAGE);
    return 0;
  }
  let upstream: Destination | undefined;
  let exfil: Destination | undefined;
  try {
    upstream = v.upstream === undefined ? undefined : destination(v.upstream, "--upstream");
    exfil = v.exfil === undefined ? undefined : destination(v.exfil, "--exfil");
  } catch (err) {
    io.stderr(`hangar-controller sample-server: ${(err as Error).message}\n`);
    return 2;
  }
  let server;
  try {
    server = await startSampleServer({
      ...(upstream === undefined ? {} : { upstream }),
      ...(exfil === undefined ? {} : { exfil }),
      listen: v.listen ?? "0.0.0.0:8000",
      effects: "real",
      onProcess: (p) =>
        io.stdout(
          `${JSON.stringify({ time: new Date().toISOString(), msg: "process ended", pid: p.pid, binary: p.binary, args: p.args, exitCode: p.exitCode, signal: p.signal })}\n`,
        ),
      onCall: (c) =>
        io.stdout(
          `${JSON.stringify({ time: new Date().toISOString(), msg: "tools/call", tool: c.tool, arguments: c.args, injected: c.injected })}\n`,
        ),
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.stderr(
      `hangar-controller sample-server: ${code !== undefined ? `${code}: ` : ""}cannot listen on ${v.listen ?? "0.0.0.0:8000"}: ${(err as Error).message}\n`,
    );
    return code === "HANGAR_ERR_API_CONFIG" ? 2 : 1;
  }
  io.stdout(
    `${JSON.stringify({ time: new Date().toISOString(), msg: "sample MCP server listening", url: server.url })}\n`,
  );
  await new Promise<void>((r) => {
    if (signal.aborted) r();
    else signal.addEventListener("abort", () => r(), { once: true });
  });
  await server.close();
  return 0;
}
