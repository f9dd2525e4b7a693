// Public entry point of @hangar/proto: generated protobuf-es code, one
// namespace per proto package, plus small helpers.
export * as tetragon from "./tetragon.js";
export * as flow from "./gen/flow/flow_pb.js";
export * as observer from "./gen/observer/observer_pb.js";
export * as relay from "./gen/relay/relay_pb.js";
export * as hangar from "./hangar.js";
export * as otlp from "./otlp.js";
export { countUnknownFields } from "./unknown.js";
export { GrpcPath, grpcServiceDefinition, methodPath, type GrpcMethodDefinition } from "./grpc.js";
export * as tetragonLazy from "./gen-lazy/tetragon.js";
export * as hubbleLazy from "./gen-lazy/observer.js";
export { lazyDifference } from "./lazy-diff.js";
