/**
 * Realistic Tetragon GetEventsResponse messages for the benchmarks, shaped like
 * what `tetra getevents` prints for a Kubernetes node with default export
 * settings: the process and its parent, each with pod, container, image, labels,
 * flags, auid, docker id and tid. Generation is deterministic (seeded), so the
 * simulator child process and the benchmark process build identical pools.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { tetragon } from "@hangar/proto";
import { PROVIDER_LABEL } from "@hangar/core";

export { PROVIDER_LABEL };

/** Which pool of messages to build. */
export type FixtureKind = "exec" | "mixed";

export const FIXTURE_KINDS: readonly FixtureKind[] = ["exec", "mixed"];

/**
 * Default pool size. A power of two; latency samplers use an odd stride so that
 * every message of the pool is sampled, not the same few.
 */
export const DEFAULT_POOL = 1024;

const NODE = "ip-10-0-3-17.eu-west-1.compute.internal";
const START_MS = Date.parse("2026-03-02T09:00:00Z");

/** mulberry32: a tiny deterministic PRNG, good enough to vary fixtures. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function hex(rand: () => number, chars: number): string {
  let s = "";
  while (s.length < chars)
    s += Math.floor(rand() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return s.slice(0, chars);
}

function execId(pid: number, ktime: number): string {
  return Buffer.from(`${NODE}:${ktime}:${pid}`).toString("base64");
}

interface PodTemplate {
  pod: tetragon.Pod;
  /** The long-running server process of the pod (parent of what it spawns). */
  server: tetragon.Process;
}

const PROVIDERS = ["weather", "github", "filesystem", "postgres", "slack", "jira"];
const OTHERS = [
  { ns: "shop", app: "web", binary: "/usr/sbin/nginx" },
  { ns: "shop", app: "cart", binary: "/usr/local/bin/redis-server" },
];

const CHILDREN: readonly { binary: string; args: readonly string[] }[] = [
  {
    binary: "/bin/sh",
    args: ['-c "git status --porcelain"', '-c "ls -la /data"', '-c "cat /etc/os-release"'],
  },
  {
    binary: "/usr/bin/curl",
    args: ["-s https://api.github.com/repos/a/b", "-sf https://api.weather.example/v1"],
  },
  { binary: "/usr/bin/git", args: ["fetch --depth 1 origin main", "rev-parse HEAD", "log -n 20 --oneline"] },
  { binary: "/usr/bin/python3", args: ["-m pip list --format json", "/app/tools/export.py --since 1h"] },
  { binary: "/bin/cat", args: ["/app/config.yaml", "/etc/resolv.conf"] },
  { binary: "/usr/bin/psql", args: ["-h db.internal -c 'select 1'"] },
];

const DESTINATIONS = ["140.82.112.6", "198.51.100.7", "10.96.0.10", "172.20.4.33", "203.0.113.80"];
const FILES = [
  "/app/config.yaml",
  "/etc/ssl/certs/ca-certificates.crt",
  "/var/run/secrets/kubernetes.io/serviceaccount/token",
  "/data/repos/hangar/.git/HEAD",
  "/tmp/tool-output.json",
  "/home/app/.cache/pip/http/c/d/e",
];

function podTemplate(rand: () => number, i: number, ns: string, app: string, provider: boolean): PodTemplate {
  const hash = hex(rand, 9);
  const name = `${app}-${hash}-${hex(rand, 5)}`;
  const podLabels: Record<string, string> = {
    app,
    "app.kubernetes.io/name": app,
    "app.kubernetes.io/version": `1.${i}.0`,
    "pod-template-hash": hash,
  };
  if (provider) podLabels[PROVIDER_LABEL] = app;
  const containerId = hex(rand, 64);
  const pod = create(tetragon.PodSchema, {
    namespace: ns,
    name,
    uid: `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-a${hex(rand, 3)}-${hex(rand, 12)}`,
    podLabels,
    workload: app,
    workloadKind: "Deployment",
    container: {
      id: `containerd://${containerId}`,
      name: provider ? "server" : app,
      image: {
        name: `ghcr.io/example/${app}${provider ? "-mcp" : ""}:1.${i}.0`,
        id: `ghcr.io/example/${app}@sha256:${hex(rand, 64)}`,
      },
      startTime: timestampFromMs(START_MS - 3_600_000),
      pid: 1,
    },
  });
  const pid = 4000 + i * 97;
  const server = create(tetragon.ProcessSchema, {
    execId: execId(pid, 5_000_000_000 + i),
    pid,
    uid: 1000,
    cwd: "/app",
    binary: provider ? "/usr/local/bin/node" : (OTHERS[i % OTHERS.length]?.binary ?? "/bin/sh"),
    arguments: provider ? "/app/dist/server.js --transport stdio" : "-g daemon off;",
    flags: "execve rootcwd clone",
    startTime: timestampFromMs(START_MS - 3_500_000),
    auid: 4294967295,
    pod,
    docker: containerId.slice(0, 31),
    parentExecId: execId(1, 1_000_000 + i),
    tid: pid,
    refcnt: 3,
  });
  return { pod, server };
}

