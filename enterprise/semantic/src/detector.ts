/**
 * The Detector port over the engine: applies exceptions, the learning policy
 * and cooldown to each raw match, and turns what is left into explained
 * hangar.v1.Alerts and EnforcementRequests.
 */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { describeEvent, type BaselineLookup, type Detection, type Detector } from "@hangar/core";
import { hangar } from "@hangar/proto";
import type { Loc } from "./ast.js";
import { Engine, type EngineStats, type Match } from "./engine.js";
import { SEVERITIES, severityEnum, type CompiledRule, type Env, type SeverityName } from "./program.js";
import { kindNameOf } from "./schema.js";
import { text } from "./text.js";

type RuntimeEvent = hangar.RuntimeEvent;

export interface DetectorOptions {
  rules: readonly CompiledRule[];
  baseline?: BaselineLookup | undefined;
  /** Allowed lateness for stateful rules (ms, default 2 000: sensors are not in time order with each other). */
  latenessMs?: number;
  maxKeysPerRule?: number;
  /** Partial matches and threshold keys over all rules (engine default 100 000). */
  maxPartials?: number;
  /** Events held for reordering (engine default 32 768). */
  maxBuffered?: number;
  /** Cooldown entries kept per rule (default 100 000; stalest first out). */
  maxCooldownKeys?: number;
  /** Suppressed matches kept for explain (default 100). */
  keepSuppressed?: number;
}

/** A match an exception suppressed: the explanation of why there is no alert. */
export interface Suppression {
  ruleId: string;
  exception: string;
  file: string;
  loc: Loc;
  time: number;
  evidence: RuntimeEvent[];
  steps: string[];
}

export interface DetectorStats extends EngineStats {
  matches: number;
  alerts: number;
  suppressed: Record<string, number>;
  learningSkipped: number;
  deduped: number;
}

const SCORE: Record<SeverityName, number> = { info: 10, low: 30, medium: 50, high: 75, critical: 95 };

export function lowerSeverity(s: SeverityName): SeverityName {
  const i = SEVERITIES.indexOf(s);
  return SEVERITIES[Math.max(0, i - 1)] as SeverityName;
}

/**
 * A Timestamp of a time in (fractional) milliseconds: event times carry nanoseconds,
 * so `m.time` is rarely a whole number of ms (timestampFromMs would put a fraction
 * into `nanos`).
 */
export function timestampOfMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.max(0, Math.round((ms - seconds * 1000) * 1e6)));
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos });
}

export class HangarDetector implements Detector {
  readonly name = "hangar-rules";
  readonly #engine: Engine;
  readonly #baseline: BaselineLookup | undefined;
  readonly #env: Env;
  readonly #cooldowns = new Map<CompiledRule, Map<string, number>>();
  readonly #maxCooldown: number;
  readonly #keep: number;
  readonly #suppressed: Suppression[] = [];
  readonly #counts = { matches: 0, alerts: 0, learningSkipped: 0, deduped: 0 };
  readonly #suppressedBy: Record<string, number> = {};
  readonly rules: readonly CompiledRule[];

