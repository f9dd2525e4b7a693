/**
 * What the local stack prints: text for a person, or one JSON object per line (`--json`); alerts
 * as the CEF lines the SIEM encoder makes with the join under them, enforcement events with the
 * policy and its diff, baseline progress.
 */
import { hangar } from "@hangar/proto";
import { alertJson, alertRecord, encodeCef, enforcementRecord } from "@hangar/export";
import { BASELINE_FACETS, type Alert } from "@hangar/core";
import { toProtoEvent, type EnforcementEventJson } from "@hangar/controller";

export interface LocalIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stdout is a terminal (progress redraws one line). */
  tty?: boolean;
}

/** Text or JSON lines to stdout. */
export class Output {
  readonly io: LocalIO;
  readonly json: boolean;

  constructor(io: LocalIO, json: boolean) {
    this.io = io;
    this.json = json;
  }

  /** `text` for a person, or `json` as one line (nothing when it is undefined). */
  out(text: string, json?: Record<string, unknown>): void {
    if (this.json) {
      if (json !== undefined) this.io.stdout(`${JSON.stringify(json)}\n`);
    } else this.io.stdout(text);
  }

  /** One alert: its CEF line and the join (caller → session → tool → process → destination). */
  alert(a: Alert, when?: string): void {
    const cef = encodeCef(alertRecord(a));
    // The explanation ends with the join: one "caller … → session … → tools/call … → process … → …"
    // line per attributed call (the rest repeats what the CEF line carries).
    const chain = a.explanation
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^(or )?caller .* → /.test(l))
      .map((l) => `      ↳ ${l}`)
      .join("\n");
    const sev = (hangar.Severity[a.severity] ?? "UNSPECIFIED").toLowerCase();
    this.out(
      `  ${when !== undefined ? `(${when}) ` : ""}${sev.toUpperCase()} ${a.ruleId}: ${a.message}\n    ${cef}\n${chain === "" ? "" : `${chain}\n`}`,
      {
        kind: "alert",
        cef,
        alert: JSON.parse(alertJson(a)) as unknown,
      },
    );
  }

  /** One enforcement event: what it would do, its CEF line, the policy and its diff. */
  enforcement(e: EnforcementEventJson): void {
    const head =
      `  EnforcementEvent ${e.id}: ${e.action}${e.destination !== "" ? ` ${e.destination}` : ""} for provider ${e.provider} ` +
      `(alert ${e.alertId}, rule ${e.actor}) → ${e.objectKind} ${e.namespace}/${e.objectName}: ${e.outcome.toUpperCase()}` +
      `${e.mode === "audit" ? " — audit mode: recorded, nothing applied" : ""}${e.error !== "" ? ` (${e.error})` : ""}`;
    const diff = e.diff
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => `    ${l}`)
      .join("\n");
    const what = policySummary(e.manifest, e.destination);
    const cef = encodeCef(enforcementRecord(toProtoEvent(e)), { product: "hangar-controller" });
    this.out(
      `${head}\n    ${cef}\n${what === "" ? "" : `  ${what}\n`}  the diff against the cluster (the local stack has no API server: an empty cluster, so everything is new):\n${diff}\n`,
      { kind: "enforcement", event: e, cef, against: "empty cluster (no API server in the local stack)" },
    );
  }
}

/** Items learned per facet (`egress`, `dns`, `binary`, `file`, `tool`) of a baseline summary. */
export function items(s: hangar.BaselineSummary | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of s?.facets ?? []) {
    // The enum's names are the facet names in capitals (BASELINE_FACET_EGRESS → "egress").
    const name = (hangar.BaselineFacet[f.facet] ?? "").toLowerCase();
    if ((BASELINE_FACETS as readonly string[]).includes(name)) out[name] = Number(f.items);
  }
  return out;
}

export function describeItems(it: Record<string, number>): string {
  return Object.entries(it)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
}

export function stateName(s: hangar.BaselineSummary | undefined): string {
  if (s === undefined) return "unknown";
  return (hangar.BaselineState[s.state] ?? "UNSPECIFIED").toLowerCase();
}

export function bar(p: number): string {
  const n = Math.round(Math.max(0, Math.min(1, p)) * 20);
  return `[${"#".repeat(n)}${".".repeat(20 - n)}]`;
}

/** One line on what a generated NetworkPolicy does: whose egress it limits, and to what. */
export function policySummary(manifest: string, destination = ""): string {
  if (manifest === "") return "";
  let m: {
    kind?: string;
    spec?: {
      podSelector?: { matchLabels?: Record<string, string> };
      egress?: {
        to?: { ipBlock?: { cidr?: string }; podSelector?: { matchLabels?: Record<string, string> } }[];
        ports?: { port?: number | string; protocol?: string }[];
      }[];
    };
  };
  try {
    m = JSON.parse(manifest) as typeof m;
  } catch {
    return "";
  }
  if (m.kind !== "NetworkPolicy" || m.spec === undefined) return "";
  const pods = Object.entries(m.spec.podSelector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const rules = (m.spec.egress ?? []).map((r) => {
    const to = (r.to ?? [])
      .map((t) =>
        t.ipBlock?.cidr !== undefined
          ? t.ipBlock.cidr
          : Object.entries(t.podSelector?.matchLabels ?? {})
              .map(([k, v]) => `pods ${k}=${v}`)
              .join(","),
      )
      .join(" or ");
    const ports = [...new Set((r.ports ?? []).map((p) => String(p.port ?? "*")))].join(",");
    return `${to === "" ? "anywhere" : to}${ports === "" ? "" : ` port ${ports}`}`;
  });
  return `the policy: pods ${pods} may connect only to ${rules.length === 0 ? "nothing" : rules.join("; ")} (DNS and the learned baseline); anything else${destination === "" ? "" : `, ${destination} included,`} is denied`;
}
