/**
 * TLS from the proxy to a provider's pods (`providers[].tls` in proxy.yaml):
 * the CA that signs the pods' serving certificates, optionally a client
 * certificate for pods that require mTLS, the name to verify (and send as
 * SNI) when pods are dialled by IP address, and an explicit opt-out of
 * verification. PEM values are file paths (read once, at startup) or inline
 * PEM. Each provider with `tls` gets its own keep-alive HTTPS agent, and its
 * EndpointSlice addresses are dialled with https.
 */
import { readFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { createSecureContext } from "node:tls";
import { ProxyError } from "./errors.js";

export interface ProviderTlsConfig {
  /** CA certificate(s) that sign the pods' serving certificates: a PEM file path or inline PEM. Required unless insecureSkipVerify. */
  ca?: string;
  /** Client certificate (PEM file or inline) for pods that require mTLS; needs `key`. */
  cert?: string;
  /** The client certificate's private key (PEM file or inline); needs `cert`. */
  key?: string;
  /** Name the pods' certificates are verified against and sent as SNI (pods are dialled by IP). */
  serverName?: string;
  /** Do not verify the pods' certificates at all (encryption without authentication). Default false. */
  insecureSkipVerify?: boolean;
}

const KNOWN = new Set(["ca", "cert", "key", "serverName", "insecureSkipVerify"]);

function bad(field: string, message: string, cause?: unknown): never {
  throw new ProxyError("HANGAR_ERR_PROXY_CONFIG", `${field}: ${message}`, {
    details: { field },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Checks the shape of `providers[i].tls`; `where` is its field path. Does not read files (see loadTls). */
export function parseProviderTls(raw: unknown, where: string): ProviderTlsConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad(where, "must be a mapping");
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) bad(`${where}.${k}`, "unknown field");
  const out: ProviderTlsConfig = {};
  for (const k of ["ca", "cert", "key", "serverName"] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.trim() === "") bad(`${where}.${k}`, "must be a non-empty string");
    out[k] = v;
  }
  const skip = o["insecureSkipVerify"];
  if (skip !== undefined) {
    if (typeof skip !== "boolean") bad(`${where}.insecureSkipVerify`, "must be true or false");
    out.insecureSkipVerify = skip;
  }
  if (out.ca === undefined && out.insecureSkipVerify !== true)
    bad(
      `${where}.ca`,
      "required: the CA that signs the pods' certificates (or insecureSkipVerify: true, which verifies nothing)",
    );
  if (out.cert !== undefined && out.key === undefined)
    bad(`${where}.key`, "required with cert (the client certificate's private key)");
  if (out.key !== undefined && out.cert === undefined)
    bad(`${where}.cert`, "required with key (the client certificate)");
  return out;
}

/** A PEM value: inline when it holds a PEM block, else a file path, read now. */
function pem(value: string, field: string, kind: "CERTIFICATE" | "PRIVATE KEY"): string {
  let text = value;
  let from = "the inline value";
  if (!value.includes("-----BEGIN ")) {
    from = value;
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- a PEM file named in the operator's proxy configuration
      text = readFileSync(value, "utf8");
    } catch (err) {
      bad(field, `cannot read ${value}: ${(err as Error).message}`, err);
    }
  }
  const ok =
    kind === "CERTIFICATE"
      ? text.includes("-----BEGIN CERTIFICATE-----")
      : // eslint-disable-next-line security/detect-unsafe-regex -- linear: one optional word between literals
        /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(text);
  if (!ok) bad(field, `${from} holds no PEM ${kind.toLowerCase()}`);
  return text;
}

export interface LoadedTls {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

/** Reads the PEM files and checks that they make a TLS context (a key that does not match its certificate is named). */
export function loadTls(cfg: ProviderTlsConfig, where: string): LoadedTls {
  const out: LoadedTls = { rejectUnauthorized: cfg.insecureSkipVerify !== true };
  if (cfg.ca !== undefined) out.ca = pem(cfg.ca, `${where}.ca`, "CERTIFICATE");
  if (cfg.cert !== undefined) out.cert = pem(cfg.cert, `${where}.cert`, "CERTIFICATE");
  if (cfg.key !== undefined) out.key = pem(cfg.key, `${where}.key`, "PRIVATE KEY");
  if (cfg.serverName !== undefined) out.servername = cfg.serverName;
  try {
    createSecureContext({
      ...(out.ca === undefined ? {} : { ca: out.ca }),
      ...(out.cert === undefined ? {} : { cert: out.cert }),
      ...(out.key === undefined ? {} : { key: out.key }),
    });
  } catch (err) {
    const msg = (err as Error).message;
    const field = /key/i.test(msg)
      ? `${where}.key`
      : /ca|issuer/i.test(msg)
        ? `${where}.ca`
        : `${where}.cert`;
    bad(field, `not usable for TLS: ${msg}`, err);
  }
  return out;
}

/** A keep-alive HTTPS agent dialling a provider's pods with its TLS settings (default: system CAs). */
export function httpsAgent(tls: LoadedTls | undefined): HttpsAgent {
  return new HttpsAgent({
    keepAlive: true,
    maxSockets: 256,
    maxFreeSockets: 64,
    ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls?.key === undefined ? {} : { key: tls.key }),
    ...(tls?.servername === undefined ? {} : { servername: tls.servername }),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    ...(tls?.rejectUnauthorized === false ? { checkServerIdentity: () => undefined } : {}),
  });
}
