// Public API of @hangar/bench (private): the cases and the runner, for scripts and tests.
export { CASES, decodeTetragonExec, normalizeTetragonMixed, pipelineIntake } from "./cases/index.js";
export type { BenchCase, CaseContext } from "./cases/index.js";
export { runCases, runHere, selectCases, defaultWarmup, median, type RunOptions } from "./runner.js";
export {
  LatencyRecorder,
  MemoryPeak,
  percentile,
  runSync,
  table,
  toResult,
  withRatio,
  type BenchResult,
  type Measurement,
} from "./harness.js";
export { execMessages, mixedMessages, encode, fixture, type FixtureKind } from "./fixtures.js";
