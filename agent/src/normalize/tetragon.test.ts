import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { hangar, tetragon } from "@hangar/proto";
import { Counters, EventKind, FileOperation, Sensor, timeMs, type RuntimeEvent } from "@hangar/core";
import { TetragonNormalizer, type NormalizeResult } from "./tetragon.js";

const T0 = Date.parse("2026-03-02T09:00:00Z");
const EXEC_ID = Buffer.from("node-a:6000000:4200").toString("base64");
const PARENT_EXEC_ID = Buffer.from("node-a:5000000:4100").toString("base64");

function pod(): tetragon.Pod {
  return create(tetragon.PodSchema, {
    namespace: "mcp",
    name: "weather-6c9d7b8f4-x2x7q",
    uid: "3b0f6a2e-6d3c-4b7e-9a51-0c4c1f9e2d11",
    podLabels: { app: "weather", "mcp-hangar.io/provider": "weather" },
    workload: "weather",
    workloadKind: "Deployment",
    container: {
      id: "containerd://9f2c4e1ab03d5c7e8f90123456789abcdef0123456789abcdef0123456789ab",
      name: "server",
      image: { name: "ghcr.io/example/weather-mcp:1.2.0", id: "ghcr.io/example/weather-mcp@sha256:4b82" },
    },
  });
}

function proc(init: MessageInitShape<typeof tetragon.ProcessSchema> = {}): tetragon.Process {
  return create(tetragon.ProcessSchema, {
    execId: EXEC_ID,
    parentExecId: PARENT_EXEC_ID,
    pid: 4200,
    uid: 1000,
    cwd: "/app",
    binary: "/bin/sh",
    arguments: '-c "cat /etc/passwd"',
    flags: "execve clone",
    startTime: timestampFromMs(T0 + 200),
    pod: pod(),
    ...init,
  });
}

function parentProc(): tetragon.Process {
  return create(tetragon.ProcessSchema, {
    execId: PARENT_EXEC_ID,
    pid: 4100,
    binary: "/usr/local/bin/node",
    arguments: "/app/server.js",
    pod: pod(),
  });
}

type EventInit = NonNullable<MessageInitShape<typeof tetragon.GetEventsResponseSchema>["event"]>;

function response(event: EventInit, timeOffsetMs: number | null = 250): tetragon.GetEventsResponse {
  return create(tetragon.GetEventsResponseSchema, {
    nodeName: "node-a",
    ...(timeOffsetMs === null ? {} : { time: timestampFromMs(T0 + timeOffsetMs) }),
    event,
  });
}

type ArgInit = NonNullable<MessageInitShape<typeof tetragon.KprobeArgumentSchema>["arg"]>;

function kprobe(functionName: string, args: ArgInit[], policyName = "hangar"): tetragon.GetEventsResponse {
  return response({
    case: "processKprobe",
    value: {
      process: proc(),
      parent: parentProc(),
      functionName,
      args: args.map((arg) => ({ arg })),
      policyName,
      tags: ["observability.filesystem"],
      action: tetragon.KprobeAction.POST,
    },
  });
}

function normalize(msg: tetragon.GetEventsResponse, counters = new Counters()): NormalizeResult {
  return new TetragonNormalizer(counters).normalize(msg);
}

/** The event of a result, failing the test when it was dropped. */
function eventOf(r: NormalizeResult): RuntimeEvent {
  assert.equal(r.dropped, undefined, `unexpectedly dropped: ${r.dropped}`);
  assert.ok(r.event !== undefined);
  return r.event;
}

type Detail = RuntimeEvent["detail"];
type DetailValue<C extends Detail["case"]> = Extract<Detail, { case: C; value: unknown }>["value"];

