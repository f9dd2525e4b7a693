/**
 * The syntax tree of a rule file, as the parser builds it. Every node carries
 * the place it starts (`loc`) so that later stages report `path:line:col`.
 */

export interface Loc {
  line: number;
  col: number;
  offset: number;
}

export interface Token {
  type?: string | undefined;
  value: string;
  text: string;
  line: number;
  col: number;
  offset: number;
}

// ── expressions ──────────────────────────────────────────────────────────────
export type Literal =
  | { t: "str"; v: string; loc: Loc }
  | { t: "num"; v: number; loc: Loc }
  | { t: "dur"; v: number; text: string; loc: Loc }
  | { t: "bool"; v: boolean; loc: Loc };

/** An item of a list in a condition or a list definition: a literal, or another list (`@name`). */
export type ListItem = Literal | { t: "listref"; name: string; loc: Loc };

export type Value =
  | Literal
  | { t: "path"; name: string; loc: Loc }
  | { t: "list"; items: ListItem[]; loc: Loc }
  | { t: "listref"; name: string; loc: Loc }
  | { t: "call"; name: string; args: Expr[]; loc: Loc };

export type CmpOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
export type StrOp =
  | "contains"
  | "startswith"
  | "endswith"
  | "glob"
  | "regex"
  | "cidr"
  | "icontains"
  | "istartswith"
  | "iendswith";

export type Expr =
  | Value
  | { t: "and" | "or"; l: Expr; r: Expr; loc: Loc }
  | { t: "not"; e: Expr; loc: Loc }
  | { t: "cmp"; op: CmpOp; l: Value; r: Value; loc: Loc }
  | { t: "in"; neg: boolean; l: Value; r: Value; loc: Loc }
  | { t: "strop"; op: StrOp; l: Value; r: Value; loc: Loc }
  | { t: "exists"; v: Value; loc: Loc }
  | { t: "baseline"; neg: boolean; v: Value; facet: string; facetLoc: Loc; loc: Loc };

// ── rules ────────────────────────────────────────────────────────────────────
export interface Name {
  name: string;
  loc: Loc;
}

export interface Step {
  name: string;
  loc: Loc;
  negated: boolean;
  kind: Name;
  where?: Expr;
  by: Name[];
  runs?: { n: number; loc: Loc };
  within?: { ms: number; loc: Loc };
}

export type Condition =
  | { t: "event"; kind: Name; where?: Expr; loc: Loc }
  | {
      t: "sequence";
      by: Name[];
      maxspan?: { ms: number; loc: Loc };
      steps: Step[];
      until?: { kind: Name; where?: Expr; by: Name[]; loc: Loc };
      loc: Loc;
    }
  | {
      t: "threshold";
      fn: "count" | "distinct";
      field?: Name;
      kind: Name;
      where?: Expr;
      by: Name[];
      windowMs: number;
      op: ">=" | ">";
      opLoc: Loc;
      limit: number;
      loc: Loc;
    };

export interface Exception {
  name: string;
  where: Expr;
  loc: Loc;
  /** The file that declared it (a patch may add exceptions from another file). */
  file: string;
}

export interface ActionSpec {
  name: string;
  args: Expr[];
  loc: Loc;
}

export interface TestEvent {
  atMs: number;
  kind: Name;
  fields: { name: string; value: Literal | { t: "list"; items: Literal[]; loc: Loc }; loc: Loc }[];
  loc: Loc;
}

export type Expectation =
  | { t: "match"; steps?: Name[]; loc: Loc }
  | { t: "nomatch"; loc: Loc }
  | { t: "suppressed"; exception: Name; loc: Loc };

export interface TestCase {
  name: string;
  loc: Loc;
  events: TestEvent[];
  expects: Expectation[];
  baseline: { facet: Name; values: Literal[] }[];
  learning: boolean;
}

/** An immutable list cell, as the grammar collects lists: extending never touches what other derivations hold. */
export interface Cons<T> {
  prev: Cons<T> | null;
  item: T;
}

export type RuleItem =
  | { t: "meta"; key: string; value: string | number | Name[]; loc: Loc; valueLoc: Loc }
  | { t: "cond"; cond: Condition; loc: Loc }
  | { t: "except"; exc: Exception; loc: Loc }
  /** Actions as the grammar collects them (see build.ts `cons`); read them with `flat()`. */
  | { t: "action"; actions: Cons<ActionSpec>; loc: Loc }
  | { t: "cooldown"; ms: number; by: Name[]; loc: Loc }
  | { t: "learning"; mode: string; loc: Loc }
  | { t: "test"; test: TestCase; loc: Loc }
  | { t: "enabled"; v: boolean; loc: Loc };

export type Item =
  | { t: "requires"; range: string; loc: Loc; valueLoc: Loc }
  | { t: "list"; name: string; items: ListItem[]; loc: Loc }
  | { t: "macro"; name: string; params: Name[]; body: Expr; loc: Loc }
  | { t: "rule"; id: string; items: RuleItem[]; loc: Loc }
  | { t: "patch"; id: string; items: RuleItem[]; loc: Loc };
