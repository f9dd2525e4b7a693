// Generated code of the OTLP metrics subset (opentelemetry.proto.{common,resource,metrics,
// collector.metrics}.v1), merged into one namespace. Used by tests that run a real OTLP gRPC
// receiver; the agent itself exports with @opentelemetry/exporter-metrics-otlp-grpc.
export * from "./gen/opentelemetry/proto/common/v1/common_pb.js";
export * from "./gen/opentelemetry/proto/resource/v1/resource_pb.js";
export * from "./gen/opentelemetry/proto/metrics/v1/metrics_pb.js";
export * from "./gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js";
