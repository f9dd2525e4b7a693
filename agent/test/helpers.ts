/** Shared helpers for the agent's integration tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import type { Counters } from "../src/pipeline/counters.js";

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger that keeps its lines, for assertions and for failure messages. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (l: string) => void lines.push(l) });
  return { logger, lines };
}

/** Polls `cond` until true, or fails after `timeoutMs` with `what` and the counters. */
export async function waitFor(
  what: string,
  cond: () => boolean,
  counters?: Counters,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; counters: ${JSON.stringify(counters?.snapshot() ?? {})}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
