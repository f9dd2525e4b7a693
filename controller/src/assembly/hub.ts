/**
 * The assembled controller's agent hub: what each agent message does (an alert goes to the
 * alert store and the SIEM export, once; an enforcement request to the enforcer; a baseline
 * delta into the cluster-wide merge, whose result fans out to the agents hosting the
 * provider), the rule packs it sends, and its start.
 */
import { errorMessage } from "@hangar/core";
import { RecentIds, type AlertStore } from "../api/alerts.js";
import type { BaselineMergePort } from "../baselines/baselines.js";
import type { Enforcer } from "../enforce/engine.js";
import type { ViolationEvents } from "../events/violations.js";
import { fromProto } from "../enforce/request.js";
import { ControllerError } from "../errors.js";
import type { MergedBaselineFanout } from "../hub/baselines.js";
import { AgentHub, type HubHandlers, type HubTls } from "../hub/hub.js";
import { watchRules } from "../hub/rules.js";
import { alertWireBytes } from "../hub/wire.js";
import type { KubeApi } from "../kube/kube.js";
import type { ControllerTelemetry } from "../telemetry/telemetry.js";
import type { ControllerLog } from "./log.js";

export interface HubPartOptions {
  /** `host:port` (`:0` for any free port; the port bound is in `RunningController.hubPort`). */
  listen: string;
  /** Serve over TLS; with `clientCaFile`, agents authenticate by client certificate (mTLS). */
  tls?: HubTls;
  /** Agents authenticate with projected service-account tokens, checked by a TokenReview. */
  tokens?: {
    /** Default `hangar-controller`. */
    audience?: string;
    /** User names allowed to connect, e.g. `system:serviceaccount:hangar-system:hangar-agent`. */
    allowedUsers: string[];
  };
  /** Rule packs sent to every agent: each file of this directory, re-read every 30 s. */
  rulesDir?: string;
}

export interface HubHandlerDeps {
  readonly alerts: AlertStore;
  /** The window of alert ids that drops redelivered alerts (default: 10 min, 50 000 ids). */
  readonly recentIds?: RecentIds;
  readonly enforcer: Enforcer;
  readonly merge: BaselineMergePort | undefined;
  readonly fanout: MergedBaselineFanout | undefined;
  readonly telemetry: ControllerTelemetry | undefined;
  /** Alerts as Kubernetes Events on their pods (when the controller records them). */
  readonly events?: ViolationEvents | undefined;
  readonly log: ControllerLog;
}

/** What the hub does with each agent message; each resolves once the message is safe (then it is acknowledged). */
export function hubHandlers(d: HubHandlerDeps): HubHandlers {
  const recent = d.recentIds ?? new RecentIds();
  return {
    alert: (a) => {
      // A redelivered alert (its ack was lost) is kept once.
      if (a.id !== "" && recent.seen(a.id)) return;
      d.alerts.add(a, alertWireBytes(a));
      d.telemetry?.alert(a);
      d.events?.alert(a);
    },
    enforcementRequest: async (r, who) => {
      try {
        await d.enforcer.submit(fromProto(r), r.ruleId !== "" ? r.ruleId : `agent:${who.node}`);
      } catch (err) {
        // An invalid request is acknowledged (sending it again cannot fix it) and logged.
        if (err instanceof ControllerError && err.code === "HANGAR_ERR_ENFORCE_REQUEST")
          d.log("warn", err.message, { node: who.node });
        else throw err;
      }
    },
    baselineDelta: async (delta, who) => {
      if (d.merge === undefined) {
        // Without a baseline file there is no cluster-wide merge: logged, acknowledged.
        d.log("debug", "baseline delta received; no --baseline-db to merge into", {
          provider: delta.provider,
          node: who.node,
        });
        return;
      }
      try {
        // Stored in the DuckDB file before the hub acknowledges it.
        await d.merge.merge(delta);
        d.fanout?.changed(delta.provider, who.node);
      } catch (err) {
        // An invalid delta is acknowledged (sending it again cannot fix it) and logged;
        // anything else (disk, lock) is not, so the agent sends it again.
        if ((err as { code?: string }).code === "HANGAR_ERR_BASELINE_DELTA")
          d.log("warn", errorMessage(err), { node: who.node });
        else throw err;
      }
    },
  };
}

/**
 * Makes the hub (merged baselines at every hello when there is a merge), hands it the rule
 * packs, and starts it listening. Throws when the rules directory cannot be read or the hub
 * cannot listen.
 */
export async function startHub(
  o: HubPartOptions,
  deps: HubHandlerDeps & { readonly kube: KubeApi; readonly signal: AbortSignal },
): Promise<{ hub: AgentHub; port: number }> {
  const { fanout, log } = deps;
  const hub = new AgentHub({
    listen: o.listen,
    ...(fanout !== undefined ? { onHello: (node: string) => fanout.hello(node), resyncBaselines: true } : {}),
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
    ...(o.tokens !== undefined ? { token: { kube: deps.kube, ...o.tokens } } : {}),
    handlers: hubHandlers(deps),
  });
  if (o.rulesDir !== undefined) {
    const dir = o.rulesDir;
    watchRules(hub, dir, deps.signal, {
      onLoaded: (u) =>
        log("info", "rule packs loaded", { rules: dir, files: Object.keys(u.files), version: u.version }),
      onError: (err) => log("warn", "rule packs not re-read", { error: errorMessage(err) }),
    });
  }
  const port = await hub.start();
  log("info", "agent hub listening", { hub: o.listen.replace(/:0$/, `:${port}`) });
  return { hub, port };
}
