/**
 * Tetragon source: `tetragon.FineGuidanceSensors/GetEvents` over a unix socket or
 * TCP (optionally TLS). gRPC streams ignore Tetragon's export filters, so the
 * source sends its own allow-list: pods carrying the provider label (optionally
 * limited to namespaces), plus the pod-less accounting events (rate_limit_info,
 * process_throttle) so that lost events stay visible.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { GrpcPath, tetragon, tetragonLazy } from "@hangar/proto";
import type { Logger } from "pino";
import { type Counters, BoundedQueue, PROVIDER_LABEL } from "@hangar/core";
import { runStream, type GrpcEndpointOptions } from "./grpc.js";
import type { SensorRecord, SourceRecord, TetragonBytesRecord } from "./records.js";

export const TETRAGON_DEFAULT_ADDRESS = "unix:///var/run/tetragon/tetragon.sock";

export interface TetragonSourceOptions extends GrpcEndpointOptions {
  /** Only pods in these namespaces (empty: all namespaces). */
  namespaces?: readonly string[];
  /** Queue between the gRPC stream and the pipeline (default 16 384). */
  queueCapacity?: number;
  counters: Counters;
  logger: Logger;
}

/** The allow-list the agent sends: MCP pods, and the accounting events that carry no pod. */
export function tetragonRequest(namespaces: readonly string[] = []): tetragon.GetEventsRequest {
  const pods = create(tetragon.FilterSchema, { labels: [PROVIDER_LABEL] });
  if (namespaces.length > 0) pods.namespace = [...namespaces];
  const accounting = create(tetragon.FilterSchema, {
    eventSet: [tetragon.EventType.RATE_LIMIT_INFO, tetragon.EventType.PROCESS_THROTTLE],
  });
  return create(tetragon.GetEventsRequestSchema, { allowList: [pods, accounting] });
}

/**
 * Decodes the bytes of a Tetragon message with the generated lazy reader: only the fields the
 * normalizer reads (proto/lazy.config.json), checked against fromBinary field for field in
 * proto/test/lazy.test.ts. Throws on malformed bytes.
 */
export function decodeTetragonBytes(rec: TetragonBytesRecord): SensorRecord {
  return { sensor: "tetragon", msg: tetragonLazy.decodeGetEventsResponse(rec.bytes) };
}

export function tetragonSource(
  options: TetragonSourceOptions,
  signal: AbortSignal,
): AsyncIterable<SourceRecord> {
  const { counters, logger } = options;
  const queue = new BoundedQueue<SourceRecord>({
    capacity: options.queueCapacity ?? 16_384,
    name: "tetragon",
    counters,
  });
  const request = toBinary(tetragon.GetEventsRequestSchema, tetragonRequest(options.namespaces));
  let disconnectedAt = 0;
  runStream({
    sensor: "tetragon",
    method: GrpcPath.tetragonGetEvents,
    endpoint: options,
    counters,
    logger,
    signal,
    hooks: {
      request: () => request,
      onConnected(reconnect) {
        logger.info({ address: options.address, reconnect }, "tetragon stream connected");
        if (reconnect && disconnectedAt > 0) {
          // Tetragon keeps no history for gRPC clients: whatever happened while we
          // were away is lost. Count the gap and its length.
          counters.inc("sensor_gaps", { sensor: "tetragon" });
          counters.inc("sensor_gap_ms", { sensor: "tetragon" }, Date.now() - disconnectedAt);
        }
      },
      onDisconnected() {
        disconnectedAt = Date.now();
      },
      onMessage(bytes) {
        counters.inc("sensor_messages", { sensor: "tetragon" });
        // Decoded by the pipeline after the hold (see TetragonBytesRecord; decodeTetragonBytes).
        queue.push({ sensor: "tetragon-bytes", bytes });
      },
    },
  }).then(
    () => queue.close(),
    (err: unknown) => queue.close(err),
  );
  return queue;
}
