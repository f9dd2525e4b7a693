// The `tetragon` proto package is split over several upstream files; this
// module merges their generated code into one namespace.
export * from "./gen/tetragon/bpf_pb.js";
export * from "./gen/tetragon/capabilities_pb.js";
export * from "./gen/tetragon/events_pb.js";
export * from "./gen/tetragon/sensors_pb.js";
export * from "./gen/tetragon/tetragon_pb.js";
