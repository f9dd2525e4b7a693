/**
 * Shared pieces of the fault tests (faults-*.test.ts): a Tetragon stream of exec events made
 * here (one alert each through a one-rule pack), the real `hangar-agent run` process, a real
 * TCP syslog receiver that counts what arrives, and a small tmpfs for the spool.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { PROVIDER_LABEL } from "@hangar/core";
import { tetragon } from "@hangar/proto";

export const AGENT_MAIN = fileURLToPath(new URL("../../../agent/dist/src/cli/main.js", import.meta.url));

/** One rule: every shell exec is an alert whose message carries the whole argument string. */
export const EXEC_RULE = `requires engine ">=1.0"

rule fault.exec.sh {
  description "Every /bin/sh exec (fault tests: one alert per event)."
  severity high
  mitre T1059
  maturity sandbox
  event exec where process.binary = "/bin/sh"
  message "sh {process.arguments}"
  test "sh" {
    at 0s exec { process.binary: "/bin/sh", process.arguments: "-c id" }
    expect match
  }
}
`;

export function writeRule(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "fault.rules");
  writeFileSync(file, EXEC_RULE);
  return file;
}

const pod = create(tetragon.PodSchema, {
  namespace: "mcp",
  name: "weather-0",
  uid: "3b0f6a2e-6d3c-4b7e-9a51-0c4c1f9e2d11",
  podLabels: { app: "weather", [PROVIDER_LABEL]: "weather" },
  workload: "weather",
  workloadKind: "StatefulSet",
  container: {
    id: "containerd://9f2c4e1ab03d5c7e8f90123456789abcdef0123456789abcdef0123456789ab",
    name: "server",
    image: { name: "ghcr.io/example/weather:1.0", id: "ghcr.io/example/weather@sha256:4b825dc6" },
  },
});

/** Exec event `i` of a stream: /bin/sh started by the server, argument `tag-<i>` (plus `pad`). */
export function execEvent(i: number, startMs: number, pad = ""): tetragon.GetEventsResponse {
  const t = timestampFromMs(startMs + i);
  const execId = Buffer.from(`node-a:${1000 + i}:${100000 + i}`).toString("base64");
  const parentId = Buffer.from("node-a:1:4242").toString("base64");
  return create(tetragon.GetEventsResponseSchema, {
    nodeName: "node-a",
    time: t,
    event: {
      case: "processExec",
      value: {
        process: {
          execId,
          parentExecId: parentId,
          pid: 100000 + i,
          uid: 0,
          cwd: "/app",
          binary: "/bin/sh",
          arguments: `-c tag-${i}${pad}`,
          flags: "execve clone",
          startTime: t,
          pod,
        },
        parent: {
          execId: parentId,
          pid: 4242,
          binary: "/usr/local/bin/node",
          arguments: "server.js",
          startTime: timestampFromMs(startMs - 60_000),
          pod,
        },
      },
    },
  });
}

/** The tag numbers in what arrived (`tag-<i>` in each alert). */
export function tags(lines: readonly string[]): number[] {
  const out: number[] = [];
  for (const l of lines) {
    const m = /tag-(\d+)/.exec(l);
    if (m !== null) out.push(Number(m[1]));
  }
  return out;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `hangar-agent run` with these arguments (no Kubernetes, a free health port unless given). */
export function startAgentProcess(
  args: readonly string[],
  onStdoutLine?: (line: string, atMs: number) => void,
): AgentProcess {
  const child = spawn(process.execPath, [AGENT_MAIN, "run", "--no-kube", "--hubble", "none", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p: AgentProcess = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))),
  };
  let partial = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => {
    p.stdout += c;
    if (onStdoutLine === undefined) return;
    const now = Date.now();
    const lines = (partial + c).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) onStdoutLine(l, now);
  });
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (p.stderr += c));
  return p;
}

/** The health port the agent logged ("hangar-agent running"). */
export function healthPort(p: AgentProcess): number | undefined {
  const m = /"healthPort":(\d+)/.exec(p.stderr);
  return m === null ? undefined : Number(m[1]);
}

