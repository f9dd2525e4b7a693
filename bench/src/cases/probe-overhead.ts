/**
 * probe/overhead — what the own eBPF probe costs and carries, on the real kernel (root).
 *
 * Syscall cost: hangar-probe-bench (C, bpf/probe/src/bench.c) times connect() to a loopback
 * listener and the fork+execve(/bin/true)+wait round trip one by one, in a cgroup standing in
 * for an MCP pod: without the probe, with the probe loaded and the cgroup traced (the
 * pod's cost: filter hit, ring buffer record, the agent consuming it), and with the probe
 * loaded but the cgroup not traced (the cost every other process on the node pays).
 *
 * Throughput (the case's events/s): the helper opens a watched file N times inside the traced
 * cgroup as fast as it can; the records go kernel → ring buffer → loader → pipe → probeSource →
 * the pipeline's `process` (normalize, cgroup → pod → provider, correlate, detect with NoDetector).
 * events/s is what reached the agent over the window from the first to the last record (the
 * agent is the bottleneck: the producer is faster, the ring buffer absorbs the backlog).
 * Records the kernel could not deliver (ring buffer full) are in detail.lost.
 *
 * Latency (p50/p99): kernel timestamp → agent, per event, in a second run paced at
 * PACED_RATE opens/s, a rate the agent keeps up with (under saturation the figure would be
 * the backlog, not the path).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import {
  McpPodTracker,
  CgroupResolver,
  createPipeline,
  createTestPod,
  detectHierarchy,
  findLoader,
  probePrerequisites,
  probeSource,
  testPodPrerequisites,
  type TestPod,
} from "@hangar/agent";
import { Counters } from "@hangar/core";
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase, CaseContext } from "./case.js";

const run = promisify(execFile);

interface Loop {
  op: string;
  n: number;
  p50Ns: number;
  p99Ns: number;
  meanNs: number;
  totalNs: number;
}

/** Why the case cannot run here, or undefined. */
export async function probeOverheadUnavailable(): Promise<string | undefined> {
  const missing = [...probePrerequisites(), ...(await testPodPrerequisites())];
  const loader = findLoader();
  if (loader === undefined) missing.push("the probe loader (bash scripts/setup-bpf-tools.sh)");
  else if (!existsSync(join(dirname(loader), "hangar-probe-bench")))
    missing.push("hangar-probe-bench (make -C bpf/probe)");
  return missing.length === 0 ? undefined : `probe/overhead needs ${missing.join("; ")}`;
}

