/**
 * The enforcer: enforcement requests in, NetworkPolicy changes (or audit
 * records) out. Audit is the default and applies nothing; enforce applies by
 * server-side apply with its own field manager, only to objects labelled as
 * its own, records the exact prior state, and undoes it on TTL expiry or on
 * `revert`. Only the replica holding the Lease changes objects; the others
 * store requests as `pending` records for it.
 */
import { createHash, randomBytes } from "node:crypto";
import { ControllerError } from "../errors.js";
import { baselineEgress, NoBaselineView, type BaselineViewPort } from "../baselines/baselines.js";
import { comparable, unifiedDiff } from "./diff.js";
import {
  ANN_ENFORCEMENT,
  EGRESS_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  NotExpressible,
  generate,
  objectPath,
  parseEgressAnnotation,
  parseEndpoint,
  type Endpoint,
  type PolicyKind,
} from "./generate.js";
import { kubeError, type KubeApi, type KubeObject } from "../kube/kube.js";
import { ACTIONS, DEFAULT_CONFIG, RateLimiter, decide, type EnforcementConfig } from "./policy.js";
import type { EnforcementInput, EnforcementRecord, EnforcementStore, RecordState } from "./store.js";
import { PROVIDER_LABEL } from "@hangar/core";

export const FIELD_MANAGER = "hangar-controller";

/** One thing that happened to an enforcement: the shape of `hangar.v1.EnforcementEvent`. */
export interface EnforcementEventJson {
  id: string;
  requestId: string;
  alertId: string;
  provider: string;
  namespace: string;
  action: string;
  mode: string;
  outcome: RecordState;
  objectKind: string;
  objectName: string;
  manifest: string;
  diff: string;
  time: string;
  expiresAt: string;
  error: string;
  destination: string;
  actor: string;
}

export interface EnforcerOptions {
  kube: KubeApi;
  store: EnforcementStore;
  config?: EnforcementConfig;
  baseline?: BaselineViewPort;
  /** Whether this replica holds the Lease (default: always). */
  isLeader?: () => boolean;
  now?: () => number;
  fieldManager?: string;
  /** How long the Cilium CRD discovery answer is cached. Default 30 s. */
  ciliumCacheMs?: number;
  /** Which policy API to write: `auto` (Cilium when its CRD is served; default) or one of them. */
  policyKind?: "auto" | PolicyKind;
}

// eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, bounded {0,61} repetition (Kubernetes name syntax)
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
// eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, bounded {0,61} repetition (Kubernetes name syntax)
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ACTIVE: readonly RecordState[] = ["applied"];
const FINISHED: readonly RecordState[] = ["audited", "reverted", "expired", "refused", "failed"];

export class Enforcer {
  readonly #kube: KubeApi;
  readonly #store: EnforcementStore;
  readonly #config: EnforcementConfig;
  readonly #baseline: BaselineViewPort;
  readonly #isLeader: () => boolean;
  readonly #now: () => number;
  readonly #fieldManager: string;
  readonly #limiter = new RateLimiter();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #listeners = new Set<(e: EnforcementEventJson) => void>();
  readonly #ciliumCacheMs: number;
  readonly #policyKind: "auto" | PolicyKind;
  #cilium: { value: boolean; at: number } | undefined;
  #seq = 0;

  constructor(opts: EnforcerOptions) {
    this.#kube = opts.kube;
    this.#store = opts.store;
    this.#config = opts.config ?? DEFAULT_CONFIG;
    this.#baseline = opts.baseline ?? new NoBaselineView();
    this.#isLeader = opts.isLeader ?? (() => true);
    this.#now = opts.now ?? Date.now;
    this.#fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    this.#ciliumCacheMs = opts.ciliumCacheMs ?? 30_000;
    this.#policyKind = opts.policyKind ?? "auto";
  }

  get config(): EnforcementConfig {
    return this.#config;
  }

