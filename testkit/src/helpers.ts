/**
 * Small helpers every workspace's tests share: a temp dir with its cleanup, a logger that
 * keeps its lines, and one "poll until" (`waitFor`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorMessage } from "@hangar/core";
import { pino, type Logger } from "pino";

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A logger that keeps its lines, for assertions and for failure messages. */
export function memoryLogger(level = "debug"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level }, { write: (l: string) => void lines.push(l) });
  return { logger, lines };
}

/** What a timed-out `waitFor` adds to its message: counters (anything with `snapshot()`) or a function's value. */
export type WaitContext = { snapshot(): unknown } | (() => unknown);

/**
 * Polls `check` every `intervalMs` (default 10) until it returns something other than
 * `undefined` or `false` (sync or async), and resolves with that. After `timeoutMs`
 * (default 10 s) it fails naming `what`, the last error `check` threw, and `context`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  context?: WaitContext,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const ctx =
        context === undefined ? undefined : typeof context === "function" ? context() : context.snapshot();
      const because = lastError === undefined ? "" : `; last error: ${errorMessage(lastError)}`;
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${because}${ctx === undefined ? "" : `; context: ${JSON.stringify(ctx, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * `whole` in pieces, cut at the given points (each taken modulo length + 1, duplicates merged):
 * for feeding incremental parsers every possible chunking, inside a character, a string or an
 * escape too.
 */
export function splitAt(whole: string, cuts: readonly number[]): string[];
export function splitAt(whole: Buffer, cuts: readonly number[]): Buffer[];
export function splitAt(whole: string | Buffer, cuts: readonly number[]): (string | Buffer)[] {
  const at = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
  const piece = (from: number, to?: number): string | Buffer =>
    typeof whole === "string" ? whole.slice(from, to) : whole.subarray(from, to);
  const out: (string | Buffer)[] = [];
  let from = 0;
  for (const c of at) {
    out.push(piece(from, c));
    from = c;
  }
  out.push(piece(from));
  return out;
}
