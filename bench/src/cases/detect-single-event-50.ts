/**
 * detect/single-event-50 — 50 single-event rules (string equality and sets,
 * prefixes, globs, CIDRs, regexes, numeric comparisons), spread over the event
 * kinds, with no state: the cost of predicate evaluation and dispatch by kind.
 */
import { runSync } from "../harness.js";
import type { BenchCase } from "./case.js";
import { compiled, eventPool, loadSemantic, semanticUnavailable, stamps } from "./detect-events.js";

const POOL = 4096;
const STRIDE = 7;
const META = `description "bench" severity low mitre T1059 maturity sandbox`;

/** Fifty rules of ten shapes, each shape with five different constants. */
export function singleEventRules(): string {
  const out: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = (n: number, body: string): void => void out.push(`rule bench.r${i}_${n} { ${META} ${body} }`);
    r(0, `event exec where process.binary in ["/bin/sh${i}", "/bin/bash${i}", "/usr/bin/nc${i}"]`);
    r(1, `event exec where process.binary startswith "/tmp/${i}" or parent.name = "sshd${i}"`);
    r(
      2,
      `event connect where destination.ip cidr ["169.254.${i}.0/24", "10.${i}.0.0/16"] and destination.port != 53`,
    );
    r(3, `event connect where destination.port in [${4440 + i}, ${6660 + i}, ${31337 + i}]`);
    r(4, `event dns where dns.query endswith ".bad${i}.example" or dns.longest_label > ${50 + i}`);
    r(5, `event dns where dns.query regex '^[a-z0-9]{${30 + i},}\\.'`);
    r(6, `event file where file.path glob "/etc/cron${i}*/**" and file.operation = "write"`);
    r(
      7,
      `event file where file.path startswith ["/var/run/secrets${i}/", "/root/.ssh${i}/"] and file.operation in ["read", "open"]`,
    );
    r(8, `event tool_call where tool.name = "exec_cmd${i}" or tool.args contains "../${i}"`);
    r(9, `event tool_call where tool.arg_values regex '\\$\\(${i}' and caller != "ops${i}"`);
  }
  return out.join("\n");
}

export const detectSingleEvent50: BenchCase = {
  name: "detect/single-event-50",
  description: `50 single-event rules of 10 shapes over ${POOL} distinct events through Detector.process (no sequence state)`,
  latency: `every ${STRIDE}th event timed alone with process.hrtime.bigint; nearest-rank percentiles`,
  defaultEvents: 1_000_000,
  unavailable: semanticUnavailable,
  async run(ctx) {
    const mod = await loadSemantic();
    const rules = compiled(mod, mod.compileSources(new Map([["bench.rules", singleEventRules()]])));
    if (rules.length !== 50) throw new Error(`expected 50 rules, got ${rules.length}`);
    const det = new mod.HangarDetector({ rules, latenessMs: 2000 });
    const pool = eventPool(mod, POOL);
    const ts = stamps(ctx.warmup + ctx.events);
    const mask = POOL - 1;
    let alerts = 0;
    const m = runSync({
      events: ctx.events,
      warmup: ctx.warmup,
      stride: STRIDE,
      step: (i) => {
        const ev = pool[i & mask] as (typeof pool)[number];
        ev.time = ts[i];
        const d = det.process(ev);
        if (d !== undefined) alerts += d.alerts.length;
      },
    });
    m.detail = { rules: rules.length, alerts };
    return m;
  },
};