  /** Calls `fn` with every event; returns the unsubscribe function. */
  onEvent(fn: (e: EnforcementEventJson) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  list(): Promise<EnforcementRecord[]> {
    return this.#store.list();
  }

  get(id: string): Promise<EnforcementRecord | undefined> {
    return this.#store.get(id);
  }

  /** Whether the CiliumNetworkPolicy API is served (cached). */
  async ciliumAvailable(): Promise<boolean> {
    if (this.#policyKind !== "auto") return this.#policyKind === "CiliumNetworkPolicy";
    const now = this.#now();
    if (this.#cilium !== undefined && now - this.#cilium.at < this.#ciliumCacheMs) return this.#cilium.value;
    const value = await this.#kube.serves("cilium.io/v2", "ciliumnetworkpolicies");
    this.#cilium = { value, at: now };
    return value;
  }

  /** Forgets the cached Cilium answer (after a CRD is installed or removed). */
  refreshCilium(): void {
    this.#cilium = undefined;
  }

  /**
   * Takes a request. The same `id` twice returns the first record unchanged. On
   * the leader it is decided and applied (or audited) now; elsewhere it is
   * stored as `pending` for the leader.
   */
  async submit(input: EnforcementInput, actor?: string): Promise<EnforcementRecord> {
    const req = validateInput(input);
    const id = recordId(req.id);
    return this.#lock(`record/${id}`, async () => {
      const existing = await this.#store.get(id);
      if (existing !== undefined) return existing;
      const now = new Date(this.#now()).toISOString();
      const who = actor ?? (req.ruleId !== "" ? req.ruleId : "agent");
      const decision = decide(this.#config, req.namespace, req.provider, req.action);
      const record: EnforcementRecord = {
        id,
        request: req,
        mode: decision.mode,
        modeSource: decision.source,
        state: "pending",
        actor: who,
        diff: "",
        notes: [],
        createdAt: now,
        updatedAt: now,
        history: [{ time: now, state: "pending", actor: who }],
      };
      if (!this.#isLeader()) {
        await this.#store.put(record);
        return record;
      }
      return this.#process(record);
    });
  }

  /** Decides and applies the pending records (the leader's loop calls this). */
  async processPending(): Promise<number> {
    if (!this.#isLeader()) return 0;
    const pending = await this.#store.list(["pending"]);
    for (const r of pending) await this.#lock(`record/${r.id}`, () => this.#process(r));
    return pending.length;
  }

  async #process(record: EnforcementRecord): Promise<EnforcementRecord> {
    const req = record.request;
    const decision = decide(this.#config, req.namespace, req.provider, req.action);
    record.mode = decision.mode;
    record.modeSource = decision.source;
    if (!decision.allowed)
      return this.#finish(
        record,
        "refused",
        `action ${req.action} is not allowed (${decision.actionsSource})`,
      );
    const nowMs = this.#now();
    const providerKey = `${req.namespace}/${req.provider}`;
    if (!this.#limiter.take(`p/${providerKey}`, this.#config.rateLimitPerProvider, nowMs)) {
      const l = this.#config.rateLimitPerProvider;
      return this.#finish(
        record,
        "refused",
        `rate limit: ${l.max} per ${l.windowSeconds} s for provider ${providerKey}`,
      );
    }
    if (!this.#limiter.take("global", this.#config.rateLimitGlobal, nowMs)) {
      this.#limiter.giveBack(`p/${providerKey}`);
      const l = this.#config.rateLimitGlobal;
      return this.#finish(
        record,
        "refused",
        `rate limit: ${l.max} per ${l.windowSeconds} s across providers`,
      );
    }
    const giveBack = (): void => {
      this.#limiter.giveBack(`p/${providerKey}`);
      this.#limiter.giveBack("global");
    };
    try {
      const ttl = Math.min(req.ttlSeconds ?? this.#config.defaultTtlSeconds, this.#config.maxTtlSeconds);
      if (ttl !== req.ttlSeconds && req.ttlSeconds !== undefined)
        record.notes.push(`TTL cut from ${req.ttlSeconds} s to the maximum ${this.#config.maxTtlSeconds} s`);
      const expiresAt = new Date(nowMs + ttl * 1000).toISOString();
      const destination =
        req.destination !== undefined ? (parseEndpoint(req.destination) as Endpoint) : undefined;
      const cilium = await this.ciliumAvailable();
      // Declared capabilities and the baseline only matter for an allow-list: tighten, and a
      // block without Cilium. Quarantine and a Cilium block never wait on (or fail with) them.
      const allowList = req.action === "tighten_egress" || (req.action === "block_egress" && !cilium);
      const [declared, baseline] = allowList
        ? await Promise.all([
            this.#declared(req.namespace, req.provider, record.notes),
            this.#learned(req.provider, record.notes),
          ])
        : [[], { egress: [], dns: [] }];
      let generated;
      try {
        generated = generate({
          enforcementId: record.id,
          alertId: req.alertId,
          ruleId: req.ruleId,
          provider: req.provider,
          namespace: req.namespace,
          action: req.action,
          ...(destination !== undefined ? { destination } : {}),
          declared,
          baseline,
          cilium,
          expiresAt,
          dns: this.#config.dns,
          controller: this.#config.controller,
        });
      } catch (err) {
        if (err instanceof NotExpressible) {
          giveBack();
          return await this.#finish(record, "failed", err.message);
        }
        throw err;
      }
      record.notes.push(...generated.notes);
      record.objectKind = generated.kind;
      record.objectName = generated.object.metadata.name;
      record.manifest = generated.object;
      record.expiresAt = expiresAt;
      return await this.#lock(
        `object/${generated.kind}/${req.namespace}/${generated.object.metadata.name}`,
        async () => {
          const path = objectPath(generated.kind, req.namespace, generated.object.metadata.name);
          const live = await this.#kube.get(path);
          record.diff = unifiedDiff(
            live,
            generated.object,
            `${generated.kind}/${generated.object.metadata.name}`,
          );
          if (live !== undefined && !isManaged(live)) {
            giveBack();
            record.errorCode = "HANGAR_ERR_ENFORCE_UNMANAGED";
            return this.#finish(
              record,
              "failed",
              `${generated.kind} ${req.namespace}/${generated.object.metadata.name} exists and is not labelled ${MANAGED_BY_LABEL}=${MANAGED_BY}: left untouched`,
            );
          }
          if (record.mode === "audit") return this.#finish(record, "audited");
          const body = structuredClone(generated.object);
          if (live?.metadata.resourceVersion !== undefined)
            body.metadata.resourceVersion = live.metadata.resourceVersion;
          const res = await this.#kube.send({
            method: "PATCH",
            path,
            body,
            contentType: "application/apply-patch+yaml",
            query: { fieldManager: this.#fieldManager },
          });
          if (res.status !== 200 && res.status !== 201) {
            giveBack();
            const e = kubeError({ method: "PATCH", path }, res);
            record.errorCode = e.code;
            return this.#finish(record, "failed", e.message);
          }
          record.prior = live === undefined ? null : (comparable(live) ?? null);
          const rv = (res.body as KubeObject).metadata.resourceVersion;
          if (rv !== undefined) record.appliedResourceVersion = rv;
          return this.#finish(record, "applied");
        },
      );
    } catch (err) {
      giveBack();
      if (err instanceof ControllerError) record.errorCode = err.code;
      return this.#finish(record, "failed", err instanceof Error ? err.message : String(err));
    }
  }

  async #declared(namespace: string, provider: string, notes: string[]): Promise<Endpoint[]> {
    const res = await this.#kube.call({
      method: "GET",
      path: `/api/v1/namespaces/${namespace}/pods`,
      // From the API server's watch cache (resourceVersion 0): a consistent list waits for etcd
      // progress (~50 ms here) and an annotation a few ms old is as good.
      query: { labelSelector: `${PROVIDER_LABEL}=${provider}`, resourceVersion: "0" },
    });
    const out: Endpoint[] = [];
    const seen = new Set<string>();
    for (const pod of (res.body as { items?: KubeObject[] }).items ?? []) {
      const value = pod.metadata.annotations?.[EGRESS_ANNOTATION];
      if (value === undefined) continue;
      const { endpoints, errors } = parseEgressAnnotation(value);
      for (const e of errors)
        notes.push(`pod ${namespace}/${pod.metadata.name} annotation ${EGRESS_ANNOTATION}: ${e}`);
      for (const e of endpoints) {
        const k = JSON.stringify(e);
        if (!seen.has(k)) out.push(e);
        seen.add(k);
      }
    }
    return out;
  }

  async #learned(provider: string, notes: string[]): Promise<{ egress: Endpoint[]; dns: string[] }> {
    const { egress, dns } = await baselineEgress(this.#baseline, provider);
    const out: Endpoint[] = [];
    for (const v of egress) {
      const e = parseEndpoint(v);
      if (typeof e === "string") notes.push(`baseline egress entry skipped: ${e}`);
      else out.push(e);
    }
    return { egress: out, dns };
  }

  /**
   * Undoes an applied enforcement: the object is put back exactly as it was
   * before (deleted when this enforcement created it). Refused while a newer
   * enforcement sits on the same object.
   */
  async revert(id: string, actor: string, opts: { waitMs?: number } = {}): Promise<EnforcementRecord> {
    if (!this.#isLeader()) return this.#requestRevert(id, actor, opts.waitMs ?? 10_000);
    const first = await this.#store.get(id);
    if (first === undefined)
      throw new ControllerError("HANGAR_ERR_ENFORCE_NOT_FOUND", `no enforcement ${id}`);
    if (first.objectKind === undefined || first.objectName === undefined || first.state !== "applied") {
      if (first.state === "pending" || first.state === "audited") {
        // Nothing was applied: the record is closed as reverted.
        return this.#lock(`record/${id}`, () =>
          this.#finish(first, "reverted", "nothing was applied", actor),
        );
      }
      throw new ControllerError(
        "HANGAR_ERR_ENFORCE_CONFLICT",
        `enforcement ${id} is ${first.state}: only applied, audited or pending enforcements can be reverted`,
      );
    }
    return this.#undo(first, "reverted", actor);
  }

  /**
   * On a replica without the Lease: the revert is written into the record for the
   * leader (`revertRequest`), and this waits up to `waitMs` for the leader to carry it
   * out. Returns the record as it then is: reverted, or still applied with the request
   * on it (the API answers 202 then; the leader does it on its next tick).
   */
  async #requestRevert(id: string, actor: string, waitMs: number): Promise<EnforcementRecord> {
    const r = await this.#store.get(id);
    if (r === undefined) throw new ControllerError("HANGAR_ERR_ENFORCE_NOT_FOUND", `no enforcement ${id}`);
    if (r.state !== "applied" && r.state !== "pending" && r.state !== "audited")
      throw new ControllerError(
        "HANGAR_ERR_ENFORCE_CONFLICT",
        `enforcement ${id} is ${r.state}: only applied, audited or pending enforcements can be reverted`,
      );
    if (r.revertRequest === undefined) {
      r.revertRequest = { actor, time: new Date(this.#now()).toISOString() };
      await this.#store.put(r);
    }
    const deadline = Date.now() + waitMs;
    let last = r;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      last = (await this.#store.get(id)) ?? last;
      if (last.revertRequest === undefined || FINISHED.includes(last.state) || last.state === "expired")
        break;
    }
    if (last.revertRequest === undefined && (last.state === "applied" || last.state === "pending")) {
      // The leader dropped the request: it refused the revert (the reason is its last note).
      const prefix = `revert by ${actor} refused: `;
      const refused = [...last.notes].reverse().find((n) => n.startsWith(prefix));
      throw new ControllerError(
        "HANGAR_ERR_ENFORCE_CONFLICT",
        refused?.slice(prefix.length) ?? `enforcement ${id} was not reverted`,
      );
    }
    return last;
  }

  /** The leader's part of reverts asked for on other replicas; returns how many it carried out. */
  async processRevertRequests(): Promise<number> {
    if (!this.#isLeader()) return 0;
    const asked = (await this.#store.list(["applied", "pending", "audited"])).filter(
      (r) => r.revertRequest !== undefined,
    );
    let n = 0;
    for (const r of asked) {
      const req = r.revertRequest as { actor: string };
      try {
        await this.revert(r.id, req.actor);
        n++;
      } catch (err) {
        // Refused (e.g. a newer enforcement sits on the object): the request is dropped
        // and the reason recorded, so the asking replica stops waiting.
        const fresh = (await this.#store.get(r.id)) ?? r;
        delete fresh.revertRequest;
        fresh.notes.push(
          `revert by ${req.actor} refused: ${err instanceof Error ? err.message : String(err)}`,
        );
        await this.#store.put(fresh);
      }
    }
    return n;
  }

  /** Undoes every applied enforcement whose TTL has passed; returns how many. */
  async expireDue(): Promise<number> {
    if (!this.#isLeader()) return 0;
    const now = this.#now();
    const due = (await this.#store.list(ACTIVE))
      .filter((r) => r.expiresAt !== undefined && Date.parse(r.expiresAt) <= now)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    let n = 0;
    for (const r of due) {
      try {
        await this.#undo(r, "expired", "ttl");
        n++;
      } catch {
        // the failure is in the record's history; tried again on the next tick
      }
    }
    return n;
  }

  async #undo(
    record: EnforcementRecord,
    to: "reverted" | "expired",
    actor: string,
  ): Promise<EnforcementRecord> {
    const kind = record.objectKind as PolicyKind;
    const ns = record.request.namespace;
    const name = record.objectName as string;
    return this.#lock(`object/${kind}/${ns}/${name}`, async () => {
      const r = (await this.#store.get(record.id)) ?? record;
      if (r.state !== "applied")
        throw new ControllerError("HANGAR_ERR_ENFORCE_CONFLICT", `enforcement ${r.id} is already ${r.state}`);
      const path = objectPath(kind, ns, name);
      const live = await this.#kube.get(path);
      if (live === undefined) return this.#finish(r, to, `${kind} ${ns}/${name} was already gone`, actor);
      if (!isManaged(live))
        return this.#finish(
          r,
          "failed",
          `${kind} ${ns}/${name} lost its ${MANAGED_BY_LABEL} label: left untouched`,
          actor,
        );
      const owner = live.metadata.annotations?.[ANN_ENFORCEMENT];
      if (owner !== r.id) {
        // A newer enforcement changed the object after this one.
        if (to === "expired") {
          return this.#finish(
            r,
            "expired",
            `covered by enforcement ${owner ?? "?"}; undone when that one is`,
            actor,
          );
        }
        throw new ControllerError(
          "HANGAR_ERR_ENFORCE_CONFLICT",
          `enforcement ${owner ?? "?"} changed ${kind} ${ns}/${name} after ${r.id}: revert ${owner ?? "it"} first`,
          { details: { newer: owner } },
        );
      }
      // The state to go back to: this record's prior, skipping older enforcements that ended meanwhile.
      let target = r.prior ?? null;
      for (let hops = 0; target !== null && hops < 32; hops++) {
        const below = target.metadata.annotations?.[ANN_ENFORCEMENT];
        if (below === undefined) break;
        const older = await this.#store.get(below);
        if (older === undefined || older.state === "applied") break;
        target = older.prior ?? null;
      }
      const rv = live.metadata.resourceVersion ?? "";
      if (target === null) {
        const res = await this.#kube.send({
          method: "DELETE",
          path,
          body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { resourceVersion: rv } },
        });
        if (res.status !== 200 && res.status !== 202 && res.status !== 404)
          throw kubeError({ method: "DELETE", path }, res);
      } else {
        const body = structuredClone(target);
        body.metadata.resourceVersion = rv;
        await this.#kube.call({
          method: "PATCH",
          path,
          body,
          contentType: "application/apply-patch+yaml",
          query: { fieldManager: this.#fieldManager },
        });
        // Older enforcements that this restore brings back are active again.
        const back = target.metadata.annotations?.[ANN_ENFORCEMENT];
        if (back !== undefined) {
          const older = await this.#store.get(back);
          if (older !== undefined && older.state === "applied" && older.expiresAt !== undefined)
            r.notes.push(`restored the state of enforcement ${back} (expires ${older.expiresAt})`);
        }
      }
      return this.#finish(r, to, undefined, actor);
    });
  }

  async #finish(
    record: EnforcementRecord,
    state: RecordState,
    message?: string,
    actor?: string,
  ): Promise<EnforcementRecord> {
    const now = new Date(this.#now()).toISOString();
    record.state = state;
    record.updatedAt = now;
    if (FINISHED.includes(state) || state === "expired") delete record.revertRequest;
    if (message !== undefined && (state === "failed" || state === "refused")) record.error = message;
    record.history.push({
      time: now,
      state,
      actor: actor ?? record.actor,
      ...(message !== undefined ? { message } : {}),
    });
    await this.#store.put(record);
    const ev = toEvent(record, `${record.id}-${++this.#seq}`, actor ?? record.actor, now, message);
    for (const fn of this.#listeners) {
      try {
        fn(ev);
      } catch {
        // a listener's failure is its own
      }
    }
    return record;
  }

  #lock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return run;
  }

  /** Deletes finished records older than the retention; returns how many. */
  async prune(): Promise<number> {
    if (!this.#isLeader()) return 0;
    const before = this.#now() - this.#config.recordRetentionSeconds * 1000;
    const old = (await this.#store.list(FINISHED)).filter((r) => Date.parse(r.updatedAt) < before);
    for (const r of old) await this.#store.delete(r.id);
    return old.length;
  }

  /**
   * The leader's loop: pending records and TTL expiry every `intervalMs`, record retention
   * every minute, until
   * `signal` aborts. Errors are reported to `onError` and the loop goes on.
   */
  async run(
    signal: AbortSignal,
    intervalMs = 1000,
    onError: (err: unknown) => void = () => undefined,
  ): Promise<void> {
    let pruned = 0;
    while (!signal.aborted) {
      try {
        await this.processPending();
        await this.processRevertRequests();
        await this.expireDue();
        if (this.#now() - pruned >= 60_000) {
          pruned = this.#now();
          await this.prune();
        }
      } catch (err) {
        onError(err);
      }
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          clearTimeout(t);
          resolve();
        };
        // The listener goes when the timer fires: one per tick on a long-lived signal would leak.
        const t = setTimeout(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        }, intervalMs);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }
}

