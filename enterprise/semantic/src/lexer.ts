/**
 * The moo lexer of the Hangar rule language. Whitespace, newlines and comments
 * are skipped here so that the grammar never sees them; every token keeps its
 * line, column and offset for diagnostics. Keywords are reserved only as whole
 * words: a dotted path such as `exit.status` is one `path` token.
 */
import moo from "moo";

export const KEYWORDS = [
  "rule",
  "list",
  "macro",
  "patch",
  "requires",
  "engine",
  "description",
  "severity",
  "mitre",
  "maturity",
  "version",
  "message",
  "event",
  "sequence",
  "by",
  "maxspan",
  "until",
  "where",
  "within",
  "runs",
  "not",
  "and",
  "or",
  "in",
  "exists",
  "contains",
  "startswith",
  "endswith",
  "icontains",
  "istartswith",
  "iendswith",
  "glob",
  "regex",
  "cidr",
  "baseline",
  "count",
  "distinct",
  "of",
  "over",
  "except",
  "action",
  "cooldown",
  "learning",
  "test",
  "at",
  "expect",
  "match",
  "no",
  "suppressed",
  "true",
  "false",
  "enabled",
  "disabled",
] as const;

const keywordTypes: Record<string, string> = Object.fromEntries(KEYWORDS.map((k) => [`kw_${k}`, k]));

const rules: moo.Rules = {
  ws: /[ \t\r]+/,
  nl: { match: /\n/, lineBreaks: true },
  comment: /#[^\n]*/,
  string: { match: /"(?:\\[^]|[^"\\])*"/, lineBreaks: true },
  rawstring: /'[^'\n]*'/,
  duration: /\d+(?:ms|s|m|h|d)\b/,
  // eslint-disable-next-line security/detect-unsafe-regex -- linear: repetitions separated by a literal dot (moo token)
  number: /-?\d+(?:\.\d+)?\b/,
  listref: /@[A-Za-z_][A-Za-z0-9_]*/,
  path: {
    // eslint-disable-next-line security/detect-unsafe-regex -- linear: repetitions separated by a literal dot (moo token)
    match: /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*/,
    type: moo.keywords(keywordTypes),
  },
  op: ["==", "!=", "<=", ">=", "<", ">", "="],
  lbrace: "{",
  rbrace: "}",
  lparen: "(",
  rparen: ")",
  lbracket: "[",
  rbracket: "]",
  comma: ",",
  colon: ":",
  invalid: { match: /[^]/, lineBreaks: true },
};

const SKIP = new Set(["ws", "nl", "comment"]);

/**
 * A moo lexer that drops whitespace and comments (the nearley lexer interface). `at`: where
 * the text it is fed starts in its file, for parsing a file item by item with the places of
 * the whole file.
 */
export function makeLexer(at?: { line: number; col: number; offset: number }): moo.Lexer {
  const base = moo.compile(rules);
  const wrapped = Object.create(base) as moo.Lexer;
  const shift = at?.offset ?? 0;
  wrapped.next = function next(): moo.Token | undefined {
    for (;;) {
      const t = base.next();
      if (t === undefined) return t;
      if (SKIP.has(t.type ?? "")) continue;
      t.offset += shift;
      return t;
    }
  };
  wrapped.reset = function reset(chunk?: string, state?: moo.LexerState): moo.Lexer {
    base.reset(
      chunk,
      state ?? (at === undefined ? undefined : { ...base.save(), line: at.line, col: at.col }),
    );
    return wrapped;
  };
  wrapped.save = () => base.save();
  wrapped.formatError = (t: moo.Token, m?: string) => base.formatError(t, m);
  wrapped.has = (name: string) => base.has(name);
  return wrapped;
}

export const lexer = makeLexer();

const raw = moo.compile(rules);

/** The tokens of a source one by one, whitespace and comments included (for pre-checks and tools). */
export function* tokens(source: string): Generator<moo.Token> {
  const l = raw.reset(source);
  for (let t = l.next(); t !== undefined; t = l.next()) yield t;
}
