// Public API of @hangar/export: SIEM export (CEF, LEEF, JSON lines over syslog, files or
// stdout, with a disk spool per destination) and metrics (OTLP/gRPC and Prometheus).
export * from "./errors.js";
export * from "./json-lines.js";
export * from "./siem/cef.js";
export * from "./siem/cli.js";
export * from "./siem/config.js";
export * from "./siem/destination.js";
export * from "./siem/json.js";
export * from "./siem/leef.js";
export * from "./siem/lines.js";
export * from "./siem/record.js";
export * from "./siem/sink.js";
export * from "./siem/syslog.js";
export * from "./siem/text.js";
export * from "./siem/transport.js";
export * from "./metrics/cli.js";
export * from "./metrics/metrics.js";