export function isManaged(obj: KubeObject): boolean {
  return obj.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}

/** Record ids: derived from the requester's id (so a redelivery is the same record), else random. */
export function recordId(requestId: string): string {
  if (requestId === "") return `e${randomBytes(6).toString("hex")}`;
  return `e${createHash("sha256").update(requestId).digest("hex").slice(0, 12)}`;
}

function validateInput(input: EnforcementInput): EnforcementInput {
  const fail = (field: string, msg: string): never => {
    throw new ControllerError(
      "HANGAR_ERR_ENFORCE_REQUEST",
      `enforcement request ${JSON.stringify(input.id)}: ${field}: ${msg}`,
      {
        details: { field },
      },
    );
  };
  if (!LABEL_VALUE.test(input.provider))
    fail("provider", `${JSON.stringify(input.provider)} is not a valid label value`);
  if (!DNS_LABEL.test(input.namespace))
    fail("namespace", `${JSON.stringify(input.namespace)} is not a valid namespace`);
  if (!(ACTIONS as readonly string[]).includes(input.action))
    fail("action", `${JSON.stringify(input.action)} is not one of ${ACTIONS.join(", ")}`);
  if (input.action === "block_egress") {
    if (input.destination === undefined || input.destination === "")
      fail("destination", "block_egress needs a destination");
    const d = parseEndpoint(input.destination ?? "");
    if (typeof d === "string") fail("destination", d);
  }
  if (input.ttlSeconds !== undefined && (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds <= 0))
    fail("ttlSeconds", "must be a positive whole number of seconds");
  return {
    id: input.id,
    alertId: input.alertId,
    ruleId: input.ruleId,
    provider: input.provider,
    namespace: input.namespace,
    action: input.action,
    ...(input.destination !== undefined && input.destination !== ""
      ? { destination: input.destination }
      : {}),
    ...(input.ttlSeconds !== undefined ? { ttlSeconds: input.ttlSeconds } : {}),
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.node !== undefined ? { node: input.node } : {}),
  };
}

export function toEvent(
  r: EnforcementRecord,
  id: string,
  actor: string,
  time: string,
  message?: string,
): EnforcementEventJson {
  return {
    id,
    requestId: r.request.id,
    alertId: r.request.alertId,
    provider: r.request.provider,
    namespace: r.request.namespace,
    action: r.request.action,
    mode: r.mode,
    outcome: r.state,
    objectKind: r.objectKind ?? "",
    objectName: r.objectName ?? "",
    manifest: r.manifest === undefined ? "" : JSON.stringify(r.manifest),
    diff: r.diff,
    time,
    expiresAt: r.expiresAt ?? "",
    error: r.state === "failed" || r.state === "refused" ? (message ?? r.error ?? "") : "",
    destination: r.request.destination ?? "",
    actor,
  };
}