function detail<C extends NonNullable<Detail["case"]>>(ev: RuntimeEvent, c: C): DetailValue<C> {
  assert.equal(ev.detail.case, c);
  return ev.detail.value as DetailValue<C>;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

describe("TetragonNormalizer: process_exec", () => {
  const msg = response({
    case: "processExec",
    value: { process: proc({ binaryProperties: { setuid: 0 } }), parent: parentProc() },
  });

  it("maps the process identity", () => {
    const ev = eventOf(normalize(msg));
    assert.equal(ev.kind, EventKind.EXEC);
    assert.equal(ev.sensor, Sensor.TETRAGON);
    assert.equal(ev.id, `exec:${EXEC_ID}`);
    const p = ev.process;
    assert.ok(p !== undefined);
    assert.equal(p.execId, EXEC_ID);
    assert.equal(p.parentExecId, PARENT_EXEC_ID);
    assert.equal(p.pid, 4200);
    assert.equal(p.uid, 1000);
    assert.equal(p.cwd, "/app");
    assert.equal(p.binary, "/bin/sh");
    assert.equal(p.arguments, '-c "cat /etc/passwd"');
    assert.equal(timeMs(p.startTime), T0 + 200);
  });

  it("maps the parent", () => {
    const ev = eventOf(normalize(msg));
    assert.equal(ev.parent?.execId, PARENT_EXEC_ID);
    assert.equal(ev.parent?.binary, "/usr/local/bin/node");
    assert.equal(ev.parent?.pid, 4100);
  });

  it("maps the pod with labels, workload, container and image", () => {
    const ev = eventOf(normalize(msg));
    const p = ev.pod;
    assert.ok(p !== undefined);
    assert.equal(p.namespace, "mcp");
    assert.equal(p.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(p.uid, "3b0f6a2e-6d3c-4b7e-9a51-0c4c1f9e2d11");
    assert.deepEqual(p.labels, { app: "weather", "mcp-hangar.io/provider": "weather" });
    assert.equal(p.workload, "weather");
    assert.equal(p.workloadKind, "Deployment");
    assert.equal(
      p.container?.id,
      "containerd://9f2c4e1ab03d5c7e8f90123456789abcdef0123456789abcdef0123456789ab",
    );
    assert.equal(p.container?.name, "server");
    assert.equal(p.container?.image, "ghcr.io/example/weather-mcp:1.2.0");
    assert.equal(p.container?.imageId, "ghcr.io/example/weather-mcp@sha256:4b82");
    // The provider is filled by the resolver, not here.
    assert.equal(ev.provider, "");
  });

  it("takes node and time from the response", () => {
    const ev = eventOf(normalize(msg));
    assert.equal(ev.node, "node-a");
    assert.equal(timeMs(ev.time), T0 + 250);
  });

  it("falls back to the process start time when the response has no time", () => {
    const ev = eventOf(normalize(response({ case: "processExec", value: { process: proc() } }, null)));
    assert.equal(timeMs(ev.time), T0 + 200);
  });

  it("splits the space-separated flags and reports a setuid binary (setuid 0 = root-owned)", () => {
    const d = detail(eventOf(normalize(msg)), "exec");
    assert.deepEqual(d.flags, ["execve", "clone"]);
    assert.equal(d.setuid, true);
  });

  it("has no flags and setuid false when Tetragon sent neither", () => {
    const ev = eventOf(normalize(response({ case: "processExec", value: { process: proc({ flags: "" }) } })));
    const d = detail(ev, "exec");
    assert.deepEqual(d.flags, []);
    assert.equal(d.setuid, false);
    assert.equal(ev.parent, undefined);
  });

  it("leaves the pod undefined for a host process", () => {
    const host = create(tetragon.ProcessSchema, { execId: "aG9zdA==", pid: 1, binary: "/sbin/init" });
    const ev = eventOf(normalize(response({ case: "processExec", value: { process: host } })));
    assert.equal(ev.pod, undefined);
  });
});

describe("TetragonNormalizer: process_exit", () => {
  it("carries signal and status", () => {
    const ev = eventOf(
      normalize(
        response({
          case: "processExit",
          value: { process: proc(), parent: parentProc(), signal: "SIGKILL", status: 137 },
        }),
      ),
    );
    assert.equal(ev.kind, EventKind.EXIT);
    assert.equal(ev.id, `exit:${EXEC_ID}`);
    const d = detail(ev, "exit");
    assert.equal(d.signal, "SIGKILL");
    assert.equal(d.status, 137);
    assert.equal(ev.process?.execId, EXEC_ID);
  });
});

describe("TetragonNormalizer: network hooks", () => {
  it("tcp_connect with a sock_arg becomes a tcp/ipv4 connect", () => {
    const ev = eventOf(
      normalize(
        kprobe(
          "tcp_connect",
          [
            {
              case: "sockArg",
              value: {
                family: "AF_INET",
                type: "SOCK_STREAM",
                protocol: "IPPROTO_TCP",
                saddr: "10.244.1.17",
                sport: 51000,
                daddr: "203.0.113.66",
                dport: 443,
                cookie: 18446623n,
                state: "TCP_SYN_SENT",
              },
            },
          ],
          "hangar-network",
        ),
      ),
    );
    assert.equal(ev.kind, EventKind.CONNECT);
    assert.equal(ev.policyName, "hangar-network");
    assert.deepEqual(ev.tags, ["observability.filesystem"]);
    const d = detail(ev, "connect");
    assert.equal(d.protocol, "tcp");
    assert.equal(d.family, "ipv4");
    assert.equal(d.sourceIp, "10.244.1.17");
    assert.equal(d.sourcePort, 51000);
    assert.equal(d.destinationIp, "203.0.113.66");
    assert.equal(d.destinationPort, 443);
    assert.equal(d.state, "TCP_SYN_SENT");
    assert.equal(d.socketCookie, 18446623n);
    assert.equal(d.hook, "tcp_connect");
    assert.match(ev.id, new RegExp(`^${EXEC_ID}:\\d+\\.\\d+:${EventKind.CONNECT}$`));
  });

  it("a sockaddr_arg becomes a connect to addr:port", () => {
    const d = detail(
      eventOf(
        normalize(
          kprobe("security_socket_connect", [
            { case: "sockaddrArg", value: { family: "AF_INET6", addr: "2001:db8::1", port: 8443 } },
          ]),
        ),
      ),
      "connect",
    );
    assert.equal(d.family, "ipv6");
    assert.equal(d.destinationIp, "2001:db8::1");
    assert.equal(d.destinationPort, 8443);
    assert.equal(d.protocol, "");
    assert.equal(d.hook, "security_socket_connect");
  });

  it("an skb_arg on an unmodelled hook is a socket event (not a connect), protocol named like sock_arg's", () => {
    const d = detail(
      eventOf(
        normalize(
          kprobe("ip_output", [
            {
              case: "skbArg",
              value: {
                family: "AF_INET",
                protocol: "IPPROTO_UDP",
                proto: 17,
                saddr: "10.244.1.17",
                sport: 40000,
                daddr: "198.51.100.53",
                dport: 53,
              },
            },
          ]),
        ),
      ),
      "socket",
    );
    assert.equal(d.operation, "");
    assert.equal(d.protocol, "udp");
    assert.equal(d.family, "ipv4");
    assert.equal(d.localIp, "10.244.1.17");
    assert.equal(d.localPort, 40000);
    assert.equal(d.remoteIp, "198.51.100.53");
    assert.equal(d.remotePort, 53);
  });
});

describe("TetragonNormalizer: file hooks", () => {
  const token = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  const fileArg: ArgInit = { case: "fileArg", value: { path: token, permission: "-rw-r--r--", flags: "" } };

  function fileOp(fn: string, args: ArgInit[]): { path: string; operation: hangar.FileOperation } {
    const ev = eventOf(normalize(kprobe(fn, args)));
    assert.equal(ev.kind, EventKind.FILE);
    const d = detail(ev, "file");
    assert.equal(d.hook, fn);
    return { path: d.path, operation: d.operation };
  }

  it("security_file_permission with MAY_READ (4) is a READ", () => {
    assert.deepEqual(fileOp("security_file_permission", [fileArg, { case: "intArg", value: 4 }]), {
      path: token,
      operation: FileOperation.READ,
    });
  });

  it("security_file_permission with MAY_WRITE (2) is a WRITE", () => {
    assert.equal(
      fileOp("security_file_permission", [fileArg, { case: "intArg", value: 2 }]).operation,
      FileOperation.WRITE,
    );
  });

  it("security_file_permission with MAY_APPEND (8) or READ|WRITE is a WRITE", () => {
    assert.equal(
      fileOp("security_file_permission", [fileArg, { case: "intArg", value: 8 }]).operation,
      FileOperation.WRITE,
    );
    assert.equal(
      fileOp("security_file_permission", [fileArg, { case: "uintArg", value: 6 }]).operation,
      FileOperation.WRITE,
    );
  });

  it("security_file_permission with the mask before the file is still read", () => {
    assert.equal(
      fileOp("security_file_permission", [{ case: "intArg", value: 2 }, fileArg]).operation,
      FileOperation.WRITE,
    );
  });

  it("fd_install is an OPEN, and keeps permission and flags", () => {
    const ev = eventOf(
      normalize(
        kprobe("fd_install", [
          { case: "intArg", value: 3 },
          { case: "fileArg", value: { path: token, permission: "-rw-r--r--", flags: "O_RDONLY" } },
        ]),
      ),
    );
    const d = detail(ev, "file");
    assert.equal(d.operation, FileOperation.OPEN);
    assert.equal(d.permission, "-rw-r--r--");
    assert.equal(d.flags, "O_RDONLY");
  });

  it("security_mmap_file is an MMAP", () => {
    assert.equal(fileOp("security_mmap_file", [fileArg]).operation, FileOperation.MMAP);
  });

  it("a path_arg (security_path_truncate) is a TRUNCATE", () => {
    assert.deepEqual(fileOp("security_path_truncate", [{ case: "pathArg", value: { path: "/tmp/x" } }]), {
      path: "/tmp/x",
      operation: FileOperation.TRUNCATE,
    });
  });

  it("a linux_binprm arg is an EXECUTE of its path", () => {
    assert.deepEqual(
      fileOp("security_bprm_creds_for_exec", [
        { case: "linuxBinprmArg", value: { path: "/usr/bin/curl", permission: "-rwxr-xr-x" } },
      ]),
      { path: "/usr/bin/curl", operation: FileOperation.EXECUTE },
    );
  });
});

describe("TetragonNormalizer: privilege hooks", () => {
  it("__sys_setuid with int arg 0 targets uid 0", () => {
    const ev = eventOf(normalize(kprobe("__sys_setuid", [{ case: "intArg", value: 0 }])));
    assert.equal(ev.kind, EventKind.PRIVILEGE);
    const d = detail(ev, "privilege");
    assert.equal(d.hook, "__sys_setuid");
    assert.equal(d.targetUid, 0);
  });

  it("__sys_setresuid skips -1 (unchanged) and takes the first real uid", () => {
    const d = detail(
      eventOf(
        normalize(
          kprobe("__sys_setresuid", [
            { case: "intArg", value: -1 },
            { case: "intArg", value: 0 },
            { case: "intArg", value: -1 },
          ]),
        ),
      ),
      "privilege",
    );
    assert.equal(d.targetUid, 0);
  });

  it("security_capset lists the capabilities of the effective and permitted sets by name", () => {
    const d = detail(
      eventOf(
        normalize(
          kprobe("security_capset", [
            { case: "capEffectiveArg", value: "000001ffffffffff" },
            { case: "capPermittedArg", value: "0000000000000400" },
            { case: "capInheritableArg", value: "0" },
          ]),
        ),
      ),
      "privilege",
    );
    // 0x1ffffffffff: the 41 capabilities Linux has; 0x400: bit 10, CAP_NET_BIND_SERVICE; 0: none.
    assert.equal(d.capabilities.filter((c) => c.startsWith("effective:")).length, 41);
    assert.ok(d.capabilities.includes("effective:CAP_SYS_ADMIN"));
    assert.deepEqual(
      d.capabilities.filter((c) => !c.startsWith("effective:")),
      ["permitted:CAP_NET_BIND_SERVICE"],
    );
    assert.equal(d.operation, "capset");
    assert.equal(d.targetUid, undefined);
  });

  it("cap_capable with a capability_arg is a privilege event naming the capability", () => {
    const d = detail(
      eventOf(
        normalize(
          kprobe("cap_capable", [{ case: "capabilityArg", value: { value: 21, name: "CAP_SYS_ADMIN" } }]),
        ),
      ),
      "privilege",
    );
    assert.equal(d.hook, "cap_capable");
    assert.deepEqual(d.capabilities, ["CAP_SYS_ADMIN"]);
  });

  it("commit_creds takes the target uid from the credentials (euid first)", () => {
    const d = detail(
      eventOf(
        normalize(kprobe("commit_creds", [{ case: "processCredentialsArg", value: { uid: 1000, euid: 0 } }])),
      ),
      "privilege",
    );
    assert.equal(d.targetUid, 0);
  });
});

describe("TetragonNormalizer: tracepoint and LSM", () => {
  it("a tracepoint with an openat string path is a file OPEN", () => {
    const ev = eventOf(
      normalize(
        response({
          case: "processTracepoint",
          value: {
            process: proc(),
            subsys: "syscalls",
            event: "sys_enter_openat",
            policyName: "hangar-open",
            args: [
              { arg: { case: "intArg", value: -100 } },
              { arg: { case: "stringArg", value: "/etc/shadow" } },
              { arg: { case: "intArg", value: 0 } },
            ],
          },
        }),
      ),
    );
    assert.equal(ev.kind, EventKind.FILE);
    assert.equal(ev.policyName, "hangar-open");
    const d = detail(ev, "file");
    assert.equal(d.path, "/etc/shadow");
    assert.equal(d.operation, FileOperation.OPEN);
    assert.equal(d.hook, "syscalls/sys_enter_openat");
  });

  it("a tracepoint openat of a relative path keeps the path as given (cat token, run in the secrets dir)", () => {
    const d = detail(
      eventOf(
        normalize(
          response({
            case: "processTracepoint",
            value: {
              process: proc(),
              subsys: "syscalls",
              event: "sys_enter_openat",
              args: [
                { arg: { case: "intArg", value: -100 } },
                { arg: { case: "stringArg", value: "token" } },
              ],
            },
          }),
        ),
      ),
      "file",
    );
    assert.equal(d.path, "token");
  });

  it("a tracepoint that is neither privilege nor open is dropped as unsupported_hook", () => {
    const counters = new Counters();
    const r = normalize(
      response({
        case: "processTracepoint",
        value: {
          process: proc(),
          subsys: "syscalls",
          event: "sys_enter_write",
          args: [{ arg: { case: "sizeArg", value: 10n } }],
        },
      }),
      counters,
    );
    assert.deepEqual(r, { dropped: "unsupported_hook" });
    assert.equal(counters.get("dropped", { reason: "unsupported_hook" }), 1);
  });

  it("an LSM file_open event with a file_arg is a file OPEN", () => {
    const ev = eventOf(
      normalize(
        response({
          case: "processLsm",
          value: {
            process: proc(),
            functionName: "file_open",
            policyName: "hangar-lsm",
            tags: ["lsm"],
            args: [{ arg: { case: "fileArg", value: { path: "/etc/passwd" } } }],
          },
        }),
      ),
    );
    assert.equal(ev.kind, EventKind.FILE);
    assert.equal(ev.policyName, "hangar-lsm");
    assert.deepEqual(ev.tags, ["lsm"]);
    const d = detail(ev, "file");
    assert.equal(d.path, "/etc/passwd");
    assert.equal(d.operation, FileOperation.OPEN);
    assert.equal(d.hook, "file_open");
  });
});

describe("TetragonNormalizer: drops and counters", () => {
  it("a kprobe with only a size_arg is dropped as unsupported_hook", () => {
    const counters = new Counters();
    const r = normalize(kprobe("__x64_sys_write", [{ case: "sizeArg", value: 4096n }]), counters);
    assert.deepEqual(r, { dropped: "unsupported_hook" });
    assert.equal(counters.get("dropped", { reason: "unsupported_hook" }), 1);
  });

  it("a hook event without a process is dropped", () => {
    const counters = new Counters();
    const r = normalize(
      response({
        case: "processKprobe",
        value: {
          functionName: "tcp_connect",
          args: [{ arg: { case: "sockArg", value: { daddr: "1.1.1.1" } } }],
        },
      }),
      counters,
    );
    assert.equal(r.event, undefined);
    assert.equal(r.dropped, "unsupported_variant");
    assert.equal(counters.get("dropped", { reason: "unsupported_variant" }), 1);
  });

  it("rate_limit_info counts its number of lost events", () => {
    const counters = new Counters();
    const r = normalize(
      response({ case: "rateLimitInfo", value: { numberOfDroppedProcessEvents: 1234n } }),
      counters,
    );
    assert.deepEqual(r, { dropped: "sensor_notice" });
    assert.equal(counters.get("sensor_lost_events", { sensor: "tetragon", reason: "rate_limit" }), 1234);
    assert.equal(counters.get("dropped", { reason: "sensor_notice" }), 1);
  });

  it("process_throttle counts start and stop", () => {
    const counters = new Counters();
    const n = new TetragonNormalizer(counters);
    for (const type of [
      tetragon.ThrottleType.THROTTLE_START,
      tetragon.ThrottleType.THROTTLE_STOP,
      tetragon.ThrottleType.THROTTLE_START,
      tetragon.ThrottleType.THROTTLE_UNKNOWN,
    ]) {
      assert.deepEqual(
        n.normalize(response({ case: "processThrottle", value: { type, cgroup: "/kubepods" } })),
        {
          dropped: "sensor_notice",
        },
      );
    }
    assert.deepEqual(counters.byLabel("sensor_throttle", "type"), { start: 2, stop: 1, unknown: 1 });
  });

  for (const variant of [
    { case: "processLoader", value: { process: proc(), path: "/lib/libc.so.6" } },
    { case: "processUprobe", value: { process: proc(), path: "/bin/bash", symbol: "readline" } },
    { case: "processUsdt", value: { process: proc(), path: "/usr/bin/python3" } },
    { case: "test", value: { arg0: 1n } },
  ] as const) {
    it(`${variant.case} is dropped as unsupported_variant`, () => {
      const counters = new Counters();
      assert.deepEqual(normalize(response(variant), counters), { dropped: "unsupported_variant" });
      assert.equal(counters.get("dropped", { reason: "unsupported_variant" }), 1);
    });
  }

  it("a response whose variant this schema does not know is dropped as unknown_variant and counted", () => {
    // Field 30 is free in the oneof today; a newer Tetragon could use it.
    const bytes = new BinaryWriter()
      .tag(30, WireType.LengthDelimited)
      .bytes(new Uint8Array([0x0a, 0x01, 0x78]))
      .tag(1000, WireType.LengthDelimited)
      .string("node-a")
      .finish();
    const msg = fromBinary(tetragon.GetEventsResponseSchema, bytes);
    assert.equal(msg.event.case, undefined);
    const counters = new Counters();
    assert.deepEqual(normalize(msg, counters), { dropped: "unknown_variant" });
    assert.equal(counters.get("dropped", { reason: "unknown_variant" }), 1);
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 1);
  });

  it("counts unknown fields on the response and on the process, and still maps the event", () => {
    const procBytes = concat(
      toBinary(tetragon.ProcessSchema, proc()),
      new BinaryWriter().tag(99, WireType.Varint).uint32(5).finish(),
    );
    const execBytes = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(procBytes).finish();
    const bytes = new BinaryWriter()
      .tag(1, WireType.LengthDelimited)
      .bytes(execBytes)
      .tag(1000, WireType.LengthDelimited)
      .string("node-a")
      .tag(2000, WireType.Varint)
      .uint32(1)
      .tag(2001, WireType.LengthDelimited)
      .string("future")
      .finish();
    const msg = fromBinary(tetragon.GetEventsResponseSchema, bytes);
    assert.equal(msg.$unknown?.length, 2);
    const counters = new Counters();
    const ev = eventOf(normalize(msg, counters));
    assert.equal(ev.kind, EventKind.EXEC);
    assert.equal(ev.process?.binary, "/bin/sh");
    assert.equal(ev.node, "node-a");
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 3);
  });

  it("counts nothing as unknown for a message this schema fully knows", () => {
    const counters = new Counters();
    const msg = fromBinary(
      tetragon.GetEventsResponseSchema,
      toBinary(
        tetragon.GetEventsResponseSchema,
        response({ case: "processExec", value: { process: proc() } }),
      ),
    );
    eventOf(normalize(msg, counters));
    assert.equal(counters.get("unknown_fields", { sensor: "tetragon" }), 0);
  });
});
