/** `hangar-ctl rules explain`: a rule in words, with its source and where its exceptions come from. */
import type { LoadedRules } from "./load.js";
import type { CompiledRule } from "./program.js";
import { kindNameOf } from "./schema.js";

/** The text of the block that starts at `offset` (from the first `{` to its match), strings and comments skipped. */
export function blockAt(text: string, offset: number): string {
  const open = text.indexOf("{", offset);
  if (open < 0) return "";
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "#") {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "'") {
      const q = text.indexOf("'", i + 1);
      i = q < 0 ? text.length : q;
    } else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      const start = text.lastIndexOf("\n", offset) + 1;
      return text.slice(start, i + 1);
    }
  }
  return text.slice(offset);
}

function article(word: string): string {
  return `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}

function condition(r: CompiledRule): string[] {
  const ms = (n: number): string =>
    n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
  switch (r.t) {
    case "event":
      return [`fires on each ${kindNameOf(r.kind)} event that satisfies its condition`];
    case "threshold":
      return [
        `fires when ${r.fn === "count" ? `${r.needed} matching ${kindNameOf(r.kind)} events` : `${r.needed} distinct values in ${kindNameOf(r.kind)} events`} fall within ${ms(r.windowMs)} for one ${r.keyNames.length === 0 ? "rule (all events share one key)" : `key (${r.keyNames.join(", ")})`}; the count restarts after it fires`,
      ];
    case "sequence": {
      const out = [
        `a sequence within ${ms(r.maxspanMs)} of its first step, per join key (one pending match per step and key; a newer one replaces the older):`,
      ];
      r.positives.forEach((s, i) => {
        const negs = r.negatives.filter((n) => n.slot === i);
        for (const n of negs)
          out.push(
            `  - no ${n.name} (${kindNameOf(n.kind)}) may occur before the next step${n.withinMs === undefined ? "" : ` within ${ms(n.withinMs)}`}`,
          );
        out.push(`  ${i + 1}. ${s.name}: ${article(kindNameOf(s.kind))} event`);
      });
      for (const n of r.negatives.filter((x) => x.slot === r.positives.length))
        out.push(
          `  then no ${n.name} (${kindNameOf(n.kind)}) ${n.withinMs === undefined ? "until maxspan ends" : `within ${ms(n.withinMs)}`}: the alert fires when that window has passed`,
        );
      if (r.until !== undefined)
        out.push(`  a ${kindNameOf(r.until.kind)} event satisfying until drops the pending match`);
      return out;
    }
  }
}

export function explainRule(loaded: LoadedRules, id: string): string | undefined {
  const r = loaded.rules.find((x) => x.meta.id === id);
  if (r === undefined) return undefined;
  const m = r.meta;
  const lines: string[] = [];
  lines.push(
    `${m.id} v${m.version} — ${m.severity}, ${m.maturity}${m.engine === undefined ? "" : `, needs engine ${m.engine}`}${r.enabled ? "" : " (disabled by a patch)"}`,
  );
  lines.push(`defined at ${m.file}:${m.loc.line}:${m.loc.col}`);
  lines.push(`MITRE ATT&CK: ${m.mitre.join(", ")}`);
  lines.push("");
  lines.push(m.description);
  lines.push("");
  lines.push(...condition(r));
  if (r.probes.length > 0)
    lines.push(
      `baseline: ${r.probes.map((p) => `${p.text} ${p.negated ? "not in" : "in"} ${p.facet}`).join("; ")}; while the provider's baseline is learning: ${r.learning.mode === "severity" ? `alert at severity ${r.learning.severity}` : r.learning.mode}`,
    );
  lines.push(
    `actions: ${r.actions.map((a) => (a.type === "alert" ? "alert" : a.type === "block_egress" ? `block_egress(${a.destText}, ${a.ttlMs / 1000}s)` : `quarantine(${a.ttlMs / 1000}s)`)).join(", ")}`,
  );
  if (r.cooldown !== undefined) lines.push(`cooldown: ${r.cooldown.ms / 1000}s per key`);
  lines.push(
    r.exceptions.length === 0
      ? "exceptions: none"
      : `exceptions:\n${r.exceptions.map((e) => `  ${e.name} (${e.file}:${e.loc.line}:${e.loc.col})`).join("\n")}`,
  );
  lines.push(`tests: ${r.tests.length === 0 ? "none" : r.tests.map((t) => `"${t.name}"`).join(", ")}`);
  const text = loaded.sources.get(m.file);
  if (text !== undefined) {
    lines.push("");
    lines.push("source:");
    lines.push(blockAt(text, m.loc.offset));
  }
  return `${lines.join("\n")}\n`;
}