async function loop(helper: string, args: string[]): Promise<Loop> {
  const { stdout } = await run(helper, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as Loop;
}

const us = (ns: number): number => Math.round(ns / 10) / 100;

/** Opens per second in the latency run. */
const PACED_RATE = 10_000;

export const probeOverhead: BenchCase = {
  name: "probe/overhead",
  description:
    "own eBPF probe: connect()/execve() latency without, with (traced) and with (untraced) the probe; open events/s through loader → agent",
  latency: `kernel timestamp → agent (after normalize/resolve/correlate/detect), every event of a run paced at ${PACED_RATE}/s`,
  defaultEvents: 200_000,
  unavailable: probeOverheadUnavailable,
  async run(ctx: CaseContext): Promise<Measurement> {
    const reason = await probeOverheadUnavailable();
    if (reason !== undefined) throw new Error(reason);
    const loader = findLoader() as string;
    const helper = join(dirname(loader), "hangar-probe-bench");
    const connects = String(Math.max(200, Math.round(ctx.events / 10)));
    const execs = String(Math.max(50, Math.round(ctx.events / 200)));
    const hierarchy = detectHierarchy("auto");
    const pod: TestPod = await createTestPod(hierarchy);
    const procs = join(pod.cgroupDir, "cgroup.procs");
    const inPod = (...a: string[]): string[] => ["--cgroup", procs, ...a];
    const ac = new AbortController();
    try {
      ctx.log(`probe/overhead: baseline (no probe): ${connects} connects, ${execs} execs`);
      const baseConnect = await loop(helper, inPod("connect", connects));
      const baseExec = await loop(helper, inPod("exec", execs));

      const counters = new Counters();
      const resolver = new McpPodTracker(counters);
      resolver.upsert(pod.podInfo());
      const cgroups = new CgroupResolver({ hierarchy, counters });
      const pipeline = createPipeline({ counters, resolver, probe: { node: "bench", cgroups } });
      let synced: (() => void) | undefined;
      const ready = new Promise<void>((r) => (synced = r));
      let lost = 0n;
      const records = probeSource(
        {
          loader,
          prefixes: [`${pod.watchedDir}/`],
          cgroups,
          pods: resolver,
          loaderArgs: ["--ringbuf-bytes", String(1 << 26)],
          counters,
          logger: quietLogger(ctx.log),
          onSynced: (i) => {
            if (i.pods > 0) synced?.();
          },
        },
        ac.signal,
      );
      const paced = Math.max(500, Math.round(ctx.events / 10));
      const latency = new LatencyRecorder(paced + 16);
      let measureLatency = false;
      const memory = new MemoryPeak();
      const secret = join(pod.watchedDir, "secret");
      let opens = 0;
      let first = 0n;
      let last = 0n;
      let kept = 0;
      const consumer = (async () => {
        let n = 0;
        for await (const rec of records) {
          const ev = pipeline.process(rec);
          if (ev === undefined) continue;
          kept++;
          if (ev.detail.case === "file" && ev.detail.value.path === secret) {
            const t = now();
            if (opens === 0) first = t;
            last = t;
            opens++;
            if (measureLatency && rec.sensor === "probe") {
              const realNowNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
              latency.record(Number(realNowNs - rec.msg.realNs));
            }
          }
          if ((++n & 4095) === 0) memory.sample();
        }
      })();
      await ready;
      ctx.log("probe/overhead: probe loaded, pod traced");
      const tracedConnect = await loop(helper, inPod("connect", connects));
      const tracedExec = await loop(helper, inPod("exec", execs));
      ctx.log("probe/overhead: probe loaded, process outside the traced cgroups");
      const untracedConnect = await loop(helper, ["connect", connects]);
      const untracedExec = await loop(helper, ["exec", execs]);
      ctx.log(`probe/overhead: ${ctx.events} opens of a watched file in the pod`);
      memory.sample();
      const producer = await loop(helper, inPod("open", String(ctx.events), secret));
      // Wait until every open arrived, or nothing came for a while (the rest was lost).
      let seen = -1;
      while (opens < ctx.events && opens !== seen) {
        seen = opens;
        await new Promise((r) => setTimeout(r, 500));
      }
      memory.sample();
      const received = opens;
      const elapsedNs = received > 1 ? Number(last - first) : 1;
      ctx.log(`probe/overhead: ${paced} opens paced at ${PACED_RATE}/s for the latency`);
      measureLatency = true;
      await loop(helper, inPod("open", String(paced), secret, String(PACED_RATE)));
      seen = -1;
      while (opens < received + paced && opens !== seen) {
        seen = opens;
        await new Promise((r) => setTimeout(r, 300));
      }
      ac.abort();
      await consumer;
      lost = BigInt(counters.get("sensor_lost_events", { sensor: "probe", reason: "ringbuf_full" }));
      return {
        events: received,
        elapsedNs,
        latency,
        memory,
        detail: {
          cgroup: `${hierarchy.version === 2 ? "v2" : `v1:${hierarchy.controller}`}`,
          connectP50UsBase: us(baseConnect.p50Ns),
          connectP50UsTraced: us(tracedConnect.p50Ns),
          connectP50UsUntraced: us(untracedConnect.p50Ns),
          connectP99UsBase: us(baseConnect.p99Ns),
          connectP99UsTraced: us(tracedConnect.p99Ns),
          connectP99UsUntraced: us(untracedConnect.p99Ns),
          execP50UsBase: us(baseExec.p50Ns),
          execP50UsTraced: us(tracedExec.p50Ns),
          execP50UsUntraced: us(untracedExec.p50Ns),
          execP99UsBase: us(baseExec.p99Ns),
          execP99UsTraced: us(tracedExec.p99Ns),
          execP99UsUntraced: us(untracedExec.p99Ns),
          producerOpensPerSec: Math.round((ctx.events * 1e9) / Math.max(1, producer.totalNs)),
          lost: Number(lost),
          latencyRunEvents: latency.count,
          keptEvents: kept,
        },
      };
    } finally {
      ac.abort();
      await pod.close();
    }
  },
};

type Logger = Parameters<typeof probeSource>[0]["logger"];

function quietLogger(log: (m: string) => void): Logger {
  const quiet = (): void => undefined;
  const loud = (obj: unknown, msg?: string): void => log(`probe: ${msg ?? ""} ${JSON.stringify(obj)}`);
  const logger = {
    level: "warn",
    trace: quiet,
    debug: quiet,
    info: quiet,
    warn: loud,
    error: loud,
    fatal: loud,
    child: () => logger,
  };
  return logger as unknown as Logger;
}