/** A real TCP syslog receiver (LF framing): every line it got, in order; can go down and up. */
export class LineReceiver {
  readonly lines: string[] = [];
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async start(port = 0): Promise<number> {
    const server = createServer((s) => {
      this.#sockets.add(s);
      let buf = "";
      s.setEncoding("utf8");
      s.on("data", (c: string) => {
        buf += c;
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          this.lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
        }
      });
      s.on("close", () => this.#sockets.delete(s));
      s.on("error", () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.#server = server;
    const a = server.address();
    this.port = typeof a === "object" && a !== null ? a.port : port;
    return this.port;
  }

  /** Stops listening and drops every connection (a SIEM that goes away). */
  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Mounts a tmpfs of `bytes` at `dir` (root only); returns the unmount function, or a reason it cannot. */
export function mountTmpfs(dir: string, bytes: number): (() => void) | string {
  if (process.getuid?.() !== 0) return "not root: mounting a tmpfs needs root";
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) return `mount -t tmpfs failed: ${r.stderr.trim() || String(r.error)}`;
  return () => {
    spawnSync("umount", ["-l", dir]);
  };
}

/** Skip reason for root-only fault tests, or false to run; HANGAR_REQUIRE_FAULT=1 makes a skip a failure. */
export function faultSkip(reason: string | undefined): string | false {
  if (reason === undefined) return false;
  if (process.env.HANGAR_REQUIRE_FAULT === "1")
    throw new Error(`HANGAR_REQUIRE_FAULT=1 but the fault test cannot run: ${reason}`);
  process.stderr.write(`# skipped: ${reason} (set HANGAR_REQUIRE_FAULT=1 to make this a failure)\n`);
  return reason;
}

/** The counters the agent logged when it stopped (its last word: drops during shutdown included). */
export function stoppedCounters(stderr: string): Record<string, number> {
  for (const line of stderr.split("\n").reverse()) {
    if (!line.includes('"msg":"stopped"')) continue;
    const o = JSON.parse(line) as { counters?: Record<string, number> };
    if (o.counters !== undefined) return o.counters;
  }
  throw new Error(`the agent did not log its counters when it stopped:\n${stderr.slice(-3000)}`);
}

/** `hangar-agent run` arguments for a fault test: the one-rule pack, a SIEM over TCP, the hub over mTLS. */
export function agentArgs(o: {
  dir: string;
  tetragon: string;
  spoolDir: string;
  siemPort?: number;
  hubPort?: number;
  siemParams?: string;
}): string[] {
  const args = [
    "--tetragon",
    o.tetragon,
    "--rules",
    writeRule(join(o.dir, "rules")),
    "--health-port",
    "0",
    "--spool-dir",
    o.spoolDir,
    "--node",
    "node-a",
  ];
  if (o.siemPort !== undefined)
    args.push(
      "--siem",
      `tcp://127.0.0.1:${o.siemPort}?format=json&syslog=none&framing=lf&name=siem${o.siemParams ?? ""}`,
    );
  if (o.hubPort !== undefined) args.push(...hubClientArgs(o.dir, o.hubPort));
  return args;
}

/** The agent's flags for the hub on `port`, with the client certificate of `writeTestCerts(dir)`. */
export function hubClientArgs(dir: string, port: number): string[] {
  return [
    "--hub",
    `127.0.0.1:${port}`,
    "--hub-ca",
    join(dir, "ca.crt"),
    "--hub-cert",
    join(dir, "cli.crt"),
    "--hub-key",
    join(dir, "cli.key"),
    "--hub-server-name",
    "hangar-controller",
  ];
}

/** The hub's TLS files of `writeTestCerts(dir)` (an AgentHub's `tls`). */
export function hubServerTls(dir: string): { clientCaFile: string; certFile: string; keyFile: string } {
  return { clientCaFile: join(dir, "ca.crt"), certFile: join(dir, "srv.crt"), keyFile: join(dir, "srv.key") };
}

/** Accepted, delivered, duplicated and lost, by tag: what a fault test reports and asserts on. */
export function account(
  accepted: readonly number[],
  delivered: readonly number[],
): {
  accepted: number;
  delivered: number;
  duplicated: number;
  lost: number[];
} {
  const got = new Set(delivered);
  const acc = new Set(accepted);
  return {
    accepted: acc.size,
    delivered: [...got].filter((t) => acc.has(t)).length,
    duplicated: delivered.length - got.size,
    lost: [...acc].filter((t) => !got.has(t)).sort((a, b) => a - b),
  };
}
