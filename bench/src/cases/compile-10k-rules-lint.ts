/**
 * compile/10k-rules-lint — `hangar-ctl rules lint` on one file of 10,000 rules: read, parse,
 * type-check, compile, and format every diagnostic (each rule has no test, so one warning per
 * rule is printed with its source line). One "event" is one rule. Issue #18 measured 51 s and
 * 2 GB here: each diagnostic split the whole file into lines (quadratic), and one Earley chart
 * for the whole file held hundreds of MB.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LatencyRecorder, MemoryPeak, now, type Measurement } from "../harness.js";
import type { BenchCase } from "./case.js";
import { semanticUnavailable, SEMANTIC } from "./detect-events.js";

const META = `description "bench rule" severity medium mitre T1059, T1041 maturity incubating`;

/** `n` rules of four shapes, without tests (each a HANGAR_WARN_RULE_NO_TEST). */
export function manyRules(n: number): string {
  const out = [
    `list shells = ["/bin/sh", "/bin/bash", "/bin/dash"]`,
    `list nets = ["10.0.0.0/8", "192.168.0.0/16"]`,
    `macro from_server(bin) = parent.binary = bin and process.binary in @shells`,
  ];
  for (let i = 0; i < n; i++) {
    switch (i % 4) {
      case 0:
        out.push(
          `rule lint.e${i} { ${META}\n  event exec where from_server("/srv/${i}") or process.arguments regex '-c ${i}'\n}`,
        );
        break;
      case 1:
        out.push(
          `rule lint.s${i} { ${META}\n  sequence by pod.name maxspan ${(i % 50) + 10}s {\n    a: file where file.path startswith "/tmp/${i}"\n    c: connect where process.exec_id = a.process.exec_id and not destination.ip cidr @nets\n  }\n}`,
        );
        break;
      case 2:
        out.push(
          `rule lint.c${i} { ${META}\n  count connect where destination.port = ${i} by pod.name, destination.ip over 30s >= ${(i % 20) + 5}\n}`,
        );
        break;
      default:
        out.push(
          `rule lint.d${i} { ${META}\n  event dns where dns.query endswith ".x${i}.example" and dns.entropy > 3.5\n}`,
        );
    }
  }
  return `${out.join("\n")}\n`;
}

interface LintModule {
  lint(
    paths: readonly string[],
  ): Promise<{ rules: number; errors: number; warnings: number; text: string[] }>;
}

export const compile10kRulesLint: BenchCase = {
  name: "compile/10k-rules-lint",
  description:
    "lint (what hangar-ctl rules lint runs) of one file holding all the rules (10,000 by default, four shapes, no tests: one formatted warning per rule); an event is one rule",
  latency: "the whole lint timed once, divided by the number of rules (p50 = p99)",
  defaultEvents: 10_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = (await import(SEMANTIC)) as LintModule;
    const dir = mkdtempSync(join(tmpdir(), "hangar-bench-lint-"));
    try {
      const file = join(dir, "many.rules");
      const text = manyRules(ctx.events);
      writeFileSync(file, text);
      const memory = new MemoryPeak();
      memory.sample();
      const cpu0 = process.cpuUsage();
      const t = now();
      const r = await mod.lint([file]);
      const ns = Number(now() - t);
      const cpu = process.cpuUsage(cpu0);
      memory.sample();
      if (r.errors !== 0 || r.rules !== ctx.events)
        throw new Error(
          `lint found ${r.errors} errors and ${r.rules} rules: ${r.text.slice(0, 3).join("\n")}`,
        );
      const latency = new LatencyRecorder(1);
      latency.record(ns / ctx.events);
      const m: Measurement = { events: ctx.events, elapsedNs: ns, latency, memory };
      m.detail = {
        fileMiB: Math.round((Buffer.byteLength(text) / 1048576) * 10) / 10,
        lintMs: Math.round(ns / 1e6),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        warnings: r.warnings,
      };
      ctx.log(
        `${ctx.events} rules (${m.detail.fileMiB} MiB): ${m.detail.lintMs} ms, ${m.detail.cpuMs} ms CPU, peak RSS ${m.detail.maxRssMiB} MiB`,
      );
      return m;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
