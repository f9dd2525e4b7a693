/**
 * The own eBPF probe as a source: starts the loader (bpf/probe, `hangar-probe`), reads
 * its fixed-size records from the loader's stdout, and keeps the probe's in-kernel
 * cgroup filter equal to the cgroups of the MCP pods on this node.
 *
 * The loader's first record is HELLO (ABI, record size, a boot/real clock pair); a
 * loader of another ABI is refused. STATS records carry what the kernel could not
 * deliver (`sensor_lost_events{sensor="probe"}`). The filter is driven by text lines on
 * the loader's stdin (`add ID`, `del ID`, `sync N`); an ACK record answers every sync.
 * A loader that dies after it started is restarted with backoff; one that cannot start
 * (not built, no privileges, no kernel support) ends the source with
 * HANGAR_ERR_PROBE_UNAVAILABLE, or, with `onUnavailable`, ends it quietly after telling.
 */
import { spawn } from "node:child_process";
import { on } from "node:events";
import { accessSync, constants, readFileSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { AgentError } from "../../errors.js";
import {
  PROBE_ABI,
  PROBE_MAGIC,
  PROBE_RECORD_SIZE,
  ProbeKind,
  decodeProbeEvent,
  decodeProbeMeta,
  probeRecordKind,
  type ProbeMeta,
} from "./records.js";
import { type Counters, BoundedQueue, Backoff, sleep, type BackoffOptions } from "@hangar/core";
import {
  CgroupResolver,
  detectHierarchy,
  hierarchyUnder,
  loaderMode,
  type CgroupHierarchy,
  type McpPods,
} from "./cgroups.js";
import type { SensorRecord } from "../records.js";

/** Where the loader is looked for when none is given: $HANGAR_PROBE_LOADER, the build, the image. */
export function defaultLoaderPaths(): string[] {
  const out: string[] = [];
  const env = process.env.HANGAR_PROBE_LOADER;
  if (env !== undefined && env !== "") out.push(env);
  // agent/dist/src/sources/probe/source.js → <repo>/bpf/probe/build/hangar-probe
  out.push(fileURLToPath(new URL("../../../../../bpf/probe/build/hangar-probe", import.meta.url)));
  out.push("/usr/local/lib/hangar/hangar-probe");
  return out;
}

/** The first executable loader of `candidates` (default: defaultLoaderPaths()), or undefined. */
export function findLoader(candidates: readonly string[] = defaultLoaderPaths()): string | undefined {
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

/** What this process lacks to run the probe (kernel BTF, privileges); empty when nothing. */
export function probePrerequisites(procRoot = "/proc"): string[] {
  const missing: string[] = [];
  try {
    accessSync("/sys/kernel/btf/vmlinux", constants.R_OK);
  } catch {
    missing.push("kernel BTF (/sys/kernel/btf/vmlinux is not readable: CONFIG_DEBUG_INFO_BTF)");
  }
  if (process.getuid?.() !== 0) {
    // Without root: CAP_BPF (39), CAP_PERFMON (38) and CAP_SYS_ADMIN (21) for tracefs/tracepoints.
    let eff = 0n;
    try {
      const status = readStatus(procRoot);
      eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"}`);
    } catch {
      eff = 0n;
    }
    const need: [bigint, string][] = [
      [39n, "CAP_BPF"],
      [38n, "CAP_PERFMON"],
      [21n, "CAP_SYS_ADMIN"],
    ];
    const lacking = need.filter(([bit]) => (eff & (1n << bit)) === 0n).map(([, n]) => n);
    if (lacking.length > 0) missing.push(`privileges: not root and lacking ${lacking.join(", ")}`);
  }
  return missing;
}

function readStatus(procRoot: string): string {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- /proc/self under the configured proc root
  return readFileSync(`${procRoot}/self/status`, "utf8");
}

export interface ProbeSyncInfo {
  cookie: bigint;
  /** cgroups in the kernel filter, as the loader counts them. */
  filterSize: number;
  /** MCP pods whose cgroups were found. */
  pods: number;
  /** MCP pods without a cgroup yet (the pod object can come before its cgroup). */
  podsWithoutCgroup: number;
}

export interface ProbeSourceOptions {
  /** The loader binary (hangar-probe), started by the source (unless `listen`). */
  loader?: string;
  /**
   * Instead of starting the loader, listen on this unix socket for one started elsewhere
   * (`hangar-probe --output unix:PATH --cgroup-mode …`, e.g. a privileged sidecar); the
   * prefixes are then sent as control lines.
   */
  listen?: string;
  /** open(2) path prefixes reported by the kernel (e.g. /etc/, /var/run/secrets/). */
  prefixes: readonly string[];
  cgroups: CgroupResolver;
  /** The MCP pods of this node; the kernel filter follows them. */
  pods: McpPods;
  /** Also report the outcome of non-blocking TCP connects (sock:inet_sock_set_state). */
  sockState?: boolean;
  /** Further loader arguments (e.g. --ringbuf-bytes N). */
  loaderArgs?: readonly string[];
  /** Rescan cgroups this often (ms; default 5000, 500 while an MCP pod has no cgroup yet). */
  resyncMs?: number;
  queueCapacity?: number;
  backoff?: BackoffOptions;
  counters: Counters;
  logger: Logger;
  /** After every ACK of the loader: the kernel filter now holds the cgroups sent before. */
  onSynced?: (info: ProbeSyncInfo) => void;
  /** The loader's HELLO. */
  onHello?: (meta: ProbeMeta) => void;
  /**
   * Called when the loader cannot start; the source then ends without an error (the agent
   * runs on without the probe). Without it, the source fails with that error.
   */
  onUnavailable?: (err: AgentError) => void;
}

/** The loader's exit codes (bpf/probe/src/loader.c). */
const EXIT_LOAD = 2;
/** enum hangar_cgroup_mode */
const HANGAR_CGROUP_V2 = 0;
const HANGAR_CGROUP_V1 = 1;

export function probeSource(options: ProbeSourceOptions, signal: AbortSignal): AsyncIterable<SensorRecord> {
  const { counters, logger } = options;
  const queue = new BoundedQueue<SensorRecord>({
    capacity: options.queueCapacity ?? 16_384,
    name: "probe",
    counters,
  });
  run(options, queue, signal).then(
    () => queue.close(),
    (err: unknown) => {
      const e = AgentError.from(err, "HANGAR_ERR_PROBE_UNAVAILABLE", "probe");
      if (options.onUnavailable !== undefined && e.code === "HANGAR_ERR_PROBE_UNAVAILABLE") {
        options.onUnavailable(e);
        queue.close();
      } else {
        logger.error({ err: e }, "probe source failed");
        queue.close(e);
      }
    },
  );
  return queue;
}

/** How a loader session ended. */
interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string[];
  hello: boolean;
}

/** Where records come from: a loader this source spawned, or one that connected to its socket. */
interface Channel {
  /** For messages: the loader path or the socket path. */
  readonly name: string;
  readonly input: Readable;
  readonly control: Writable;
  /** Ends the control input (the loader then exits), forcing it after a while. */
  stop(): void;
  /** Ends the session now (protocol failure). */
  kill(): void;
  readonly ended: Promise<Omit<Ended, "hello">>;
}

function spawnChannel(options: ProbeSourceOptions, loader: string): Channel {
  const { logger, cgroups } = options;
  const args = ["--cgroup-mode", loaderMode(cgroups.hierarchy)];
  for (const p of options.prefixes) args.push("--prefix", p);
  if (options.sockState === true) args.push("--sock-state");
  if (options.loaderArgs !== undefined) args.push(...options.loaderArgs);
  const child = spawn(loader, args, { stdio: ["pipe", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr.setEncoding("utf8");
  let errBuf = "";
  child.stderr.on("data", (s: string) => {
    errBuf += s;
    let nl;
    while ((nl = errBuf.indexOf("\n")) >= 0) {
      const line = errBuf.slice(0, nl).trim();
      errBuf = errBuf.slice(nl + 1);
      if (line === "") continue;
      stderr.push(line);
      if (stderr.length > 20) stderr.shift();
      logger.warn({ loader }, line);
    }
  });
  child.stdin.on("error", () => undefined); // the loader went away; `close` reports it
  const ended = new Promise<Omit<Ended, "hello">>((resolve) => {
    child.on("error", (err: NodeJS.ErrnoException) => {
      stderr.push(`cannot run ${loader}: ${err.message}`);
    });
    child.on("close", (code, sig) => resolve({ code, signal: sig, stderr }));
  });
  return {
    name: loader,
    input: child.stdout,
    control: child.stdin,
    stop() {
      child.stdin.end();
      setTimeout(() => child.kill("SIGTERM"), 2000).unref();
    },
    kill() {
      child.kill("SIGTERM");
    },
    ended,
  };
}

function socketChannel(sock: Socket, path: string): Channel {
  sock.on("error", () => undefined); // `close` follows
  const ended = new Promise<Omit<Ended, "hello">>((resolve) =>
    sock.on("close", () => resolve({ code: null, signal: null, stderr: [] })),
  );
  return {
    name: `the loader connected to ${path}`,
    input: sock,
    control: sock,
    stop() {
      sock.end();
      setTimeout(() => sock.destroy(), 2000).unref();
    },
    kill() {
      sock.destroy();
    },
    ended,
  };
}

async function run(
  options: ProbeSourceOptions,
  queue: BoundedQueue<SensorRecord>,
  signal: AbortSignal,
): Promise<void> {
  if (options.listen !== undefined) return listen(options, options.listen, queue, signal);
  const { counters, logger } = options;
  const loader = options.loader;
  if (loader === undefined)
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "probe: give the loader to start, or a socket to listen on",
    );
  const backoff = new Backoff(options.backoff);
  let starts = 0;
  while (!signal.aborted) {
    const end = await attach(spawnChannel(options, loader), options, queue, signal, starts > 0, false);
    starts++;
    if (signal.aborted) return;
    const why = end.stderr.length > 0 ? end.stderr.slice(-3).join("; ") : `exit ${end.code ?? end.signal}`;
    if (!end.hello) {
      // It never started: retrying will not give it privileges or kernel support.
      const hint = end.code === EXIT_LOAD ? " (privileges or kernel support)" : "";
      throw new AgentError(
        "HANGAR_ERR_PROBE_UNAVAILABLE",
        `the probe loader ${loader} did not start${hint}: ${why}`,
        { details: { exitCode: end.code, signal: end.signal } },
      );
    }
    counters.inc("sensor_reconnects", { sensor: "probe" });
    const delay = backoff.next();
    logger.warn({ loader, why, retryInMs: delay }, "probe loader ended; restarting");
    await sleep(delay, signal);
  }
}

/**
 * Sidecar mode: listen on a unix socket for a loader started elsewhere
 * (`hangar-probe --output unix:PATH`, in a privileged container), one at a time. The agent
 * itself then needs no privileges.
 */
async function listen(
  options: ProbeSourceOptions,
  path: string,
  queue: BoundedQueue<SensorRecord>,
  signal: AbortSignal,
): Promise<void> {
  const { counters, logger } = options;
  rmSync(path, { force: true });
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(AgentError.from(err, "HANGAR_ERR_CONFIG_INVALID", `probe: listening on ${path}`)),
    );
    server.listen(path, resolve);
  });
  logger.info({ socket: path }, "probe: waiting for the loader to connect");
  let sessions = 0;
  try {
    for await (const [sock] of on(server, "connection", { signal }) as AsyncIterable<[Socket]>) {
      const end = await attach(socketChannel(sock, path), options, queue, signal, sessions > 0, true);
      if (signal.aborted) return;
      if (end.hello) {
        sessions++;
        counters.inc("sensor_reconnects", { sensor: "probe" });
        logger.warn({ socket: path }, "probe loader disconnected; waiting for it to come back");
      } else {
        logger.warn({ socket: path }, "probe: a connection ended before the loader's HELLO");
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    server.close();
    rmSync(path, { force: true });
  }
}

/** Runs one loader session: decode records, drive the filter; resolves when it ends. */
function attach(
  ch: Channel,
  options: ProbeSourceOptions,
  queue: BoundedQueue<SensorRecord>,
  signal: AbortSignal,
  restart: boolean,
  sendPrefixes: boolean,
): Promise<Ended> {
  const { counters, logger, cgroups, pods } = options;
  let hello = false;
  let bootToRealNs = 0n;
  let lastLost = 0n;
  let lastReadFail = 0n;
  let pending: Buffer = Buffer.alloc(0);
  let cookie = 0n;
  let inKernel = new Set<bigint>();
  let podsFound = 0;
  let podsMissing = 0;
  let timer: NodeJS.Timeout | undefined;
  let dirty = false;
  let failure: AgentError | undefined;

  const send = (line: string): void => {
    if (!ch.control.destroyed && ch.control.writable) ch.control.write(line);
  };
  const fail = (message: string): void => {
    failure = new AgentError("HANGAR_ERR_PROBE_PROTOCOL", `probe loader ${ch.name}: ${message}`);
    ch.kill();
  };

  const sync = (): void => {
    timer = undefined;
    if (!hello || signal.aborted) return;
    dirty = false;
    cgroups.scan();
    const want = new Set<bigint>();
    podsFound = 0;
    podsMissing = 0;
    for (const uid of pods.mcpPodUids()) {
      const ids = cgroups.podCgroupIds(uid);
      if (ids.length === 0) podsMissing++;
      else podsFound++;
      for (const id of ids) want.add(id);
    }
    let lines = "";
    for (const id of want) if (!inKernel.has(id)) lines += `add ${id}\n`;
    for (const id of inKernel) if (!want.has(id)) lines += `del ${id}\n`;
    inKernel = want;
    cookie++;
    lines += `sync ${cookie}\n`;
    send(lines);
    schedule(podsMissing > 0 ? 500 : (options.resyncMs ?? 5000));
  };

  const schedule = (ms: number): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(sync, ms);
    timer.unref();
  };

  const unsubscribe = pods.onChange(() => {
    if (!hello) return;
    if (!dirty) {
      dirty = true;
      schedule(50);
    }
  });

  const onMeta = (m: ProbeMeta): void => {
    if (m.kind === ProbeKind.HELLO) {
      if (m.magic !== PROBE_MAGIC || m.abi !== PROBE_ABI || m.size !== PROBE_RECORD_SIZE) {
        fail(
          `HELLO has magic 0x${m.magic.toString(16)}, abi ${m.abi}, record size ${m.size}; this agent speaks abi ${PROBE_ABI} with ${PROBE_RECORD_SIZE}-byte records (rebuild bpf/probe from this checkout)`,
        );
        return;
      }
      const mode = cgroups.hierarchy.version === 2 ? HANGAR_CGROUP_V2 : HANGAR_CGROUP_V1;
      if (m.cgroupMode !== mode) {
        fail(
          `it reports cgroup ids of ${m.cgroupMode === HANGAR_CGROUP_V2 ? "cgroup v2" : "a cgroup v1 hierarchy"}, but the agent resolves ${loaderMode(cgroups.hierarchy)}; start it with --cgroup-mode ${loaderMode(cgroups.hierarchy)}`,
        );
        return;
      }
      hello = true;
      bootToRealNs = m.realNs - m.bootNs;
      counters.inc("sensor_connects", { sensor: "probe" });
      if (restart) counters.inc("sensor_gaps", { sensor: "probe" });
      logger.info(
        { loader: ch.name, cgroupMode: loaderMode(cgroups.hierarchy), prefixes: options.prefixes },
        "probe loaded",
      );
      options.onHello?.(m);
      if (sendPrefixes) send(options.prefixes.map((p) => `prefix+ ${p}\n`).join(""));
      sync();
      return;
    }
    if (m.lost > lastLost) {
      counters.inc(
        "sensor_lost_events",
        { sensor: "probe", reason: "ringbuf_full" },
        Number(m.lost - lastLost),
      );
      lastLost = m.lost;
    }
    if (m.readFail > lastReadFail) {
      counters.inc(
        "sensor_lost_events",
        { sensor: "probe", reason: "user_read" },
        Number(m.readFail - lastReadFail),
      );
      lastReadFail = m.readFail;
    }
    if (m.kind === ProbeKind.ACK)
      options.onSynced?.({
        cookie: m.cookie,
        filterSize: m.filterSize,
        pods: podsFound,
        podsWithoutCgroup: podsMissing,
      });
  };

  ch.input.on("data", (chunk: Buffer) => {
    const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let off = 0;
    while (buf.length - off >= PROBE_RECORD_SIZE && failure === undefined) {
      const kind = probeRecordKind(buf, off);
      if (kind >= ProbeKind.HELLO) {
        onMeta(decodeProbeMeta(buf, off));
      } else if (!hello) {
        fail(`first record has kind ${kind}, expected HELLO`);
      } else {
        counters.inc("sensor_messages", { sensor: "probe" });
        queue.push({ sensor: "probe", msg: decodeProbeEvent(buf, off, bootToRealNs) });
      }
      off += PROBE_RECORD_SIZE;
    }
    pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  });

  const onAbort = (): void => ch.stop();
  signal.addEventListener("abort", onAbort, { once: true });
  return ch.ended.then((end) => {
    signal.removeEventListener("abort", onAbort);
    unsubscribe();
    if (timer !== undefined) clearTimeout(timer);
    if (failure !== undefined) throw failure;
    return { ...end, hello };
  });
}

/** The probe as the agent configures it (`hangar-agent run --probe`). */
export interface AgentProbeOptions {
  /** The loader binary; default: the first of defaultLoaderPaths() that exists. */
  loader?: string;
  /**
   * Sidecar mode: do not start a loader, listen on this unix socket for one started
   * elsewhere (`hangar-probe --output unix:PATH`); the agent then needs no privileges.
   */
  listen?: string;
  /** open(2) path prefixes to report (default DEFAULT_PROBE_PREFIXES). */
  prefixes?: readonly string[];
  /** "auto" (default), "v2" or "v1:CONTROLLER". */
  cgroupMode?: string;
  /**
   * Where that hierarchy is mounted, when not where /proc/self/mountinfo says (an agent in
   * its own cgroup namespace sees the node's hierarchy through a hostPath mount).
   */
  cgroupMount?: string;
  sockState?: boolean;
  loaderArgs?: readonly string[];
  /** Fail the agent when the probe cannot run (default: go on without it and log why). */
  required?: boolean;
  onSynced?: (info: ProbeSyncInfo) => void;
}

/** Paths whose opens matter for MCP servers: credentials, service account tokens, system config. */
export const DEFAULT_PROBE_PREFIXES: readonly string[] = [
  "/etc/shadow",
  "/etc/gshadow",
  "/etc/passwd",
  "/etc/sudoers",
  "/etc/kubernetes/",
  "/etc/ssl/private/",
  "/root/",
  "/var/run/secrets/",
  "/run/secrets/",
  "/proc/self/environ",
];

export interface AgentProbe {
  records: AsyncIterable<SensorRecord>;
  /** cgroup id → pod and container, for the normalize stage (`ProbeNormalizer`). */
  cgroups: CgroupResolver;
}

/**
 * The probe for the agent: finds the loader, checks privileges and kernel support, picks
 * the cgroup hierarchy, and starts the source. When something is missing it returns
 * undefined after logging why (or throws HANGAR_ERR_PROBE_UNAVAILABLE when `required`).
 */
export function startAgentProbe(
  opts: AgentProbeOptions,
  ctx: { node: string; pods: McpPods; counters: Counters; logger: Logger },
  signal: AbortSignal,
): AgentProbe | undefined {
  const { logger, counters } = ctx;
  const unavailable = (reason: string, cause?: unknown): undefined => {
    const err = new AgentError("HANGAR_ERR_PROBE_UNAVAILABLE", `eBPF probe: ${reason}`, { cause });
    if (opts.required === true) throw err;
    logger.warn({ code: err.code }, `running without the eBPF probe: ${reason}`);
    counters.set("probe_available", 0);
    return undefined;
  };
  const loader = opts.listen !== undefined ? undefined : (opts.loader ?? findLoader());
  if (loader === undefined && opts.listen === undefined)
    return unavailable(
      `the loader is not built (looked for ${defaultLoaderPaths().join(", ")}); build it with bash scripts/setup-bpf-tools.sh`,
    );
  if (loader !== undefined) {
    if (findLoader([loader]) === undefined)
      return unavailable(`the loader ${loader} does not exist or is not executable`);
    const missing = probePrerequisites();
    if (missing.length > 0) return unavailable(`missing ${missing.join("; ")}`);
  }
  let hierarchy: CgroupHierarchy;
  try {
    hierarchy = detectHierarchy(opts.cgroupMode ?? "auto");
    if (opts.cgroupMount !== undefined)
      hierarchy = { ...hierarchy, mount: hierarchyUnder(opts.cgroupMount, hierarchy) };
  } catch (err) {
    return unavailable(err instanceof Error ? err.message : String(err), err);
  }
  const cgroups = new CgroupResolver({ hierarchy, counters });
  const records = probeSource(
    {
      ...(loader === undefined ? {} : { loader }),
      ...(opts.listen === undefined ? {} : { listen: opts.listen }),
      prefixes: opts.prefixes ?? DEFAULT_PROBE_PREFIXES,
      cgroups,
      pods: ctx.pods,
      ...(opts.sockState === undefined ? {} : { sockState: opts.sockState }),
      ...(opts.loaderArgs === undefined ? {} : { loaderArgs: opts.loaderArgs }),
      ...(opts.onSynced === undefined ? {} : { onSynced: opts.onSynced }),
      counters,
      logger,
      ...(opts.required === true
        ? {}
        : {
            onUnavailable: (err: AgentError) => {
              counters.set("probe_available", 0);
              logger.warn({ code: err.code }, `running without the eBPF probe: ${err.message}`);
            },
          }),
    },
    signal,
  );
  counters.set("probe_available", 1);
  return { records, cgroups };
}
