/** The compiled form of rules that the engine runs: closures and plain data, no syntax tree on the hot path. */
import type { BaselineLookup } from "@hangar/core";
import { hangar } from "@hangar/proto";
import type { Loc, TestCase } from "./ast.js";
import type { Facet } from "./schema.js";

type RuntimeEvent = hangar.RuntimeEvent;

/** Evaluation state shared by the closures of one engine (one object, reused). */
export interface Env {
  /** Events bound to earlier steps of the partial match being tested (by slot). */
  steps: readonly (RuntimeEvent | undefined)[];
  /** Set by a baseline predicate that was answered "learning" or "none". */
  learning: boolean;
  baseline: BaselineLookup | undefined;
}

export type Fn = (ev: RuntimeEvent, env: Env) => unknown;
export type Pred = (ev: RuntimeEvent, env: Env) => boolean;

export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type SeverityName = (typeof SEVERITIES)[number];
export const MATURITIES = ["stable", "incubating", "sandbox"] as const;

export function severityEnum(s: SeverityName): hangar.Severity {
  switch (s) {
    case "info":
      return hangar.Severity.INFO;
    case "low":
      return hangar.Severity.LOW;
    case "medium":
      return hangar.Severity.MEDIUM;
    case "high":
      return hangar.Severity.HIGH;
    case "critical":
      return hangar.Severity.CRITICAL;
  }
}

export interface RuleMeta {
  id: string;
  file: string;
  loc: Loc;
  description: string;
  severity: SeverityName;
  mitre: string[];
  maturity: string;
  version: number;
  engine: string | undefined;
}

export interface CompiledException {
  name: string;
  file: string;
  loc: Loc;
  pred: Pred;
}

export type CompiledAction =
  | { type: "alert" }
  | { type: "block_egress"; dest: Fn; destText: string; ttlMs: number }
  | { type: "quarantine"; ttlMs: number };

export type LearningPolicy =
  { mode: "skip" } | { mode: "alert" } | { mode: "severity"; severity: SeverityName };

/** A baseline predicate, kept to explain an alert: which value was looked up where. */
export interface BaselineProbe {
  facet: Facet;
  negated: boolean;
  /** Slot of the event the value is read from (0 for single-event rules). */
  slot: number;
  text: string;
  value: Fn;
}

/** One conjunct of a step's condition, kept to explain a test that did not match. */
export interface Conjunct {
  pred: Pred;
  /** The conjunct as rule text. */
  text(): string;
  /** The fields it reads (not constants) and their values for `ev`. */
  values(ev: RuntimeEvent, env: Env): [string, unknown][];
}

/** A positive step (or a single-event rule's event) and its conjuncts, for explanations. */
export interface StepWhy {
  step: string;
  kind: hangar.EventKind;
  /** The slot an event matching this step is bound to. */
  slot: number;
  conjuncts: Conjunct[];
}

/** Renders the message from the events bound to each slot (and the count, for thresholds). */
export type Template = (events: readonly RuntimeEvent[], count: number) => string;

interface RuleBase {
  meta: RuleMeta;
  exceptions: CompiledException[];
  actions: CompiledAction[];
  learning: LearningPolicy;
  cooldown: { ms: number; key: Fn[] } | undefined;
  message: Template;
  probes: BaselineProbe[];
  enabled: boolean;
  tests: TestCase[];
  /** Names of the bound slots, in order (a single-event rule has one slot named after its kind). */
  slotNames: string[];
  /** The join key's fields, as written (for explanations). */
  keyNames: string[];
  /** Each positive step's conjuncts, in order: what a failing test's explanation evaluates. */
  why: StepWhy[];
}

export interface EventRule extends RuleBase {
  t: "event";
  kind: hangar.EventKind;
  where: Pred;
}

export interface SeqStep {
  name: string;
  kind: hangar.EventKind;
  negated: boolean;
  /** The part of the condition that reads only this event. */
  local: Pred | undefined;
  /** The part that reads earlier steps. */
  ref: Pred | undefined;
  /** Join key: the sequence's `by` fields, then the step's own. */
  key: Fn[];
  /** Positive steps: their slot. Negative steps: the slot (gap) whose partial they cancel. */
  slot: number;
  withinMs: number | undefined;
}

export interface SequenceRule extends RuleBase {
  t: "sequence";
  maxspanMs: number;
  /** Positive steps in order (a step with `runs N` appears N times). */
  positives: SeqStep[];
  negatives: SeqStep[];
  until: { kind: hangar.EventKind; local: Pred | undefined; ref: Pred | undefined; key: Fn[] } | undefined;
}

export interface ThresholdRule extends RuleBase {
  t: "threshold";
  fn: "count" | "distinct";
  kind: hangar.EventKind;
  where: Pred | undefined;
  key: Fn[];
  field: Fn | undefined;
  windowMs: number;
  /** Events (count) or distinct values needed to fire. */
  needed: number;
}

export type CompiledRule = EventRule | SequenceRule | ThresholdRule;
