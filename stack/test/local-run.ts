/**
 * `hangar-local` as a child process for the tests, the way a user runs it: its JSON lines as
 * they come, its stderr, its exit; `waitFor` a line.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const MAIN = join(here, "..", "src", "main.js");
export const CTL = join(here, "..", "..", "..", "controller", "dist", "src", "ctl", "main.js");

export type Line = Record<string, unknown> & { kind: string };

export interface Run {
  child: ChildProcess;
  lines: Line[];
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor(pred: (l: Line) => boolean, what: string, ms?: number): Promise<Line>;
}

/** `hangar-local --json …args`; `spawnOptions` e.g. to run it as another user or in its own process group. */
export function startLocal(args: string[], spawnOptions: SpawnOptions = {}): Run {
  const child = spawn(process.execPath, [MAIN, "--json", ...args], {
    ...spawnOptions,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Line[] = [];
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (l) => {
    lines.push(JSON.parse(l) as Line);
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    waitFor(pred, what, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (hit !== undefined) {
            cleanup();
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}; stderr: ${err}`));
        }, ms);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        void exited.then(() => {
          if (waiters.has(check)) {
            cleanup();
            reject(new Error(`local exited before ${what}; stderr: ${err}`));
          }
        });
        waiters.add(check);
        check();
      });
    },
  };
}

/** A strict CEF:0 reader: seven `|`-separated header fields (with `\|`, `\\`), then key=value extensions. */
export function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let cur = "";
  let i = 0;
  for (; i < line.length && header.length < 7; i++) {
    const c = line[i] as string;
    if (c === "\\" && (line[i + 1] === "|" || line[i + 1] === "\\")) {
      cur += line[++i];
    } else if (c === "|") {
      header.push(cur);
      cur = "";
    } else cur += c;
  }
  assert.equal(header.length, 7, `CEF header of ${line.slice(0, 120)}`);
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  // Keys are alphanumeric and follow a space; a value runs to the next unescaped " key=".
  const re = /(?:^|\s)([A-Za-z0-9]+)=((?:\\.|[^\\])*?)(?=\s[A-Za-z0-9]+=|$)/g;
  for (const m of rest.matchAll(re)) {
    ext[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, x: string) =>
      x === "n" ? "\n" : x === "r" ? "\r" : x,
    );
  }
  return { header, ext };
}
