/**
 * Detections built into the MIT core, for an agent that runs without the rule engine (no
 * license and no BSL grant, or a build without the rule engine package): a few single-event facts
 * that are wrong in almost every MCP server, so the agent is never blind. Each is one check
 * per event over precomputed sets; nothing is configurable (tuning is what the rule engine
 * is for).
 */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import type { Alert, Detection, Detector, RuntimeEvent } from "@hangar/core";

/** The built-in rules: id, severity, MITRE ATT&CK technique. */
export const BUILTIN_RULES = {
  "hangar.builtin.shell_in_provider": {
    severity: hangar.Severity.HIGH,
    mitre: ["T1059.004"],
    what: "an interactive shell started in an MCP provider's pod",
  },
  "hangar.builtin.cloud_metadata": {
    severity: hangar.Severity.HIGH,
    mitre: ["T1552.005"],
    what: "an MCP provider reached a cloud instance-metadata service (credentials of the node)",
  },
} as const;
export type BuiltinRuleId = keyof typeof BUILTIN_RULES;

const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "tcsh", "csh", "fish"]);
/** AWS/GCP/Azure/OpenStack (IPv4 and AWS IPv6), AWS ECS task metadata, Alibaba Cloud. */
const METADATA_IPS = new Set(["169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200"]);
const METADATA_NAMES = new Set(["metadata.google.internal", "metadata.goog", "instance-data.ec2.internal"]);

const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

export class BuiltinDetector implements Detector {
  readonly name = "builtin";

  process(ev: RuntimeEvent): Detection | undefined {
    if (ev.provider === "") return undefined;
    const hit = this.#match(ev);
    return hit === undefined ? undefined : { alerts: [alert(hit.rule, hit.message, ev)] };
  }

  #match(ev: RuntimeEvent): { rule: BuiltinRuleId; message: string } | undefined {
    const d = ev.detail;
    switch (d.case) {
      case "exec": {
        const bin = ev.process?.binary ?? "";
        if (!SHELLS.has(basename(bin))) return undefined;
        return {
          rule: "hangar.builtin.shell_in_provider",
          message: `shell ${bin} started in provider ${ev.provider}`,
        };
      }
      case "connect":
        return METADATA_IPS.has(d.value.destinationIp)
          ? {
              rule: "hangar.builtin.cloud_metadata",
              message: `provider ${ev.provider} connected to the instance-metadata address ${d.value.destinationIp}:${d.value.destinationPort}`,
            }
          : undefined;
      case "flow":
        return METADATA_IPS.has(d.value.destinationIp) && !d.value.isReply
          ? {
              rule: "hangar.builtin.cloud_metadata",
              message: `provider ${ev.provider} sent traffic to the instance-metadata address ${d.value.destinationIp}:${d.value.destinationPort}`,
            }
          : undefined;
      case "dns": {
        const q = d.value.query.toLowerCase().replace(/\.$/, "");
        return METADATA_NAMES.has(q) && !d.value.response
          ? { rule: "hangar.builtin.cloud_metadata", message: `provider ${ev.provider} looked up ${q}` }
          : undefined;
      }
      default:
        return undefined;
    }
  }
}

function alert(rule: BuiltinRuleId, message: string, ev: RuntimeEvent): Alert {
  const r = BUILTIN_RULES[rule];
  const a = create(hangar.AlertSchema, {
    id: createHash("sha256").update(`${rule}\u0000${ev.id}`).digest("hex").slice(0, 24),
    ruleId: rule,
    severity: r.severity,
    provider: ev.provider,
    message,
    evidence: [ev],
    explanation: `built-in detection (MIT core): ${r.what}; event ${ev.id}`,
    fixHint:
      "the rule engine (a license, or the BSL grant) adds sequences, tool-call context and exceptions; see docs/licensing.md",
    node: ev.node,
    source: hangar.AlertSource.RULE,
    ruleVersion: "1",
    mitre: [...r.mitre],
    score: 75,
  });
  if (ev.time !== undefined) a.time = ev.time;
  if (ev.pod !== undefined) a.pod = ev.pod;
  return a;
}
