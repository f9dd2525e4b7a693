/**
 * Which sensor the local stack runs: the eBPF probe watching a real pod ("probe", real mode)
 * where this machine allows it, else the sensor simulator; and, for the simulator, why real
 * mode is not possible here and how to get it. `--sensor auto|probe|simulator`.
 */
import { findLoader, probePrerequisites, testPodPrerequisites } from "@hangar/agent";

export type SensorChoice = "auto" | "probe" | "simulator";
export const SENSOR_CHOICES: readonly SensorChoice[] = ["auto", "probe", "simulator"];

/** What real mode lacks on this machine (empty: nothing) and what gets it. */
export interface RealModeCheck {
  missing: string[];
  how: string[];
}

/** The facts real mode depends on; `realModeCheck` reads them from this machine. */
export interface RealModeFacts {
  root: boolean;
  /** probePrerequisites(): kernel BTF, privileges. */
  probe: readonly string[];
  /** testPodPrerequisites({ files: true }): root, ip, nsenter, bash, unshare, mount, overlayfs. */
  pod: readonly string[];
  loader: string | undefined;
}

export async function realModeFacts(): Promise<RealModeFacts> {
  return {
    root: process.getuid?.() === 0,
    probe: probePrerequisites(),
    pod: await testPodPrerequisites({ files: true }),
    loader: findLoader(),
  };
}

/** What is missing for real mode, once each, and how to get it. */
export function realModeCheck(f: RealModeFacts): RealModeCheck {
  const missing: string[] = [];
  const how: string[] = [];
  if (!f.root) {
    // The pod (cgroup, network namespaces, mounts) needs root whatever the capabilities.
    missing.push("root (the stack creates a cgroup, network namespaces and a mount namespace)");
    how.push("run it as root: sudo npm start (after npm run build as yourself, so the build stays yours)");
  }
  for (const m of [...f.probe, ...f.pod]) {
    if (m.startsWith("root") || m.startsWith("privileges")) continue; // said above
    if (missing.includes(m)) continue;
    missing.push(m);
    if (m.startsWith("kernel BTF"))
      how.push("a kernel with BTF (CONFIG_DEBUG_INFO_BTF=y; most distribution kernels since 2021)");
    else if (m.startsWith("overlayfs")) how.push("modprobe overlay");
    else how.push(`install ${m.replace(/^the (\S+) command$/, "$1")} (iproute2, util-linux, bash)`);
  }
  if (f.loader === undefined) {
    missing.push("the eBPF probe's loader (bpf/probe/build/hangar-probe is not built)");
    how.push("bash scripts/setup-bpf-tools.sh (installs clang, libbpf, bpftool and builds the probe)");
  }
  return { missing, how: [...new Set(how)] };
}

export type SensorDecision =
  { mode: "probe"; loader: string } | { mode: "simulator"; chosen: boolean; check: RealModeCheck };

/**
 * The sensor for `want`: "auto" takes the probe when nothing is missing; "probe" insists
 * (returns the check when something is missing: a configuration error); "simulator" is asked for.
 */
export function decideSensor(
  want: SensorChoice,
  f: RealModeFacts,
): SensorDecision | { error: RealModeCheck } {
  if (want === "simulator") return { mode: "simulator", chosen: true, check: { missing: [], how: [] } };
  const check = realModeCheck(f);
  if (check.missing.length === 0 && f.loader !== undefined) return { mode: "probe", loader: f.loader };
  if (want === "probe") return { error: check };
  return { mode: "simulator", chosen: false, check };
}

/** The first line of the output: which sensor runs, and for the simulator why. */
export function sensorLine(d: SensorDecision): { text: string; json: Record<string, unknown> } {
  if (d.mode === "probe")
    return {
      text:
        "sensor: the eBPF probe (real mode) — the sample server runs in a pod of its own (cgroup, network namespace) " +
        "and its shell, token read and connection really happen; the kernel reports them\n\n",
      json: { kind: "sensor", mode: "probe", loader: d.loader },
    };
  if (d.chosen)
    return {
      text: "sensor: the simulator (--sensor simulator) — the sample server's tools report what they would do; nothing runs\n\n",
      json: { kind: "sensor", mode: "simulator", chosen: true, missing: [], how: [] },
    };
  return {
    text:
      `sensor: the simulator — real mode (the eBPF probe watching a real pod) is not possible here: missing ${d.check.missing.join("; ")}\n` +
      `        to get it: ${d.check.how.join("; ")}\n\n`,
    json: {
      kind: "sensor",
      mode: "simulator",
      chosen: false,
      reason: `real mode is not possible here: missing ${d.check.missing.join("; ")}`,
      missing: d.check.missing,
      how: d.check.how,
    },
  };
}
