/**
 * Facts of the agent⇄controller hub protocol that both sides check: the range of sequence
 * numbers (1 to 2^53-1: far beyond any agent's life, and exact as a JS number; the hub refuses
 * others with HANGAR_ERR_HUB_SEQ and the agent never counts past it).
 */
export const MAX_HUB_SEQ = BigInt(Number.MAX_SAFE_INTEGER);
