import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Counters, EventKind, FileOperation, Sensor } from "@hangar/core";
import { CgroupResolver } from "../sources/probe/cgroups.js";
import {
  PROBE_EVENT_LAYOUT,
  PROBE_META_LAYOUT,
  PROBE_META_SIZE,
  PROBE_RECORD_SIZE,
  ProbeKind,
  decodeProbeEvent,
  decodeProbeMeta,
  ipv6,
  probeRecordKind,
  type ProbeEvent,
} from "../sources/probe/records.js";
import { ProbeNormalizer, openFlags } from "./probe.js";

type Layout = Record<string, readonly [number, number]>;

/** Writes fields into a record the way the C side lays them out (little endian). */
function encode(
  layout: Layout,
  size: number,
  fields: Record<string, number | bigint | Uint8Array | string>,
): Buffer {
  const buf = Buffer.alloc(size);
  for (const [name, value] of Object.entries(fields)) {
    const spec = layout[name];
    assert.ok(spec !== undefined, `no field ${name}`);
    const [off, len] = spec;
    if (typeof value === "string") buf.write(value, off, len, "utf8");
    else if (value instanceof Uint8Array) Buffer.from(value).copy(buf, off, 0, len);
    else if (typeof value === "bigint") buf.writeBigUInt64LE(value, off);
    else if (len === 2) buf.writeUInt16LE(value, off);
    else if (name === "ret") buf.writeInt32LE(value, off);
    else buf.writeUInt32LE(value, off);
  }
  return buf;
}

const v4 = (a: number, b: number, c: number, d: number): Uint8Array => new Uint8Array([a, b, c, d]);

function probeRecord(fields: Record<string, number | bigint | Uint8Array | string>): Buffer {
  return encode(PROBE_EVENT_LAYOUT, PROBE_RECORD_SIZE, { size: PROBE_RECORD_SIZE, ...fields });
}

describe("probe record layout", () => {
  it("fields are in order, do not overlap, and fill the record exactly", () => {
    const cases: [Layout, number][] = [
      [PROBE_EVENT_LAYOUT, PROBE_RECORD_SIZE],
      [PROBE_META_LAYOUT, PROBE_META_SIZE],
    ];
    for (const [layout, size] of cases) {
      let end = 0;
      for (const [name, [off, len]] of Object.entries(layout)) {
        assert.equal(off, end, `${name} starts where the previous field ends`);
        assert.equal(off % Math.min(len, 8), 0, `${name} is naturally aligned`);
        end = off + len;
      }
      assert.equal(end, size);
    }
  });
});

describe("decodeProbeEvent", () => {
  it("decodes an IPv4 connect with wall-clock time", () => {
    const rec = probeRecord({
      kind: ProbeKind.CONNECT,
      pid: 4242,
      tid: 4243,
      ppid: 1,
      uid: 1000,
      gid: 1000,
      time_ns: 5_000_000_000n,
      cgroup_id: 77n,
      match_cgroup_id: 70n,
      start_ns: 4_000_000_000n,
      parent_start_ns: 1_000n,
      ret: -111,
      family: 2,
      sport: 40000,
      dport: 443,
      protocol: 6,
      sock_type: 1,
      daddr: v4(203, 0, 113, 66),
      saddr: v4(10, 1, 2, 3),
      comm: "curl",
    });
    // Two records back to back, decode the second: offsets are relative.
    const two = Buffer.concat([Buffer.alloc(PROBE_RECORD_SIZE), rec]);
    assert.equal(probeRecordKind(two, PROBE_RECORD_SIZE), ProbeKind.CONNECT);
    const e = decodeProbeEvent(two, PROBE_RECORD_SIZE, 1_700_000_000_000_000_000n);
    assert.equal(e.pid, 4242);
    assert.equal(e.tid, 4243);
    assert.equal(e.uid, 1000);
    assert.equal(e.realNs, 1_700_000_005_000_000_000n);
    assert.equal(e.cgroupId, 77n);
    assert.equal(e.matchCgroupId, 70n);
    assert.equal(e.ret, -111);
    assert.equal(e.daddr, "203.0.113.66");
    assert.equal(e.saddr, "10.1.2.3");
    assert.equal(e.dport, 443);
    assert.equal(e.comm, "curl");
  });

  it("decodes paths by length and argv without argv[0]", () => {
    const args = Buffer.from("/bin/sh\0-c\0id; whoami\0");
    const rec = probeRecord({
      kind: ProbeKind.EXEC,
      path: "/bin/shXXXX",
      path_len: 7,
      args,
      args_len: args.length,
    });
    const e = decodeProbeEvent(rec, 0, 0n);
    assert.equal(e.path, "/bin/sh");
    assert.equal(e.args, "-c id; whoami");
  });

  it("clamps lengths larger than the field", () => {
    const rec = probeRecord({ kind: ProbeKind.OPEN, path: "/etc/passwd", path_len: 9999 });
    assert.equal(decodeProbeEvent(rec, 0, 0n).path.length, 256);
  });

  it("decodes a HELLO meta record", () => {
    const rec = encode(PROBE_META_LAYOUT, PROBE_RECORD_SIZE, {
      kind: ProbeKind.HELLO,
      size: PROBE_RECORD_SIZE,
      magic: 0x48414e47,
      abi: 1,
      boot_ns: 10n,
      real_ns: 110n,
      lost: 3n,
      cookie: 9n,
      filter_size: 2,
    });
    const m = decodeProbeMeta(rec);
    assert.deepEqual(
      [m.kind, m.size, m.magic, m.abi, m.bootNs, m.realNs, m.lost, m.cookie, m.filterSize],
      [ProbeKind.HELLO, PROBE_RECORD_SIZE, 0x48414e47, 1, 10n, 110n, 3n, 9n, 2],
    );
  });
});

