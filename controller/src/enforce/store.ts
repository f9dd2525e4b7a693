/**
 * Where enforcement records live. The controller keeps them as ConfigMaps in
 * its own namespace (one per enforcement, labelled as its own), so a replica
 * that takes over the Lease finds every active enforcement, its prior state and
 * its expiry; `MemoryStore` is for unit tests.
 */
import type { Action, Mode } from "./policy.js";
import type { KubeApi, KubeObject } from "../kube/kube.js";
import { MANAGED_BY, MANAGED_BY_LABEL } from "./generate.js";

export type RecordState = "pending" | "audited" | "applied" | "reverted" | "expired" | "refused" | "failed";

/** A request as the enforcer takes it (from the hub, the REST API or a test). */
export interface EnforcementInput {
  /** The requester's id; the same id submitted twice is one enforcement. */
  id: string;
  alertId: string;
  ruleId: string;
  provider: string;
  namespace: string;
  action: Action;
  destination?: string;
  ttlSeconds?: number;
  reason?: string;
  node?: string;
}

export interface HistoryEntry {
  time: string;
  state: RecordState;
  actor: string;
  message?: string;
}

export interface EnforcementRecord {
  id: string;
  request: EnforcementInput;
  mode: Mode;
  /** Which policy entry decided the mode. */
  modeSource: string;
  state: RecordState;
  actor: string;
  objectKind?: string;
  objectName?: string;
  /** The exact object applied, or that audit would apply. */
  manifest?: KubeObject;
  /** Unified diff against what existed. */
  diff: string;
  notes: string[];
  /** The object before this enforcement (API-server fields removed); null: it did not exist. */
  prior?: KubeObject | null;
  appliedResourceVersion?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  error?: string;
  /** The ControllerError code of `error`, when it has one (e.g. HANGAR_ERR_ENFORCE_UNMANAGED). */
  errorCode?: string;
  /** A revert asked for on a replica without the Lease, for the leader to carry out. */
  revertRequest?: { actor: string; time: string };
  history: HistoryEntry[];
}

export interface EnforcementStore {
  put(record: EnforcementRecord): Promise<void>;
  get(id: string): Promise<EnforcementRecord | undefined>;
  /** All records, or only those in `states`. */
  list(states?: readonly RecordState[]): Promise<EnforcementRecord[]>;
  /** Removes a record (retention); no error when it is already gone. */
  delete(id: string): Promise<void>;
}

export class MemoryStore implements EnforcementStore {
  readonly #records = new Map<string, EnforcementRecord>();
  put(record: EnforcementRecord): Promise<void> {
    this.#records.set(record.id, structuredClone(record));
    return Promise.resolve();
  }
  get(id: string): Promise<EnforcementRecord | undefined> {
    const r = this.#records.get(id);
    return Promise.resolve(r === undefined ? undefined : structuredClone(r));
  }
  list(states?: readonly RecordState[]): Promise<EnforcementRecord[]> {
    return Promise.resolve(
      [...this.#records.values()]
        .filter((r) => states === undefined || states.includes(r.state))
        .map((r) => structuredClone(r)),
    );
  }
  delete(id: string): Promise<void> {
    this.#records.delete(id);
    return Promise.resolve();
  }
}

export const RECORD_LABEL = "mcp-hangar.io/record";
export const STATE_LABEL = "mcp-hangar.io/enforcement-state";

/** Records as ConfigMaps `hangar-enforcement-<id>` in `namespace`, written by server-side apply. */
export class ConfigMapStore implements EnforcementStore {
  readonly #kube: KubeApi;
  readonly #namespace: string;
  readonly #fieldManager: string;

  constructor(kube: KubeApi, namespace: string, fieldManager = "hangar-controller") {
    this.#kube = kube;
    this.#namespace = namespace;
    this.#fieldManager = fieldManager;
  }

  #path(id?: string): string {
    const base = `/api/v1/namespaces/${this.#namespace}/configmaps`;
    return id === undefined ? base : `${base}/hangar-enforcement-${id}`;
  }

  async put(record: EnforcementRecord): Promise<void> {
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: `hangar-enforcement-${record.id}`,
        namespace: this.#namespace,
        labels: {
          [MANAGED_BY_LABEL]: MANAGED_BY,
          [RECORD_LABEL]: "enforcement",
          [STATE_LABEL]: record.state,
        },
      },
      data: { "record.json": JSON.stringify(record) },
    };
    await this.#kube.call({
      method: "PATCH",
      path: this.#path(record.id),
      body: cm,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: this.#fieldManager, force: "true" },
    });
  }

  async get(id: string): Promise<EnforcementRecord | undefined> {
    const cm = await this.#kube.get(this.#path(id));
    return cm === undefined ? undefined : parseRecord(cm);
  }

  async list(states?: readonly RecordState[]): Promise<EnforcementRecord[]> {
    // The state is a label, so the leader's every-second look at pending and applied
    // records does not fetch the history.
    const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY},${RECORD_LABEL}=enforcement${
      states === undefined ? "" : `,${STATE_LABEL} in (${states.join(",")})`
    }`;
    const res = await this.#kube.call({
      method: "GET",
      path: this.#path(),
      query: { labelSelector: selector },
    });
    const items = (res.body as { items?: KubeObject[] }).items ?? [];
    return items.map(parseRecord).filter((r): r is EnforcementRecord => r !== undefined);
  }

  async delete(id: string): Promise<void> {
    await this.#kube.call({ method: "DELETE", path: this.#path(id) }, [200, 202, 404]);
  }
}

function parseRecord(cm: KubeObject): EnforcementRecord | undefined {
  const data = (cm["data"] as Record<string, string> | undefined)?.["record.json"];
  if (data === undefined) return undefined;
  try {
    return JSON.parse(data) as EnforcementRecord;
  } catch {
    return undefined;
  }
}
