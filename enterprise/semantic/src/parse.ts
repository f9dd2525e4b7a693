/**
 * Parsing: text → syntax tree, or diagnostics with the place. The grammar is
 * compiled from grammar.ne; more than one parse is reported as a grammar bug
 * (HANGAR_ERR_RULE_AMBIGUOUS), never resolved by picking one.
 */
import nearley from "nearley";
import type { Expr, Item, Loc, Token } from "./ast.js";
import { diag, type Diagnostic } from "./diagnostics.js";
import grammar from "./grammar.js";
import { FALCO_OPERATORS } from "./falco.js";
import { makeLexer, tokens } from "./lexer.js";

const compiled = nearley.Grammar.fromCompiled(grammar);

export interface ParseResult {
  items: Item[];
  diagnostics: Diagnostic[];
}

interface NearleySymbol {
  type?: string;
  literal?: string;
}

function describeSymbol(s: NearleySymbol): string {
  if (s.literal !== undefined) return `"${s.literal}"`;
  const t = s.type ?? "?";
  if (t.startsWith("kw_")) return `"${t.slice(3)}"`;
  switch (t) {
    case "path":
      return "a name";
    case "string":
      return "a string";
    case "rawstring":
      return "a 'raw string'";
    case "number":
      return "a number";
    case "duration":
      return "a duration (e.g. 30s)";
    case "listref":
      return "a @list";
    case "op":
      return "a comparison";
    default:
      return t;
  }
}

function describeToken(t: Token | undefined): string {
  if (t === undefined) return "end of input";
  switch (t.type) {
    case "invalid":
      return `character ${JSON.stringify(t.text)}`;
    case "path":
      return `name "${t.text}"`;
    case "string":
    case "rawstring":
      return `string ${t.text}`;
    default:
      return t.type?.startsWith("kw_") === true ? `keyword "${t.text}"` : `"${t.text}"`;
  }
}

function expected(parser: nearley.Parser, columnIndex: number): string[] {
  const table = (
    parser as unknown as { table: { states: { rule: { symbols: unknown[] }; dot: number }[] }[] }
  ).table;
  const column = table[columnIndex];
  if (column === undefined) return [];
  const out = new Set<string>();
  for (const st of column.states) {
    const next = st.rule.symbols[st.dot];
    if (next !== undefined && typeof next !== "string") out.add(describeSymbol(next as NearleySymbol));
  }
  return [...out].sort();
}

function expectedText(list: string[]): string {
  if (list.length === 0) return "";
  const shown = list.length > 24 ? [...list.slice(0, 24), "…"] : list;
  return `; expected ${shown.join(", ")}`;
}

/** Parses one file. `grammar` is for tests of the parser itself (e.g. an ambiguous grammar). */
/** Deeper nesting than this is refused before parsing (each level costs the Earley parser a full prediction). */
export const MAX_NESTING = 64;
/** `not not not …` chains longer than this are refused too. */
export const MAX_NOT_CHAIN = 64;

/** Where each top-level item starts (a keyword at bracket depth 0), found in the pre-check's pass. */
interface Start {
  line: number;
  col: number;
  offset: number;
}

const ITEM_KEYWORDS = new Set(["kw_requires", "kw_list", "kw_macro", "kw_rule", "kw_patch"]);

/** One pass over the tokens: nesting too deep (a diagnostic), else where the items start. */
function scan(file: string, text: string): Diagnostic | Start[] {
  let depth = 0;
  let nots = 0;
  const starts: Start[] = [];
  for (const t of tokens(text)) {
    const v =
      t.type === "lparen" || t.type === "lbracket" || t.type === "lbrace"
        ? 1
        : t.type === "rparen" || t.type === "rbracket" || t.type === "rbrace"
          ? -1
          : 0;
    depth = Math.max(0, depth + v);
    if (depth > MAX_NESTING)
      return diag(file, t, "HANGAR_ERR_RULE_SYNTAX", `brackets nested deeper than ${MAX_NESTING} levels`);
    if (t.type === "kw_not") {
      if (++nots > MAX_NOT_CHAIN)
        return diag(file, t, "HANGAR_ERR_RULE_SYNTAX", `more than ${MAX_NOT_CHAIN} "not" in a row`);
    } else if (t.type !== "ws" && t.type !== "nl" && t.type !== "comment") nots = 0;
    if (depth === 0 && ITEM_KEYWORDS.has(t.type ?? ""))
      starts.push({ line: t.line, col: t.col, offset: t.offset });
  }
  return starts;
}

/**
 * Parses the file item by item, each with a parser of its own: one Earley chart for a whole
 * file of 10,000 rules held 600 MB. The result is the whole file's parse when every piece parses
 * in exactly one way (the grammar's items concatenate); otherwise undefined, and the caller
 * parses the whole file, for the exact error.
 */
function parseByItem(text: string, starts: readonly Start[], grammar: nearley.Grammar): Item[] | undefined {
  const items: Item[] = [];
  for (let i = 0; i < starts.length; i++) {
    // The first piece starts at the top, so that anything before the first item is parsed too.
    const at = i === 0 ? { line: 1, col: 1, offset: 0 } : (starts[i] as Start);
    const end = starts[i + 1]?.offset ?? text.length;
    const parser = new nearley.Parser(grammar, { lexer: makeLexer(at) as unknown as nearley.Lexer });
    try {
      parser.feed(text.slice(at.offset, end));
    } catch {
      return undefined;
    }
    const results = parser.results as Item[][];
    if (results.length !== 1) return undefined;
    items.push(...(results[0] ?? []));
  }
  return items;
}

