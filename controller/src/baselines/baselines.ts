/**
 * The baseline view port: what the controller reads of learned baselines (the
 * REST routes `/v1/providers` and `/v1/providers/:name/baseline`, and the
 * egress allow-list of `tighten_egress`). Core defines it; the baseline engine
 * (`@hangar/behavioral`, loaded only through `bootstrap/plugins.ts`) implements
 * it over its DuckDB file. The shapes follow that engine's reports.
 */
import type { hangar } from "@hangar/proto";
import { loadBehavioral } from "../bootstrap/plugins.js";

export interface ProviderSummary {
  provider: string;
  /** learning | enforcing | frozen …, as the engine names it. */
  state: string;
  [field: string]: unknown;
}

export interface BaselineEntry {
  value: string;
  qualifier?: string;
  count?: number;
  [field: string]: unknown;
}

export interface ProviderBaseline extends ProviderSummary {
  /** Facet name (`egress`, `dns`, `binary`, `file`, `tool`) → entries. */
  facets: Record<string, BaselineEntry[]>;
}

export interface BaselineViewPort {
  providers(): Promise<ProviderSummary[]>;
  /** undefined when the provider has no baseline. */
  baseline(provider: string): Promise<ProviderBaseline | undefined>;
}

/** No baseline engine configured: no providers, no baselines. */
export class NoBaselineView implements BaselineViewPort {
  providers(): Promise<ProviderSummary[]> {
    return Promise.resolve([]);
  }
  baseline(): Promise<ProviderBaseline | undefined> {
    return Promise.resolve(undefined);
  }
}

/** An in-memory view (tests, and a controller fed by merged baselines). */
export class MemoryBaselineView implements BaselineViewPort {
  readonly #baselines = new Map<string, ProviderBaseline>();

  set(b: ProviderBaseline): void {
    this.#baselines.set(b.provider, b);
  }
  providers(): Promise<ProviderSummary[]> {
    return Promise.resolve(
      [...this.#baselines.values()].map(({ facets, ...summary }) => ({
        ...summary,
        items: Object.fromEntries(Object.entries(facets).map(([f, e]) => [f, e.length])),
      })),
    );
  }
  baseline(provider: string): Promise<ProviderBaseline | undefined> {
    return Promise.resolve(this.#baselines.get(provider));
  }
}

/** The engine's error codes for "no such provider" and "no database file yet". */
const codeOf = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
const NO_DB = (err: unknown): boolean =>
  codeOf(err) === "HANGAR_ERR_BASELINE_DB_OPEN" &&
  /no baseline database/i.test(err instanceof Error ? err.message : "");
const NO_BASELINE = (err: unknown): boolean => codeOf(err) === "HANGAR_ERR_BASELINE_PROVIDER" || NO_DB(err);

interface BehavioralOps {
  listProviders(path: string): Promise<ProviderSummary[]>;
  showBaseline(path: string, provider: string): Promise<ProviderBaseline>;
}

/**
 * The baseline engine's view over its DuckDB file at `dbPath`, loaded through
 * `loadBehavioral()`; throws `HANGAR_ERR_PLUGIN_LOAD` when the build lacks it.
 */
export async function behavioralBaselineView(dbPath: string): Promise<BaselineViewPort> {
  const ops = await loadBehavioral<BehavioralOps>(["listProviders", "showBaseline"]);
  return {
    providers: async () => {
      try {
        return await ops.listProviders(dbPath);
      } catch (err) {
        // No database yet (no agent has sent a delta): no providers.
        if (NO_DB(err)) return [];
        throw err;
      }
    },
    baseline: async (provider) => {
      try {
        return await ops.showBaseline(dbPath, provider);
      } catch (err) {
        if (NO_BASELINE(err)) return undefined;
        throw err;
      }
    },
  };
}

/** Egress entries (ip/cidr with port and protocol) and DNS names of a provider's baseline. */
export async function baselineEgress(
  view: BaselineViewPort,
  provider: string,
): Promise<{ egress: string[]; dns: string[] }> {
  const b = await view.baseline(provider);
  if (b === undefined) return { egress: [], dns: [] };
  return {
    egress: (b.facets["egress"] ?? []).map((e) => e.value),
    dns: (b.facets["dns"] ?? []).map((e) => e.value),
  };
}

/** Where agents' baseline deltas go: the cluster-wide merge. Resolves once the delta is stored. */
export interface BaselineMergePort {
  merge(delta: hangar.BaselineDelta): Promise<void>;
  /**
   * The merged baselines as agents receive them: one provider's, or (no argument) every
   * provider's. Empty before any delta was merged.
   */
  merged(provider?: string): Promise<hangar.MergedBaseline[]>;
}

interface BehavioralMerge {
  mergeDeltas(path: string, deltas: readonly hangar.BaselineDelta[]): Promise<unknown>;
  mergedBaselines(path: string, provider?: string): Promise<hangar.MergedBaseline[]>;
}

/** The baseline engine's merge into its DuckDB file at `dbPath` (through `loadBehavioral()`). */
export async function behavioralBaselineMerge(dbPath: string): Promise<BaselineMergePort> {
  const ops = await loadBehavioral<BehavioralMerge>(["mergeDeltas", "mergedBaselines"]);
  return {
    merge: async (delta) => {
      await ops.mergeDeltas(dbPath, [delta]);
    },
    merged: (provider) => ops.mergedBaselines(dbPath, provider),
  };
}
