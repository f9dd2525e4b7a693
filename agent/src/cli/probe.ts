/**
 * hangar-agent probe: checks and self-tests the own eBPF probe.
 *
 *   --check     can the probe run here? (loader built, privileges, BTF, tracepoints)
 *   --selftest  a temporary "pod" (a cgroup named like kubelet's and a network namespace)
 *               execs a shell, connects over IPv4 and IPv6 to a listener in another network
 *               namespace and opens a file under a watched prefix; the agent's own probe
 *               path (loader → decode → cgroup → pod → provider) must report exactly that
 *
 * The pod fixture and the scenario live in `selftest/probe.ts`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { kindName, parse, type RuntimeEvent } from "@hangar/core";
import { AgentError } from "../errors.js";
import { runProbeScenario, testPodPrerequisites } from "../selftest/probe.js";
import { loaderMode } from "../sources/probe/cgroups.js";
import { defaultLoaderPaths, findLoader, probePrerequisites } from "../sources/probe/source.js";
import { stderrLogger } from "./logger.js";

const run = promisify(execFile);

const HELP = `Usage: hangar-agent probe --check | --selftest [options]

Checks the own eBPF probe (bpf/probe) on this node.

  --check                 say whether the probe can run here: the loader is built, the process
                          has the privileges, the kernel has BTF and the tracepoints attach
  --selftest              load the probe, run exec/connect/open in a temporary cgroup and network
                          namespace acting as an MCP pod, print what arrived, and exit 0 only if
                          all of them arrived with the right identity and nothing else did
  --loader FILE           the loader (default: ${defaultLoaderPaths().join(", ")})
  --cgroup-mode M         auto (default), v2 or v1:CONTROLLER
  --via-socket            sidecar mode: the agent listens on a unix socket and the loader,
                          started separately with --output unix:PATH, connects to it
  --timeout-ms N          how long to wait for the events (default 10000)
  --json                  print the events and the verdict as JSON lines
  --verbose               the agent's log on stderr

Exit codes: 0 ok; 1 the probe ran but the events were wrong or missing
(HANGAR_ERR_PROBE_SELFTEST); 2 it cannot run here — the message says what is missing
(HANGAR_ERR_PROBE_UNAVAILABLE) — or a usage error.
`;

/** A cgroup plus network namespaces that stand in for a Kubernetes pod. */
function line(ev: RuntimeEvent): string {
  const p = ev.process;
  const d = ev.detail;
  let what = "";
  if (d.case === "exec") what = `${p?.binary ?? ""} ${p?.arguments ?? ""}`.trim();
  else if (d.case === "exit")
    what = `status ${d.value.status}${d.value.signal === "" ? "" : ` ${d.value.signal}`}`;
  else if (d.case === "connect")
    what = `${d.value.protocol} ${d.value.sourceIp}:${d.value.sourcePort} → ${d.value.destinationIp}:${d.value.destinationPort} result ${d.value.result}`;
  else if (d.case === "file") what = `${d.value.path} ${d.value.flags}`;
  return `${kindName(ev.kind).padEnd(8)} pid ${String(p?.pid ?? "").padEnd(7)} ${ev.provider} ${ev.pod?.namespace ?? ""}/${ev.pod?.name ?? ""}  ${what}`;
}

async function check(loader: string | undefined): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const bin = loader ?? findLoader();
  const missing = probePrerequisites();
  if (bin === undefined)
    missing.push(
      `the loader: not built (looked for ${defaultLoaderPaths().join(", ")}); run bash scripts/setup-bpf-tools.sh`,
    );
  else if (findLoader([bin]) === undefined)
    missing.push(`the loader: ${bin} does not exist or is not executable`);
  if (missing.length > 0) return { ok: false, lines: missing.map((m) => `missing: ${m}`) };
  try {
    const { stdout } = await run(bin as string, ["--check"]);
    lines.push(...stdout.trim().split("\n"));
    return { ok: true, lines };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    lines.push(
      `the loader ${bin} could not load the probe: ${(e.stderr !== undefined && e.stderr !== "" ? e.stderr : e.message).trim()}`,
    );
    return { ok: false, lines };
  }
}

export async function probeCommand(args: string[]): Promise<number> {
  const v = parse("probe", args, {
    check: { type: "boolean" },
    selftest: { type: "boolean" },
    loader: { type: "string" },
    "cgroup-mode": { type: "string" },
    "via-socket": { type: "boolean" },
    "timeout-ms": { type: "string" },
    json: { type: "boolean" },
    verbose: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (v.check !== true && v.selftest !== true) {
    process.stderr.write(`hangar-agent probe: give --check or --selftest\n\n${HELP}`);
    return 2;
  }
  const out = (s: string): boolean => process.stdout.write(`${s}\n`);
  const c = await check(v.loader);
  if (v.check === true && v.selftest !== true) {
    for (const l of c.lines) out(l);
    return c.ok ? 0 : 2;
  }
  if (!c.ok) {
    const missing = [...c.lines, ...(await testPodPrerequisites()).map((m) => `missing: ${m}`)];
    throw new AgentError(
      "HANGAR_ERR_PROBE_UNAVAILABLE",
      `probe --selftest cannot run here:\n  ${missing.join("\n  ")}`,
    );
  }
  const podMissing = await testPodPrerequisites();
  if (podMissing.length > 0)
    throw new AgentError(
      "HANGAR_ERR_PROBE_UNAVAILABLE",
      `probe --selftest cannot create its test pod: missing ${podMissing.join(", ")}`,
    );
  const timeoutMs = v["timeout-ms"] === undefined ? 10_000 : Number(v["timeout-ms"]);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      `probe: --timeout-ms must be a positive integer, got "${v["timeout-ms"]}"`,
    );
  const result = await runProbeScenario({
    ...(v["cgroup-mode"] === undefined ? {} : { cgroupMode: v["cgroup-mode"] }),
    ...(v.loader === undefined ? {} : { loader: v.loader }),
    ...(v["via-socket"] === true ? { viaSocket: true } : {}),
    timeoutMs,
    ...(v.verbose === true ? { logger: stderrLogger("debug") } : {}),
  });
  if (v.json === true) {
    for (const ev of result.events) out(JSON.stringify({ event: line(ev) }));
    out(JSON.stringify({ ok: result.ok, hierarchy: result.hierarchy, checks: result.checks }));
  } else {
    out(`probe selftest (cgroup ${loaderMode(result.hierarchy)} at ${result.hierarchy.mount})`);
    out("events seen:");
    for (const ev of result.events) out(`  ${line(ev)}`);
    out("checks:");
    for (const ch of result.checks) out(`  ${ch.ok ? "ok  " : "FAIL"} ${ch.what}: ${ch.detail}`);
    out(result.ok ? "selftest passed" : "selftest FAILED");
  }
  if (!result.ok) {
    process.stderr.write(`hangar-agent: HANGAR_ERR_PROBE_SELFTEST: the probe did not report what happened\n`);
    return 1;
  }
  return 0;
}
