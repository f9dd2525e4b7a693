/**
 * compile/1000-rules — parse, type-check and compile 1 000 rules in one file
 * (single-event, sequence and threshold rules with lists and macros), the way
 * the agent loads packs at start and on reload. One "event" is one rule; each
 * batch of 1 000 is timed as a whole. Goal: 1 000 rules in < 1 s.
 */
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";
import { loadSemantic, semanticUnavailable } from "./detect-events.js";

const BATCH = 1000;
const META = `description "bench rule" severity medium mitre T1059, T1041 maturity incubating`;

export function thousandRules(): string {
  const out = [
    `list shells = ["/bin/sh", "/bin/bash", "/bin/dash"]`,
    `list nets = ["10.0.0.0/8", "192.168.0.0/16"]`,
    `macro from_server(bin) = parent.binary = bin and process.binary in @shells`,
  ];
  for (let i = 0; i < BATCH; i++) {
    const test = `test "t" { at 0s exec { process.binary: "/bin/sh", parent.binary: "/srv/${i}" } expect match }`;
    switch (i % 4) {
      case 0:
        out.push(
          `rule bench.e${i} { ${META} event exec where from_server("/srv/${i}") or process.arguments regex '-c ${i}' ${test} }`,
        );
        break;
      case 1:
        out.push(
          `rule bench.s${i} { ${META} sequence by pod.name maxspan ${(i % 50) + 10}s { a: file where file.path startswith "/tmp/${i}" b: not dns within 5s c: connect where process.exec_id = a.process.exec_id and not destination.ip cidr @nets } message "{a.file.path} → {c.destination.ip}" }`,
        );
        break;
      case 2:
        out.push(
          `rule bench.c${i} { ${META} count connect where destination.port = ${i} by pod.name, destination.ip over 30s >= ${(i % 20) + 5} }`,
        );
        break;
      default:
        out.push(
          `rule bench.d${i} { ${META} event dns where dns.query endswith ".x${i}.example" and dns.entropy > 3.5 except ok where dns.query = "a.x${i}.example" }`,
        );
    }
  }
  return out.join("\n");
}

export const compile1000Rules: BenchCase = {
  name: "compile/1000-rules",
  description: `lex, parse (nearley), type-check and compile to closures ${BATCH} rules of four shapes in one file; an event is one rule`,
  latency: `per rule: each batch of ${BATCH} timed with process.hrtime.bigint, divided by ${BATCH}`,
  defaultEvents: 10_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = await loadSemantic();
    const src = new Map([["bench.rules", thousandRules()]]);
    const once = (): number => {
      const t = now();
      const r = mod.compileSources(src);
      const ns = Number(now() - t);
      if (!r.ok || r.rules.length !== BATCH)
        throw new Error(`compile failed: ${JSON.stringify(r.diagnostics.slice(0, 3))}`);
      return ns;
    };
    for (let w = 0; w < Math.ceil(ctx.warmup / BATCH); w++) once();
    const batches = Math.max(1, Math.ceil(ctx.events / BATCH));
    const latency = new LatencyRecorder(ctx.events);
    const memory = new MemoryPeak();
    const perBatch: number[] = [];
    let elapsedNs = 0;
    let recorded = 0;
    for (let b = 0; b < batches; b++) {
      const ns = once();
      elapsedNs += ns;
      perBatch.push(ns);
      memory.sample();
      const count = Math.min(BATCH, ctx.events - recorded);
      for (let k = 0; k < count; k++) latency.record(ns / BATCH);
      recorded += count;
    }
    perBatch.sort((a, b) => a - b);
    const m: Measurement = {
      events: ctx.events,
      elapsedNs: (elapsedNs * ctx.events) / (batches * BATCH),
      latency,
      memory,
    };
    m.detail = {
      batches,
      msPer1000RulesMedian: Math.round((perBatch[Math.floor(perBatch.length / 2)] ?? 0) / 1e5) / 10,
    };
    ctx.log(`median ${m.detail.msPer1000RulesMedian} ms per ${BATCH} rules`);
    return m;
  },
};
