/**
 * What the controller sends an agent besides call traces: rule updates (into the
 * running detector, see detect/rule-updates.ts) and merged baselines (into the
 * baseline store, `BaselineStore.adoptMerged`). The hub client starts before the
 * engines are loaded, so what arrives before `attach` is kept (the newest rule
 * update, the newest merged baseline per provider) and handed on then: the
 * client acknowledges a message once it is handed here, and nothing handed here
 * is lost.
 */
import type { Logger } from "pino";
import type { hangar } from "@hangar/proto";
import type { RuleUpdates } from "../detect/rule-updates.js";
import type { Counters, BaselineStore } from "@hangar/core";
import type { HubClientOptions } from "./client.js";

export interface HubInboxTargets {
  /** Without it (no rule engine in this agent), rule updates are logged and dropped. */
  rules?: RuleUpdates;
  /** Without it (no --db), merged baselines are counted and dropped. */
  baseline?: BaselineStore;
}

export class HubInbox {
  readonly #counters: Counters;
  readonly #logger: Logger;
  #targets: HubInboxTargets | undefined;
  #rulesWaiting: hangar.RuleUpdate | undefined;
  readonly #mergedWaiting = new Map<string, hangar.MergedBaseline>();
  #received = "";

  constructor(ctx: { counters: Counters; logger: Logger }) {
    this.#counters = ctx.counters;
    this.#logger = ctx.logger;
  }

  /** The hub client's callbacks. */
  handlers(): Pick<HubClientOptions, "onRuleUpdate" | "rulesVersion" | "onMergedBaseline"> {
    return {
      onRuleUpdate: (u) => this.ruleUpdate(u),
      rulesVersion: () => this.#targets?.rules?.received ?? this.#received,
      onMergedBaseline: (m) => this.mergedBaseline(m),
    };
  }

  /** The engines are ready: what waited is handed on, in order of arrival per kind. */
  attach(targets: HubInboxTargets): void {
    this.#targets = targets;
    const rules = this.#rulesWaiting;
    this.#rulesWaiting = undefined;
    if (rules !== undefined) this.ruleUpdate(rules);
    const merged = [...this.#mergedWaiting.values()];
    this.#mergedWaiting.clear();
    for (const m of merged) this.mergedBaseline(m);
  }

  ruleUpdate(u: hangar.RuleUpdate): void {
    this.#received = u.version;
    const t = this.#targets;
    if (t === undefined) {
      this.#rulesWaiting = u;
      return;
    }
    if (t.rules === undefined) {
      this.#counters.inc("rule_updates", { outcome: "no_engine" });
      this.#logger.warn(
        { version: u.version, files: Object.keys(u.files) },
        "rule update from the controller ignored: this agent runs without the rule engine",
      );
      return;
    }
    void t.rules.handle(u);
  }

  mergedBaseline(m: hangar.MergedBaseline): void {
    const t = this.#targets;
    if (t === undefined) {
      this.#mergedWaiting.set(m.provider, m);
      return;
    }
    const sync = t.baseline?.sync;
    const adopt = sync?.adoptMerged.bind(sync);
    if (adopt === undefined) {
      this.#counters.inc("merged_baselines", { outcome: "no_store" });
      return;
    }
    try {
      const added = adopt(m);
      this.#counters.inc("merged_baselines", { outcome: "adopted" });
      this.#logger.debug(
        { provider: m.provider, version: String(m.version), items: m.items.length, added },
        "merged baseline adopted",
      );
    } catch (err) {
      // An invalid message cannot get better by sending it again: counted, logged, acknowledged.
      this.#counters.inc("merged_baselines", { outcome: "rejected" });
      this.#logger.warn(
        {
          provider: m.provider,
          version: String(m.version),
          err: err instanceof Error ? err.message : String(err),
        },
        "merged baseline from the controller rejected",
      );
    }
  }
}
