/** The registry of cases, in run order (ceilings first). */
import type { BenchCase } from "./case.js";
import { decodeTetragonExec } from "./decode.js";
import { pipelineIntake } from "./intake.js";
import { normalizeTetragonMixed } from "./normalize.js";

export type { BenchCase, CaseContext } from "./case.js";
export { decodeTetragonExec, normalizeTetragonMixed, pipelineIntake };

export const CASES: readonly BenchCase[] = [decodeTetragonExec, normalizeTetragonMixed, pipelineIntake];
