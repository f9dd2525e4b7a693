/**
 * Alerts and enforcement actions as Kubernetes Events on the MCP pod, so that
 * `kubectl describe pod` and `kubectl get events` show them. An alert names its pod; an
 * enforcement event is recorded on the pod of the alert behind it, or, without one (asked by
 * hand), on the provider's pods (up to 10). The reasons are a closed set, documented in
 * docs/reference/k8s-events.md; the note carries the alert id (and the enforcement id).
 */
import { PROVIDER_LABEL } from "@hangar/core";
import { hangar } from "@hangar/proto";
import type { KubeApi } from "../kube/kube.js";
import type { EventInput, EventRecorder, ObjectRef } from "./recorder.js";

/** The latest alert of an Event's series (its note names the first). */
export const ALERT_ID_ANNOTATION = "mcp-hangar.io/alert-id";
/** The latest enforcement event of an Event's series. */
export const ENFORCEMENT_ID_ANNOTATION = "mcp-hangar.io/enforcement-id";

/** Every reason the controller writes, and when. */
export const EVENT_REASONS = {
  RuleMatched: "an alert of a detection rule on this pod",
  BaselineDeviation: "an alert: the pod did something its learned baseline does not have",
  EnforcementAudited:
    "audit mode: the NetworkPolicy that would apply was computed and recorded, nothing applied",
  EnforcementApplied: "a NetworkPolicy (or CiliumNetworkPolicy) was applied to the provider's pods",
  EnforcementReverted: "an enforcement was reverted (hangar-ctl enforcement revert)",
  EnforcementExpired: "an enforcement's TTL passed and it was undone",
  EnforcementRefused: "an enforcement was refused by the policy (action not allowed, rate limit)",
  EnforcementFailed: "an enforcement could not be applied (unmanaged object, API error)",
} as const;
export type EventReason = keyof typeof EVENT_REASONS;

/** The fields of an enforcement event this needs (`EnforcementEventJson` has them). */
export interface EnforcementFacts {
  readonly id: string;
  readonly alertId: string;
  readonly provider: string;
  readonly namespace: string;
  readonly action: string;
  readonly mode: string;
  readonly outcome: string;
  readonly objectKind: string;
  readonly objectName: string;
  readonly destination: string;
  readonly error: string;
  readonly actor: string;
}

const SEVERITY = (s: hangar.Severity): string =>
  (hangar.Severity[s] ?? "UNSPECIFIED").replace(/^SEVERITY_/, "").replace("UNSPECIFIED", "UNKNOWN");

/** The Event of an alert, or undefined when the alert names no pod. */
export function alertEvent(a: hangar.Alert): EventInput | undefined {
  const pod = podRef(a.pod);
  if (pod === undefined) return undefined;
  const rule = a.ruleId !== "" ? a.ruleId : "unknown-rule";
  return {
    regarding: pod,
    type: "Warning",
    reason: a.source === hangar.AlertSource.BASELINE ? "BaselineDeviation" : "RuleMatched",
    action: "Detect",
    note: `${SEVERITY(a.severity)} ${rule}: ${a.message !== "" ? a.message : "(no message)"} (alert ${a.id})`,
    key: rule,
    annotations: { [ALERT_ID_ANNOTATION]: a.id },
  };
}

const OUTCOME_REASON: Record<string, EventReason> = {
  audited: "EnforcementAudited",
  applied: "EnforcementApplied",
  reverted: "EnforcementReverted",
  expired: "EnforcementExpired",
  refused: "EnforcementRefused",
  failed: "EnforcementFailed",
};

