/**
 * An agent's enforcement request (`hangar.v1.EnforcementRequest`, from the hub) as the
 * enforcer takes it (`EnforcementInput`); the other way, `event.ts` makes the enforcer's
 * events protobuf messages.
 */
import { hangar } from "@hangar/proto";
import { ControllerError } from "../errors.js";
import type { Action } from "./policy.js";
import type { EnforcementInput } from "./store.js";

const ACTION_OF: Partial<Record<hangar.EnforcementAction, Action>> = {
  [hangar.EnforcementAction.BLOCK_EGRESS]: "block_egress",
  [hangar.EnforcementAction.QUARANTINE]: "quarantine",
  [hangar.EnforcementAction.TIGHTEN_EGRESS]: "tighten_egress",
};

/** An agent's request as the enforcer takes it; throws a ControllerError naming the field. */
export function fromProto(r: hangar.EnforcementRequest): EnforcementInput {
  const action = ACTION_OF[r.action];
  if (action === undefined)
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_REQUEST",
      `enforcement request ${JSON.stringify(r.id)}: action: unspecified`,
    );
  const ttl = r.ttl === undefined ? undefined : Number(r.ttl.seconds);
  return {
    id: r.id,
    alertId: r.alertId,
    ruleId: r.ruleId,
    provider: r.provider,
    namespace: r.namespace,
    action,
    ...(r.destination !== "" ? { destination: r.destination } : {}),
    ...(ttl !== undefined && ttl > 0 ? { ttlSeconds: ttl } : {}),
    ...(r.reason !== "" ? { reason: r.reason } : {}),
    ...(r.node !== "" ? { node: r.node } : {}),
  };
}
