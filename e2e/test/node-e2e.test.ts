/**
 * The end-to-end scenario (e2e/src/scenario.ts) on a real one-node cluster built on this
 * machine (@hangar/testkit `startNodeCluster`): the images of this checkout (scripts/
 * build-images.sh) in containerd, `helm install` of ./helm/hangar-agent with the agent's own
 * eBPF probe (no Tetragon, no Cilium), an MCP server pod attacked through the controller's
 * proxy by the official SDK client, the probe's real events, the alert at a real rsyslog as CEF,
 * a NetworkPolicy that kube-router enforces on real packets, revert, upgrade, uninstall, and a
 * node left as it was found. The listeners at the sample server's destinations (203.0.113.66,
 * 198.51.100.7) live in a network namespace of the test, routed from the node only.
 *
 * Prints one `e2e-node-measurements` JSON line: step times, the agent pod's CPU and memory from
 * its cgroup during learn + attack, and exec → CEF-at-rsyslog latencies.
 *
 * Needs root, scripts/setup-k8s-tools.sh, scripts/setup-node-tools.sh, scripts/build-images.sh
 * and rsyslog (`npm run e2e:node` runs them all); skipped with the reason otherwise, never with
 * HANGAR_REQUIRE_NODE=1 (CI).
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  hostState,
  hostStateDiff,
  runCommand,
  runHelm,
  skipUnlessNode,
  startExternalHosts,
  startNodeCluster,
  startRsyslog,
  rsyslogAvailable,
  findTool,
} from "@hangar/testkit";
import { AGENT_IMAGE, CONTROLLER_IMAGE, ownLeftovers, REPO } from "../src/kube.js";
import { BASELINE_DEST, EXFIL, median, runScenario, type Target } from "../src/scenario.js";

const log = (l: string): void => console.log(`  ${l}`);
const LEARN_SECONDS = Number(process.env["HANGAR_E2E_LEARN_SECONDS"] ?? "20");
const ATTACKS = Number(process.env["HANGAR_E2E_ATTACKS"] ?? "5");

function skipReason(): false | string {
  const node = skipUnlessNode({ requiredImages: [AGENT_IMAGE, CONTROLLER_IMAGE] });
  if (node !== false) return node;
  if (process.env["HANGAR_REQUIRE_NODE"] === "1") return false;
  const rs = rsyslogAvailable();
  if (!rs.ok) return `real rsyslog unavailable: ${rs.reason}`;
  const helm = findTool("helm");
  return helm.ok ? false : helm.reason;
}

/** Pids of the probe loaders (comm hangar-probe) in pods of this node (their cgroup is under its root). */
async function probeProcesses(cgroupRoot: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    if (comm !== "hangar-probe") continue;
    const cg = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
    if (cg.includes(`${cgroupRoot}/`)) out.push(Number(pid));
  }
  return out;
}

/** The eBPF programs and maps this node's probe loaders hold (from their fds' fdinfo). */
async function probeObjects(cgroupRoot: string): Promise<{ progs: number[]; maps: number[] }> {
  const progs = new Set<number>();
  const maps = new Set<number>();
  for (const pid of await probeProcesses(cgroupRoot)) {
    for (const fd of await readdir(`/proc/${pid}/fdinfo`).catch(() => [] as string[])) {
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, "utf8").catch(() => "");
      const prog = /^prog_id:\s+(\d+)$/m.exec(info)?.[1];
      const map = /^map_id:\s+(\d+)$/m.exec(info)?.[1];
      if (prog !== undefined) progs.add(Number(prog));
      if (map !== undefined) maps.add(Number(map));
    }
  }
  return { progs: [...progs], maps: [...maps] };
}

