/**
 * The eBPF probe's self-test fixture: a temporary "pod" (a cgroup named like kubelet's and
 * a network namespace, `createTestPod`) and the scenario `hangar-agent probe --selftest`
 * runs in it (`runProbeScenario`): the pod execs a shell, connects over IPv4 and IPv6 to a
 * listener in another network namespace and opens a file under a watched prefix, and the
 * agent's own probe path (loader → decode → cgroup → pod → provider) must report exactly
 * that. The root tests and the bench use the same fixture.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
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

export interface TestPodOptions {
  /**
   * Name stem: the cgroup directory is <mount>/<stem>-<id>/…, the network namespaces
   * <stem>-<id>-pod and <stem>-<id>-peer (default "hangar-test").
   */
  stem?: string;
  /** The pod as the pod watch would give it (defaults: hangar-selftest/probe-<id>, provider probe-selftest). */
  namespace?: string;
  name?: string;
  provider?: string;
  /** Further pod labels (the provider label is always set). */
  labels?: Readonly<Record<string, string>>;
  image?: string;
  /**
   * A veth pair between the calling process's network namespace and the pod (as a node has to
   * its pods), so that the host reaches the pod's address: the pod's address (`podIp`) is then
   * on that link, in a free 10.244.<n>.0/30 (one no route of this machine covers; the host's
   * end is `hostIp`). The pod gets no default route either way.
   */
  hostLink?: boolean;
  /**
   * Further addresses of the peer namespace, the pod's "outside world" (e.g. 203.0.113.66):
   * routed from the pod to the peer and back, and nowhere else; the listener answers on them.
   */
  peerHosts?: readonly string[];
  /** The listener's TCP port (default: any free one). */
  peerPort?: number;
}

/** A connection the peer's listener accepted (addresses without the IPv4-mapped prefix). */
export interface PeerConnection {
  time: number;
  /** The listener's address and port the pod connected to, e.g. 203.0.113.66:443 or [fd68::2]:443. */
  local: string;
  /** The pod's address and port. */
  remote: string;
}

/** A long-running process in the pod (see `TestPod.spawn`). */
export interface PodProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once it ended. */
  readonly exited: Promise<number | string>;
}

export interface TestPod {
  readonly uid: string;
  readonly containerId: string;
  readonly namespace: string;
  readonly name: string;
  readonly provider: string;
  /** The pod's top cgroup directory (<mount>/<stem>-<id>), removed by close(). */
  readonly cgroupBase: string;
  /** The container's cgroup directory (processes go here). */
  readonly cgroupDir: string;
  /** The pod's network namespace name (ip netns). */
  readonly netns: string;
  /** The peer's network namespace name (ip netns). */
  readonly peerNetns: string;
  readonly podIp: string;
  /** With `hostLink`: the host's end of the link to the pod, and that link's name on the host. */
  readonly hostIp: string | undefined;
  readonly hostLink: string | undefined;
  readonly peerIp: string;
  readonly peerIp6: string;
  /** `peerHosts`: further addresses of the peer namespace. */
  readonly peerHosts: readonly string[];
  /** An address on the pod's link that no host answers (connects stay in SYN_SENT). */
  readonly silentIp: string;
  /** TCP port of the listener in the peer namespace (IPv4 and IPv6, every peer address). */
  readonly peerPort: number;
  /** The listener's pid. */
  readonly listenerPid: number;
  /** A directory for the watched prefix, holding the file `secret`. */
  readonly watchedDir: string;
  /** The pod as the pod watch would give it to the resolver. */
  podInfo(): PodInfo;
  /** Runs a bash script inside the pod: cgroup first, then the network namespace. */
  run(script: string): Promise<{ pid: number; code: number | null; stderr: string }>;
  /** Runs the same script in the pod's network namespace but outside its cgroup. */
  runOutside(script: string): Promise<{ pid: number; code: number | null; stderr: string }>;
  /**
   * Starts `command` in the pod (its network namespace, then its cgroup: the exec of `command`
   * is the first thing the pod's cgroup sees). `files` (absolute path → content) are what the
   * process sees at those paths and nothing else does: it gets a private mount namespace where
   * the nearest existing directory above each path is overlaid, read-only, by one holding the
   * file (as a kubelet volume appears only in its pod).
   */
  spawn(
    command: string,
    args: readonly string[],
    opts?: { files?: Readonly<Record<string, string>> },
  ): PodProcess;
  /** The connections the peer's listener accepted so far. */
  connections(): PeerConnection[];
  /** Kills what runs in the pod, removes its namespaces, links and cgroups. */
  close(): Promise<void>;
}

