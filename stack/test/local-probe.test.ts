/**
 * `hangar-local` in real mode, as root on a kernel with BTF with the probe built: the sample
 * server runs in a pod of its own (cgroup, network and mount namespaces), the poisoned call's
 * shell, token read and connection really happen, and the agent's eBPF probe reports them.
 * The alerts' evidence must be the probe's events with the pod's identity and the real pids
 * (the shell's pid as the sample server itself reports it), the attacker's listener in the
 * other namespace must have accepted the connection the kernel reported, and nothing may be
 * left afterwards: namespaces, link, cgroups, the server, the probe's loader and its eBPF
 * programs; after `--exit`, and after a Ctrl-C sent to the process group as a terminal does.
 * Without root, BTF or the loader these tests are skipped with the reason, unless
 * HANGAR_REQUIRE_BPF=1 (CI), where that is a failure.
 *
 * The simulator fallback: run as a user without root (nobody, when the test runs as root), the
 * first line says the simulator runs and why real mode is not possible.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { reapStalePods } from "../src/pod.js";
import { realModeCheck, realModeFacts } from "../src/sensor-mode.js";
import { MAIN, parseCef, startLocal, type Line, type Run } from "./local-run.js";

const run = promisify(execFile);
const SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/** A machine that is itself a Kubernetes pod has a token there of its own. */
const HOST_HAS_TOKEN = existsSync(SA_TOKEN);
const required = process.env.HANGAR_REQUIRE_BPF === "1";

async function realModeMissing(): Promise<string | undefined> {
  const c = realModeCheck(await realModeFacts());
  return c.missing.length === 0
    ? undefined
    : `real mode is not possible here: missing ${c.missing.join("; ")} (${c.how.join("; ")})`;
}

interface PodLine {
  namespace: string;
  name: string;
  uid: string;
  containerId: string;
  ip: string;
  hostLink: string;
  cgroup: string;
  cgroupBase: string;
  netns: string;
  serverPid: number;
  serverBinary: string;
}

interface Evidence {
  kind: string;
  sensor: string;
  provider: string;
  pod?: { namespace?: string; name?: string; uid?: string; container?: { id?: string; name?: string } };
  process?: { pid?: number; binary?: string; arguments?: string };
  file?: { path?: string };
  connect?: { destinationIp?: string; destinationPort?: number; sourceIp?: string; sourcePort?: number };
}

interface AlertLine {
  ruleId: string;
  explanation: string;
  evidence: Evidence[];
  toolCalls: { tool: string; sessionId: string }[];
}

