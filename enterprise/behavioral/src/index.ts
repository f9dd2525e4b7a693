/**
 * @hangar/behavioral (BSL 1.1): behavioral baselines per provider in DuckDB.
 * The agent loads it by package name (`createBaselineStore`); hangar-ctl loads
 * the file operations (`listProviders`, `showBaseline`, `applyToFile`,
 * `exportParquet`); the controller merges agents' deltas (`mergeDeltas`).
 */
import { DuckDbBaselineStore, type BaselineStoreOptions } from "./store.js";

export {
  DuckDbBaselineStore,
  LEARNING_WINDOW_KEY,
  parseDuration,
  type BaselineStoreOptions,
} from "./store.js";
export { BehavioralError, BehavioralErrorCodes, type BehavioralErrorCode } from "./errors.js";
export { BaselineDb, MIGRATIONS, type Migration, type ProviderRecord, type ItemRecord } from "./db.js";
export { BaselineView, type Match } from "./view.js";
export { CidrTrie, PathPrefixTrie, DnsNameSet } from "./tries.js";
export {
  FACETS,
  argumentShape,
  egressValue,
  fileValue,
  isSensitivePath,
  parseEgress,
  type FacetName,
} from "./facets.js";
export { collapseItems, DEFAULT_THRESHOLDS, type Item, type CollapseThresholds } from "./collapse.js";
export { Profile } from "./profile.js";
export { robustStats, rateThreshold, RateTracker } from "./rates.js";
export {
  listProviders,
  showBaseline,
  applyToFile,
  exportParquet,
  windowText,
  type BaselineReport,
  type ProviderSummaryReport,
  type ReportItem,
  type ActionResult,
} from "./ops.js";
export {
  takeDelta,
  summaryOf,
  mergeDeltas,
  mergedBaselines,
  validateDelta,
  type MergeResult,
} from "./merge.js";

/** The agent's entry point (agent/src/bootstrap/plugins.ts): `{ db, learn }` plus optional tuning. */
export function createBaselineStore(options: BaselineStoreOptions): Promise<DuckDbBaselineStore> {
  return DuckDbBaselineStore.open(options);
}
