/**
 * gRPC method paths and service definitions from the generated service descriptors, so no
 * path is written by hand and no service is declared twice. A definition here has the shape
 * of @grpc/grpc-js's `ServiceDefinition` (`Server.addService`,
 * `makeGenericClientConstructor`) without depending on grpc-js.
 */
import {
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import { AgentHubService } from "./gen/hangar/v1/agent_pb.js";
import { Observer } from "./gen/observer/observer_pb.js";
import { FineGuidanceSensors } from "./gen/tetragon/sensors_pb.js";

/** `/package.Service/Method`, the HTTP/2 path of a gRPC method. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** The paths this project calls or serves. */
export const GrpcPath = {
  /** Tetragon's event stream. */
  tetragonGetEvents: methodPath(FineGuidanceSensors.method.getEvents),
  /** Hubble's flow stream. */
  hubbleGetFlows: methodPath(Observer.method.getFlows),
  /** The agent ⇄ controller stream. */
  hubConnect: methodPath(AgentHubService.method.connect),
} as const;

/** One method of a grpc-js style service definition. */
export interface GrpcMethodDefinition<Req, Res> {
  readonly path: string;
  readonly originalName: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => Req;
  readonly responseSerialize: (value: Res) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function codec(schema: DescMessage): {
  serialize: (v: never) => Buffer;
  deserialize: (b: Buffer) => unknown;
} {
  return {
    serialize: (v: never) => asBuffer(toBinary(schema, v)),
    deserialize: (b: Buffer) => fromBinary(schema, b),
  };
}

/**
 * A grpc-js service definition of a generated service, keyed by the method's local name
 * (`connect`, `getEvents`). With `raw`, messages pass as bytes (the caller decodes them,
 * e.g. lazily, or sends bytes it already has).
 */
export function grpcServiceDefinition(
  service: DescService,
  options: { raw?: boolean } = {},
): Record<string, GrpcMethodDefinition<unknown, unknown>> {
  const out: Record<string, GrpcMethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    const kind = m.methodKind;
    const input =
      options.raw === true ? { serialize: asBuffer, deserialize: (b: Buffer) => b } : codec(m.input);
    const output =
      options.raw === true ? { serialize: asBuffer, deserialize: (b: Buffer) => b } : codec(m.output);
    // eslint-disable-next-line hangar/no-string-key-write -- method names of the generated protobuf descriptor, not input
    out[m.localName] = {
      path: methodPath(m),
      originalName: m.name,
      requestStream: kind === "client_streaming" || kind === "bidi_streaming",
      responseStream: kind === "server_streaming" || kind === "bidi_streaming",
      requestSerialize: input.serialize as (v: unknown) => Buffer,
      requestDeserialize: input.deserialize,
      responseSerialize: output.serialize as (v: unknown) => Buffer,
      responseDeserialize: output.deserialize,
    };
  }
  return out;
}
