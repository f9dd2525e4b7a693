/**
 * The SIEM record: one alert or one enforcement event, mapped once to the fields every
 * format needs (CEF, LEEF, JSON lines). The mapping is documented in
 * docs/reference/siem-export.md; the encoders only escape, cap and lay out.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { hangar } from "@hangar/proto";
import type { Alert } from "@hangar/core";

export type EnforcementEvent = hangar.EnforcementEvent;

/** Custom string slots (CEF cs1..cs6), each with its label. */
export interface CustomString {
  readonly label: string;
  readonly value: string;
}

export interface SiemRecord {
  readonly type: "alert" | "enforcement";
  /** Stable id of the record (alert id, enforcement event id). */
  readonly id: string;
  /** Event time, epoch ms (0 when unknown). */
  readonly timeMs: number;
  /** CEF Signature ID / LEEF EventID, restricted to [A-Za-z0-9._:-]. */
  readonly signatureId: string;
  /** Short, stable label (CEF Name). */
  readonly name: string;
  /** 0..10. */
  readonly severity: number;
  /** Kubernetes node that emitted the record. */
  readonly node: string;
  readonly src?: string;
  readonly dst?: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Layer-4 protocol, upper case ("TCP", "UDP"). */
  readonly proto?: string;
  readonly dhost?: string;
  /** The action taken (CEF act). */
  readonly act: string;
  readonly outcome?: string;
  /** Who: the MCP caller for alerts, the actor for enforcement events. */
  readonly suser?: string;
  readonly category: string;
  readonly msg?: string;
  readonly reason?: string;
  readonly process?: string;
  readonly pid?: number;
  readonly cs: readonly [
    CustomString | undefined,
    CustomString | undefined,
    CustomString | undefined,
    CustomString | undefined,
    CustomString | undefined,
    CustomString | undefined,
  ];
  /** Risk score 0..100 (CEF cn1). */
  readonly score?: number;
  /** The record as proto JSON (JSON-lines format). */
  json(): string;
}

/** CEF cs labels; the same slot carries the same meaning for alerts. */
export const CS_LABELS = {
  provider: "provider",
  tool: "tool",
  session: "session",
  rule: "ruleId",
  mitre: "mitreTechnique",
  trace: "traceId",
  alert: "alertId",
  namespace: "namespace",
  object: "object",
  mode: "mode",
  diff: "diffSummary",
} as const;

const SIG_UNSAFE = /[^A-Za-z0-9._:-]+/g;

/** A Signature ID: only [A-Za-z0-9._:-] (other runs become "_"), at most 1023 characters. */
export function signatureId(raw: string, fallback: string): string {
  const s = raw.replace(SIG_UNSAFE, "_").slice(0, 1023);
  return s === "" || /^_+$/.test(s) ? fallback : s;
}

/**
 * CEF externalId holds at most 40 characters. Ids that fit are kept; longer ones become
 * `h:` + the first 38 hex digits of their SHA-256, which is just as stable.
 */
export function externalId(id: string): string {
  if (id.length <= 40) return id;
  return `h:${createHash("sha256").update(id).digest("hex").slice(0, 38)}`;
}

/** hangar.v1.Severity → CEF 0..10. */
export function severityScore(sev: hangar.Severity): number {
  switch (sev) {
    case hangar.Severity.INFO:
      return 1;
    case hangar.Severity.LOW:
      return 3;
    case hangar.Severity.MEDIUM:
      return 5;
    case hangar.Severity.HIGH:
      return 8;
    case hangar.Severity.CRITICAL:
      return 10;
    default:
      return 0;
  }
}

