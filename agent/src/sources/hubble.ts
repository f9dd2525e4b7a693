/**
 * Hubble source: `observer.Observer/GetFlows` with `follow`, whitelisted to flows
 * from or to MCP pods. After a reconnect it asks for flows `since` the last one it
 * saw, so the gap is filled from Hubble's ring buffer where it still holds them;
 * flows seen twice at the seam are recognized by uuid and skipped.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { GrpcPath, flow, hubbleLazy, observer } from "@hangar/proto";
import type { Logger } from "pino";
import { type Counters, BoundedQueue, PROVIDER_LABEL } from "@hangar/core";
import { runStream, type GrpcEndpointOptions } from "./grpc.js";
import type { SensorRecord } from "./records.js";

export const HUBBLE_DEFAULT_ADDRESS = "unix:///var/run/cilium/hubble.sock";

export interface HubbleSourceOptions extends GrpcEndpointOptions {
  namespaces?: readonly string[];
  queueCapacity?: number;
  counters: Counters;
  logger: Logger;
}

/** Whitelist: flows whose source or destination carries the provider label. */
export function hubbleRequest(
  namespaces: readonly string[] = [],
  sinceMs?: number,
): observer.GetFlowsRequest {
  const label = `k8s:${PROVIDER_LABEL}`;
  const pods = namespaces.map((ns) => `${ns}/`);
  const from = create(flow.FlowFilterSchema, { sourceLabel: [label] });
  const to = create(flow.FlowFilterSchema, { destinationLabel: [label] });
  if (pods.length > 0) {
    from.sourcePod = pods;
    to.destinationPod = [...pods];
  }
  const req = create(observer.GetFlowsRequestSchema, { follow: true, whitelist: [from, to] });
  if (sinceMs !== undefined) req.since = timestampFromMs(sinceMs);
  return req;
}

/** Remembers the last few flow keys, to skip flows a `since` request sends again. */
class RecentKeys {
  readonly #ring: string[];
  readonly #set = new Set<string>();
  #next = 0;
  constructor(size: number) {
    this.#ring = new Array<string>(size).fill("");
  }
  /** Returns false if the key was seen recently. */
  add(key: string): boolean {
    if (this.#set.has(key)) return false;
    const old = this.#ring[this.#next];
    if (old !== undefined && old !== "") this.#set.delete(old);
    this.#ring[this.#next] = key;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#set.add(key);
    return true;
  }
}

function flowKey(f: hubbleLazy.Flow): string {
  if (f.uuid !== "") return f.uuid;
  const t = f.time;
  return `${t?.seconds ?? 0n}.${t?.nanos ?? 0}:${f.IP?.source ?? ""}>${f.IP?.destination ?? ""}:${f.Type}`;
}

export function hubbleSource(options: HubbleSourceOptions, signal: AbortSignal): AsyncIterable<SensorRecord> {
  const { counters, logger } = options;
  const queue = new BoundedQueue<SensorRecord>({
    capacity: options.queueCapacity ?? 16_384,
    name: "hubble",
    counters,
  });
  const recent = new RecentKeys(4096);
  let lastFlowMs: number | undefined;
  let disconnectedAt = 0;
  runStream({
    sensor: "hubble",
    method: GrpcPath.hubbleGetFlows,
    endpoint: options,
    counters,
    logger,
    signal,
    hooks: {
      request: () => toBinary(observer.GetFlowsRequestSchema, hubbleRequest(options.namespaces, lastFlowMs)),
      onConnected(reconnect) {
        logger.info({ address: options.address, reconnect, sinceMs: lastFlowMs }, "hubble stream connected");
        if (reconnect && disconnectedAt > 0) {
          counters.inc("sensor_gaps", { sensor: "hubble" });
          counters.inc("sensor_gap_ms", { sensor: "hubble" }, Date.now() - disconnectedAt);
        }
      },
      onDisconnected() {
        disconnectedAt = Date.now();
      },
      onMessage(bytes) {
        counters.inc("sensor_messages", { sensor: "hubble" });
        let msg: hubbleLazy.GetFlowsResponse;
        try {
          // The generated lazy reader (proto/lazy.config.json), checked against fromBinary in proto/test/lazy.test.ts.
          msg = hubbleLazy.decodeGetFlowsResponse(bytes);
        } catch (err) {
          counters.inc("dropped", { reason: "undecodable" });
          logger.warn({ err }, "hubble: undecodable message skipped");
          return;
        }
        if (msg.responseTypes.case === "flow") {
          const f = msg.responseTypes.value;
          // A `since` request after a reconnect sends the flow at the seam again.
          if (!recent.add(flowKey(f))) {
            counters.inc("dropped", { reason: "duplicate" });
            return;
          }
          const t = f.time ?? msg.time;
          if (t !== undefined) lastFlowMs = Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
        }
        queue.push({ sensor: "hubble", msg });
      },
    },
  }).then(
    () => queue.close(),
    (err: unknown) => queue.close(err),
  );
  return queue;
}
