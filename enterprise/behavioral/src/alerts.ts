/**
 * Deviation alerts: what was new, the event that showed it, the tool call it is
 * attributed to, the baseline version it was judged against, and how to accept
 * it (`hangar-ctl baseline allow …`) if it is expected.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import type { Alert, RuntimeEvent } from "@hangar/core";
import type { DeviationKind } from "./db.js";
import type { Profile } from "./profile.js";
import { isSensitivePath } from "./facets.js";

type CallTrace = hangar.CallTrace;

export interface DeviationInfo {
  kind: DeviationKind;
  facet: string;
  value: string;
  qualifier: string;
  tool: string;
  /** For rates: what the minute counted against what is usual. */
  rate?: { count: number; threshold: number; median: number; mad: number };
  /** Similar deviations that were not alerted since the last alert of this kind. */
  suppressed: number;
}

const SHELLS = /\/(ba|da|z|k|c|tc|fi)?sh$|\/(python[0-9.]*|perl|ruby|node|php|lua)$/;

export function severityOf(d: DeviationInfo): hangar.Severity {
  switch (d.kind) {
    case "new-egress":
    case "new-binary":
      return hangar.Severity.HIGH;
    case "new-file":
      return isSensitivePath(d.value) ? hangar.Severity.HIGH : hangar.Severity.MEDIUM;
    case "new-file-op":
      return d.qualifier === "write" || d.qualifier === "truncate"
        ? hangar.Severity.MEDIUM
        : hangar.Severity.LOW;
    case "new-dns":
    case "new-tool":
    case "rate-tool_calls":
    case "rate-connects":
    case "rate-execs":
      return hangar.Severity.MEDIUM;
    default:
      return hangar.Severity.LOW;
  }
}

const SCORE: Record<number, number> = {
  [hangar.Severity.LOW]: 30,
  [hangar.Severity.MEDIUM]: 55,
  [hangar.Severity.HIGH]: 80,
};

function mitre(d: DeviationInfo): string[] {
  switch (d.kind) {
    case "new-egress":
      return ["T1071"];
    case "new-dns":
      return ["T1071.004"];
    case "new-binary":
      return SHELLS.test(d.value) ? ["T1059"] : ["T1204"];
    case "new-file":
      return isSensitivePath(d.value) ? ["T1552"] : [];
    default:
      return [];
  }
}

const WHAT: Record<string, string> = {
  egress: "a destination",
  dns: "a DNS name",
  binary: "a binary",
  file: "a file",
  tool: "a tool",
};

function verb(d: DeviationInfo): string {
  switch (d.facet) {
    case "egress":
      return `connected to ${d.value}`;
    case "dns":
      return `resolved ${d.value}`;
    case "binary":
      return d.kind === "new-args"
        ? `ran ${d.value} with arguments shaped "${d.qualifier}"`
        : `ran ${d.value}`;
    case "file": {
      const op = d.qualifier;
      const v =
        op === "read"
          ? "read"
          : op === "write"
            ? "wrote to"
            : op === "execute"
              ? "executed"
              : op === "mmap"
                ? "mapped"
                : op === "truncate"
                  ? "truncated"
                  : "opened";
      return `${v} ${d.value}`;
    }
    case "tool":
      return `was called with tool ${d.value}`;
    default:
      return `did ${d.value}`;
  }
}

function message(p: Profile, d: DeviationInfo): string {
  const who = p.provider;
  if (d.rate !== undefined) {
    const metric = d.kind.slice("rate-".length).replace("_", " ");
    return `${who}: ${d.rate.count} ${metric} in one minute, usual is ${d.rate.median} (alert above ${Math.ceil(d.rate.threshold)})`;
  }
  switch (d.kind) {
    case "new-file-op":
      return `${who} ${verb(d)}: the file is in its baseline, but not for ${d.qualifier}`;
    case "new-args":
      return `${who} ${verb(d)}: the binary is in its baseline, these arguments are not`;
    default:
      if (d.kind.startsWith("tool-new-"))
        return `${who} ${verb(d)} during tool ${d.tool}: known to the provider, but never during ${d.tool}`;
      return `${who} ${verb(d)}, ${WHAT[d.facet] ?? "something"} not in its baseline`;
  }
}