function tsMs(ts: { seconds: bigint; nanos: number } | undefined): number {
  if (ts === undefined) return 0;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

function cs(label: string, value: string | undefined): CustomString | undefined {
  return value === undefined || value === "" ? undefined : { label, value };
}

interface Net {
  src?: string;
  dst?: string;
  srcPort?: number;
  dstPort?: number;
  proto?: string;
  dhost?: string;
}

/** Network fields from the first connect or flow in the evidence. */
function networkOf(alert: Alert): Net {
  for (const ev of alert.evidence) {
    const d = ev.detail;
    if (d.case === "connect" || d.case === "flow") {
      const v = d.value;
      const out: Net = {};
      if (v.sourceIp !== "") out.src = v.sourceIp;
      if (v.destinationIp !== "") out.dst = v.destinationIp;
      if (v.sourcePort > 0) out.srcPort = v.sourcePort;
      if (v.destinationPort > 0) out.dstPort = v.destinationPort;
      if (v.protocol !== "") out.proto = v.protocol.toUpperCase();
      if (d.case === "flow" && d.value.destinationNames[0] !== undefined)
        out.dhost = d.value.destinationNames[0];
      return out;
    }
    if (d.case === "dns" && d.value.query !== "") return { dhost: d.value.query };
  }
  return alert.pod?.ip !== undefined && alert.pod.ip !== "" ? { src: alert.pod.ip } : {};
}

function firstCall(alert: Alert): {
  caller?: string;
  tool?: string;
  session?: string;
  trace?: string;
} {
  const call = alert.toolCalls[0];
  if (call !== undefined) {
    const out: { caller?: string; tool?: string; session?: string; trace?: string } = {};
    if (call.caller?.subject !== undefined && call.caller.subject !== "") out.caller = call.caller.subject;
    if (call.tool !== "") out.tool = call.tool;
    if (call.sessionId !== "") out.session = call.sessionId;
    if (call.traceId !== "") out.trace = call.traceId;
    return out;
  }
  for (const ev of alert.evidence) {
    const a = ev.attributions[0];
    if (a !== undefined) {
      const out: { caller?: string; tool?: string; session?: string; trace?: string } = {};
      if (a.caller !== "") out.caller = a.caller;
      if (a.tool !== "") out.tool = a.tool;
      if (a.sessionId !== "") out.session = a.sessionId;
      if (a.traceId !== "") out.trace = a.traceId;
      return out;
    }
  }
  return {};
}

function processOf(alert: Alert): { process?: string; pid?: number } {
  for (const ev of alert.evidence) {
    if (ev.process !== undefined && ev.process.binary !== "") {
      return ev.process.pid > 0
        ? { process: ev.process.binary, pid: ev.process.pid }
        : { process: ev.process.binary };
    }
  }
  return {};
}

/** Maps a hangar.v1.Alert to a SIEM record. */
export function alertRecord(alert: Alert): SiemRecord {
  const call = firstCall(alert);
  const source = alert.source === hangar.AlertSource.BASELINE ? "baseline" : "rule";
  const fallbackSig = source === "baseline" ? "hangar:baseline-deviation" : "hangar:alert";
  const name = alert.ruleId !== "" ? alert.ruleId : source === "baseline" ? "Baseline deviation" : "Alert";
  return {
    type: "alert",
    id: alert.id,
    timeMs: tsMs(alert.time),
    signatureId: signatureId(alert.ruleId, fallbackSig),
    name,
    severity: severityScore(alert.severity),
    node: alert.node,
    ...networkOf(alert),
    act: "alert",
    ...(call.caller === undefined ? {} : { suser: call.caller }),
    category: `hangar/${source}`,
    ...(alert.message === "" ? {} : { msg: alert.message }),
    ...(alert.explanation === "" ? {} : { reason: alert.explanation }),
    ...processOf(alert),
    cs: [
      cs(CS_LABELS.provider, alert.provider),
      cs(CS_LABELS.tool, call.tool),
      cs(CS_LABELS.session, call.session),
      cs(CS_LABELS.rule, alert.ruleId),
      cs(CS_LABELS.mitre, alert.mitre.join(",")),
      cs(CS_LABELS.trace, call.trace),
    ],
    ...(Number.isFinite(alert.score) && alert.score > 0 ? { score: Math.round(alert.score) } : {}),
    json: () => toJsonString(hangar.AlertSchema, alert),
  };
}

const ACTION_NAMES: Record<number, string> = {
  [hangar.EnforcementAction.BLOCK_EGRESS]: "block_egress",
  [hangar.EnforcementAction.QUARANTINE]: "quarantine",
  [hangar.EnforcementAction.TIGHTEN_EGRESS]: "tighten_egress",
};
const OUTCOME_NAMES: Record<number, string> = {
  [hangar.EnforcementOutcome.AUDITED]: "audited",
  [hangar.EnforcementOutcome.APPLIED]: "applied",
  [hangar.EnforcementOutcome.REVERTED]: "reverted",
  [hangar.EnforcementOutcome.EXPIRED]: "expired",
  [hangar.EnforcementOutcome.REFUSED]: "refused",
  [hangar.EnforcementOutcome.FAILED]: "failed",
};
const OUTCOME_SEVERITY: Record<string, number> = {
  failed: 8,
  applied: 6,
  refused: 5,
  audited: 3,
  reverted: 2,
  expired: 2,
};

export function actionName(a: hangar.EnforcementAction): string {
  return ACTION_NAMES[a] ?? "unspecified";
}
export function outcomeName(o: hangar.EnforcementOutcome): string {
  return OUTCOME_NAMES[o] ?? "unspecified";
}

/** "ip", "cidr", "host" or "host:port" → dst/dpt/dhost. */
function destinationOf(dest: string): Net {
  if (dest === "") return {};
  if (isIPv4(dest) || isIPv6(dest)) return { dst: dest };
  const m = /^(.*):(\d{1,5})$/.exec(dest);
  if (m?.[1] !== undefined && m[2] !== undefined && !m[1].includes(":")) {
    const port = Number(m[2]);
    const host = m[1];
    const net: Net = port > 0 && port < 65536 ? { dstPort: port } : {};
    return isIPv4(host) ? { ...net, dst: host } : { ...net, dhost: host };
  }
  return { dhost: dest };
}

/**
 * A one-line summary of a unified diff: `+<added> -<removed> lines` (the `---`/`+++` file
 * headers are not counted); undefined for an empty diff.
 */
export function diffSummary(diff: string): string | undefined {
  if (diff === "") return undefined;
  let added = 0;
  let removed = 0;
  for (const line of diff.split("\n")) {
    if (line.startsWith("+++") || line.startsWith("---")) continue;
    if (line.startsWith("+")) added++;
    else if (line.startsWith("-")) removed++;
  }
  return `+${added} -${removed} lines`;
}

/** Maps a hangar.v1.EnforcementEvent to a SIEM record. */
export function enforcementRecord(ev: EnforcementEvent): SiemRecord {
  const action = actionName(ev.action);
  const outcome = outcomeName(ev.outcome);
  const mode = ev.mode === hangar.EnforcementMode.ENFORCE ? "enforce" : "audit";
  const object = ev.objectKind === "" ? ev.objectName : `${ev.objectKind}/${ev.objectName}`;
  const msg =
    ev.error !== ""
      ? `${action} ${outcome} (${mode}): ${ev.error}`
      : `${action} ${outcome} (${mode})${object === "" ? "" : ` ${object}`}`;
  return {
    type: "enforcement",
    id: ev.id,
    timeMs: tsMs(ev.time),
    signatureId: `hangar:enforcement:${action}`,
    name: `Enforcement ${action}`,
    severity: OUTCOME_SEVERITY[outcome] ?? 0,
    node: "",
    ...destinationOf(ev.destination),
    act: action,
    outcome,
    ...(ev.actor === "" ? {} : { suser: ev.actor }),
    category: `hangar/enforcement/${mode}`,
    msg,
    cs: [
      cs(CS_LABELS.provider, ev.provider),
      cs(CS_LABELS.alert, ev.alertId),
      cs(CS_LABELS.namespace, ev.namespace),
      cs(CS_LABELS.mode, mode),
      cs(CS_LABELS.object, object),
      cs(CS_LABELS.diff, diffSummary(ev.diff)),
    ],
    json: () => toJsonString(hangar.EnforcementEventSchema, ev),
  };
}