/** What to write instead, when the unexpected token is a Falco operator or a Falco-style list. */
function syntaxHint(tok: Token | undefined, text: string): string {
  if (tok === undefined) return "";
  if (tok.type === "path") {
    const instead = Object.hasOwn(FALCO_OPERATORS, tok.value) ? FALCO_OPERATORS[tok.value] : undefined;
    if (instead !== undefined) return ` (Falco's ${tok.value} operator: here use ${instead})`;
    if (tok.value === "iequals" || tok.value === "ieq")
      return ' (compare lowercase: lower(x) = "…"; icontains, istartswith and iendswith ignore case)';
  }
  if (tok.type === "lparen" && /(^|\s)in$/.test(text.slice(0, tok.offset).trimEnd()))
    return ' (lists are written in brackets: x in ["a", "b"], or @list)';
  return "";
}

export function parseSource(file: string, text: string, grammar: nearley.Grammar = compiled): ParseResult {
  const scanned = scan(file, text);
  if (!Array.isArray(scanned)) return { items: [], diagnostics: [scanned] };
  const byItem = scanned.length > 1 ? parseByItem(text, scanned, grammar) : undefined;
  if (byItem !== undefined) return finish(file, byItem);
  const parser = new nearley.Parser(grammar);
  try {
    parser.feed(text);
  } catch (err) {
    const e = err as { token?: Token; offset?: number };
    const table = (parser as unknown as { table: unknown[] }).table;
    const tok = e.token;
    const exp = expected(parser, table.length - 2);
    return {
      items: [],
      diagnostics: [
        diag(
          file,
          tok === undefined ? undefined : tok,
          "HANGAR_ERR_RULE_SYNTAX",
          `unexpected ${describeToken(tok)}${expectedText(exp)}${syntaxHint(tok, text)}`,
        ),
      ],
    };
  }
  const results = parser.results as Item[][];
  if (results.length === 0) {
    const lines = text.split("\n");
    const last = lines.length;
    const col = (lines[last - 1]?.length ?? 0) + 1;
    const table = (parser as unknown as { table: unknown[] }).table;
    return {
      items: [],
      diagnostics: [
        diag(
          file,
          { line: last, col, offset: text.length },
          "HANGAR_ERR_RULE_SYNTAX",
          `unexpected end of input${expectedText(expected(parser, table.length - 1))}`,
        ),
      ],
    };
  }
  if (results.length > 1) {
    return {
      items: [],
      diagnostics: [
        diag(
          file,
          { line: 1, col: 1, offset: 0 },
          "HANGAR_ERR_RULE_AMBIGUOUS",
          `the file parses in ${results.length} ways; this is a bug in the grammar (grammar.ne)`,
        ),
      ],
    };
  }
  return finish(file, results[0] ?? []);
}

function finish(file: string, items: Item[]): ParseResult {
  balanceChains(items);
  for (const it of items) {
    if (it.t === "rule" || it.t === "patch")
      for (const ri of it.items) if (ri.t === "except") ri.exc.file = file;
  }
  return { items, diagnostics: [] };
}

type Chain = Extract<Expr, { t: "and" | "or" }>;

function isChain(x: unknown): x is Chain {
  const t = (x as { t?: unknown } | null)?.t;
  return typeof x === "object" && x !== null && (t === "and" || t === "or") && "l" in x && "r" in x;
}

/**
 * Rebuilds every `and`/`or` chain as a balanced tree, in place and without recursion: the
 * grammar builds `a or b or c …` leaning left, one level per term, and every later pass (type
 * check, lowering, the closures at run time) recurses over it, so 5,000 terms overflowed the
 * call stack with no place named. Balanced, 5,000 terms are 13 levels. The terms keep their
 * order, so evaluation (and short-circuiting) is as written.
 */
export function balanceChains(root: unknown): void {
  const todo: unknown[] = [root];
  const seen = new Set<object>();
  while (todo.length > 0) {
    const node = todo.pop();
    if (typeof node !== "object" || node === null || seen.has(node)) continue;
    seen.add(node);
    const slots = node as Record<string, unknown>;
    for (const key of Object.keys(slots)) {
      const child = slots[key];
      // eslint-disable-next-line hangar/no-string-key-write -- key from Object.keys of the parser's own AST node (an own property): replaces that child in place
      if (isChain(child)) slots[key] = balanced(child, todo);
      else todo.push(child);
    }
  }
}

/** The chain of one operator starting at `top` as a balanced tree; its terms are queued on `todo`. */
function balanced(top: Chain, todo: unknown[]): Expr {
  const op = top.t;
  const terms: Expr[] = [];
  const ops: Loc[] = [];
  // In order: left term, operator, right term; parentheses do not matter (and, or associate).
  const walk: (Expr | { sep: Loc })[] = [top];
  while (walk.length > 0) {
    const x = walk.pop() as Expr | { sep: Loc };
    if ("sep" in x) ops.push(x.sep);
    else if (x.t === op && isChain(x)) walk.push(x.r, { sep: x.loc }, x.l);
    else if (isChain(x))
      terms.push(balanced(x, todo)); // the other operator: `a or b and c and d`
    else {
      terms.push(x);
      todo.push(x);
    }
  }
  const build = (lo: number, hi: number): Expr => {
    if (hi - lo === 1) return terms[lo] as Expr;
    const mid = (lo + hi) >>> 1;
    return { t: op, l: build(lo, mid), r: build(mid, hi), loc: ops[mid - 1] as Loc };
  };
  return build(0, terms.length);
}
