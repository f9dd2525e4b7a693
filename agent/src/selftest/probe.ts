/**
 * The eBPF probe's self-test fixture: a temporary "pod" (a cgroup named like kubelet's and
 * a network namespace, `createTestPod`) and the scenario `hangar-agent probe --selftest`
 * runs in it (`runProbeScenario`): the pod execs a shell, connects over IPv4 and IPv6 to a
 * listener in another network namespace and opens a file under a watched prefix, and the
 * agent's own probe path (loader → decode → cgroup → pod → provider) must report exactly
 * that. The root tests and the bench use the same fixture.
 */
import { spawn, execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino, type Logger } from "pino";
import { Counters, PROVIDER_LABEL, kindName, type RuntimeEvent } from "@hangar/core";
import { startAgent } from "../agent.js";
import { AgentError } from "../errors.js";
import { McpPodTracker } from "../resolve/mcp-pods.js";
import type { PodInfo } from "../resolve/workloads.js";
import { detectHierarchy, loaderMode, type CgroupHierarchy } from "../sources/probe/cgroups.js";
import { findLoader } from "../sources/probe/source.js";

const run = promisify(execFile);

export interface TestPod {
  readonly uid: string;
  readonly containerId: string;
  readonly namespace: string;
  readonly name: string;
  readonly provider: string;
  /** The container's cgroup directory (processes go here). */
  readonly cgroupDir: string;
  /** The pod's network namespace name (ip netns). */
  readonly netns: string;
  readonly podIp: string;
  readonly peerIp: string;
  readonly peerIp6: string;
  /** An address on the pod's link that no host answers (connects stay in SYN_SENT). */
  readonly silentIp: string;
  /** TCP port of the listener in the peer namespace (IPv4 and IPv6). */
  readonly peerPort: number;
  /** A directory for the watched prefix, holding the file `secret`. */
  readonly watchedDir: string;
  /** The pod as the pod watch would give it to the resolver. */
  podInfo(): PodInfo;
  /** Runs a bash script inside the pod: cgroup first, then the network namespace. */
  run(script: string): Promise<{ pid: number; code: number | null; stderr: string }>;
  /** Runs the same script in the pod's network namespace but outside its cgroup. */
  runOutside(script: string): Promise<{ pid: number; code: number | null; stderr: string }>;
  close(): Promise<void>;
}

/** What a TestPod needs from the machine; empty when everything is there. */
export async function testPodPrerequisites(): Promise<string[]> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (cgroups and network namespaces are created)");
  for (const tool of ["ip", "nsenter", "bash"]) {
    try {
      await run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      missing.push(`the ${tool} command`);
    }
  }
  return missing;
}

