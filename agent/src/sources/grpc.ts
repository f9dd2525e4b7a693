/**
 * A reconnecting gRPC server-stream reader shared by the Tetragon and Hubble
 * sources. Messages arrive as raw bytes (the deserializer is the identity) and are
 * decoded by the caller, so a message that fails to decode is counted and skipped
 * instead of killing the stream.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { AgentError } from "../errors.js";
import { type Counters, Backoff, sleep, type BackoffOptions } from "@hangar/core";

export interface TlsOptions {
  /** PEM file of the CA that signed the server certificate. */
  caFile?: string;
  /** PEM files of a client certificate and key, for mTLS. */
  certFile?: string;
  keyFile?: string;
  /** Server name to verify (and send as SNI), e.g. "tetragon.tetragon-grpc.cilium.io". */
  serverName?: string;
}

export interface GrpcEndpointOptions {
  /** `unix:///path/to.sock`, `unix:/path`, or `host:port`. */
  address: string;
  tls?: TlsOptions;
  /** Largest message accepted, bytes (default 64 MiB; gRPC's own default is 4 MiB). */
  maxReceiveMessageBytes?: number;
  backoff?: BackoffOptions;
}

export const DEFAULT_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** Normalizes the accepted address forms to a grpc-js target. */
export function grpcTarget(address: string): string {
  if (address.startsWith("unix://")) {
    const path = address.slice("unix://".length);
    if (!path.startsWith("/")) {
      throw new AgentError("HANGAR_ERR_CONFIG_INVALID", `unix socket address must be absolute: ${address}`);
    }
    return `unix:${path}`;
  }
  if (address.startsWith("unix:")) return address;
  if (address.startsWith("/")) return `unix:${address}`;
  if (/^[^/\s]+:\d+$/.test(address) || address.startsWith("dns:")) return address;
  throw new AgentError(
    "HANGAR_ERR_CONFIG_INVALID",
    `not a gRPC address: "${address}" (expected unix:///path/to.sock or host:port)`,
  );
}

function credentials(target: string, tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined || target.startsWith("unix:")) return grpc.credentials.createInsecure();
  const read = (file: string | undefined, what: string): Buffer | null => {
    if (file === undefined) return null;
    try {
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS files named by the operator's sensor flags
      return readFileSync(file);
    } catch (err) {
      throw AgentError.from(err, "HANGAR_ERR_CONFIG_INVALID", `reading TLS ${what} ${file}`);
    }
  };
  return grpc.credentials.createSsl(
    read(tls.caFile, "CA"),
    read(tls.keyFile, "key"),
    read(tls.certFile, "certificate"),
  );
}

export interface StreamHooks {
  /** Called for every message; return value ignored. Must not throw. */
  onMessage(bytes: Buffer): void;
  /** Called when a stream is (re)established. `reconnect` is false for the first one. */
  onConnected?(reconnect: boolean): void;
  /** Called when a stream ends; `delivered` is how many messages it carried. */
  onDisconnected?(error: unknown, delivered: number): void;
  /** Builds the request bytes for each (re)connect, e.g. to set Hubble's `since`. */
  request(): Uint8Array;
}

export interface RunStreamOptions {
  sensor: string;
  method: string;
  endpoint: GrpcEndpointOptions;
  counters: Counters;
  logger: Logger;
  signal: AbortSignal;
  hooks: StreamHooks;
}

/**
 * Keeps one server stream open until the signal aborts, reconnecting with capped
 * exponential backoff and jitter. Resolves when aborted.
 */
export async function runStream(opts: RunStreamOptions): Promise<void> {
  const { sensor, method, endpoint, counters, logger, signal, hooks } = opts;
  const target = grpcTarget(endpoint.address);
  const channelOptions: grpc.ChannelOptions = {
    "grpc.max_receive_message_length": endpoint.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    // Our own backoff decides when to retry; keep gRPC's channel-level reconnect short.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1_000,
  };
  if (endpoint.tls?.serverName !== undefined) {
    channelOptions["grpc.ssl_target_name_override"] = endpoint.tls.serverName;
    channelOptions["grpc.default_authority"] = endpoint.tls.serverName;
  }
  const backoff = new Backoff(endpoint.backoff);
  let everConnected = false;
  while (!signal.aborted) {
    // A fresh client per attempt: a channel stuck in its own backoff (seen with
    // long agent restarts) never delays our reconnect.
    const client = new grpc.Client(target, credentials(target, endpoint.tls), channelOptions);
    let delivered = 0;
    const error = await new Promise<unknown>((resolve) => {
      const call = client.makeServerStreamRequest<Uint8Array, Buffer>(
        method,
        (req) => Buffer.from(req.buffer, req.byteOffset, req.byteLength),
        (buf) => buf,
        hooks.request(),
      );
      const onAbort = (): void => call.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
      let announced = false;
      const announce = (): void => {
        if (announced) return;
        announced = true;
        counters.inc("sensor_connects", { sensor });
        hooks.onConnected?.(everConnected);
        everConnected = true;
      };
      call.on("metadata", announce);
      call.on("data", (bytes: Buffer) => {
        announce();
        delivered++;
        hooks.onMessage(bytes);
      });
      call.on("error", (err: grpc.ServiceError) => {
        signal.removeEventListener("abort", onAbort);
        resolve(err);
      });
      call.on("end", () => {
        signal.removeEventListener("abort", onAbort);
        resolve(undefined);
      });
    });
    client.close();
    if (signal.aborted) break;
    hooks.onDisconnected?.(error, delivered);
    if (delivered > 0) backoff.reset();
    const delay = backoff.next();
    counters.inc("sensor_reconnects", { sensor });
    const message = error instanceof Error ? error.message : "stream ended";
    logger.warn(
      { sensor, address: endpoint.address, delayMs: delay, delivered },
      `${sensor} stream lost: ${message}; reconnecting`,
    );
    await sleep(delay, signal);
  }
}