describe("ipv6 and open flags", () => {
  it("formats IPv6 as RFC 5952 text", () => {
    const b = (hex: string): Uint8Array => Buffer.from(hex, "hex");
    assert.equal(ipv6(b("20010db8000000000000000000000001"), 0), "2001:db8::1");
    assert.equal(ipv6(b("00000000000000000000000000000001"), 0), "::1");
    assert.equal(ipv6(b("00000000000000000000ffffc0000201"), 0), "::ffff:192.0.2.1");
    assert.equal(ipv6(b("20010db8000100000001000000000001"), 0), "2001:db8:1:0:1::1");
    assert.equal(ipv6(b("fd68616e00e800000000000000000002"), 0), "fd68:616e:e8::2");
  });

  it("names open flags", () => {
    assert.equal(openFlags(0), "O_RDONLY");
    assert.equal(openFlags(0o2000000 | 0o100 | 1), "O_WRONLY|O_CREAT|O_CLOEXEC");
    assert.equal(openFlags(2 | 0o1000), "O_RDWR|O_TRUNC");
  });
});

function event(over: Partial<ProbeEvent>): ProbeEvent {
  return {
    kind: ProbeKind.EXEC,
    pid: 100,
    tid: 100,
    ppid: 1,
    uid: 0,
    gid: 0,
    timeNs: 1_000n,
    realNs: 1_700_000_000_000_001_000n,
    cgroupId: 0n,
    matchCgroupId: 0n,
    startNs: 900n,
    parentStartNs: 10n,
    ret: 0,
    flags: 0,
    family: 0,
    sport: 0,
    dport: 0,
    protocol: 0,
    sockType: 0,
    oldState: 0,
    daddr: "",
    saddr: "",
    comm: "sh",
    path: "",
    args: "",
    ...over,
  };
}

