/**
 * The hub's version check of an agent's hello: every minor version of this controller's major
 * is spoken (an older agent's hello lacks newer fields, which read as their defaults; a newer
 * agent's extra fields are skipped), another major is refused with HANGAR_ERR_HUB_PROTOCOL,
 * which the hub answers with FAILED_PRECONDITION.
 */
import { HUB_PROTOCOL, HUB_PROTOCOL_VERSION, parseHubProtocol } from "@hangar/core";
import { ControllerError } from "../errors.js";

export function checkAgentProtocol(node: string, version: string): { major: number; minor: number } {
  const v = parseHubProtocol(version);
  if (v === undefined)
    throw new ControllerError(
      "HANGAR_ERR_HUB_PROTOCOL",
      `agent on node ${node || "(unnamed)"} sent hub protocol version ${JSON.stringify(version)}, which is not MAJOR.MINOR`,
    );
  if (v.major !== HUB_PROTOCOL.major)
    throw new ControllerError(
      "HANGAR_ERR_HUB_PROTOCOL",
      `agent on node ${node || "(unnamed)"} speaks hub protocol ${v.major}.${v.minor}; this controller speaks ${HUB_PROTOCOL_VERSION} and every ${HUB_PROTOCOL.major}.x: upgrade the ${v.major > HUB_PROTOCOL.major ? "controller" : "agent"} (docs/upgrade.md)`,
      { details: { node, agent: version, controller: HUB_PROTOCOL_VERSION } },
    );
  return v;
}
