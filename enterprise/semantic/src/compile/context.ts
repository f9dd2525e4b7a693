/** What one compilation shares across its parts: the diagnostics so far, the file being compiled, and the lists and macros every file loaded together can use. */
import type { Expr, ListItem, Loc, Name } from "../ast.js";
import { diag, type Diagnostic, type DiagnosticCode } from "../diagnostics.js";

export interface ListDef {
  items: ListItem[];
  file: string;
  loc: Loc;
  used: boolean;
}

export interface MacroDef {
  name: string;
  params: Name[];
  body: Expr;
  file: string;
  loc: Loc;
  used: boolean;
}

export class Context {
  readonly diagnostics: Diagnostic[] = [];
  readonly lists = new Map<string, ListDef>();
  readonly macros = new Map<string, MacroDef>();
  /** The file whose items are being compiled: diagnostics name it. */
  file = "";

  /** Reports a problem at `loc` in the current file; undefined, so that a check can `return cx.err(…)`. */
  err(loc: Loc | undefined, code: DiagnosticCode, message: string): undefined {
    this.diagnostics.push(diag(this.file, loc, code, message));
    return undefined;
  }

  /** Reports a problem at a place in any file (warnings about names and rules found after the fact). */
  report(file: string, loc: Loc, code: DiagnosticCode, message: string): void {
    this.diagnostics.push(diag(file, loc, code, message));
  }

  /** A mark to ask `errorsSince` about later. */
  mark(): number {
    return this.diagnostics.length;
  }

  /** True when an error (not a warning) was reported after `mark`. */
  errorsSince(mark: number): boolean {
    for (let i = mark; i < this.diagnostics.length; i++)
      if (this.diagnostics[i]?.severity === "error") return true;
    return false;
  }

  /** Runs `part` with its diagnostics placed in `file` (a patch adds exceptions from its own file). */
  inFile<T>(file: string, part: () => T): T {
    const saved = this.file;
    this.file = file;
    try {
      return part();
    } finally {
      this.file = saved;
    }
  }
}

/** The candidate closest to a misspelt `name`, when it is close enough to suggest ("did you mean …?"). */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagPrev = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (prev[j - 1] ?? 0) + 1,
        diagPrev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      diagPrev = tmp;
    }
  }
  return prev[b.length] ?? 0;
}