describe("ProbeNormalizer", () => {
  it("maps exec, connect, open and exit, and joins them by exec id", () => {
    const counters = new Counters();
    const n = new ProbeNormalizer({ counters, node: "node-a", procRoot: "/nonexistent" });
    const exec = n.normalize(event({ path: "/bin/sh", args: "-c id" })).event;
    assert.ok(exec !== undefined);
    assert.equal(exec.kind, EventKind.EXEC);
    assert.equal(exec.sensor, Sensor.PROBE);
    assert.equal(exec.node, "node-a");
    assert.equal(exec.process?.binary, "/bin/sh");
    assert.equal(exec.process?.arguments, "-c id");
    assert.equal(exec.time?.seconds, 1_700_000_000n);
    assert.equal(exec.time?.nanos, 1000);
    const execId = exec.process?.execId ?? "";
    assert.equal(Buffer.from(execId, "base64").toString(), "node-a:1000:100");

    const conn = n.normalize(
      event({
        kind: ProbeKind.CONNECT,
        timeNs: 2_000n,
        family: 10,
        daddr: "2001:db8::1",
        dport: 443,
        saddr: "fd00::5",
        sport: 5555,
        protocol: 6,
        ret: -115,
      }),
    ).event;
    assert.equal(conn?.kind, EventKind.CONNECT);
    assert.equal(conn?.process?.execId, execId);
    assert.equal(conn?.process?.binary, "/bin/sh");
    assert.equal(conn?.detail.case, "connect");
    if (conn?.detail.case === "connect") {
      assert.deepEqual(
        [conn.detail.value.family, conn.detail.value.protocol, conn.detail.value.destinationIp],
        ["ipv6", "tcp", "2001:db8::1"],
      );
      assert.equal(conn.detail.value.result, -115);
      assert.equal(conn.detail.value.hook, "sys_exit_connect");
    }

    const open = n.normalize(
      event({ kind: ProbeKind.OPEN, timeNs: 3_000n, path: "/etc/shadow", flags: 0 }),
    ).event;
    assert.equal(open?.kind, EventKind.FILE);
    if (open?.detail.case === "file") {
      assert.equal(open.detail.value.path, "/etc/shadow");
      assert.equal(open.detail.value.operation, FileOperation.OPEN);
      assert.equal(open.detail.value.flags, "O_RDONLY");
    }

    const exit = n.normalize(event({ kind: ProbeKind.EXIT, timeNs: 4_000n, ret: 3 << 8 })).event;
    assert.equal(exit?.kind, EventKind.EXIT);
    if (exit?.detail.case === "exit") {
      assert.equal(exit.detail.value.status, 3);
      assert.equal(exit.detail.value.signal, "");
    }
    assert.equal(n.processes, 0, "exit forgets the process");
    const killed = n.normalize(event({ kind: ProbeKind.EXIT, pid: 7, ret: 9 })).event;
    if (killed?.detail.case === "exit") assert.equal(killed.detail.value.signal, "SIGKILL");
  });

  it("gives processes it did not see exec an exec id from their start time", () => {
    const n = new ProbeNormalizer({ counters: new Counters(), node: "n", procRoot: "/nonexistent" });
    const ev = n.normalize(
      event({ kind: ProbeKind.OPEN, pid: 55, startNs: 123n, ppid: 1, parentStartNs: 7n }),
    ).event;
    assert.equal(Buffer.from(ev?.process?.execId ?? "", "base64").toString(), "n:123:55");
    assert.equal(Buffer.from(ev?.process?.parentExecId ?? "", "base64").toString(), "n:7:1");
  });

  it("names the parent it saw exec on the child's events (a shell started by the server)", () => {
    const n = new ProbeNormalizer({ counters: new Counters(), node: "n", procRoot: "/nonexistent" });
    const server = n.normalize(
      event({ pid: 10, ppid: 1, path: "/usr/local/bin/node", args: "/app/server.js", timeNs: 500n }),
    ).event;
    const shell = n.normalize(
      event({ pid: 11, ppid: 10, path: "/bin/bash", args: "-c id", timeNs: 1_000n, parentStartNs: 400n }),
    ).event;
    assert.equal(shell?.parent?.binary, "/usr/local/bin/node");
    assert.equal(shell?.parent?.arguments, "/app/server.js");
    assert.equal(shell?.parent?.pid, 10);
    assert.equal(shell?.parent?.execId, server?.process?.execId);
    assert.equal(shell?.process?.parentExecId, server?.process?.execId);
    const orphan = n.normalize(event({ pid: 12, ppid: 99, path: "/bin/sh", timeNs: 2_000n })).event;
    assert.equal(orphan?.parent, undefined, "a parent it knows nothing of is not made up");
  });

  it("reports the sock_state outcome of a connect", () => {
    const n = new ProbeNormalizer({ counters: new Counters(), procRoot: "/nonexistent" });
    const ok = n.normalize(
      event({ kind: ProbeKind.SOCK_STATE, ret: 1, oldState: 2, family: 2, daddr: "192.0.2.1" }),
    ).event;
    const refused = n.normalize(
      event({ kind: ProbeKind.SOCK_STATE, ret: 7, oldState: 2, family: 2, flags: 111 }),
    ).event;
    const closed = n.normalize(event({ kind: ProbeKind.SOCK_STATE, ret: 7, oldState: 2, family: 2 })).event;
    assert.ok(closed?.detail.case === "connect");
    assert.equal(closed.detail.value.result, -103, "closed before the handshake: ECONNABORTED");
    assert.ok(ok?.detail.case === "connect" && refused?.detail.case === "connect");
    assert.deepEqual([ok.detail.value.state, ok.detail.value.result], ["TCP_ESTABLISHED", 0]);
    assert.deepEqual([refused.detail.value.state, refused.detail.value.result], ["TCP_CLOSE", -111]);
    assert.equal(ok.detail.value.hook, "inet_sock_set_state");
  });

  it("drops unknown kinds with a reason", () => {
    const counters = new Counters();
    const n = new ProbeNormalizer({ counters });
    assert.deepEqual(n.normalize(event({ kind: 42 })), { dropped: "unknown_variant" });
    assert.equal(counters.get("dropped", { reason: "unknown_variant" }), 1);
  });

  it("takes the pod uid and container id from the cgroup resolver", () => {
    const cgroups = new CgroupResolver({ hierarchy: { version: 2, controller: "", mount: "/nonexistent" } });
    // No scan results and no /proc entry: lookup falls through to undefined, the event has no pod.
    const n = new ProbeNormalizer({ counters: new Counters(), cgroups, procRoot: "/nonexistent" });
    const ev = n.normalize(event({ cgroupId: 5n, matchCgroupId: 5n, pid: 0 })).event;
    assert.equal(ev?.pod, undefined);
  });
});