  constructor(options: DetectorOptions) {
    this.rules = options.rules;
    this.#baseline = options.baseline;
    this.#engine = new Engine({
      rules: options.rules,
      baseline: options.baseline,
      latenessMs: options.latenessMs ?? 2000,
      ...(options.maxKeysPerRule === undefined ? {} : { maxKeysPerRule: options.maxKeysPerRule }),
      ...(options.maxPartials === undefined ? {} : { maxPartials: options.maxPartials }),
      ...(options.maxBuffered === undefined ? {} : { maxBuffered: options.maxBuffered }),
    });
    this.#env = { steps: [], learning: false, baseline: options.baseline };
    this.#maxCooldown = options.maxCooldownKeys ?? 100_000;
    this.#keep = options.keepSuppressed ?? 100;
  }

  process(event: RuntimeEvent): Detection | undefined {
    const m = this.#engine.process(event);
    return m.length === 0 ? undefined : this.#handle(m);
  }

  advance(idleMs: number): Detection | undefined {
    const m = this.#engine.advance(idleMs);
    return m.length === 0 ? undefined : this.#handle(m);
  }

  flush(): Detection | undefined {
    const m = this.#engine.flush();
    return m.length === 0 ? undefined : this.#handle(m);
  }

  /** The last suppressed matches (newest last). */
  get suppressed(): readonly Suppression[] {
    return this.#suppressed;
  }

  stats(): DetectorStats {
    return { ...this.#engine.stats(), ...this.#counts, suppressed: { ...this.#suppressedBy } };
  }

  #handle(matches: Match[]): Detection | undefined {
    const alerts: hangar.Alert[] = [];
    const enforcement: hangar.EnforcementRequest[] = [];
    for (const m of matches) {
      this.#counts.matches++;
      const r = m.rule;
      const last = m.events[m.events.length - 1] as RuntimeEvent;
      const env = this.#env;
      env.steps = m.events;
      let suppressedBy: string | undefined;
      for (const e of r.exceptions) {
        if (e.pred(last, env)) {
          suppressedBy = e.name;
          const s: Suppression = {
            ruleId: r.meta.id,
            exception: e.name,
            file: e.file,
            loc: e.loc,
            time: m.time,
            evidence: m.events,
            steps: slotNames(r, m),
          };
          this.#suppressed.push(s);
          if (this.#suppressed.length > this.#keep) this.#suppressed.shift();
          const k = `${r.meta.id}/${e.name}`;
          // eslint-disable-next-line hangar/no-string-key-write -- number value; hasOwn: "constructor" counts from 0
          this.#suppressedBy[k] =
            (Object.hasOwn(this.#suppressedBy, k) ? (this.#suppressedBy[k] ?? 0) : 0) + 1;
          break;
        }
      }
      if (suppressedBy !== undefined) continue;
      let severity = r.meta.severity;
      if (m.learning) {
        if (r.learning.mode === "skip") {
          this.#counts.learningSkipped++;
          continue;
        }
        if (r.learning.mode === "severity") severity = r.learning.severity;
      }
      if (r.cooldown !== undefined) {
        let key = m.key;
        for (const f of r.cooldown.key) key += `\u0001${text(f(last, env))}`;
        let map = this.#cooldowns.get(r);
        if (map === undefined) {
          map = new Map();
          this.#cooldowns.set(r, map);
        }
        const until = map.get(key);
        if (until !== undefined && m.time < until) {
          this.#counts.deduped++;
          continue;
        }
        map.delete(key);
        map.set(key, m.time + r.cooldown.ms);
        if (map.size > this.#maxCooldown) {
          const first = map.keys().next();
          if (first.done !== true) map.delete(first.value);
        }
      }
      const alert = this.#alert(m, severity);
      alerts.push(alert);
      this.#counts.alerts++;
      let i = 0;
      for (const a of r.actions) {
        if (a.type === "alert") continue;
        i++;
        const ttl = { seconds: BigInt(Math.floor(a.ttlMs / 1000)), nanos: (a.ttlMs % 1000) * 1e6 };
        enforcement.push(
          create(hangar.EnforcementRequestSchema, {
            id: `${alert.id}-${i}`,
            alertId: alert.id,
            ruleId: r.meta.id,
            provider: alert.provider,
            namespace: alert.pod?.namespace ?? "",
            action:
              a.type === "block_egress"
                ? hangar.EnforcementAction.BLOCK_EGRESS
                : hangar.EnforcementAction.QUARANTINE,
            destination: a.type === "block_egress" ? text(a.dest(last, env)) : "",
            ttl,
            reason: alert.message,
            time: timestampOfMs(m.time),
            node: alert.node,
          }),
        );
      }
    }
    this.#env.steps = [];
    if (alerts.length === 0) return undefined;
    return enforcement.length === 0 ? { alerts } : { alerts, enforcement };
  }

  #alert(m: Match, severity: SeverityName): hangar.Alert {
    const r = m.rule;
    const first = m.events[0] as RuntimeEvent;
    const last = m.events[m.events.length - 1] as RuntimeEvent;
    const provider = last.provider !== "" ? last.provider : first.provider;
    const evidence = uniqueEvents(m.events);
    const id = createHash("sha256")
      .update(`${r.meta.id}\u0000${m.key}\u0000${m.time}\u0000${evidence.map((e) => e.id).join(",")}`)
      .digest("hex")
      .slice(0, 24);
    let baselineVersion = "";
    if (r.probes.length > 0) baselineVersion = this.#baseline?.version(provider) ?? "none";
    const toolCalls: hangar.CallTrace[] = [];
    for (const e of evidence)
      if (e.detail.case === "toolCall" && e.detail.value.trace !== undefined)
        toolCalls.push(e.detail.value.trace);
    const alert = create(hangar.AlertSchema, {
      id,
      ruleId: r.meta.id,
      severity: severityEnum(severity),
      provider,
      message: r.message(m.events, m.count),
      evidence,
      toolCalls,
      explanation: this.explain(m, severity, baselineVersion),
      fixHint: `hangar-ctl rules explain ${r.meta.id}; to tune it, add an exception in a patch file (see rules/README.md)`,
      time: timestampOfMs(m.time),
      node: last.node,
      source: hangar.AlertSource.RULE,
      ruleVersion: String(r.meta.version),
      mitre: r.meta.mitre,
      baselineVersion,
      score: SCORE[severity],
    });
    const pod = last.pod ?? first.pod;
    if (pod !== undefined) alert.pod = pod;
    return alert;
  }

  /** Why the rule fired, in words: each step's event, the baseline consulted, the exceptions checked. */
  explain(m: Match, severity: SeverityName, baselineVersion: string): string {
    const r = m.rule;
    const names = slotNames(r, m);
    const lines: string[] = [];
    lines.push(
      `rule ${r.meta.id} v${r.meta.version} (${r.meta.maturity}, ${r.meta.file}:${r.meta.loc.line}) matched${m.key === "" ? "" : ` for ${keyText(r.keyNames, m.key)}`}`,
    );
    m.events.forEach((e, i) => {
      const a = e.attributions[0];
      const via =
        a === undefined
          ? ""
          : `; attributed to tool ${a.tool} (session ${a.sessionId}, caller ${a.caller}, ${a.reason === hangar.AttributionReason.LINEAGE ? "by process lineage" : "in the call's time window"})`;
      const call =
        e.detail.case === "toolCall" && e.detail.value.trace !== undefined
          ? `; caller ${e.detail.value.trace.caller?.subject || e.detail.value.trace.caller?.clientName || "?"}, session ${e.detail.value.trace.sessionId}, arguments ${argsText(e)}`
          : "";
      lines.push(
        `  step ${names[i] ?? kindNameOf(e.kind)}: ${iso(e)} ${describeEvent(e)}${call}${via} [event ${e.id}]`,
      );
    });
    if (r.t === "sequence" && r.negatives.length > 0)
      lines.push(`  and no ${r.negatives.map((n) => n.name).join(", ")} within the window (absent steps)`);
    if (r.t === "threshold")
      lines.push(
        `  ${m.count} ${r.fn === "count" ? "matching events" : "distinct values"} within ${r.windowMs / 1000}s (limit reached at ${r.needed})`,
      );
    if (r.probes.length > 0) {
      const env = this.#env;
      for (const p of r.probes) {
        const ev = m.events[p.slot] ?? m.events[0];
        if (ev === undefined) continue;
        const v = p.value(ev, { ...env, steps: m.events });
        const verdict =
          this.#baseline === undefined
            ? "none (no baseline store)"
            : this.#baseline.lookup(ev.provider, p.facet, text(v));
        lines.push(
          `  baseline ${baselineVersion}: ${p.text}=${text(v)} in ${p.facet} baseline of provider ${ev.provider || "?"}: ${verdict}`,
        );
      }
    }
    if (m.learning)
      lines.push(
        `  the provider's baseline is still learning: ${severity === r.meta.severity ? "alerting as configured" : `severity lowered to ${severity}`}`,
      );
    lines.push(
      r.exceptions.length === 0
        ? "  exceptions: none defined"
        : `  exceptions checked, none matched: ${r.exceptions.map((e) => e.name).join(", ")}`,
    );
    return lines.join("\n");
  }
}

function keyText(names: readonly string[], key: string): string {
  const values = key.split("\u0001");
  return values.map((v, i) => (names[i] === undefined ? v : `${names[i]}=${v}`)).join(", ");
}

function iso(e: RuntimeEvent): string {
  const t = e.time;
  return t === undefined ? "?" : new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}

function argsText(e: RuntimeEvent): string {
  const v = e.detail.case === "toolCall" ? e.detail.value.trace?.arguments : undefined;
  if (v === undefined) return "{}";
  try {
    const s = JSON.stringify(argsJson(v));
    return s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return "?";
  }
}

function argsJson(v: hangar.CallTrace["arguments"]): unknown {
  if (v === undefined) return null;
  const k = v.kind;
  switch (k.case) {
    case "stringValue":
    case "numberValue":
    case "boolValue":
      return k.value;
    case "structValue":
      return Object.fromEntries(Object.entries(k.value.fields).map(([n, x]) => [n, argsJson(x)]));
    case "listValue":
      return k.value.values.map((x) => argsJson(x));
    default:
      return null;
  }
}

export function slotNames(r: CompiledRule, m: Match): string[] {
  return m.events.map((_e, i) => r.slotNames[i] ?? r.slotNames[0] ?? "event");
}

function uniqueEvents(events: RuntimeEvent[]): RuntimeEvent[] {
  const seen = new Set<RuntimeEvent>();
  const out: RuntimeEvent[] = [];
  for (const e of events)
    if (!seen.has(e)) {
      seen.add(e);
      out.push(e);
    }
  return out;
}