/** Processes whose parent is `ppid` and whose name is `comm`. */
function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === ppid && name === comm) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** The eBPF program ids a process holds (its fdinfo's prog_id lines). */
function progIds(pid: number): number[] {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (m !== null) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return [...ids];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What a real-mode run held while it ran, to check that none of it outlives the run. */
interface Held {
  pod: PodLine;
  outsideNetns: string;
  listenerPid: number;
  runtime: string;
  loaders: number[];
  programs: number[];
}

/** Reads what the running stack holds once it announced itself (its `stack` line). */
async function held(r: Run): Promise<Held> {
  const stack = await r.waitFor((l) => l.kind === "stack", "the stack line");
  const pod = stack["pod"] as PodLine;
  const outside = stack["outside"] as { netns: string; listenerPid: number };
  const loaders = childrenNamed(r.child.pid ?? -1, "hangar-probe");
  return {
    pod,
    outsideNetns: outside.netns,
    listenerPid: outside.listenerPid,
    runtime: stack["runtime"] as string,
    loaders,
    programs: loaders.flatMap(progIds),
  };
}

/** What of `h` is still there (empty: nothing). */
async function leftovers(h: Held): Promise<string[]> {
  const left: string[] = [];
  const netns = existsSync("/run/netns") ? readdirSync("/run/netns") : [];
  for (const ns of [h.pod.netns, h.outsideNetns]) if (netns.includes(ns)) left.push(`netns ${ns}`);
  const link = await run("ip", ["-o", "link", "show", "dev", h.pod.hostLink]).then(
    (x) => x.stdout.trim(),
    () => "",
  );
  if (link !== "") left.push(`link ${h.pod.hostLink}`);
  if (existsSync(h.pod.cgroupBase)) left.push(`cgroup ${h.pod.cgroupBase}`);
  if (alive(h.pod.serverPid)) left.push(`the sample server (pid ${h.pod.serverPid})`);
  if (alive(h.listenerPid)) left.push(`the outside world's listener (pid ${h.listenerPid})`);
  for (const pid of h.loaders) if (alive(pid)) left.push(`the probe's loader (pid ${pid})`);
  if (existsSync(h.runtime)) left.push(`runtime dir ${h.runtime}`);
  if (existsSync(`/run/hangar-local/${h.pod.cgroupBase.split("/").at(-1) ?? ""}.json`))
    left.push("its record in /run/hangar-local");
  const bpftool = await run("bpftool", ["version"]).then(
    () => true,
    () => false,
  );
  // Without bpftool: the loader (checked above) held the programs; nothing pins them.
  for (const id of bpftool ? h.programs : []) {
    const shown = await run("bpftool", ["prog", "show", "id", String(id)]).then(
      () => true,
      () => false,
    );
    if (shown) left.push(`eBPF program ${id}`);
  }
  return left;
}

/**
 * After a failed assertion: the stack's own teardown (SIGINT), then SIGKILL and what a later
 * run would reap, so that a failing test leaves nothing either.
 */
async function stopGently(r: Run | undefined): Promise<void> {
  if (r === undefined) return;
  if (r.child.exitCode === null && r.child.signalCode === null) {
    r.child.kill("SIGINT");
    const force = setTimeout(() => r.child.kill("SIGKILL"), 30_000);
    await r.exited;
    clearTimeout(force);
  }
  await reapStalePods();
}

function skipUnlessReal(reason: string | undefined, t: { skip: (m: string) => void }): boolean {
  if (reason === undefined) return false;
  if (required) assert.fail(`HANGAR_REQUIRE_BPF=1 but ${reason}`);
  t.skip(reason);
  return true;
}

describe("hangar-local in real mode (root, BTF, the probe built)", () => {
  let reason: string | undefined;
  let dir: string;
  let r: Run;
  let h: Held;
  let code: number | null;
  const ARGS = [
    "--sensor",
    "probe",
    "--fast",
    "--api-listen",
    "127.0.0.1:0",
    "--proxy-listen",
    "127.0.0.1:0",
  ];

  before(async () => {
    reason = await realModeMissing();
    if (reason !== undefined) return;
    dir = mkdtempSync(join(tmpdir(), "hangar-local-probe-test-"));
    r = startLocal([...ARGS, "--exit", "--data-dir", dir]);
    h = await held(r);
    // The server is its own process, in the pod's cgroup and network namespace.
    const cg = readFileSync(`/proc/${h.pod.serverPid}/cgroup`, "utf8");
    assert.ok(
      cg.includes(h.pod.cgroup.slice(h.pod.cgroup.indexOf(`/${h.pod.cgroupBase.split("/").at(-1)}`))),
      `the server's cgroups:\n${cg}`,
    );
    assert.notEqual(
      (await run("readlink", [`/proc/${h.pod.serverPid}/ns/net`])).stdout,
      (await run("readlink", ["/proc/self/ns/net"])).stdout,
      "the server runs in a network namespace of its own",
    );
    // No packet leaves the machine: neither namespace has a default route; the pod reaches
    // nothing but this machine (its link) and the outside world's two addresses.
    for (const ns of [h.pod.netns, h.outsideNetns])
      assert.equal((await run("ip", ["-n", ns, "route", "show", "default"])).stdout.trim(), "", ns);
    await assert.rejects(run("ip", ["-n", h.pod.netns, "route", "get", "192.0.2.1"]), /unreachable/);
    // The token is the pod's: in its mount namespace, not on this machine.
    // (Through /proc/<pid>/root with /var/run resolved here: an absolute symlink would resolve
    // in this process's namespace.)
    const inPod = SA_TOKEN.replace(/^\/var\/run/, realpathSync("/var/run"));
    assert.match(readFileSync(`/proc/${h.pod.serverPid}/root${inPod}`, "utf8"), /not-a-real/);
    if (!HOST_HAS_TOKEN) assert.ok(!existsSync(SA_TOKEN), "the token is not on this machine");
    assert.ok(h.loaders.length === 1, `one probe loader started by the stack (${h.loaders.join(", ")})`);
    assert.ok(h.programs.length > 0, "the loader holds eBPF programs");
    code = await r.exited;
  });

  after(async () => {
    await stopGently(r);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const alerts = (): AlertLine[] =>
    r.lines.filter((l) => l.kind === "alert").map((l) => l["alert"] as AlertLine);

  it("says first that the eBPF probe runs, and finishes the scenario (--exit: 0)", (t) => {
    if (skipUnlessReal(reason, t)) return;
    assert.equal(code, 0, r.stderr());
    assert.equal(r.lines[0]?.kind, "sensor");
    assert.equal(r.lines[0]?.["mode"], "probe");
    assert.equal(r.lines.find((l) => l.kind === "stack")?.["sensor"], "probe");
    assert.equal(h.pod.namespace, "mcp");
    assert.equal(h.pod.name, "weather-0");
    assert.match(h.pod.containerId, /^containerd:\/\/[0-9a-f]{64}$/);
  });

  it("the alerts' evidence are the probe's events with the pod's identity and the real pids, each alert with the join", (t) => {
    if (skipUnlessReal(reason, t)) return;
    const list = alerts();
    const rules = list.map((a) => a.ruleId);
    for (const rule of [
      "hangar.cred.service_account_token_read",
      "hangar.exec.reverse_shell",
      "baseline/new-egress",
    ])
      assert.ok(rules.includes(rule), `${rule} among ${rules.join(", ")}`);
    const effects = r.lines.find((l) => l.kind === "effects") as Line & {
      shell: { pid: number };
      serverLog: { pid: number; binary: string };
    };
    assert.equal(effects["real"], true);
    // The shell's pid as the sample server's own child_process saw it: the kernel's, not the stack's.
    const shellPid = effects.serverLog.pid;
    assert.ok(shellPid > 1 && shellPid !== h.pod.serverPid, `the shell's pid ${shellPid}`);
    const session = r.lines.find((l) => l.kind === "ready")?.["session"] as string;
    const read = list.find((a) => a.ruleId === "hangar.cred.service_account_token_read") as AlertLine;
    const file = read.evidence.find((e) => e.kind === "EVENT_KIND_FILE");
    const catPid = file?.process?.pid ?? -1;
    for (const a of list) {
      for (const e of a.evidence.filter((x) => x.kind !== "EVENT_KIND_TOOL_CALL")) {
        assert.equal(e.sensor, "SENSOR_PROBE", `${a.ruleId}: evidence from the probe`);
        assert.equal(e.provider, "weather");
        assert.equal(e.pod?.namespace, "mcp");
        assert.equal(e.pod?.name, "weather-0");
        assert.equal(e.pod?.uid, h.pod.uid);
        assert.ok(h.pod.containerId.endsWith(e.pod?.container?.id ?? "-"), `${a.ruleId}: the container id`);
        assert.ok((e.process?.pid ?? 0) > 1);
      }
    }
    // Every alert about what the shell and cat did names the poisoned call.
    const attack = list.filter((a) =>
      a.evidence.some((e) => e.process?.pid === shellPid || e.process?.pid === catPid),
    );
    assert.ok(attack.length >= 3, `alerts on the shell and cat: ${attack.map((a) => a.ruleId).join(", ")}`);
    for (const a of attack)
      assert.ok(
        a.toolCalls.some((c) => c.tool === "run_report" && c.sessionId === session),
        `${a.ruleId} names the poisoned call`,
      );
    const reverse = list.find((a) => a.ruleId === "hangar.exec.reverse_shell") as AlertLine;
    const exec = reverse.evidence.find((e) => e.kind === "EVENT_KIND_EXEC");
    assert.equal(exec?.process?.binary, "/bin/bash");
    assert.equal(exec?.process?.pid, shellPid);
    assert.match(
      exec?.process?.arguments ?? "",
      /cat \/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token/,
    );
    assert.match(
      reverse.explanation,
      new RegExp(
        `caller travel-planner .* → session ${session} → tools/call run_report .* → process /bin/bash \\(pid ${shellPid}\\) → connect 203\\.0\\.113\\.66:443/tcp`,
      ),
    );
    assert.equal(file?.file?.path, "/var/run/secrets/kubernetes.io/serviceaccount/token");
    assert.match(file?.process?.binary ?? "", /\/cat$/);
    assert.notEqual(file?.process?.pid, shellPid, "cat is a process of its own");
    // The CEF line carries the same real pid.
    const cef = r.lines.find(
      (l) => l.kind === "alert" && (l["alert"] as AlertLine).ruleId === "hangar.exec.reverse_shell",
    )?.["cef"] as string;
    const { ext } = parseCef(cef);
    assert.equal(ext["spid"], String(shellPid));
    assert.equal(ext["src"], h.pod.ip);
  });

  it("the attacker's listener in the other namespace accepted the connection the kernel reported", (t) => {
    if (skipUnlessReal(reason, t)) return;
    const effects = r.lines.find((l) => l.kind === "effects") as Line & {
      accepted?: { local: string; remote: string };
      connect?: { source: string; destination: string; result: number };
    };
    assert.equal(effects.accepted?.local, "203.0.113.66:443");
    assert.ok(effects.accepted?.remote.startsWith(`${h.pod.ip}:`), JSON.stringify(effects.accepted));
    // The probe's connect and the listener's accept are the same connection (same source port).
    assert.equal(effects.connect?.source, effects.accepted?.remote);
    assert.equal(effects.connect?.result, 0);
    const reverse = alerts().find((a) => a.ruleId === "hangar.exec.reverse_shell") as AlertLine;
    const conn = reverse.evidence.find((e) => e.kind === "EVENT_KIND_CONNECT");
    assert.equal(`${conn?.connect?.sourceIp}:${conn?.connect?.sourcePort}`, effects.accepted?.remote);
    assert.ok(
      r.lines.some((l) => l.kind === "enforcement"),
      "the enforcer recorded the block_egress",
    );
  });

  it("leaves nothing behind: namespaces, link, cgroups, the server, the probe's loader and eBPF programs", async (t) => {
    if (skipUnlessReal(reason, t)) return;
    const stopped = r.lines.find((l) => l.kind === "stopped");
    assert.deepEqual(stopped?.["left"], [], "the stack's own check");
    assert.deepEqual(await leftovers(h), []);
  });

  it("Ctrl-C (SIGINT to the process group, as a terminal sends it) while learning stops it and leaves nothing", async (t) => {
    if (skipUnlessReal(reason, t)) return;
    const d = mkdtempSync(join(tmpdir(), "hangar-local-probe-test-"));
    let c: Run | undefined;
    try {
      c = startLocal([...ARGS, "--data-dir", d], { detached: true });
      const held2 = await held(c);
      await c.waitFor((l) => l.kind === "progress", "learning");
      process.kill(-(c.child.pid ?? 0), "SIGINT");
      assert.equal(await c.exited, 0, c.stderr());
      assert.deepEqual(c.lines.find((l) => l.kind === "stopped")?.["left"], []);
      assert.deepEqual(await leftovers(held2), []);
    } finally {
      await stopGently(c);
      rmSync(d, { recursive: true, force: true });
    }
  });
});

/** Whether the user nobody can run this checkout's hangar-local (its files readable to others). */
function nobodyCanRun(): boolean {
  const r = spawnSync(process.execPath, ["-e", `require("node:fs").accessSync(${JSON.stringify(MAIN)})`], {
    uid: 65534,
    gid: 65534,
    stdio: "ignore",
  });
  return r.status === 0;
}

describe("hangar-local where real mode is not possible", () => {
  it("runs the simulator and says first why real mode is not possible and how to get it", async (t) => {
    const root = process.getuid?.() === 0;
    if (root && !nobodyCanRun()) {
      // (sensor-mode.test.ts checks the same text with the facts of a user without root.)
      t.skip(`the user nobody cannot read ${MAIN} (a checkout under a private directory)`);
      return;
    }
    const d = mkdtempSync(join(tmpdir(), "hangar-local-sim-test-"));
    // As root, the same command as a user without root (nobody): what `npm start` does there.
    if (root) chownSync(d, 65534, 65534);
    const c = startLocal(
      ["--fast", "--data-dir", d, "--api-listen", "127.0.0.1:0", "--proxy-listen", "127.0.0.1:0"],
      root ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: d } } : {},
    );
    try {
      await c.waitFor((l) => l.kind === "stack", "the stack line");
      const first = c.lines[0];
      assert.equal(first?.kind, "sensor");
      assert.equal(first?.["mode"], "simulator");
      assert.equal(first?.["chosen"], false);
      assert.match(first?.["reason"] as string, /^real mode is not possible here: missing root/);
      assert.ok((first?.["how"] as string[]).some((x) => /sudo npm start/.test(x)));
      assert.equal(c.lines.find((l) => l.kind === "stack")?.["sensor"], "simulator");
      c.child.kill("SIGINT");
      assert.equal(await c.exited, 0, c.stderr());
    } finally {
      if (c.child.exitCode === null) c.child.kill("SIGKILL");
      rmSync(d, { recursive: true, force: true });
    }
  });
});
