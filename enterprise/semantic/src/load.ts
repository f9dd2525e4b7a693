/**
 * Loading rule packs: files or directories (every `*.rules` below a directory,
 * in path order), parsed and compiled together so that lists, macros and
 * patches work across files.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { compileFiles, type SourceFile } from "./compile/index.js";
import { diag, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { parseSource } from "./parse.js";
import type { CompiledRule } from "./program.js";

export const RULE_FILE_EXTENSION = ".rules";

export interface LoadedRules {
  rules: CompiledRule[];
  files: string[];
  sources: Map<string, string>;
  diagnostics: Diagnostic[];
  /** True when there is no error (warnings allowed). */
  ok: boolean;
  /** Ids of rules that are defined but did not compile. */
  uncompiled: string[];
  /** Files that did not parse: their rules are not even known by id. */
  unparsed: string[];
}

function walk(dir: string, out: string[]): void {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rule files and directories the operator names (--rules)
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".") || name === "node_modules" || name === "dist") continue;
    const p = join(dir, name);
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rule files and directories the operator names (--rules)
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith(RULE_FILE_EXTENSION)) out.push(p);
  }
}

/** Lists the rule files under `paths` (a file is taken as given, whatever its extension). */
export function ruleFiles(paths: readonly string[]): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rule files and directories the operator names (--rules)
      const st = statSync(p);
      if (st.isDirectory()) {
        const before = files.length;
        walk(p, files);
        if (files.length === before)
          diagnostics.push(
            diag(p, undefined, "HANGAR_ERR_RULE_READ", `no ${RULE_FILE_EXTENSION} files in directory`),
          );
      } else files.push(p);
    } catch (err) {
      diagnostics.push(diag(p, undefined, "HANGAR_ERR_RULE_READ", (err as Error).message));
    }
  }
  return { files: [...new Set(files)], diagnostics };
}

/** Parses and compiles sources given as text (tests, tools). */
export function compileSources(sources: ReadonlyMap<string, string>): LoadedRules {
  const parsed: SourceFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const unparsed: string[] = [];
  for (const [file, text] of sources) {
    const r = parseSource(file, text);
    diagnostics.push(...r.diagnostics);
    if (r.diagnostics.some((d) => d.severity === "error")) unparsed.push(file);
    parsed.push({ file, items: r.items });
  }
  const c = compileFiles(parsed);
  diagnostics.push(...c.diagnostics);
  sortDiagnostics(diagnostics);
  return {
    rules: c.rules,
    files: [...sources.keys()],
    sources: new Map(sources),
    diagnostics,
    ok: !diagnostics.some((d) => d.severity === "error"),
    uncompiled: c.uncompiled,
    unparsed,
  };
}

export function loadRules(paths: readonly string[]): LoadedRules {
  const { files, diagnostics } = ruleFiles(paths);
  const sources = new Map<string, string>();
  for (const f of files) {
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- the rule files and directories the operator names (--rules)
      sources.set(f, readFileSync(f, "utf8"));
    } catch (err) {
      diagnostics.push(diag(f, undefined, "HANGAR_ERR_RULE_READ", (err as Error).message));
    }
  }
  const r = compileSources(sources);
  r.diagnostics.unshift(...diagnostics);
  r.ok = r.ok && diagnostics.length === 0;
  return r;
}
