/**
 * Rule packs for the agents: every file of a directory (the chart's rules ConfigMap mount) as
 * one `hangar.v1.RuleUpdate`, versioned by a hash of names and contents, re-read on a timer
 * and handed to the hub when it changed (the hub sends it to every agent).
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { ControllerError } from "../errors.js";
import type { AgentHub } from "./hub.js";

/**
 * The rule packs in `dir` as one update: every regular file (not `..data` and other dot
 * entries of a ConfigMap mount), its version a hash of names and contents.
 */
export function readRules(dir: string): hangar.RuleUpdate {
  let names: string[];
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --rules directory and the files listed in it
    names = readdirSync(dir)
      .filter((n) => !n.startsWith("."))
      .sort();
  } catch (err) {
    throw new ControllerError("HANGAR_ERR_ENFORCE_CONFIG", `--rules ${dir}: ${(err as Error).message}`);
  }
  const files: Record<string, string> = {};
  const hash = createHash("sha256");
  for (const n of names) {
    const p = join(dir, n);
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the operator's --rules directory and the files listed in it
    if (!statSync(p).isFile()) continue;
    // eslint-disable-next-line hangar/no-string-key-write, security/detect-non-literal-fs-filename -- string value (file text) keyed by a file name of the operator's rules directory; the operator's --rules directory and the files listed in it
    files[n] = readFileSync(p, "utf8");
    hash.update(`${n}\0${files[n]}\0`);
  }
  return create(hangar.RuleUpdateSchema, { files, version: hash.digest("hex").slice(0, 16) });
}

export interface WatchRulesOptions {
  /** How often the directory is read again (default 30 s). */
  everyMs?: number;
  /** A new version was handed to the hub. */
  onLoaded?: (update: hangar.RuleUpdate) => void;
  /** The directory could not be read again (the last version stays). */
  onError?: (err: unknown) => void;
}

/**
 * Hands the rule packs in `dir` to the hub now (throwing when the directory cannot be read),
 * then again whenever they change, until `signal` aborts.
 */
export function watchRules(
  hub: Pick<AgentHub, "setRules">,
  dir: string,
  signal: AbortSignal,
  opts: WatchRulesOptions = {},
): void {
  let version = "";
  const load = (): void => {
    const update = readRules(dir);
    if (update.version === version) return;
    version = update.version;
    hub.setRules(update);
    opts.onLoaded?.(update);
  };
  load();
  const timer = setInterval(() => {
    try {
      load();
    } catch (err) {
      opts.onError?.(err);
    }
  }, opts.everyMs ?? 30_000);
  timer.unref();
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}
