/**
 * Operator actions (`hangar-ctl baseline freeze|reset|allow`), applied the same
 * way by hangar-ctl to the file and by a running agent to its memory.
 */
import type { ActionRecord } from "./db.js";
import { BehavioralError } from "./errors.js";
import { dnsValue, fileValue, isFacet, isValidEgress, type FacetName } from "./facets.js";
import type { Profile } from "./profile.js";

export const FILE_OPERATIONS = ["open", "read", "write", "mmap", "truncate", "execute"] as const;

/** Checks and normalizes an `allow` value; throws with the field named. */
export function normalizeAllow(
  facet: string,
  value: string,
  qualifier: string,
): { facet: FacetName; value: string; qualifier: string } {
  if (!isFacet(facet))
    throw new BehavioralError(
      "HANGAR_ERR_BASELINE_VALUE",
      `facet: "${facet}" is not a facet (egress, dns, binary, file, tool)`,
    );
  if (value === "") throw new BehavioralError("HANGAR_ERR_BASELINE_VALUE", `value: empty ${facet} value`);
  switch (facet) {
    case "egress":
      if (!isValidEgress(value))
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_VALUE",
          `value: "${value}" is not an egress value (ip, ip:port/proto, cidr:port/proto, [v6]:port/proto)`,
        );
      return { facet, value, qualifier: "" };
    case "dns":
      return { facet, value: dnsValue(value), qualifier: "" };
    case "binary":
      if (!value.startsWith("/"))
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_VALUE",
          `value: binary "${value}" must be an absolute path`,
        );
      return { facet, value, qualifier: qualifier === "" ? "*" : qualifier };
    case "file":
      if (!value.startsWith("/"))
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_VALUE",
          `value: file "${value}" must be an absolute path`,
        );
      if (
        qualifier !== "" &&
        qualifier !== "*" &&
        !(FILE_OPERATIONS as readonly string[]).includes(qualifier)
      )
        throw new BehavioralError(
          "HANGAR_ERR_BASELINE_VALUE",
          `--op: "${qualifier}" is not a file operation (${FILE_OPERATIONS.join(", ")})`,
        );
      return { facet, value: fileValue(value), qualifier: qualifier === "" ? "*" : qualifier };
    case "tool":
      return { facet, value, qualifier: "" };
  }
}

export function applyAction(p: Profile, a: Omit<ActionRecord, "id">): void {
  switch (a.action) {
    case "freeze":
      p.freeze(a.requestedAt);
      return;
    case "reset":
      p.reset();
      return;
    case "allow": {
      const n = normalizeAllow(a.facet, a.value, a.qualifier);
      p.allow(n.facet, n.value, n.qualifier, a.requestedAt);
      return;
    }
  }
}
