/**
 * Real mode's pod: the sample MCP server as a process of its own in a cgroup named like
 * kubelet's and a network namespace of its own (the agent's probe fixture, `createTestPod`),
 * reachable from this machine's namespace over a veth pair (the proxy's static endpoint), with
 * its service-account token at /var/run/secrets/kubernetes.io/serviceaccount/token in a mount
 * namespace of its own; and its "outside world": a second network namespace holding
 * 198.51.100.7 (api.weather.example) and 203.0.113.66 (the attacker) with a listener on :443,
 * routed from the pod only. No default route anywhere: no packet leaves the machine.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  createTestPod,
  type CgroupHierarchy,
  type PeerConnection,
  type PodInfo,
  type PodProcess,
  type TestPod,
} from "@hangar/agent";
import { EXFIL, SA_TOKEN, WEATHER_API } from "@hangar/controller";

const run = promisify(execFile);

/** The sample server's port inside the pod. */
export const SERVER_PORT = 8000;

/** A line the sample server process printed (its tools/call and process-ended log). */
export interface ServerLog {
  time: string;
  msg: string;
  [k: string]: unknown;
}

export interface RealPod {
  readonly pod: TestPod;
  /** `http://<pod ip>:8000/mcp`: the proxy's static endpoint. */
  readonly url: string;
  /** The sample server's process (its pid is the one the kernel reports). */
  readonly server: PodProcess;
  /** The server binary as the kernel reports its exec. */
  readonly serverBinary: string;
  /** What the server printed, in order. */
  readonly log: ServerLog[];
  /** The connections the outside world's listener accepted. */
  connections(): PeerConnection[];
  /** The pod as the pod watch would give it (with the learning-window label). */
  podInfo(): PodInfo;
  /** What is still on the machine of this pod (names), empty once close() is done. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

/** The controller's CLI, whose `sample-server` command runs in the pod. */
function controllerMain(): string {
  const index = fileURLToPath(import.meta.resolve("@hangar/controller"));
  return join(dirname(index), "cli", "main.js");
}

/**
 * Creates the pod and its outside world, then starts the sample server in it (call this once
 * the probe's kernel filter holds the pod's cgroup, so the server's own exec is seen).
 */
export async function createRealPod(opts: {
  hierarchy: CgroupHierarchy;
  namespace: string;
  name: string;
  provider: string;
  labels: Readonly<Record<string, string>>;
  image: string;
  /** Further directories of this run to remove when a later run finds it killed. */
  alsoRemove?: readonly string[];
}): Promise<{ pod: TestPod; start: () => Promise<RealPod> }> {
  const pod = await createTestPod(opts.hierarchy, {
    stem: "hangar-local",
    namespace: opts.namespace,
    name: opts.name,
    provider: opts.provider,
    labels: opts.labels,
    image: opts.image,
    hostLink: true,
    peerHosts: [WEATHER_API.ip, EXFIL.ip],
    peerPort: EXFIL.port,
  });
  const record = join(STATE_DIR, `${basename(pod.cgroupBase)}.json`);
  writeRecord(record, pod, opts.alsoRemove ?? []);
  const closePod = async (): Promise<void> => {
    await pod.close();
    if ((await leftovers(pod)).length === 0) {
      rmSync(record, { force: true });
      try {
        rmdirSync(STATE_DIR);
      } catch {
        // another stack's record is there
      }
    }
  };
  const start = async (): Promise<RealPod> => {
    const main = controllerMain();
    // A token that looks the part and says what it is; the pod sees it where kubelet mounts one.
    const token = `hangar-local.${randomBytes(18).toString("base64url")}.not-a-real-service-account-token\n`;
    const server = pod.spawn(
      process.execPath,
      [
        main,
        "sample-server",
        "--listen",
        `${pod.podIp}:${SERVER_PORT}`,
        "--upstream",
        `${WEATHER_API.ip}:${WEATHER_API.port}`,
        "--exfil",
        `${EXFIL.ip}:${EXFIL.port}`,
      ],
      { files: { [SA_TOKEN]: token } },
    );
    const log: ServerLog[] = [];
    let stderr = "";
    server.child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
    const listening = new Promise<string>((resolve, reject) => {
      createInterface({ input: server.child.stdout as NodeJS.ReadableStream }).on("line", (l) => {
        let line: ServerLog;
        try {
          line = JSON.parse(l) as ServerLog;
        } catch {
          return;
        }
        log.push(line);
        if (line.msg === "sample MCP server listening") resolve(String(line["url"]));
      });
      void server.exited.then((code) =>
        reject(
          new Error(`the sample server in the pod exited (${code}) before it listened: ${stderr.trim()}`),
        ),
      );
      setTimeout(
        () => reject(new Error(`the sample server in the pod did not listen within 20 s: ${stderr.trim()}`)),
        20_000,
      ).unref();
    });
    const url = await listening;
    let closed = false;
    return {
      pod,
      url,
      server,
      serverBinary: process.execPath,
      log,
      connections: () => pod.connections(),
      podInfo: () => pod.podInfo(),
      leftovers: () => leftovers(pod),
      async close() {
        if (closed) return;
        closed = true;
        if (server.child.exitCode === null && server.child.signalCode === null) {
          server.child.kill("SIGTERM");
          const force = setTimeout(() => server.child.kill("SIGKILL"), 3000);
          await server.exited;
          clearTimeout(force);
        }
        await closePod();
      },
    };
  };
  return { pod: { ...pod, close: closePod }, start };
}

/** What of `pod` is still on this machine: its namespaces, its link, its cgroup directories. */
export async function leftovers(pod: TestPod): Promise<string[]> {
  const out: string[] = [];
  const netns = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  for (const ns of [pod.netns, pod.peerNetns])
    if (existsSync(join("/run/netns", ns)) || netns.includes(`/run/netns/${ns} `))
      out.push(`network namespace ${ns}`);
  if (pod.hostLink !== undefined) {
    const r = await run("ip", ["-o", "link", "show", "dev", pod.hostLink]).catch(() => undefined);
    if (r !== undefined && r.stdout.trim() !== "") out.push(`link ${pod.hostLink}`);
  }
  if (existsSync(pod.cgroupBase)) out.push(`cgroup ${pod.cgroupBase}`);
  return out;
}

/**
 * Where a running stack notes its pod (root's tmpfs: gone at reboot, as the pod is), so that a
 * later one can remove what a stack killed without its teardown (SIGKILL, a crash) left.
 */
const STATE_DIR = "/run/hangar-local";

interface PodRecord {
  pid: number;
  /** The stack process's start time (field 22 of /proc/<pid>/stat): pids are reused. */
  start: string;
  cgroupBase: string;
  cgroupDir: string;
  netns: string[];
  hostLink: string | undefined;
  /** Name prefix of its temporary directories in tmpdir(). */
  tmpPrefix: string;
  /** Further directories of that run. */
  dirs: string[];
}

function procStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

function writeRecord(path: string, pod: TestPod, dirs: readonly string[]): void {
  const r: PodRecord = {
    pid: process.pid,
    start: procStart(process.pid),
    cgroupBase: pod.cgroupBase,
    cgroupDir: pod.cgroupDir,
    netns: [pod.netns, pod.peerNetns],
    hostLink: pod.hostLink,
    tmpPrefix: `${basename(pod.cgroupBase)}-`,
    dirs: [...dirs],
  };
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(r)}\n`, { mode: 0o600 });
}

/**
 * Removes the pods of local stacks that ended without their teardown (their process is gone):
 * kills what still runs in their cgroups, deletes their namespaces, link, cgroups and temporary
 * directories. Returns one line per pod removed.
 */
export async function reapStalePods(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(STATE_DIR).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const path = join(STATE_DIR, name);
    let r: PodRecord;
    try {
      r = JSON.parse(readFileSync(path, "utf8")) as PodRecord;
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    if (procStart(r.pid) !== "" && procStart(r.pid) === r.start) continue; // that stack still runs
    await killAll(r.cgroupDir);
    // What runs in its namespaces outside the pod's cgroup (the outside world's listener).
    for (const ns of r.netns) {
      const pids = await run("ip", ["netns", "pids", ns]).then(
        (x) => x.stdout.split("\n").filter((l) => /^\d+$/.test(l.trim())),
        () => [],
      );
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
    }
    if (r.hostLink !== undefined) await run("ip", ["link", "del", r.hostLink]).catch(() => undefined);
    for (const ns of r.netns) await run("ip", ["netns", "del", ns]).catch(() => undefined);
    removeTree(r.cgroupBase);
    for (const d of readdirSync(tmpdir()))
      if (d.startsWith(r.tmpPrefix)) rmSync(join(tmpdir(), d), { recursive: true, force: true });
    for (const d of r.dirs ?? []) rmSync(d, { recursive: true, force: true });
    rmSync(path, { force: true });
    out.push(
      `${basename(r.cgroupBase)} (of pid ${r.pid}): ${[...r.netns, r.hostLink ?? "", r.cgroupBase].filter((x) => x !== "").join(", ")}`,
    );
  }
  return out;
}

async function killAll(cgroupDir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    let procs: string[];
    try {
      procs = readFileSync(join(cgroupDir, "cgroup.procs"), "utf8")
        .split("\n")
        .filter((l) => l !== "");
    } catch {
      return;
    }
    if (procs.length === 0) return;
    for (const p of procs) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** rmdir of a cgroup directory tree, deepest first (cgroupfs directories hold only control files). */
function removeTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) removeTree(join(dir, e));
  try {
    rmdirSync(dir);
  } catch {
    // busy or gone
  }
}
