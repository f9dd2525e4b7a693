/** `hangar-agent run` options for the controller's hub (alerts out, call traces in). */
import type { Logger } from "pino";
import { AgentError } from "../errors.js";
import { type Counters, intOption } from "@hangar/core";
import { join } from "node:path";
import { HubClient, HubRefusal, type HubClientOptions } from "./client.js";
import { DiskOutbox } from "./outbox.js";

export const HUB_OPTIONS = {
  hub: { type: "string" },
  "hub-ca": { type: "string" },
  "hub-cert": { type: "string" },
  "hub-key": { type: "string" },
  "hub-server-name": { type: "string" },
  "hub-token-file": { type: "string" },
  "hub-outbox-max-bytes": { type: "string" },
} as const;

export const HUB_HELP = `Controller (agent hub):
  --hub ADDR               the controller's hub (host:port, e.g. hangar-controller.hangar-system:8443);
                           alerts go there (kept until acknowledged); call traces,
                           rule updates and merged baselines come back
  --hub-ca FILE            CA of the controller's serving certificate (TLS)
  --hub-cert FILE, --hub-key FILE
                           client certificate (mTLS); it must name this node as a
                           DNS subjectAltName (DNS:<node>), else the hub refuses it
  --hub-server-name NAME   TLS server name to check (default: the host of ADDR)
  --hub-token-file FILE    projected service-account token (audience hangar-controller),
                           re-read at every connect, e.g. /var/run/secrets/hangar/token
  --hub-outbox-max-bytes N what waits for the controller's acknowledgement is kept on disk
                           in <spool-dir>/hub, sent in order on reconnect and after a restart;
                           bound of those files (default 67108864); beyond it the oldest
                           messages are dropped and counted (hub_outbox_dropped); on a full
                           disk they wait in memory (up to one segment), then new ones are
                           dropped (reason spool_full) and /healthz says "degraded: spool full";
                           a message the hub refuses for good (over its 16 MiB limit, invalid)
                           is set aside, logged and counted (hub_dead_letters) so the rest go on
`;

/** The hub client with its disk outbox under `<spool-dir>/hub`, or undefined without --hub. */
export async function hubFromArgs(
  v: Record<string, unknown>,
  ctx: {
    node: string;
    counters: Counters;
    logger: Logger;
    spoolDir: string;
    /** Where rule updates and merged baselines go (hub/inbox.ts). */
    handlers?: Pick<
      HubClientOptions,
      "onRuleUpdate" | "rulesVersion" | "onMergedBaseline" | "onResyncBaselines"
    >;
  },
): Promise<HubClient | undefined> {
  const s = (k: string): string | undefined => {
    const x = v[k];
    return typeof x === "string" ? x : undefined;
  };
  const address = s("hub");
  if (address === undefined) return undefined;
  const ca = s("hub-ca");
  const cert = s("hub-cert");
  const key = s("hub-key");
  if ((cert === undefined) !== (key === undefined))
    throw new AgentError("HANGAR_ERR_CONFIG_INVALID", "--hub-cert and --hub-key go together");
  if (cert !== undefined && ca === undefined)
    throw new AgentError("HANGAR_ERR_CONFIG_INVALID", "--hub-cert needs --hub-ca (mTLS runs over TLS)");
  if (ca === undefined && s("hub-token-file") === undefined)
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "--hub needs --hub-token-file or --hub-ca/--hub-cert/--hub-key: the controller refuses unauthenticated agents",
    );
  const serverName = s("hub-server-name");
  const tokenFile = s("hub-token-file");
  const maxBytes = intOption("run", "hub-outbox-max-bytes", s("hub-outbox-max-bytes"), 64 * 1024);
  const outbox = await DiskOutbox.open({
    dir: join(ctx.spoolDir, "hub"),
    ...(maxBytes === undefined ? {} : { maxBytes }),
  }).catch((err: unknown) => {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      `--spool-dir ${ctx.spoolDir}: the outbox to the controller (${join(ctx.spoolDir, "hub")}) cannot be opened: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  });
  if (outbox.pending > 0 || outbox.recovered.segments > 0)
    ctx.logger.info(
      { pending: outbox.pending, firstSeq: String(outbox.firstSeq), dir: outbox.dir, ...outbox.recovered },
      "hub outbox holds messages the controller has not acknowledged; they are sent first",
    );
  return new HubClient({
    address,
    node: ctx.node,
    counters: ctx.counters,
    outbox,
    ...ctx.handlers,
    ...(ca !== undefined
      ? {
          tls: {
            caFile: ca,
            ...(cert !== undefined ? { certFile: cert } : {}),
            ...(key !== undefined ? { keyFile: key } : {}),
            ...(serverName !== undefined ? { serverName } : {}),
          },
        }
      : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    onDeadLetter: (d) =>
      ctx.logger.error(
        { seq: String(d.seq), kind: d.kind, id: d.id, bytes: d.bytes, code: d.code, details: d.details },
        "the controller's hub refused a message for good; it is set aside (hub_dead_letters) so the ones after it go on",
      ),
    onError: (err) =>
      err instanceof HubRefusal
        ? ctx.logger.error(
            { status: err.status, code: err.code, details: err.details, retryInMs: err.retryInMs },
            "the hub refused this agent (permanent; backing off): fix the agent's node name, credential or version (see code)",
          )
        : (err as { code?: unknown } | null)?.code === "HANGAR_ERR_SPOOL"
          ? ctx.logger.error({ err: err instanceof Error ? err.message : String(err) }, "hub outbox")
          : ctx.logger.warn(
              { err: err instanceof Error ? err.message : String(err) },
              "hub stream failed; reconnecting",
            ),
  });
}
