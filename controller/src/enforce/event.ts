/** An enforcement event as `hangar.v1.EnforcementEvent` (for the SIEM exporters and the hub). */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import type { EnforcementEventJson } from "./engine.js";

const ACTION: Record<string, hangar.EnforcementAction> = {
  block_egress: hangar.EnforcementAction.BLOCK_EGRESS,
  quarantine: hangar.EnforcementAction.QUARANTINE,
  tighten_egress: hangar.EnforcementAction.TIGHTEN_EGRESS,
};
const MODE: Record<string, hangar.EnforcementMode> = {
  audit: hangar.EnforcementMode.AUDIT,
  enforce: hangar.EnforcementMode.ENFORCE,
};
/** `pending` has no outcome yet: it stays UNSPECIFIED. */
const OUTCOME: Record<string, hangar.EnforcementOutcome> = {
  audited: hangar.EnforcementOutcome.AUDITED,
  applied: hangar.EnforcementOutcome.APPLIED,
  reverted: hangar.EnforcementOutcome.REVERTED,
  expired: hangar.EnforcementOutcome.EXPIRED,
  refused: hangar.EnforcementOutcome.REFUSED,
  failed: hangar.EnforcementOutcome.FAILED,
};

export function toProtoEvent(e: EnforcementEventJson): hangar.EnforcementEvent {
  const ts = (iso: string): ReturnType<typeof timestampFromMs> | undefined =>
    iso === "" || Number.isNaN(Date.parse(iso)) ? undefined : timestampFromMs(Date.parse(iso));
  const time = ts(e.time);
  const expiresAt = ts(e.expiresAt);
  return create(hangar.EnforcementEventSchema, {
    id: e.id,
    requestId: e.requestId,
    alertId: e.alertId,
    provider: e.provider,
    namespace: e.namespace,
    action: ACTION[e.action] ?? hangar.EnforcementAction.UNSPECIFIED,
    mode: MODE[e.mode] ?? hangar.EnforcementMode.UNSPECIFIED,
    outcome: OUTCOME[e.outcome] ?? hangar.EnforcementOutcome.UNSPECIFIED,
    objectKind: e.objectKind,
    objectName: e.objectName,
    manifest: e.manifest,
    diff: e.diff,
    ...(time !== undefined ? { time } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    error: e.error,
    destination: e.destination,
    actor: e.actor,
  });
}
