import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

import { countUnknownFields, tetragon } from "../src/index.js";

const { GetEventsResponseSchema, KprobeAction } = tetragon;

function tcpConnectEvent(): tetragon.GetEventsResponse {
  return create(GetEventsResponseSchema, {
    nodeName: "kind-worker",
    time: timestampFromDate(new Date("2026-03-02T09:28:31.958Z")),
    nodeLabels: { "kubernetes.io/hostname": "kind-worker" },
    event: {
      case: "processKprobe",
      value: {
        process: {
          execId: "a2luZC13b3JrZXI6NTk4NzY2MDAwMDAwMDo0MTM3OA==",
          pid: 41378,
          uid: 0,
          binary: "/usr/bin/curl",
          arguments: "-s https://exfil.example.net/u",
          pod: {
            namespace: "mcp",
            name: "mcp-fs-server-6c9d7b8f4-x2x7q",
            podLabels: { app: "mcp-fs-server" },
          },
        },
        functionName: "tcp_connect",
        policyName: "connect",
        action: KprobeAction.POST,
        args: [
          {
            arg: {
              case: "sockArg",
              value: {
                family: "AF_INET",
                type: "SOCK_STREAM",
                protocol: "IPPROTO_TCP",
                saddr: "10.244.1.17",
                daddr: "203.0.113.50",
                sport: 48562,
                dport: 443,
                cookie: 18446623334589046080n,
                state: "TCP_SYN_SENT",
              },
            },
          },
        ],
      },
    },
  });
}

describe("tetragon binary encoding", () => {
  it("round-trips a GetEventsResponse with process_kprobe and sock_arg", () => {
    const original = tcpConnectEvent();
    const bytes = toBinary(GetEventsResponseSchema, original);
    const decoded = fromBinary(GetEventsResponseSchema, bytes);

    assert.deepEqual(decoded, original);
    assert.equal(decoded.event.case, "processKprobe");
    if (decoded.event.case !== "processKprobe") return;
    const kprobe = decoded.event.value;
    assert.equal(kprobe.process?.pid, 41378);
    // uid 0 is present: wrapper types distinguish 0 from unset.
    assert.equal(kprobe.process?.uid, 0);
    assert.equal(kprobe.parent?.uid, undefined);
    const arg = kprobe.args[0]?.arg;
    assert.equal(arg?.case, "sockArg");
    assert.equal(arg?.case === "sockArg" ? arg.value.cookie : undefined, 18446623334589046080n);
    assert.equal(countUnknownFields(decoded), 0);
  });

  it("uses upstream field numbers on the wire (process_kprobe = 9, node_name = 1000)", () => {
    const bytes = toBinary(GetEventsResponseSchema, tcpConnectEvent());
    // The first field emitted is the oneof variant: tag (9 << 3 | LengthDelimited) = 0x4a.
    assert.equal(bytes[0], (9 << 3) | WireType.LengthDelimited);
    const nodeNameTag = new BinaryWriter().tag(1000, WireType.LengthDelimited).finish();
    assert.ok(Buffer.from(bytes).includes(Buffer.from(nodeNameTag)));
  });
});

describe("tetragon unknown fields (newer agent than this schema)", () => {
  // An unknown oneof variant 30 (e.g. a future process_* event) next to a
  // known node_name.
  function unknownVariantBytes(): Uint8Array {
    const writer = new BinaryWriter();
    writer.tag(30, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string("future payload");
    writer.join();
    writer.tag(1000, WireType.LengthDelimited).string("kind-worker");
    return writer.finish();
  }

  // process_exec whose Process carries a field number (99) this schema lacks.
  function unknownProcessFieldBytes(): Uint8Array {
    const writer = new BinaryWriter();
    writer.tag(1, WireType.LengthDelimited).fork(); // process_exec
    writer.tag(1, WireType.LengthDelimited).fork(); // ProcessExec.process
    writer.tag(1, WireType.LengthDelimited).string("ZXhlYy1pZA=="); // exec_id
    writer.tag(5, WireType.LengthDelimited).string("/bin/sh"); // binary
    writer.tag(99, WireType.Varint).uint32(7); // unknown
    writer.join();
    writer.join();
    return writer.finish();
  }

  it("decodes an unknown top-level oneof variant: event.case is undefined, bytes kept in $unknown", () => {
    const bytes = unknownVariantBytes();
    const decoded = fromBinary(GetEventsResponseSchema, bytes);
    assert.equal(decoded.event.case, undefined);
    assert.equal(decoded.nodeName, "kind-worker");
    assert.equal(decoded.$unknown?.length, 1);
    assert.equal(decoded.$unknown?.[0]?.no, 30);
    assert.equal(countUnknownFields(decoded), 1);
    // Unknown fields survive re-encoding (written after the known fields), so
    // forwarding a decoded event loses nothing.
    const reencoded = toBinary(GetEventsResponseSchema, decoded);
    assert.equal(reencoded.length, bytes.length);
    assert.deepEqual(fromBinary(GetEventsResponseSchema, reencoded), decoded);
  });

  it("decodes an unknown field inside Process and counts it from the top-level message", () => {
    const decoded = fromBinary(GetEventsResponseSchema, unknownProcessFieldBytes());
    assert.equal(decoded.event.case, "processExec");
    if (decoded.event.case !== "processExec") return;
    assert.equal(decoded.event.value.process?.binary, "/bin/sh");
    assert.equal(decoded.event.value.process?.$unknown?.[0]?.no, 99);
    assert.equal(countUnknownFields(decoded), 1);
  });

  it("counts unknown fields at several depths at once", () => {
    const combined = new Uint8Array([...unknownProcessFieldBytes(), ...unknownVariantBytes()]);
    const decoded = fromBinary(GetEventsResponseSchema, combined);
    assert.equal(decoded.event.case, "processExec");
    assert.equal(countUnknownFields(decoded), 2);
  });
});