/** The Event of an enforcement decision on one pod, or undefined for one that decides nothing (`pending`). */
export function enforcementEvent(e: EnforcementFacts, pod: ObjectRef): EventInput | undefined {
  const reason = OUTCOME_REASON[e.outcome];
  if (reason === undefined) return undefined;
  const object = e.objectName !== "" ? `${e.objectKind}/${e.objectName}` : "";
  const parts = [
    `${e.action}${e.destination !== "" ? ` ${e.destination}` : ""} ${e.outcome} (${e.mode} mode)`,
    object !== "" ? ` on ${object}` : "",
    e.alertId !== "" ? `; alert ${e.alertId}` : "",
    `; enforcement ${e.id}`,
    e.actor !== "" ? ` by ${e.actor}` : "",
    e.error !== "" ? `: ${e.error}` : "",
  ];
  return {
    regarding: pod,
    ...(e.objectName !== ""
      ? {
          related: {
            apiVersion: e.objectKind === "CiliumNetworkPolicy" ? "cilium.io/v2" : "networking.k8s.io/v1",
            kind: e.objectKind,
            namespace: e.namespace,
            name: e.objectName,
          },
        }
      : {}),
    type:
      reason === "EnforcementApplied" || reason === "EnforcementRefused" || reason === "EnforcementFailed"
        ? "Warning"
        : "Normal",
    reason,
    action: e.action,
    note: parts.join(""),
    key: e.action,
    annotations: {
      [ENFORCEMENT_ID_ANNOTATION]: e.id,
      ...(e.alertId !== "" ? { [ALERT_ID_ANNOTATION]: e.alertId } : {}),
    },
  };
}

function podRef(p: hangar.PodIdentity | undefined): ObjectRef | undefined {
  if (p === undefined || p.name === "" || p.namespace === "") return undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    namespace: p.namespace,
    name: p.name,
    ...(p.uid !== "" ? { uid: p.uid } : {}),
  };
}

export interface ViolationEventsOptions {
  readonly recorder: EventRecorder;
  readonly kube: KubeApi;
  /** Enforcement events are written by the Lease holder only (the enforcer decides there). */
  readonly isLeader: () => boolean;
  readonly onError?: (err: unknown) => void;
  /** Counted as `k8s_events_dropped{reason="no_pod"}`. */
  readonly noPod: () => void;
}

/** Maximum pods an enforcement without an alert is recorded on. */
const MAX_PODS = 10;

export class ViolationEvents {
  readonly #o: ViolationEventsOptions;
  /** Alert id → its pod, for the enforcement that follows (bounded, oldest forgotten). */
  readonly #alertPods = new Map<string, ObjectRef>();

  constructor(o: ViolationEventsOptions) {
    this.#o = o;
  }

  /** An alert the hub accepted (once per alert). */
  alert(a: hangar.Alert): void {
    const e = alertEvent(a);
    if (e === undefined) {
      this.#o.noPod();
      return;
    }
    if (a.id !== "") {
      this.#alertPods.set(a.id, e.regarding);
      if (this.#alertPods.size > 10_000) {
        const oldest = this.#alertPods.keys().next().value;
        if (oldest !== undefined) this.#alertPods.delete(oldest);
      }
    }
    this.#o.recorder.record(e);
  }

  /** An enforcement event the enforcer recorded; resolves once its Events are queued. */
  async enforcement(e: EnforcementFacts): Promise<void> {
    if (OUTCOME_REASON[e.outcome] === undefined || !this.#o.isLeader()) return;
    try {
      const known = e.alertId !== "" ? this.#alertPods.get(e.alertId) : undefined;
      const pods = known !== undefined ? [known] : await this.#providerPods(e.namespace, e.provider);
      if (pods.length === 0) this.#o.noPod();
      for (const pod of pods) {
        const ev = enforcementEvent(e, pod);
        if (ev !== undefined) this.#o.recorder.record(ev);
      }
    } catch (err) {
      this.#o.onError?.(err);
    }
  }

  async #providerPods(namespace: string, provider: string): Promise<ObjectRef[]> {
    const res = await this.#o.kube.call({
      method: "GET",
      path: `/api/v1/namespaces/${namespace}/pods`,
      query: { labelSelector: `${PROVIDER_LABEL}=${provider}`, limit: String(MAX_PODS) },
    });
    const items = (res.body as { items?: { metadata?: { name?: string; uid?: string } }[] }).items ?? [];
    return items.flatMap((p) =>
      p.metadata?.name !== undefined
        ? [
            {
              apiVersion: "v1",
              kind: "Pod",
              namespace,
              name: p.metadata.name,
              ...(p.metadata.uid !== undefined ? { uid: p.metadata.uid } : {}),
            },
          ]
        : [],
    );
  }
}
