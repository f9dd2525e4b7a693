/**
 * The version of the agent ⇄ controller hub protocol (`hangar.v1.AgentHubService`), said in
 * both hellos as "MAJOR.MINOR". A minor version adds fields or messages an older peer ignores
 * (protobuf skips unknown fields); a major version changes the meaning of what exists. The
 * controller speaks with agents of every minor version of its major (docs/upgrade.md).
 *
 * History: 1.0 — the hellos without `protocol_version`; 1.1 — `protocol_version` in both hellos.
 */
export const HUB_PROTOCOL = { major: 1, minor: 1 } as const;

/** "1.1": what this build says in its hello. */
export const HUB_PROTOCOL_VERSION = `${HUB_PROTOCOL.major}.${HUB_PROTOCOL.minor}`;

/**
 * A hello's `protocol_version` as numbers: "" (a peer from before the field) is 1.0; anything
 * that is not MAJOR.MINOR is undefined.
 */
export function parseHubProtocol(version: string): { major: number; minor: number } | undefined {
  if (version === "") return { major: 1, minor: 0 };
  const m = /^(\d{1,4})\.(\d{1,4})$/.exec(version);
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/**
 * Facts of the agent⇄controller hub protocol that both sides check: the range of sequence
 * numbers (1 to 2^53-1: far beyond any agent's life, and exact as a JS number; the hub refuses
 * others with HANGAR_ERR_HUB_SEQ and the agent never counts past it).
 */
export const MAX_HUB_SEQ = BigInt(Number.MAX_SAFE_INTEGER);
