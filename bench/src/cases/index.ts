/** The registry of cases, in run order (ceilings first). */
import type { BenchCase } from "./case.js";
import { baselineLearn } from "./baseline-learn.js";
import { baselineLookup40k, baselineSet40k } from "./baseline-lookup.js";
import { baselineMemory } from "./baseline-memory-1000-providers.js";
import { decodeTetragonExec } from "./decode-tetragon-exec.js";
import { decodeHubbleLazy, decodeProbeRecords, decodeTetragonLazy } from "./decode-lazy.js";
import { pipelineIntake, pipelineIntakeHubble, pipelineIntakeRules } from "./pipeline-intake.js";
import { normalizeTetragonMixed } from "./normalize-tetragon-mixed.js";
import { correlateOverlappingCalls } from "./correlate-overlapping-calls.js";
import { proxyToolsCall } from "./proxy-tools-call.js";
import { proxyLargeResponse } from "./proxy-large-response.js";
import { proxyThroughput } from "./proxy-throughput.js";
import { proxyReplicas } from "./proxy-replicas.js";
import { probeOverhead } from "./probe-overhead.js";
import { exportCefTcp } from "./export-cef-tcp.js";
import { hubOutboxDisk } from "./hub-outbox-disk.js";
import { enforceAlertToPolicy } from "./enforce-alert-to-policy.js";
import { detectDefaultPack } from "./detect-default-pack.js";
import { detectSingleEvent50 } from "./detect-single-event-50.js";
import { detectSequenceKeys } from "./detect-sequence-keys.js";
import { compile1000Rules } from "./compile-1000-rules.js";
import { detectRegexPathological } from "./detect-regex-pathological.js";
import { compile10kRulesLint } from "./compile-10k-rules-lint.js";
import { replayCorpus } from "./replay-corpus.js";
import { agentSteady } from "./agent-steady.js";
import { hubAgents } from "./hub-agents.js";

export type { BenchCase, CaseContext } from "./case.js";
export {
  baselineSet40k,
  baselineLookup40k,
  baselineLearn,
  baselineMemory,
  decodeTetragonExec,
  decodeTetragonLazy,
  decodeHubbleLazy,
  decodeProbeRecords,
  normalizeTetragonMixed,
  pipelineIntake,
  pipelineIntakeRules,
  pipelineIntakeHubble,
  probeOverhead,
  correlateOverlappingCalls,
  proxyToolsCall,
  proxyLargeResponse,
  proxyThroughput,
  proxyReplicas,
  exportCefTcp,
  hubOutboxDisk,
  enforceAlertToPolicy,
  detectSingleEvent50,
  detectDefaultPack,
  detectSequenceKeys,
  compile1000Rules,
  replayCorpus,
  detectRegexPathological,
  compile10kRulesLint,
  agentSteady,
  hubAgents,
};

export const CASES: readonly BenchCase[] = [
  decodeTetragonExec,
  decodeTetragonLazy,
  decodeHubbleLazy,
  decodeProbeRecords,
  normalizeTetragonMixed,
  pipelineIntake,
  pipelineIntakeRules,
  pipelineIntakeHubble,
  probeOverhead,
  correlateOverlappingCalls,
  proxyToolsCall,
  proxyLargeResponse,
  proxyThroughput,
  proxyReplicas,
  baselineSet40k,
  baselineLookup40k,
  baselineLearn,
  baselineMemory,
  exportCefTcp,
  hubOutboxDisk,
  enforceAlertToPolicy,
  detectSingleEvent50,
  detectDefaultPack,
  detectSequenceKeys,
  compile1000Rules,
  replayCorpus,
  detectRegexPathological,
  compile10kRulesLint,
  agentSteady,
  hubAgents,
];