/** The pods of the fixture node: MCP providers (labelled) and ordinary workloads (not). */
function pods(rand: () => number): { providers: PodTemplate[]; others: PodTemplate[] } {
  const providers = PROVIDERS.map((app, i) => podTemplate(rand, i, "mcp", app, true));
  const others = OTHERS.map((o, i) => podTemplate(rand, PROVIDERS.length + i, o.ns, o.app, false));
  return { providers, others };
}

function child(rand: () => number, owner: PodTemplate, n: number, at: Timestamp): tetragon.Process {
  const c = pick(rand, CHILDREN);
  const pid = 20_000 + n;
  return create(tetragon.ProcessSchema, {
    execId: execId(pid, 6_000_000_000 + n * 1013),
    pid,
    uid: owner.server.uid ?? 0,
    cwd: "/app",
    binary: c.binary,
    arguments: pick(rand, c.args),
    flags: "execve clone",
    startTime: at,
    auid: 4294967295,
    pod: owner.pod,
    docker: owner.server.docker,
    parentExecId: owner.server.execId,
    tid: pid,
  });
}

function response(at: Timestamp, event: tetragon.GetEventsResponse["event"]): tetragon.GetEventsResponse {
  return create(tetragon.GetEventsResponseSchema, { nodeName: NODE, time: at, event });
}

function execOf(
  process: tetragon.Process,
  parent: tetragon.Process,
  at: Timestamp,
): tetragon.GetEventsResponse {
  return response(at, {
    case: "processExec",
    value: create(tetragon.ProcessExecSchema, { process, parent }),
  });
}

function kprobe(
  process: tetragon.Process,
  parent: tetragon.Process,
  at: Timestamp,
  functionName: string,
  args: tetragon.KprobeArgument[],
): tetragon.GetEventsResponse {
  return response(at, {
    case: "processKprobe",
    value: create(tetragon.ProcessKprobeSchema, {
      process,
      parent,
      functionName,
      args,
      action: tetragon.KprobeAction.POST,
      policyName: functionName === "tcp_connect" ? "hangar-network" : "hangar-files",
    }),
  });
}

function tcpConnect(rand: () => number, n: number): tetragon.KprobeArgument[] {
  return [
    create(tetragon.KprobeArgumentSchema, {
      arg: {
        case: "sockArg",
        value: {
          family: "AF_INET",
          type: "SOCK_STREAM",
          protocol: "IPPROTO_TCP",
          saddr: "10.244.1.17",
          daddr: pick(rand, DESTINATIONS),
          sport: 32768 + (n % 28000),
          dport: pick(rand, [443, 443, 80, 5432, 53]),
          cookie: BigInt(18446623000000 + n),
          state: "TCP_SYN_SENT",
        },
      },
    }),
  ];
}

function filePermission(rand: () => number): tetragon.KprobeArgument[] {
  return [
    create(tetragon.KprobeArgumentSchema, {
      arg: { case: "fileArg", value: { path: pick(rand, FILES), permission: "-rw-r--r--" } },
    }),
    create(tetragon.KprobeArgumentSchema, { arg: { case: "intArg", value: pick(rand, [4, 4, 4, 2]) } }),
  ];
}

/**
 * `count` process_exec messages from MCP provider pods: varied binaries,
 * arguments, pids, exec ids, times and pods; each with its parent process.
 */
