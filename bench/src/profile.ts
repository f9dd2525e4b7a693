#!/usr/bin/env node
/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time by area
 * (grpc-js, protobuf-es, agent stages, node internals, GC, idle) and the
 * functions with the most self time.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/dist/src/main.js pipeline/intake
 *   node bench/dist/src/profile.js /tmp/prof/CPU.*.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The area a frame's code belongs to, by its URL. */
export function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName === "(garbage collector)") return "gc";
    if (functionName === "(idle)") return "idle";
    if (functionName === "(program)") return "program (native, unattributed)";
    return `native ${functionName}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const workspace = /\/(agent|bench|proto)\/dist\/src\/(.+)\.js$/.exec(url);
  if (workspace !== null) {
    const [, ws, file] = workspace;
    return ws === "agent" ? `agent ${file ?? ""}` : `${ws ?? ""}`;
  }
  const internal = /^node:internal\/([^/]+(?:\/[^/]+)?)/.exec(url);
  if (internal?.[1] !== undefined) return `node:${internal[1]}`;
  if (url.startsWith("node:")) return url;
  return url;
}

export interface Summary {
  totalMs: number;
  byArea: { name: string; ms: number; share: number }[];
  byFunction: { name: string; ms: number; share: number }[];
}

/** Self time per area and per function; shares are of non-idle time. */
export function summarize(profile: CpuProfile): Summary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // A sample's weight is the interval until the next sample.
    const dt = timeDeltas[i + 1] ?? 0;
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + us);
    if (a === "idle") continue;
    busy += us;
    const f = node.callFrame;
    const where =
      f.url === "" ? "" : ` ${f.url.replace(/^.*\/(node_modules|dist)\//, "")}:${f.lineNumber + 1}`;
    const name = `${f.functionName === "" ? "(anonymous)" : f.functionName}${where}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): { name: string; ms: number; share: number }[] =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    byArea: rows(areas),
    byFunction: rows(fns),
  };
}

function print(file: string, top: number): void {
  const s = summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  const pct = (v: number): string => `${(v * 100).toFixed(1).padStart(5)} %`;
  const out = [`${file}: ${s.totalMs.toFixed(0)} ms profiled`, "", "self time by area (share of non-idle):"];
  for (const r of s.byArea)
    out.push(
      `  ${r.name === "idle" ? "      " : pct(r.share)}  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`,
    );
  out.push("", `top ${top} functions by self time:`);
  for (const r of s.byFunction.slice(0, top))
    out.push(`  ${pct(r.share)}  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`);
  process.stdout.write(`${out.join("\n")}\n\n`);
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  if (positionals.length === 0) {
    process.stderr.write("usage: node bench/dist/src/profile.js FILE.cpuprofile ... [--top N]\n");
    process.exitCode = 2;
  }
  for (const f of positionals) print(f, Number(values.top));
}
