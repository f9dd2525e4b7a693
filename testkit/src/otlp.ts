/**
 * A real OTLP/gRPC metrics receiver for tests: a grpc-js server implementing
 * opentelemetry.proto.collector.metrics.v1.MetricsService/Export, decoding with the proto
 * subset in @hangar/proto, that keeps every request it receives.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { otlp } from "@hangar/proto";

export interface OtlpReceiver {
  port: number;
  /** Every ExportMetricsServiceRequest received, in order. */
  requests: otlp.ExportMetricsServiceRequest[];
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1 on a free port (plaintext unless `creds` says otherwise). */
export async function startOtlpReceiver(
  creds: ServerCredentials = ServerCredentials.createInsecure(),
): Promise<OtlpReceiver> {
  type Req = otlp.ExportMetricsServiceRequest;
  const requests: Req[] = [];
  const server = new Server();
  const def: ServiceDefinition = {
    Export: {
      path: `/${otlp.MetricsService.typeName}/Export`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: Req) => Buffer.from(toBinary(otlp.ExportMetricsServiceRequestSchema, m)),
      requestDeserialize: (b: Buffer) => fromBinary(otlp.ExportMetricsServiceRequestSchema, b),
      responseSerialize: (m: otlp.ExportMetricsServiceResponse) =>
        Buffer.from(toBinary(otlp.ExportMetricsServiceResponseSchema, m)),
      responseDeserialize: (b: Buffer) => fromBinary(otlp.ExportMetricsServiceResponseSchema, b),
    },
  };
  server.addService(def, {
    Export: (call: { request: Req }, cb: (err: null, res: otlp.ExportMetricsServiceResponse) => void) => {
      requests.push(call.request);
      cb(null, create(otlp.ExportMetricsServiceResponseSchema));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, requests, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

/** An OTLP attribute list as a plain object (key → the value's scalar). */
export function otlpAttributes(kvs: readonly otlp.KeyValue[]): Record<string, unknown> {
  return Object.fromEntries(kvs.map((kv) => [kv.key, kv.value?.value.value]));
}
