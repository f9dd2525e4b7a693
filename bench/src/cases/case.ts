/** What a benchmark case is: a name, its ceiling, a default size, and how to run it once. */
import type { Measurement } from "../harness.js";

export interface CaseContext {
  /** Events in the measured window. */
  events: number;
  /** Events processed before measuring (JIT, caches, connections). */
  warmup: number;
  /** Progress and diagnostics, to stderr. */
  log: (message: string) => void;
  /** Intake only: run the simulator in a child process (default) or in this process. */
  simulator: "child" | "inline";
  /** Steady-state cases (`agent/steady`, `hub/agents`): how long to run, seconds (`--duration`). */
  durationSec?: number;
}

export interface BenchCase {
  readonly name: string;
  /** One sentence: what is measured. */
  readonly description: string;
  /** How p50/p99 are obtained for this case. */
  readonly latency: string;
  /** The case whose events/s this one is compared to, if any. */
  readonly ceiling?: string;
  /** Sized so that the case runs 2–3 s on the reference machine (2 cores). */
  readonly defaultEvents: number;
  /**
   * A steady-state case: it runs for a time (`--duration`, or its events at its rate) and
   * reports the events that passed in it, not exactly the events asked for.
   */
  readonly timeBased?: boolean;
  /**
   * Why the case cannot run on this machine (e.g. it needs root and a kernel with BTF), or
   * undefined. A case that says so is reported as skipped with that reason, not as failed.
   */
  unavailable?(): Promise<string | undefined>;
  run(ctx: CaseContext): Promise<Measurement>;
}
