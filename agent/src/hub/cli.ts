/** `hangar-agent run` options for the controller's hub (alerts out, call traces in). */
import type { Logger } from "pino";
import { AgentError } from "../errors.js";
import type { Counters } from "../pipeline/counters.js";
import { HubClient } from "./client.js";

export const HUB_OPTIONS = {
  hub: { type: "string" },
  "hub-ca": { type: "string" },
  "hub-cert": { type: "string" },
  "hub-key": { type: "string" },
  "hub-server-name": { type: "string" },
  "hub-token-file": { type: "string" },
} as const;

export const HUB_HELP = `Controller (agent hub):
  --hub ADDR               the controller's hub (host:port, e.g. hangar-controller.hangar-system:8443);
                           alerts go there (kept until acknowledged) and call traces come back
  --hub-ca FILE            CA of the controller's serving certificate (TLS)
  --hub-cert FILE, --hub-key FILE
                           client certificate (mTLS)
  --hub-server-name NAME   TLS server name to check (default: the host of ADDR)
  --hub-token-file FILE    projected service-account token (audience hangar-controller),
                           re-read at every connect, e.g. /var/run/secrets/hangar/token
`;

export function hubFromArgs(
  v: Record<string, unknown>,
  ctx: { node: string; counters: Counters; logger: Logger },
): HubClient | undefined {
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
  return new HubClient({
    address,
    node: ctx.node,
    counters: ctx.counters,
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
    onError: (err) =>
      ctx.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        "hub stream failed; reconnecting",
      ),
  });
}