describe(
  "the end-to-end scenario on a real node (helm install, probe, SIEM, enforcement)",
  { skip: skipReason() },
  () => {
    test("a poisoned MCP tool call is seen by the probe, alerted to rsyslog, and stopped by the NetworkPolicy", async () => {
      const t0 = Date.now();
      const before = await hostState();
      const node = await startNodeCluster({ log: (l) => log(`[node] ${l}`) });
      const nodeUpMs = Date.now() - t0;
      const cleanups: (() => Promise<void>)[] = [() => node.stop()];
      const seenProbe = { progs: new Set<number>(), maps: new Set<number>() };
      let measurements: Record<string, unknown> = {};
      try {
        const ext = await startExternalHosts(node, { addresses: [EXFIL.ip, BASELINE_DEST.ip], ports: [443] });
        cleanups.unshift(() => ext.stop());
        const rs = await startRsyslog({ address: node.hostIp });
        cleanups.unshift(() => rs.stop());
        const cgroupOf = async (controller: string, uid: string): Promise<string> => {
          const base = join("/sys/fs/cgroup", controller, node.cgroupRoot, "kubepods");
          for (const qos of ["", "burstable", "besteffort"]) {
            const dir = join(base, qos, `pod${uid}`);
            if ((await readdir(dir).catch(() => undefined)) !== undefined) return dir;
          }
          throw new Error(`no ${controller} cgroup for pod ${uid} under ${base}`);
        };
        const target: Target = {
          name: "node",
          kubectl: (args, o) => node.kubectl(args, o ?? {}),
          helm: (args) => runHelm(args, { kubeconfig: node.kubeconfigPath }),
          values: [join(REPO, "e2e", "values", "node.yaml")],
          set: [
            `agent.stateDir=${join(node.dir, "agent-state")}`,
            `controller.siem.destinations[0]=tcp://${node.hostIp}:${rs.ports.tcp}?format=cef&framing=octet-counting`,
          ],
          controllerImage: CONTROLLER_IMAGE,
          sensor: "SENSOR_PROBE",
          external: ext,
          siem: {
            received: async () =>
              (await rs.received()).map((m) => ({
                received: m.timegenerated,
                msg: m.msg,
                ...(m.cef === undefined ? {} : { cef: m.cef }),
                ...(m.unparsed === undefined ? {} : { unparsed: m.unparsed }),
              })),
          },
          node: {
            podUsage: async (uid) => {
              const seen = await probeObjects(node.cgroupRoot);
              for (const id of seen.progs) seenProbe.progs.add(id);
              for (const id of seen.maps) seenProbe.maps.add(id);
              const cpu = await cgroupOf("cpuacct", uid);
              const mem = await cgroupOf("memory", uid);
              const usage = Number((await readFile(join(cpu, "cpuacct.usage"), "utf8")).trim());
              const memUsage = Number((await readFile(join(mem, "memory.usage_in_bytes"), "utf8")).trim());
              const stat = await readFile(join(mem, "memory.stat"), "utf8");
              const inactive = Number(/^total_inactive_file (\d+)$/m.exec(stat)?.[1] ?? "0");
              const max = Number((await readFile(join(mem, "memory.max_usage_in_bytes"), "utf8")).trim());
              return { cpuSeconds: usage / 1e9, memoryBytes: memUsage - inactive, maxMemoryBytes: max };
            },
            probeLeftovers: async () => {
              const r = await runCommand("bpftool", ["-j", "prog", "show"]);
              const progIds = new Set((JSON.parse(r.stdout || "[]") as { id: number }[]).map((p) => p.id));
              const m = await runCommand("bpftool", ["-j", "map", "show"]);
              const mapIds = new Set((JSON.parse(m.stdout || "[]") as { id: number }[]).map((x) => x.id));
              return [
                ...(await probeProcesses(node.cgroupRoot)).map((pid) => `hangar-probe process ${pid}`),
                ...[...seenProbe.progs]
                  .filter((id) => progIds.has(id))
                  .map((id) => `eBPF program ${id} of the probe`),
                ...[...seenProbe.maps]
                  .filter((id) => mapIds.has(id))
                  .map((id) => `eBPF map ${id} of the probe (cgroup_filter, events, …)`),
              ];
            },
          },
          learnSeconds: LEARN_SECONDS,
          attacks: ATTACKS,
          log,
        };
        const result = await runScenario(target);
        assert.ok(seenProbe.progs.size > 0, "the probe's eBPF programs were seen loaded while the agent ran");
        measurements = {
          nodeUpMs,
          nodeTimings: node.timings,
          steps: result.steps,
          rules: result.rules,
          execToSiemMs: result.execToSiemMs,
          execToSiemP50Ms: median(result.execToSiemMs),
          execToAlertMs: result.execToAlertMs,
          execToAlertP50Ms: median(result.execToAlertMs),
          agent: result.agentUsage,
        };
      } finally {
        for (const c of cleanups) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
      }
      const leftovers = ownLeftovers(hostStateDiff(before, await hostState()), node, seenProbe);
      measurements["totalMs"] = Date.now() - t0;
      console.log(`e2e-node-measurements ${JSON.stringify(measurements)}`);
      assert.deepEqual(leftovers, [], "the node left this behind on the machine");
    });
  },
);