/** What a TestPod needs from the machine; empty when everything is there. */
export async function testPodPrerequisites(opts: { files?: boolean } = {}): Promise<string[]> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (cgroups and network namespaces are created)");
  for (const tool of ["ip", "nsenter", "bash", ...(opts.files === true ? ["unshare", "mount"] : [])]) {
    try {
      await run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      missing.push(`the ${tool} command`);
    }
  }
  if (opts.files === true && !overlayAvailable())
    missing.push("overlayfs (the pod's own files are an overlay: modprobe overlay)");
  return missing;
}

function overlayAvailable(): boolean {
  try {
    if (/\toverlay$/m.test(readFileSync("/proc/filesystems", "utf8"))) return true;
  } catch {
    return false;
  }
  // Not registered yet: a module the first mount loads.
  try {
    const release = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the running kernel's release (os.release), not input
    return existsSync(`/lib/modules/${release}/kernel/fs/overlayfs`);
  } catch {
    return false;
  }
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

/** A POSIX shell word. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** IPv4 prefixes this machine routes (every table), default routes left out. */
async function routedPrefixes(): Promise<[number, number][]> {
  const { stdout } = await run("ip", ["-4", "-o", "route", "show", "table", "all"]);
  const out: [number, number][] = [];
  for (const line of stdout.split("\n")) {
    const words = line.trim().split(/\s+/);
    // eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, fixed dotted groups, one optional suffix
    const w = /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(words[0] ?? "") ? words[0] : words[1];
    // eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, fixed dotted groups, one optional suffix
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(w ?? "");
    if (m === null) continue;
    const len = Number(m[5] ?? 32);
    if (len === 0) continue;
    const ip = m.slice(1, 5).reduce((a, x) => a * 256 + Number(x), 0);
    out.push([ip, len]);
  }
  return out;
}

/** A 10.244.<n>.0/30 that no route of this machine covers or is covered by. */
async function freeHostSubnet(): Promise<number> {
  const routes = await routedPrefixes();
  const start = randomBytes(1)[0] ?? 0;
  for (let i = 0; i < 254; i++) {
    const n = ((start + i) % 254) + 1;
    const net = ((10 * 256 + 244) * 256 + n) * 256;
    const clash = routes.some(([ip, len]) => {
      const l = Math.min(len, 30);
      const mask = l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0;
      return (ip & mask) >>> 0 === (net & mask) >>> 0;
    });
    if (!clash) return n;
  }
  throw new AgentError("HANGAR_ERR_PROBE_SELFTEST", "no free 10.244.<n>.0/30 for the pod's link to the host");
}

/** Kills every process of a cgroup (and what they start meanwhile) until it is empty. */
async function killCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    let procs: string[];
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
      procs = readFileSync(join(dir, "cgroup.procs"), "utf8")
        .split("\n")
        .filter((l) => l !== "");
    } catch {
      return; // no such cgroup (any more)
    }
    if (procs.length === 0) return;
    for (const p of procs) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // gone already
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Creates a test pod in `hierarchy`: <mount>/<stem>-<id>/kubepods/besteffort/pod<uid>/
 * <container id> (the cgroupfs driver's layout), a pod and a peer network namespace joined
 * by a veth pair (198.18.<n>.0/29 and fd68:616e:<n>::/64, addresses that exist only inside
 * these namespaces), and a TCP listener in the peer namespace; with options, a link to the
 * host and further peer addresses (see TestPodOptions).
 */
export async function createTestPod(
  hierarchy: CgroupHierarchy,
  options: TestPodOptions = {},
): Promise<TestPod> {
  const short = randomBytes(3).toString("hex");
  const stem = options.stem ?? "hangar-test";
  const uid = randomUUID();
  const containerId = randomBytes(32).toString("hex");
  const base = join(hierarchy.mount, `${stem}-${short}`);
  const podDir = join(base, "kubepods", "besteffort", `pod${uid}`);
  const cgroupDir = join(podDir, containerId);
  const netns = `${stem}-${short}-pod`;
  const peerNs = `${stem}-${short}-peer`;
  const n = (parseInt(short.slice(0, 2), 16) % 250) + 1;
  const linkIp = `198.18.${n}.1`;
  const peerIp = `198.18.${n}.2`;
  const peerIp6 = `fd68:616e:${n.toString(16)}::2`;
  const silentIp = `198.18.${n}.3`;
  const peerHosts = [...(options.peerHosts ?? [])];
  const watchedDir = mkdtempSync(join(tmpdir(), "hangar-watched-"));
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
  writeFileSync(join(watchedDir, "secret"), "not really\n");
  const undo: (() => Promise<void>)[] = [];
  let listener: ReturnType<typeof spawn> | undefined;
  const accepted: PeerConnection[] = [];
  const spawned = new Set<ChildProcess>();
  const fileDirs: string[] = [];
  const close = async (): Promise<void> => {
    for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    listener?.kill("SIGKILL");
    await killCgroup(cgroupDir);
    for (const u of undo.reverse()) await u().catch(() => undefined);
    undo.length = 0;
    rmSync(watchedDir, { recursive: true, force: true });
    for (const d of fileDirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
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
            // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
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
    await inNs(netns, "addr", "add", `${linkIp}/29`, "dev", a);
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
    let podIp = linkIp;
    let hostIp: string | undefined;
    let hostLink: string | undefined;
    if (options.hostLink === true) {
      const h = await freeHostSubnet();
      hostIp = `10.244.${h}.1`;
      podIp = `10.244.${h}.2`;
      hostLink = `hh${short}`;
      await run("ip", ["link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", netns]);
      // Deleted with the pod's namespace too; at once here, so that nothing lingers after close().
      const link = hostLink;
      undo.push(() => run("ip", ["link", "del", link]).then(() => undefined));
      await run("ip", ["addr", "add", `${hostIp}/30`, "dev", hostLink]);
      await inNs(netns, "addr", "add", `${podIp}/30`, "dev", "eth0");
      await run("ip", ["link", "set", hostLink, "up"]);
      await inNs(netns, "link", "set", "eth0", "up");
    }
    for (const host of peerHosts) {
      await inNs(peerNs, "addr", "add", `${host}/32`, "dev", "lo");
      // From the pod's own address, as a pod's single interface would send it.
      await inNs(netns, "route", "add", `${host}/32`, "via", peerIp, "src", podIp);
    }
    if (podIp !== linkIp) await inNs(peerNs, "route", "add", `${podIp}/32`, "via", linkIp);
    // The listener: accepts and closes, on both families; one JSON line per connection.
    listener = spawn(
      "ip",
      [
        "netns",
        "exec",
        peerNs,
        process.execPath,
        "-e",
        "const a=(x,p)=>(x.startsWith('::ffff:')?x.slice(7):x.includes(':')?'['+x+']':x)+':'+p;" +
          "const s=require('node:net').createServer(c=>{console.log(JSON.stringify({time:Date.now(),local:a(c.localAddress,c.localPort),remote:a(c.remoteAddress,c.remotePort)}));c.destroy();});" +
          `s.listen(${options.peerPort ?? 0},'::',()=>console.log(s.address().port));`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const peerPort = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: listener?.stdout as NodeJS.ReadableStream });
      let first = true;
      lines.on("line", (l) => {
        if (first) {
          first = false;
          const port = Number.parseInt(l, 10);
          if (port > 0) resolve(port);
          else reject(new Error(`the test listener said ${JSON.stringify(l)}`));
          return;
        }
        try {
          accepted.push(JSON.parse(l) as PeerConnection);
        } catch {
          // not a connection line
        }
      });
      listener?.on("error", reject);
      listener?.on("close", (code) => reject(new Error(`the test listener exited (${code})`)));
    });
    const enterCgroup = `echo $$ > ${sq(join(cgroupDir, "cgroup.procs"))}`;
    const runScript = async (script: string, inCgroup: boolean) => {
      const enter = inCgroup ? `${enterCgroup} && ` : "";
      const child = spawn(
        "/bin/sh",
        ["-c", `${enter}exec nsenter --net=/run/netns/${netns} -- /bin/bash -c "$1"`, "sh", script],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      const pid = child.pid ?? 0;
      const r = await exitOf(child);
      return { pid, ...r };
    };
    const spawnIn: TestPod["spawn"] = (command, args, opts = {}) => {
      // Overlays (mount namespace) and the network namespace first, outside the cgroup; then
      // the cgroup, then exec: the pod's cgroup sees one exec, of `command`.
      const mounts = new Map<string, string>();
      const files = Object.entries(opts.files ?? {});
      if (files.length > 0) {
        const layers = mkdtempSync(join(tmpdir(), `${stem}-${short}-files-`));
        fileDirs.push(layers);
        for (const [path, content] of files) {
          let above = dirname(path);
          // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
          while (!existsSync(above)) above = dirname(above);
          // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
          const target = realpathSync(above);
          let layer = mounts.get(target);
          if (layer === undefined) {
            layer = join(layers, String(mounts.size));
            mounts.set(target, layer);
          }
          const file = join(layer, relative(above, path));
          // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
          mkdirSync(dirname(file), { recursive: true });
          // eslint-disable-next-line security/detect-non-literal-fs-filename -- the self-test's own temporary cgroup and files, created by it
          writeFileSync(file, content, { mode: 0o644 });
        }
      }
      const script = [
        ...[...mounts].map(
          ([target, layer]) =>
            `mount -t overlay -o ro,lowerdir=${sq(layer)}:${sq(target)} ${stem}-pod ${sq(target)}`,
        ),
        enterCgroup,
        'exec "$@"',
      ].join(" && ");
      const argv = [
        `--net=/run/netns/${netns}`,
        "--",
        ...(mounts.size > 0 ? ["unshare", "--mount", "--propagation", "private", "--"] : []),
        "/bin/sh",
        "-c",
        script,
        "sh",
        command,
        ...args,
      ];
      const child = spawn("nsenter", argv, { stdio: ["ignore", "pipe", "pipe"] });
      spawned.add(child);
      const exited = new Promise<number | string>((resolve) =>
        child.once("close", (code, signal) => resolve(code ?? signal ?? "unknown")),
      );
      return { pid: child.pid ?? 0, child, exited };
    };
    const namespace = options.namespace ?? "hangar-selftest";
    const name = options.name ?? `probe-${short}`;
    const provider = options.provider ?? "probe-selftest";
    const labels = { app: "selftest", ...options.labels, [PROVIDER_LABEL]: provider };
    const image = options.image ?? "hangar/selftest:1";
    const pod: TestPod = {
      uid,
      containerId,
      namespace,
      name,
      provider,
      cgroupBase: base,
      cgroupDir,
      netns,
      peerNetns: peerNs,
      podIp,
      hostIp,
      hostLink,
      peerIp,
      peerIp6,
      peerHosts,
      silentIp,
      peerPort,
      listenerPid: listener.pid ?? 0,
      watchedDir,
      podInfo() {
        return {
          namespace,
          name,
          uid,
          labels: { ...labels },
          ips: [podIp],
          containers: [{ id: `containerd://${containerId}`, name: "server", image }],
        };
      },
      run: (script) => runScript(script, true),
      runOutside: (script) => runScript(script, false),
      spawn: spawnIn,
      connections: () => [...accepted],
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
