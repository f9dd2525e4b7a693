/**
 * The processes this agent has seen start, by exec id, so that an event's ancestors are
 * known even when the sensor does not send them (Tetragon sends `ancestors` only with
 * --enable-ancestors). Bounded: the oldest entries go first.
 */
import type { hangar } from "@hangar/proto";

/** Ancestors kept per event, nearest first. */
export const MAX_ANCESTORS = 16;

export class ProcessTable {
  readonly #byExecId = new Map<string, hangar.ProcessIdentity>();
  readonly #max: number;

  constructor(max = 32_768) {
    this.#max = max;
  }

  get size(): number {
    return this.#byExecId.size;
  }

  remember(p: hangar.ProcessIdentity): void {
    if (p.execId === "") return;
    const had = this.#byExecId.get(p.execId);
    // Keep the richer record: exec events carry the binary, hook events of old processes may not.
    if (had !== undefined && had.binary !== "" && p.binary === "") return;
    if (had === undefined && this.#byExecId.size >= this.#max) {
      const oldest = this.#byExecId.keys().next().value;
      if (oldest !== undefined) this.#byExecId.delete(oldest);
    }
    this.#byExecId.set(p.execId, p);
  }

  get(execId: string): hangar.ProcessIdentity | undefined {
    return this.#byExecId.get(execId);
  }

  /** The known ancestors above `parentExecId`'s process (the parent's parent first), up to MAX_ANCESTORS. */
  ancestorsAbove(parent: hangar.ProcessIdentity | undefined): hangar.ProcessIdentity[] {
    const out: hangar.ProcessIdentity[] = [];
    let id = parent?.parentExecId ?? "";
    const seen = new Set<string>();
    while (id !== "" && out.length < MAX_ANCESTORS && !seen.has(id)) {
      seen.add(id);
      const p = this.#byExecId.get(id);
      if (p === undefined) break;
      out.push(p);
      id = p.parentExecId;
    }
    return out;
  }
}