export function execMessages(count = DEFAULT_POOL, seed = 1): tetragon.GetEventsResponse[] {
  const rand = prng(seed);
  const { providers } = pods(rand);
  const out: tetragon.GetEventsResponse[] = [];
  for (let n = 0; n < count; n++) {
    const owner = pick(rand, providers);
    const at = timestampFromMs(START_MS + n * 3 + Math.floor(rand() * 3));
    out.push(execOf(child(rand, owner, n, at), owner.server, at));
  }
  return out;
}

/**
 * `count` messages in a realistic mix for a node running MCP providers:
 * ~25 % process_exec, ~25 % process_exit, ~20 % kprobe tcp_connect, ~20 % kprobe
 * security_file_permission, all from labelled provider pods, and ~10 % exec or
 * tcp_connect from pods without the provider label (which the agent drops at
 * the resolve stage, and a sensor honouring the agent's allow-list never sends).
 * Every 512th message is a rate_limit_info notice, as a busy node sends them.
 */
export function mixedMessages(count = DEFAULT_POOL, seed = 2): tetragon.GetEventsResponse[] {
  const rand = prng(seed);
  const { providers, others } = pods(rand);
  const out: tetragon.GetEventsResponse[] = [];
  // Processes that exec'd and have not exited yet, so exits and kprobes refer to them.
  const live: { proc: tetragon.Process; owner: PodTemplate }[] = [];
  for (let n = 0; n < count; n++) {
    const at = timestampFromMs(START_MS + n * 3 + Math.floor(rand() * 3));
    if (n % 512 === 511) {
      out.push(response(at, { case: "rateLimitInfo", value: create(tetragon.RateLimitInfoSchema, {}) }));
      continue;
    }
    const r = rand();
    if (r < 0.1) {
      const owner = pick(rand, others);
      out.push(
        r < 0.05
          ? execOf(child(rand, owner, n, at), owner.server, at)
          : kprobe(owner.server, owner.server, at, "tcp_connect", tcpConnect(rand, n)),
      );
      continue;
    }
    if (r < 0.35 || live.length === 0) {
      const owner = pick(rand, providers);
      const proc = child(rand, owner, n, at);
      live.push({ proc, owner });
      out.push(execOf(proc, owner.server, at));
      continue;
    }
    const idx = Math.floor(rand() * live.length);
    const { proc, owner } = live[idx] as { proc: tetragon.Process; owner: PodTemplate };
    if (r < 0.6) {
      live.splice(idx, 1);
      out.push(
        response(at, {
          case: "processExit",
          value: create(tetragon.ProcessExitSchema, {
            process: proc,
            parent: owner.server,
            status: 0,
            time: at,
          }),
        }),
      );
    } else if (r < 0.8) {
      out.push(kprobe(proc, owner.server, at, "tcp_connect", tcpConnect(rand, n)));
    } else {
      out.push(kprobe(proc, owner.server, at, "security_file_permission", filePermission(rand)));
    }
  }
  return out;
}

/** Builds a pool of `kind`. */
export function fixture(kind: FixtureKind, count = DEFAULT_POOL): tetragon.GetEventsResponse[] {
  return kind === "exec" ? execMessages(count) : mixedMessages(count);
}

/** Wire bytes of each message, as a sensor sends them. */
export function encode(messages: readonly tetragon.GetEventsResponse[]): Uint8Array[] {
  return messages.map((m) => toBinary(tetragon.GetEventsResponseSchema, m));
}

const POOL_CHILD = fileURLToPath(new URL("./pool-child.js", import.meta.url));

/**
 * The wire bytes of a pool, built in a short-lived child process. Building the
 * messages here would train V8's allocation-site pretenuring on protobuf-es
 * objects that live for the whole run (the pool), after which every decoded
 * message is allocated straight into old space: on Node 24 that made
 * decode/tetragon-exec ~35 % slower and its heap 3× larger than the same decode
 * in a process that only ever sees bytes, as the agent does.
 */
export function loadPool(kind: FixtureKind, count = DEFAULT_POOL): Uint8Array[] {
  const out = execFileSync(process.execPath, [POOL_CHILD, kind, String(count)], {
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const pool: Uint8Array[] = [];
  for (let at = 0; at < out.length;) {
    const len = out.readUInt32LE(at);
    // A copy per message, in its own ArrayBuffer, like the buffers grpc-js hands over.
    pool.push(new Uint8Array(out.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  if (pool.length !== count) throw new Error(`pool-child returned ${pool.length} of ${count} messages`);
  return pool;
}
