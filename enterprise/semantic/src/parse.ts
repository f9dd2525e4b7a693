/**
 * Parsing: text → syntax tree, or diagnostics with the place. The grammar is
 * compiled from grammar.ne; more than one parse is reported as a grammar bug
 * (HANGAR_ERR_RULE_AMBIGUOUS), never resolved by picking one.
 */
import nearley from "nearley";
import type { Item, Token } from "./ast.js";
import { diag, type Diagnostic } from "./diagnostics.js";
import grammar from "./grammar.js";
import { FALCO_OPERATORS } from "./falco.js";
import { tokens } from "./lexer.js";

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

function nestingProblem(file: string, text: string): Diagnostic | undefined {
  let depth = 0;
  let nots = 0;
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
  }
  return undefined;
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
  const tooDeep = nestingProblem(file, text);
  if (tooDeep !== undefined) return { items: [], diagnostics: [tooDeep] };
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
  const items = results[0] ?? [];
  for (const it of items) {
    if (it.t === "rule" || it.t === "patch")
      for (const ri of it.items) if (ri.t === "except") ri.exc.file = file;
  }
  return { items, diagnostics: [] };
}
