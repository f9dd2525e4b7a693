/**
 * The hub's gRPC codec for `hangar.v1.AgentHubService/Connect`, with two shortcuts for the
 * messages that come and go once per alert:
 *
 * - an agent's `Alert` keeps the bytes it arrived as (`alertWireBytes`), so the alert store
 *   holds those (a few hundred bytes) instead of a JSON tree, and never encodes it again;
 * - an `Ack` is written as the few bytes it encodes to (`ackBytes`) instead of a message
 *   created and encoded per alert.
 *
 * Everything else is the generated schema's `fromBinary`/`toBinary`, as `grpcServiceDefinition`.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { grpcServiceDefinition, hangar, type GrpcMethodDefinition } from "@hangar/proto";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

/** The `alert` field of `ConnectRequest` (agent.proto: `Alert alert = 11`). */
const ALERT_FIELD = 11;
/** The `ack` field of `ConnectResponse` (agent.proto: `Ack ack = 14`), length-delimited. */
const ACK_TAG = (14 << 3) | 2;

const alertBytes = new WeakMap<hangar.Alert, Uint8Array>();

/** The bytes an alert decoded by the hub arrived as (its own copy), when it came over the hub. */
export function alertWireBytes(alert: hangar.Alert): Uint8Array | undefined {
  return alertBytes.get(alert);
}

/**
 * The `alert` field's bytes in an encoded `ConnectRequest`, or undefined: none, not
 * well-formed (then `fromBinary` has already refused the message), or more than one (then
 * `fromBinary` merged them, and no single run of bytes is the decoded alert).
 */
export function alertField(buf: Uint8Array): Uint8Array | undefined {
  let found: Uint8Array | undefined;
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (i >= buf.length) return -1;
      const b = buf[i++] as number;
      v += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return v;
      mul *= 128;
    }
    return -1;
  };
  while (i < buf.length) {
    const tag = varint();
    if (tag < 0) return undefined;
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        if (varint() < 0) return undefined;
        break;
      case 1:
        i += 8;
        break;
      case 5:
        i += 4;
        break;
      case 2: {
        const len = varint();
        if (len < 0 || i + len > buf.length) return undefined;
        if (field === ALERT_FIELD) {
          if (found !== undefined) return undefined;
          found = buf.subarray(i, i + len);
        }
        i += len;
        break;
      }
      default:
        return undefined;
    }
  }
  return i === buf.length ? found : undefined;
}

/** An encoded `ConnectResponse` carrying `Ack{seq}` (what `toBinary` makes of it, byte for byte). */
export function ackBytes(seq: bigint): Buffer {
  // Ack: field 1 varint; up to 10 bytes of varint.
  const inner: number[] = [];
  if (seq !== 0n) {
    inner.push(0x08);
    let v = seq;
    while (v >= 0x80n) {
      inner.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    inner.push(Number(v));
  }
  return Buffer.from([ACK_TAG, inner.length, ...inner]);
}

/**
 * The service definition the hub serves: the generated codec, with the alert's bytes kept
 * (see `alertWireBytes`) and pre-encoded responses (`ackBytes`) written as they are.
 */
export function hubServiceDefinition(): Record<string, GrpcMethodDefinition<unknown, unknown>> {
  const def = grpcServiceDefinition(hangar.AgentHubService);
  const connect = def.connect as GrpcMethodDefinition<Req, Res>;
  const definition: GrpcMethodDefinition<Req, Res | Uint8Array> = {
    ...connect,
    requestDeserialize: (buf: Buffer): Req => {
      const req = fromBinary(hangar.ConnectRequestSchema, buf);
      if (req.message.case === "alert") {
        const bytes = alertField(buf);
        // A copy: the frame's buffer may be a slice of a larger one.
        if (bytes !== undefined) alertBytes.set(req.message.value, Uint8Array.prototype.slice.call(bytes));
      }
      return req;
    },
    responseSerialize: (v: Res | Uint8Array): Buffer => {
      const out = v instanceof Uint8Array ? v : toBinary(hangar.ConnectResponseSchema, v);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    },
  };
  return { ...def, connect: definition as GrpcMethodDefinition<unknown, unknown> };
}