function exitOf(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/**
 * Creates a test pod in `hierarchy`: <mount>/hangar-test-<id>/kubepods/besteffort/pod<uid>/
 * <container id> (the cgroupfs driver's layout), a pod and a peer network namespace joined
 * by a veth pair (198.18.<n>.0/29 and fd68:616e:<n>::/64, addresses that exist only inside
 * these namespaces), and a TCP listener in the peer namespace.
 */
export async function createTestPod(hierarchy: CgroupHierarchy): Promise<TestPod> {
  const short = randomBytes(3).toString("hex");
  const uid = randomUUID();
  const containerId = randomBytes(32).toString("hex");
  const base = join(hierarchy.mount, `hangar-test-${short}`);
  const podDir = join(base, "kubepods", "besteffort", `pod${uid}`);
  const cgroupDir = join(podDir, containerId);
  const netns = `hangar-${short}-pod`;
  const peerNs = `hangar-${short}-peer`;
  const n = (parseInt(short.slice(0, 2), 16) % 250) + 1;
  const podIp = `198.18.${n}.1`;
  const peerIp = `198.18.${n}.2`;
  const peerIp6 = `fd68:616e:${n.toString(16)}::2`;
  const silentIp = `198.18.${n}.3`;
  const watchedDir = mkdtempSync(join(tmpdir(), "hangar-watched-"));
  writeFileSync(join(watchedDir, "secret"), "not really\n");
  const undo: (() => Promise<void>)[] = [];
  let listener: ReturnType<typeof spawn> | undefined;
  const close = async (): Promise<void> => {
    listener?.kill("SIGKILL");
    for (const u of undo.reverse()) await u().catch(() => undefined);
    rmSync(watchedDir, { recursive: true, force: true });
  };
  try {
    mkdirSync(cgroupDir, { recursive: true });
    undo.push(async () => {
      for (const d of [
        cgroupDir,
        podDir,
        join(base, "kubepods", "besteffort"),
        join(base, "kubepods"),
        base,
      ]) {
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(d);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") break;
            await new Promise((r) => setTimeout(r, 20)); // processes still leaving
          }
        }
      }
    });
    await run("ip", ["netns", "add", netns]);
    undo.push(() => run("ip", ["netns", "del", netns]).then(() => undefined));
    await run("ip", ["netns", "add", peerNs]);
    undo.push(() => run("ip", ["netns", "del", peerNs]).then(() => undefined));
    const a = `hp${short}`;
    const b = `hq${short}`;
    await run("ip", ["link", "add", a, "netns", netns, "type", "veth", "peer", "name", b, "netns", peerNs]);
    const inNs = (ns: string, ...args: string[]): Promise<unknown> => run("ip", ["-n", ns, ...args]);
    await inNs(netns, "addr", "add", `${podIp}/29`, "dev", a);
    await inNs(peerNs, "addr", "add", `${peerIp}/29`, "dev", b);
    await inNs(netns, "addr", "add", `fd68:616e:${n.toString(16)}::1/64`, "dev", a, "nodad");
    await inNs(peerNs, "addr", "add", `${peerIp6}/64`, "dev", b, "nodad");
    for (const [ns, dev] of [
      [netns, a],
      [peerNs, b],
    ] as const) {
      await inNs(ns, "link", "set", "lo", "up");
      await inNs(ns, "link", "set", dev, "up");
    }
    // The listener: accepts and closes, on both families.
    listener = spawn(
      "ip",
      [
        "netns",
        "exec",
        peerNs,
        process.execPath,
        "-e",
        "const s=require('node:net').createServer(c=>c.destroy());s.listen(0,'::',()=>console.log(s.address().port));",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const peerPort = await new Promise<number>((resolve, reject) => {
      let out = "";
      listener?.stdout?.setEncoding("utf8");
      listener?.stdout?.on("data", (s: string) => {
        out += s;
        const port = Number.parseInt(out, 10);
        if (out.includes("\n") && port > 0) resolve(port);
      });
      listener?.on("error", reject);
      listener?.on("close", (code) => reject(new Error(`the test listener exited (${code})`)));
    });
    const runScript = async (script: string, inCgroup: boolean) => {
      const enter = inCgroup ? `echo $$ > '${join(cgroupDir, "cgroup.procs")}' && ` : "";
      const child = spawn(
        "/bin/sh",
        ["-c", `${enter}exec nsenter --net=/run/netns/${netns} -- /bin/bash -c "$1"`, "sh", script],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      const pid = child.pid ?? 0;
      const r = await exitOf(child);
      return { pid, ...r };
    };
    const namespace = "hangar-selftest";
    const name = `probe-${short}`;
    const provider = "probe-selftest";
    const pod: TestPod = {
      uid,
      containerId,
      namespace,
      name,
      provider,
      cgroupDir,
      netns,
      podIp,
      peerIp,
      peerIp6,
      silentIp,
      peerPort,
      watchedDir,
      podInfo() {
        return {
          namespace,
          name,
          uid,
          labels: { [PROVIDER_LABEL]: provider, app: "selftest" },
          ips: [podIp],
          containers: [{ id: `containerd://${containerId}`, name: "server", image: "hangar/selftest:1" }],
        };
      },
      run: (script) => runScript(script, true),
      runOutside: (script) => runScript(script, false),
      close,
    };
    return pod;
  } catch (err) {
    await close();
    throw err;
  }
}

/** The scenario: a shell that connects over IPv4 and IPv6 and reads the watched file. */
export function scenarioScript(pod: TestPod): string {
  return [
    `exec 3<>/dev/tcp/${pod.peerIp}/${pod.peerPort}`,
    "exec 3>&-",
    `exec 4<>/dev/tcp/${pod.peerIp6}/${pod.peerPort}`,
    "exec 4>&-",
    `read -r _ < '${join(pod.watchedDir, "secret")}'`,
    "exit 0",
  ].join("; ");
}

export interface Expectation {
  what: string;
  ok: boolean;
  detail: string;
}

/** Checks the events of one scenario run against what must have arrived. */
export function checkScenario(
  pod: TestPod,
  pid: number,
  outsidePid: number,
  events: readonly RuntimeEvent[],
): { ok: boolean; checks: Expectation[] } {
  const checks: Expectation[] = [];
  const identityOk = (ev: RuntimeEvent): boolean =>
    ev.provider === pod.provider &&
    ev.pod?.uid === pod.uid &&
    ev.pod.name === pod.name &&
    ev.pod.namespace === pod.namespace &&
    ev.pod.container?.id === pod.containerId &&
    ev.process?.pid === pid;
  const mine = events.filter((e) => e.process?.pid === pid);
  const find = (what: string, pred: (e: RuntimeEvent) => boolean): void => {
    const hits = mine.filter(pred);
    const ev = hits[0];
    checks.push({
      what,
      ok: hits.length === 1 && ev !== undefined && identityOk(ev),
      detail:
        ev === undefined
          ? "did not arrive"
          : hits.length > 1
            ? `arrived ${hits.length} times`
            : identityOk(ev)
              ? `pod ${ev.pod?.namespace}/${ev.pod?.name} container ${ev.pod?.container?.id.slice(0, 12)} provider ${ev.provider}`
              : `wrong identity: provider "${ev.provider}" pod uid "${ev.pod?.uid ?? ""}" container "${ev.pod?.container?.id ?? ""}"`,
    });
  };
  find(
    "exec /usr/bin/nsenter",
    (e) => e.detail.case === "exec" && /\/nsenter$/.test(e.process?.binary ?? ""),
  );
  find(
    "exec /bin/bash (the shell)",
    (e) => e.detail.case === "exec" && /\/bash$/.test(e.process?.binary ?? ""),
  );
  find(
    `connect ${pod.peerIp}:${pod.peerPort} (IPv4, tcp, result 0)`,
    (e) =>
      e.detail.case === "connect" &&
      e.detail.value.destinationIp === pod.peerIp &&
      e.detail.value.destinationPort === pod.peerPort &&
      e.detail.value.family === "ipv4" &&
      e.detail.value.protocol === "tcp" &&
      e.detail.value.result === 0 &&
      e.detail.value.sourceIp === pod.podIp,
  );
  find(
    `connect [${pod.peerIp6}]:${pod.peerPort} (IPv6, tcp, result 0)`,
    (e) =>
      e.detail.case === "connect" &&
      e.detail.value.destinationIp === pod.peerIp6 &&
      e.detail.value.destinationPort === pod.peerPort &&
      e.detail.value.family === "ipv6" &&
      e.detail.value.result === 0,
  );
  find(
    `open ${join(pod.watchedDir, "secret")}`,
    (e) => e.detail.case === "file" && e.detail.value.path === join(pod.watchedDir, "secret"),
  );
  find("exit status 0", (e) => e.detail.case === "exit" && e.detail.value.status === 0);
  const extra = events.filter((e) => e.process?.pid !== pid);
  checks.push({
    what: "nothing from outside the pod's cgroup",
    ok: extra.length === 0,
    detail:
      extra.length === 0
        ? `the same script run outside the cgroup (pid ${outsidePid}) produced no event`
        : `${extra.length} other events, e.g. ${kindName(extra[0]?.kind ?? 0)} pid ${extra[0]?.process?.pid}`,
  });
  checks.push({
    what: "no unexpected events from the pod",
    ok: mine.length === 6,
    detail: `${mine.length} events from the pod's process (expected 6)`,
  });
  return { ok: checks.every((c) => c.ok), checks };
}

export interface ScenarioResult {
  ok: boolean;
  checks: Expectation[];
  events: RuntimeEvent[];
  hierarchy: CgroupHierarchy;
}

/**
 * Runs the whole thing through the agent (startAgent with the probe required): creates the
 * pod, waits until the kernel filter holds its cgroup, runs the scenario inside and outside,
 * waits for the exit event, and checks.
 */
export async function runProbeScenario(options: {
  cgroupMode?: string;
  loader?: string;
  /**
   * Sidecar mode: the agent listens on a unix socket and the loader, started separately
   * with --output unix:PATH, connects to it (instead of the agent starting the loader).
   */
  viaSocket?: boolean;
  timeoutMs?: number;
  logger?: Logger;
}): Promise<ScenarioResult> {
  const hierarchy = detectHierarchy(options.cgroupMode ?? "auto");
  const pod = await createTestPod(hierarchy);
  const socketDir =
    options.viaSocket === true ? mkdtempSync(join(tmpdir(), "hangar-probe-sock-")) : undefined;
  const socket = socketDir === undefined ? undefined : join(socketDir, "probe.sock");
  let sidecar: ReturnType<typeof spawn> | undefined;
  let sidecarErr = "";
  const logger = options.logger ?? pino({ level: "silent" });
  const events: RuntimeEvent[] = [];
  let exitSeen: (() => void) | undefined;
  let pid = -1;
  const exited = new Promise<void>((r) => (exitSeen = r));
  let synced: (() => void) | undefined;
  const ready = new Promise<void>((r) => (synced = r));
  const counters = new Counters();
  const resolver = new McpPodTracker(counters);
  try {
    const agent = await startAgent({
      node: "selftest",
      namespaces: [],
      resolver,
      counters,
      probe: {
        ...(options.loader === undefined || socket !== undefined ? {} : { loader: options.loader }),
        ...(socket === undefined ? {} : { listen: socket }),
        prefixes: [`${pod.watchedDir}/`],
        cgroupMode: loaderMode(hierarchy),
        required: true,
        onSynced: (info) => {
          if (info.pods > 0) synced?.();
        },
      },
      sinks: [],
      logger,
      onEvent: (ev) => {
        events.push(ev);
        if (ev.detail.case === "exit" && ev.process?.pid === pid) exitSeen?.();
      },
    });
    const failed = agent.done.then(
      () => new AgentError("HANGAR_ERR_PROBE_UNAVAILABLE", "the probe source ended"),
      (err: unknown) => AgentError.from(err, "HANGAR_ERR_PROBE_UNAVAILABLE", "probe"),
    );
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timeout = (what: string) =>
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(new AgentError("HANGAR_ERR_PROBE_SELFTEST", `timed out after ${timeoutMs} ms ${what}`)),
          timeoutMs,
        ).unref(),
      );
    if (socket !== undefined) {
      const loader = options.loader ?? findLoader();
      if (loader === undefined)
        throw new AgentError("HANGAR_ERR_PROBE_UNAVAILABLE", "the probe loader is not built");
      sidecar = spawn(loader, ["--output", `unix:${socket}`, "--cgroup-mode", loaderMode(hierarchy)], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      sidecar.stderr?.setEncoding("utf8");
      sidecar.stderr?.on("data", (d: string) => (sidecarErr += d));
    }
    try {
      resolver.upsert(pod.podInfo());
      await Promise.race([
        ready,
        failed.then((e) => Promise.reject(e)),
        timeout(`waiting for the cgroup filter${sidecarErr === "" ? "" : ` (loader: ${sidecarErr.trim()})`}`),
      ]);
      const script = scenarioScript(pod);
      const outside = await pod.runOutside(script);
      const inside = pod.run(script);
      // The pid is known as soon as the process is spawned; the events may come before close.
      const r = await inside;
      pid = r.pid;
      if (r.code !== 0 || outside.code !== 0)
        throw new AgentError(
          "HANGAR_ERR_PROBE_SELFTEST",
          `the scenario script failed (inside: exit ${r.code} ${r.stderr.trim()}; outside: exit ${outside.code} ${outside.stderr.trim()})`,
        );
      if (!events.some((e) => e.detail.case === "exit" && e.process?.pid === pid))
        await Promise.race([exited, timeout("waiting for the exit event")]);
      // A moment for anything that should not come (late events from outside).
      await new Promise((r2) => setTimeout(r2, 200));
      const verdict = checkScenario(pod, pid, outside.pid, events);
      return { ...verdict, events, hierarchy };
    } finally {
      await agent.stop();
      if (sidecar !== undefined && sidecar.exitCode === null) {
        // The agent closed the socket: the loader ends by itself; make sure.
        const gone = new Promise((r) => sidecar?.once("close", r));
        const force = setTimeout(() => sidecar?.kill("SIGKILL"), 3000);
        await gone;
        clearTimeout(force);
      }
    }
  } finally {
    await pod.close();
    if (socketDir !== undefined) rmSync(socketDir, { recursive: true, force: true });
  }
}
