/**
 * What a real test node changes on this machine, and the check that it left nothing behind:
 * processes, mounts, network namespaces, links, iptables rules and ipsets of the host's network
 * namespace, eBPF programs and maps, cgroup directories and the kernel settings kubelet writes.
 * Also the small helpers that run commands as root (`run`, `inNetns`).
 */
import { execFile, type ExecFileOptions } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
import { TestkitError } from "./errors.js";

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: ExecFileOptions & { input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      [...args],
      { maxBuffer: 64 * 1024 * 1024, encoding: "utf8", ...opts },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (err !== null && typeof code !== "number") {
          if (code === "ENOENT")
            reject(new TestkitError("HANGAR_ERR_TESTKIT_TOOL_MISSING", `${cmd} is not installed`));
          else resolve({ code: 1, stdout: String(stdout), stderr: `${String(stderr)}${err.message}` });
          return;
        }
        resolve({
          code: typeof code === "number" ? code : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command and throws `HANGAR_ERR_TESTKIT_SETUP_FAILED` with its stderr when it fails. */
export async function must(cmd: string, args: readonly string[], what: string): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0)
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `${what}: ${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return r.stdout;
}

/** `nsenter --net=/run/netns/<ns> <cmd> …`: only the network namespace changes (not /sys, unlike `ip netns exec`). */
export function inNetns(netns: string, cmd: string, args: readonly string[]): [string, string[]] {
  return ["nsenter", [`--net=/run/netns/${netns}`, "--", cmd, ...args]];
}

/** The kernel settings (outside network namespaces) that kubelet may change when it starts. */
export const KUBELET_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
] as const;

export async function readSysctls(names: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) out[n] = (await readFile(`/proc/sys/${n}`, "utf8").catch(() => "")).trim();
  return out;
}

export interface HostState {
  /** `iptables-save` and `ip6tables-save` of the host's network namespace, counters dropped. */
  readonly iptables: readonly string[];
  readonly ipsets: readonly string[];
  /** `ip netns list` names. */
  readonly netns: readonly string[];
  /** Network interfaces of the host's namespace. */
  readonly links: readonly string[];
  /** Routes of the host's namespace. */
  readonly routes: readonly string[];
  /** Mount points (this process's mount namespace). */
  readonly mounts: readonly string[];
  /** eBPF programs: `id name type`. */
  readonly bpfPrograms: readonly string[];
  /** eBPF maps: `id name type`. */
  readonly bpfMaps: readonly string[];
  readonly sysctls: Readonly<Record<string, string>>;
}

const lines = (s: string): string[] => s.split("\n").filter((l) => l.trim() !== "");

async function iptablesSave(): Promise<string[]> {
  const out: string[] = [];
  for (const cmd of ["iptables-save", "ip6tables-save"]) {
    const r = await run(cmd, []).catch(() => undefined);
    if (r === undefined || r.code !== 0) continue;
    for (const l of lines(r.stdout)) {
      if (l.startsWith("#")) continue;
      // ":CHAIN POLICY [packets:bytes]" → without counters
      out.push(`${cmd}: ${l.replace(/ \[\d+:\d+\]$/, "")}`);
    }
  }
  return out;
}

async function bpfList(kind: "prog" | "map"): Promise<string[]> {
  const r = await run("bpftool", ["-j", kind, "show"]).catch(() => undefined);
  if (r === undefined || r.code !== 0) return [];
  const items = JSON.parse(r.stdout === "" ? "[]" : r.stdout) as {
    id: number;
    name?: string;
    type: string;
  }[];
  return items.map((i) => `${i.id} ${i.name ?? "-"} ${i.type}`);
}

/** A snapshot of what a test node could leave behind on this machine. */
export async function hostState(): Promise<HostState> {
  const [iptables, ipsets, netns, links, routes, mountinfo, bpfPrograms, bpfMaps, sysctls] =
    await Promise.all([
      iptablesSave(),
      run("ipset", ["list", "-n"])
        .then((r) => lines(r.stdout))
        .catch(() => []),
      readdir("/run/netns").catch(() => [] as string[]),
      run("ip", ["-o", "link", "show"]).then((r) =>
        lines(r.stdout).map((l) => (/^\d+: ([^:@]+)/.exec(l)?.[1] ?? l).trim()),
      ),
      run("ip", ["route", "show", "table", "all"]).then((r) => lines(r.stdout)),
      readFile("/proc/self/mountinfo", "utf8"),
      bpfList("prog"),
      bpfList("map"),
      readSysctls(KUBELET_SYSCTLS),
    ]);
  return {
    iptables,
    ipsets,
    netns: [...netns].sort(),
    links,
    routes,
    mounts: lines(mountinfo).map((l) => l.split(" ")[4] ?? l),
    bpfPrograms,
    bpfMaps,
    sysctls,
  };
}

/** What is in `after` but not in `before` (and kernel settings that changed), one line each. */
export function hostStateDiff(before: HostState, after: HostState): string[] {
  const added = (kind: string, b: readonly string[], a: readonly string[]): string[] => {
    const seen = new Map<string, number>();
    for (const x of b) seen.set(x, (seen.get(x) ?? 0) + 1);
    const out: string[] = [];
    for (const x of a) {
      const n = seen.get(x) ?? 0;
      if (n > 0) seen.set(x, n - 1);
      else out.push(`${kind}: ${x}`);
    }
    return out;
  };
  const out = [
    ...added("iptables", before.iptables, after.iptables),
    ...added("ipset", before.ipsets, after.ipsets),
    ...added("netns", before.netns, after.netns),
    ...added("link", before.links, after.links),
    ...added("route", before.routes, after.routes),
    ...added("mount", before.mounts, after.mounts),
    ...added("bpf prog", before.bpfPrograms, after.bpfPrograms),
    ...added("bpf map", before.bpfMaps, after.bpfMaps),
  ];
  for (const [k, v] of Object.entries(after.sysctls))
    if (before.sysctls[k] !== v) out.push(`sysctl: ${k} was ${before.sysctls[k] ?? "?"}, now ${v}`);
  return out;
}

/** Pids of live processes whose command line contains `needle` (a test node's directory). */
export async function processesMentioning(needle: string): Promise<{ pid: number; cmdline: string }[]> {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(needle))
      out.push({ pid: Number(name), cmdline: cmdline.replaceAll("\0", " ").trim() });
  }
  return out;
}

/** The executable of a process, or "" when it is gone. */
export async function exeOf(pid: number): Promise<string> {
  return readlink(`/proc/${pid}/exe`).catch(() => "");
}
