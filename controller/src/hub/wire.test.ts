import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { hangar } from "@hangar/proto";
import { ackBytes, alertField, alertWireBytes, hubServiceDefinition } from "./wire.js";

const connect = hubServiceDefinition().connect as unknown as {
  requestDeserialize(b: Buffer): hangar.ConnectRequest;
  responseSerialize(v: hangar.ConnectResponse | Uint8Array): Buffer;
};

describe("hub wire shortcuts", () => {
  it("ackBytes encodes exactly what toBinary makes of ConnectResponse{ack{seq}}", () => {
    for (const seq of [0n, 1n, 127n, 128n, 300n, 16_384n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 64n - 1n]) {
      const want = toBinary(
        hangar.ConnectResponseSchema,
        create(hangar.ConnectResponseSchema, { message: { case: "ack", value: { seq } } }),
      );
      assert.deepEqual(new Uint8Array(ackBytes(seq)), want, `seq ${seq}`);
      const back = fromBinary(hangar.ConnectResponseSchema, ackBytes(seq));
      assert.equal(back.message.case, "ack");
      assert.equal(back.message.value?.seq, seq);
    }
  });
  it("an alert decoded by the hub keeps its own bytes, which decode to the same alert", () => {
    const alert = create(hangar.AlertSchema, {
      id: "n1-7",
      ruleId: "r",
      provider: "p",
      severity: hangar.Severity.HIGH,
      message: "é ".repeat(200),
      time: timestampFromMs(1_765_000_000_123),
      evidence: [create(hangar.RuntimeEventSchema, { id: "e", provider: "p" })],
    });
    const frame = Buffer.from(
      toBinary(
        hangar.ConnectRequestSchema,
        create(hangar.ConnectRequestSchema, { seq: 2n ** 40n, message: { case: "alert", value: alert } }),
      ),
    );
    const req = connect.requestDeserialize(frame);
    assert.equal(req.message.case, "alert");
    const bytes = alertWireBytes(req.message.value);
    assert.ok(bytes !== undefined);
    assert.deepEqual(fromBinary(hangar.AlertSchema, bytes), alert);
    frame.fill(0);
    assert.deepEqual(fromBinary(hangar.AlertSchema, bytes), alert, "a copy, not a view of the frame");
  });
  it("other messages keep nothing; a truncated frame yields no field", () => {
    const hello = connect.requestDeserialize(
      Buffer.from(
        toBinary(
          hangar.ConnectRequestSchema,
          create(hangar.ConnectRequestSchema, { message: { case: "hello", value: { node: "n" } } }),
        ),
      ),
    );
    assert.equal(hello.message.case, "hello");
    const frame = toBinary(
      hangar.ConnectRequestSchema,
      create(hangar.ConnectRequestSchema, { seq: 3n, message: { case: "alert", value: { id: "x" } } }),
    );
    assert.ok(alertField(frame) !== undefined);
    assert.equal(alertField(frame.subarray(0, frame.length - 1)), undefined);
    assert.equal(alertField(new Uint8Array([0x0f])), undefined, "wire type 7 does not exist");
  });
  it("an alert sent in two pieces (fromBinary merges them) keeps no bytes: none would be the merged alert", () => {
    const piece = (value: { id?: string; ruleId?: string; message?: string }): Uint8Array =>
      toBinary(
        hangar.ConnectRequestSchema,
        create(hangar.ConnectRequestSchema, { message: { case: "alert", value } }),
      );
    const frame = Buffer.concat([piece({ id: "a", ruleId: "r1" }), piece({ message: "m" })]);
    const req = connect.requestDeserialize(frame);
    assert.ok(req.message.case === "alert");
    assert.equal(req.message.value.id, "a");
    assert.equal(req.message.value.message, "m", "merged, as protobuf does");
    assert.equal(alertWireBytes(req.message.value), undefined);
    assert.equal(alertField(frame), undefined);
  });
  it("responses: pre-encoded bytes go out as they are, messages are encoded", () => {
    const ack = ackBytes(5n);
    assert.deepEqual(new Uint8Array(connect.responseSerialize(ack)), new Uint8Array(ack));
    const res = create(hangar.ConnectResponseSchema, {
      seq: 9n,
      message: { case: "ack", value: { seq: 4n } },
    });
    assert.deepEqual(
      new Uint8Array(connect.responseSerialize(res)),
      toBinary(hangar.ConnectResponseSchema, res),
    );
  });
});
