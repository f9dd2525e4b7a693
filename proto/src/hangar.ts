// Generated code of the `hangar.v1` proto package, merged into one namespace.
export * from "./gen/hangar/v1/agent_pb.js";
export * from "./gen/hangar/v1/alerts_pb.js";
export * from "./gen/hangar/v1/baseline_pb.js";
export * from "./gen/hangar/v1/enforcement_pb.js";
export * from "./gen/hangar/v1/events_pb.js";
export * from "./gen/hangar/v1/traces_pb.js";