/** The call traces the event is attributed to, as far as the attribution names them. */
export function attributedCalls(ev: RuntimeEvent): CallTrace[] {
  const traceOfEvent = ev.detail.case === "toolCall" ? ev.detail.value.trace : undefined;
  if (traceOfEvent !== undefined) return [traceOfEvent];
  return ev.attributions.map((a): CallTrace =>
    create(hangar.CallTraceSchema, {
      traceId: a.traceId,
      spanId: a.spanId,
      sessionId: a.sessionId,
      provider: ev.provider,
      tool: a.tool,
      method: "tools/call",
      caller: { subject: a.caller },
      podNamespace: ev.pod?.namespace ?? "",
      podName: ev.pod?.name ?? "",
      podUid: ev.pod?.uid ?? "",
      node: ev.node,
    }),
  );
}

function iso(ms: number | undefined): string {
  return ms === undefined ? "?" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function explanation(p: Profile, d: DeviationInfo, ev: RuntimeEvent): string {
  const parts: string[] = [];
  const a = ev.attributions[0];
  if (a !== undefined) {
    parts.push(
      `caller ${a.caller === "" ? "(unknown)" : a.caller}${a.sessionId === "" ? "" : `, in session ${a.sessionId}`}, called tool ${a.tool}; during that call`,
    );
  }
  const proc = ev.process;
  const who =
    proc === undefined
      ? `the provider ${p.provider}`
      : `pid ${proc.pid} (${`${proc.binary} ${proc.arguments}`.trim()})`;
  parts.push(
    `${who} ${d.rate === undefined ? verb(d) : `pushed ${d.kind.slice(5).replace("_", " ")} to ${d.rate.count}/min`}.`,
  );
  const size = p.view.size(d.facet as never);
  parts.push(
    `Baseline ${p.view.version} of ${p.provider} (${p.rec.state} since ${iso(p.rec.enforcingSince)}, learned from ${iso(p.rec.learningStarted)}; ${size} ${d.facet} ${size === 1 ? "entry" : "entries"}${p.rec.partial ? "; partial" : ""}${p.rec.capped ? "; capped" : ""})`,
  );
  parts.push(
    d.rate === undefined
      ? `has no entry covering it.`
      : `has a median of ${d.rate.median}/min (MAD ${d.rate.mad}).`,
  );
  if (d.suppressed > 0)
    parts.push(`${d.suppressed} similar deviation(s) were recorded without an alert since the last one.`);
  return parts.join(" ").replace("; during that call ", "; during that call, ");
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@*[\]=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function fixHint(p: Profile, d: DeviationInfo, db: string): string {
  const dbFlag = db === "" ? "" : ` --db ${shellQuote(db)}`;
  if (d.rate !== undefined)
    return `If this load is expected, relearn the provider's rates: hangar-ctl baseline reset ${shellQuote(p.provider)}${dbFlag}`;
  const op = d.facet === "file" && d.qualifier !== "" ? ` --op ${d.qualifier}` : "";
  const args = d.kind === "new-args" ? ` --args ${shellQuote(d.qualifier)}` : "";
  return `If this is expected: hangar-ctl baseline allow ${shellQuote(p.provider)} ${d.facet} ${shellQuote(d.value)}${op}${args}${dbFlag}`;
}

export function deviationAlert(
  p: Profile,
  d: DeviationInfo,
  ev: RuntimeEvent,
  db: string,
  node: string,
): Alert {
  const severity = severityOf(d);
  return create(hangar.AlertSchema, {
    id: randomUUID(),
    ruleId: `baseline/${d.kind}`,
    severity,
    provider: p.provider,
    ...(ev.pod === undefined ? {} : { pod: ev.pod }),
    message: message(p, d),
    evidence: [ev],
    toolCalls: attributedCalls(ev),
    explanation: explanation(p, d, ev),
    fixHint: fixHint(p, d, db),
    ...(ev.time === undefined ? {} : { time: ev.time }),
    node: ev.node === "" ? node : ev.node,
    source: hangar.AlertSource.BASELINE,
    ruleVersion: "behavioral/1",
    mitre: mitre(d),
    baselineVersion: p.view.version,
    score: SCORE[severity] ?? 30,
  });
}
