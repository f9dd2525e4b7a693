import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { tetragon } from "@hangar/proto";
import { Counters, EventKind, FileOperation, type RuntimeEvent } from "@hangar/core";
import { classify, fileTarget } from "./hooks.js";
import { syscallName } from "./linux.js";
import { TetragonNormalizer } from "./tetragon.js";

// Events as `tetra getevents -o json` prints them: proto field names, 64-bit integers as strings,
// enum names; the process and parent as the upstream docs show them.
const POD = {
  namespace: "mcp",
  name: "fs-tools-5d8c7b9f6-8xk2p",
  uid: "7c1e2a90-4b3d-4f7e-9a1b-2c3d4e5f6a7b",
  container: {
    id: "containerd://3f6b9a1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
    name: "server",
    image: {
      id: "ghcr.io/acme/fs-tools-mcp@sha256:9e1c4b7a",
      name: "ghcr.io/acme/fs-tools-mcp:1.4.2",
    },
    pid: 1,
    security_context: { privileged: true },
  },
  pod_labels: { "mcp-hangar.io/provider": "fs-tools" },
  workload: "fs-tools",
  workload_kind: "Deployment",
};
const CAPS = ["CAP_CHOWN", "DAC_OVERRIDE", "CAP_NET_RAW", "CAP_SYS_ADMIN"];

function proc(pid: number, binary: string, extra: Record<string, JsonValue> = {}): Record<string, JsonValue> {
  return {
    exec_id: Buffer.from(`kind-worker:${pid * 1000}:${pid}`).toString("base64"),
    pid,
    uid: 1000,
    cwd: "/app",
    binary,
    flags: "execve clone",
    start_time: "2026-03-02T10:00:20.100000000Z",
    auid: 4294967295,
    pod: POD,
    docker: "3f6b9a1c2d4e5f60718293a4b5c6d7e",
    parent_exec_id: Buffer.from("kind-worker:30010000:30010").toString("base64"),
    cap: { permitted: CAPS, effective: CAPS },
    tid: pid,
    ...extra,
  };
}
const NODE_PROC = proc(30010, "/usr/local/bin/node", {
  parent_exec_id: Buffer.from("kind-worker:30001000:30001").toString("base64"),
});

function kprobe(
  functionName: string,
  args: JsonValue[],
  more: Record<string, JsonValue> = {},
  process = proc(31210, "/bin/bash"),
): Record<string, JsonValue> {
  return {
    process_kprobe: {
      process,
      parent: NODE_PROC,
      function_name: functionName,
      args,
      action: "KPROBE_ACTION_POST",
      policy_name: "hangar",
      ...more,
    },
    node_name: "kind-worker",
    time: "2026-03-02T10:00:20.700000000Z",
  };
}

function run(json: Record<string, JsonValue>, counters = new Counters(), n?: TetragonNormalizer) {
  const msg = fromJson(tetragon.GetEventsResponseSchema, json);
  return (n ?? new TetragonNormalizer(counters)).normalize(msg);
}

function eventOf(json: Record<string, JsonValue>): RuntimeEvent {
  const r = run(json);
  assert.ok(r.event !== undefined, `no event: dropped ${r.dropped ?? "?"}`);
  return r.event;
}

type Detail = RuntimeEvent["detail"];
function detail<C extends NonNullable<Detail["case"]>>(ev: RuntimeEvent, c: C) {
  assert.equal(ev.detail.case, c, `expected a ${c} event, got ${ev.detail.case ?? "none"}`);
  return ev.detail.value as Extract<Detail, { case: C }>["value"];
}

describe("hook names", () => {
  it("strip architecture and wrapper prefixes to the syscall", () => {
    assert.equal(syscallName("__x64_sys_setgid"), "setgid");
    assert.equal(syscallName("__arm64_sys_setresuid"), "setresuid");
    assert.equal(syscallName("__sys_setuid"), "setuid");
    assert.equal(syscallName("__se_sys_unshare"), "unshare");
    assert.equal(syscallName("ksys_unshare"), "unshare");
    assert.equal(syscallName("syscalls/sys_enter_openat"), "openat");
    assert.equal(syscallName("security_sb_mount"), "security_sb_mount");
  });
  it("classify by meaning, not by argument shape", () => {
    assert.deepEqual(classify("inet_csk_listen_start"), { t: "socket", op: "listen" });
    assert.deepEqual(classify("tcp_sendmsg"), { t: "socket", op: "send" });
    assert.deepEqual(classify("tcp_close"), { t: "socket", op: "close" });
    assert.deepEqual(classify("tcp_connect"), { t: "connect" });
    assert.deepEqual(classify("security_socket_connect"), { t: "connect" });
    assert.deepEqual(classify("do_dup2"), { t: "dup" });
    assert.deepEqual(classify("__x64_sys_setgid"), { t: "privilege", op: "setgid", ids: "gid" });
    assert.deepEqual(classify("fd_install"), { t: "args" });
  });
  it("name what a descriptor's path says it is", () => {
    assert.equal(fileTarget(""), "unknown");
    assert.equal(fileTarget("socket:[81234]"), "socket");
    assert.equal(fileTarget("TCP"), "socket");
    assert.equal(fileTarget("pipe:[4411]"), "pipe");
    assert.equal(fileTarget("/dev/pts/0"), "tty");
    assert.equal(fileTarget("/tmp/out.log"), "file");
  });
});

describe("setgid is not setuid", () => {
  it("__x64_sys_setgid(0) changes the group: a gid, no uid", () => {
    const d = detail(eventOf(kprobe("__x64_sys_setgid", [{ int_arg: 0 }])), "privilege");
    assert.equal(d.operation, "setgid");
    assert.equal(d.targetGid, 0);
    assert.equal(d.targetUid, undefined);
  });
  it("__x64_sys_setresgid(-1, 0, -1) asks for gid 0; -1 leaves an id unchanged", () => {
    const d = detail(
      eventOf(kprobe("__x64_sys_setresgid", [{ int_arg: -1 }, { int_arg: 0 }, { int_arg: -1 }])),
      "privilege",
    );
    assert.equal(d.targetGid, 0);
    assert.equal(d.targetUid, undefined);
  });
  it("setuid(0) and setresuid(-1, 0, -1) ask for uid 0", () => {
    assert.equal(detail(eventOf(kprobe("__x64_sys_setuid", [{ int_arg: 0 }])), "privilege").targetUid, 0);
    const d = detail(
      eventOf(kprobe("__sys_setresuid", [{ int_arg: -1 }, { int_arg: 0 }, { int_arg: -1 }])),
      "privilege",
    );
    assert.equal(d.targetUid, 0);
    assert.equal(d.operation, "setresuid");
  });
  it("setreuid(1000, -1) printed unsigned is uid 1000, not 4294967295", () => {
    const d = detail(
      eventOf(kprobe("__x64_sys_setreuid", [{ int_arg: 1000 }, { uint_arg: 4294967295 }])),
      "privilege",
    );
    assert.equal(d.targetUid, 1000);
  });
  it("setfsuid and setfsgid are their own operations", () => {
    assert.equal(detail(eventOf(kprobe("__x64_sys_setfsuid", [{ int_arg: 0 }])), "privilege").targetUid, 0);
    const g = detail(eventOf(kprobe("__x64_sys_setfsgid", [{ int_arg: 0 }])), "privilege");
    assert.equal(g.operation, "setfsgid");
    assert.equal(g.targetUid, undefined);
  });
  it("commit_creds gives the lowest uid and gid of the new credentials", () => {
    const d = detail(
      eventOf(
        kprobe("commit_creds", [
          {
            process_credentials_arg: {
              uid: 1000,
              gid: 1000,
              euid: 0,
              egid: 1000,
              suid: 0,
              sgid: 1000,
              fsuid: 0,
              fsgid: 1000,
            },
          },
        ]),
      ),
      "privilege",
    );
    assert.equal(d.targetUid, 0);
    assert.equal(d.targetGid, 1000);
    assert.equal(d.capabilities.length, 0);
  });
  it("a cap_capable the kernel refused (return -1) is denied, one it granted is not", () => {
    const cap = [{ capability_arg: { value: 21, name: "CAP_SYS_ADMIN" } }];
    const denied = eventOf(
      kprobe("cap_capable", cap, { return: { int_arg: -1 }, return_action: "KPROBE_ACTION_POST" }),
    );
    const d = detail(denied, "privilege");
    assert.equal(d.denied, true);
    assert.deepEqual(d.capabilities, ["CAP_SYS_ADMIN"]);
    assert.equal(denied.hook?.returnValue, -1n);
    assert.equal(denied.hook?.returnAction, "post");
    const granted = detail(eventOf(kprobe("cap_capable", cap, { return: { int_arg: 0 } })), "privilege");
    assert.equal(granted.denied, false);
  });
  it("cap_capable hooked with an int capability names it", () => {
    const d = detail(eventOf(kprobe("cap_capable", [{ int_arg: 19 }])), "privilege");
    assert.deepEqual(d.capabilities, ["CAP_SYS_PTRACE"]);
  });
});

describe("hooks become the right kind", () => {
  const sock = (saddr: string, sport: number, daddr: string, dport: number, state: string) => ({
    sock_arg: {
      family: "AF_INET",
      type: "SOCK_STREAM",
      protocol: "IPPROTO_TCP",
      saddr,
      daddr,
      sport,
      dport,
      cookie: "18446623141254516416",
      state,
    },
  });
  it("inet_csk_listen_start is a listen on the pod's port, with no remote side", () => {
    const ev = eventOf(kprobe("inet_csk_listen_start", [sock("0.0.0.0", 3000, "0.0.0.0", 0, "TCP_CLOSE")]));
    assert.equal(ev.kind, EventKind.SOCKET);
    const d = detail(ev, "socket");
    assert.equal(d.operation, "listen");
    assert.equal(d.localIp, "0.0.0.0");
    assert.equal(d.localPort, 3000);
    assert.equal(d.remoteIp, "");
    assert.equal(d.type, "stream");
    assert.equal(d.socketCookie, 18446623141254516416n);
  });
  it("tcp_sendmsg is a send of its size to the remote side", () => {
    const d = detail(
      eventOf(
        kprobe("tcp_sendmsg", [
          sock("10.244.1.23", 51234, "140.82.112.6", 443, "TCP_ESTABLISHED"),
          { int_arg: 517 },
        ]),
      ),
      "socket",
    );
    assert.equal(d.operation, "send");
    assert.equal(d.remoteIp, "140.82.112.6");
    assert.equal(d.remotePort, 443);
    assert.equal(d.bytes, 517n);
  });
  it("tcp_close is a close, tcp_connect a connect", () => {
    assert.equal(
      detail(
        eventOf(kprobe("tcp_close", [sock("10.244.1.23", 51234, "140.82.112.6", 443, "TCP_ESTABLISHED")])),
        "socket",
      ).operation,
      "close",
    );
    const c = detail(
      eventOf(kprobe("tcp_connect", [sock("10.244.1.23", 40112, "203.0.113.50", 80, "TCP_SYN_SENT")])),
      "connect",
    );
    assert.equal(c.destinationIp, "203.0.113.50");
    assert.equal(c.protocol, "tcp");
  });
  it("security_socket_connect takes the destination from its sockaddr, and the kernel's answer as the result", () => {
    const c = detail(
      eventOf(
        kprobe(
          "security_socket_connect",
          [
            sock("10.244.1.23", 0, "0.0.0.0", 0, "TCP_CLOSE"),
            { sockaddr_arg: { family: "AF_INET", addr: "169.254.169.254", port: 80 } },
          ],
          { return: { int_arg: -13 } },
        ),
      ),
      "connect",
    );
    assert.equal(c.destinationIp, "169.254.169.254");
    assert.equal(c.destinationPort, 80);
    assert.equal(c.result, -13);
  });
  it("a connect to a unix socket keeps its path", () => {
    const c = detail(
      eventOf(
        kprobe("security_unix_stream_connect", [
          { sockaddrun_arg: { family: "AF_UNIX", path: "/run/containerd/containerd.sock" } },
        ]),
      ),
      "connect",
    );
    assert.equal(c.family, "unix");
    assert.equal(c.unixPath, "/run/containerd/containerd.sock");
  });
  it("inet_csk_accept's returned socket is the accepted connection", () => {
    const d = detail(
      eventOf(
        kprobe("inet_csk_accept", [], {
          return: sock("10.244.1.23", 3000, "10.244.2.9", 52000, "TCP_ESTABLISHED"),
        }),
      ),
      "socket",
    );
    assert.equal(d.operation, "accept");
    assert.equal(d.remoteIp, "10.244.2.9");
  });
  it("do_dup2 redirects a descriptor: a nameless file onto stdin is an unknown target, not an open", () => {
    const ev = eventOf(kprobe("do_dup2", [{ file_arg: {} }, { int_arg: 0 }]));
    assert.equal(ev.kind, EventKind.DUP);
    const d = detail(ev, "dup");
    assert.equal(d.newFd, 0);
    assert.equal(d.oldFd, undefined);
    assert.equal(d.target, "unknown");
    const s = detail(
      eventOf(kprobe("do_dup2", [{ file_arg: { path: "socket:[81234]" } }, { int_arg: 1 }])),
      "dup",
    );
    assert.equal(s.target, "socket");
  });
  it("dup2(1, 2) and dup3 read old and new descriptors in order; labels win", () => {
    const d = detail(eventOf(kprobe("__x64_sys_dup2", [{ int_arg: 1 }, { int_arg: 2 }])), "dup");
    assert.equal(d.oldFd, 1);
    assert.equal(d.newFd, 2);
    const l = detail(
      eventOf(
        kprobe("__x64_sys_dup3", [
          { int_arg: 0, label: "newfd" },
          { int_arg: 4, label: "oldfd" },
        ]),
      ),
      "dup",
    );
    assert.equal(l.newFd, 0);
    assert.equal(l.oldFd, 4);
  });
  it("fd_install of a file is still a file open", () => {
    const d = detail(
      eventOf(kprobe("fd_install", [{ int_arg: 3 }, { file_arg: { path: "/etc/passwd" } }])),
      "file",
    );
    assert.equal(d.operation, FileOperation.OPEN);
  });
  it("unlink and rename hooks are their own file operations", () => {
    assert.equal(
      detail(eventOf(kprobe("security_path_unlink", [{ path_arg: { path: "/var/log/app.log" } }])), "file")
        .operation,
      FileOperation.DELETE,
    );
    assert.equal(
      detail(eventOf(kprobe("__x64_sys_renameat2", [{ int_arg: -100 }, { string_arg: "/tmp/a" }])), "file")
        .operation,
      FileOperation.RENAME,
    );
  });
});

describe("escape-class hooks are first-class", () => {
  it("do_init_module loads a module: name, signature, taints", () => {
    const ev = eventOf(
      kprobe("do_init_module", [
        {
          module_arg: {
            name: "rk",
            signature_ok: false,
            tainted: ["TAINT_OUT_OF_TREE_MODULE", "TAINT_UNSIGNED_MODULE"],
          },
        },
      ]),
    );
    assert.equal(ev.kind, EventKind.MODULE);
    const d = detail(ev, "module");
    assert.equal(d.operation, "load");
    assert.equal(d.name, "rk");
    assert.equal(d.signatureOk, false);
    assert.deepEqual(d.tainted, ["TAINT_OUT_OF_TREE_MODULE", "TAINT_UNSIGNED_MODULE"]);
  });
  it("security_kernel_module_request asks the kernel to load a module by name", () => {
    const d = detail(
      eventOf(
        kprobe("security_kernel_module_request", [{ string_arg: "ipt_LOG" }], { return: { int_arg: 0 } }),
      ),
      "module",
    );
    assert.equal(d.operation, "request");
    assert.equal(d.name, "ipt_LOG");
  });
  it("security_kernel_read_file reads a module file only for READING_MODULE (2); firmware is a file read", () => {
    const m = detail(
      eventOf(kprobe("security_kernel_read_file", [{ file_arg: { path: "/tmp/rk.ko" } }, { int_arg: 2 }])),
      "module",
    );
    assert.equal(m.operation, "read");
    assert.equal(m.name, "rk");
    const f = detail(
      eventOf(
        kprobe("security_kernel_read_file", [{ file_arg: { path: "/lib/firmware/x.bin" } }, { int_arg: 1 }]),
      ),
      "file",
    );
    assert.equal(f.operation, FileOperation.READ);
  });
  it("free_module unloads", () => {
    assert.equal(
      detail(eventOf(kprobe("free_module", [{ module_arg: { name: "rk" } }])), "module").operation,
      "unload",
    );
  });
  it("setns(fd, CLONE_NEWNS) and unshare(CLONE_NEWPID) name the namespaces", () => {
    const s = detail(eventOf(kprobe("__x64_sys_setns", [{ int_arg: 3 }, { int_arg: 131072 }])), "namespace");
    assert.equal(s.operation, "setns");
    assert.deepEqual(s.types, ["mnt"]);
    assert.equal(s.fd, 3);
    const all = detail(eventOf(kprobe("__x64_sys_setns", [{ int_arg: 5 }, { int_arg: 0 }])), "namespace");
    assert.deepEqual(all.types, []);
    const u = detail(
      eventOf(kprobe("__x64_sys_unshare", [{ int_arg: 0x20000000 | 0x40000000 }])),
      "namespace",
    );
    assert.deepEqual(u.types, ["pid", "net"]);
  });
  it("a clone without CLONE_NEW* flags is an ordinary fork: not a namespace event", () => {
    const counters = new Counters();
    const r = run(kprobe("__x64_sys_clone", [{ long_arg: "17" }]), counters);
    assert.equal(r.dropped, "unsupported_hook");
    assert.deepEqual(counters.byLabel("unsupported_hooks", "hook"), { __x64_sys_clone: 1 });
  });
  it("ptrace(PTRACE_ATTACH, pid) names the request and the traced pid", () => {
    const ev = eventOf(kprobe("__x64_sys_ptrace", [{ long_arg: "16" }, { int_arg: 30010 }]));
    assert.equal(ev.kind, EventKind.PTRACE);
    const d = detail(ev, "ptrace");
    assert.equal(d.request, "PTRACE_ATTACH");
    assert.equal(d.targetPid, 30010);
  });
  it("security_sb_mount: the device, the mount point (a path argument) and the type", () => {
    const d = detail(
      eventOf(
        kprobe("security_sb_mount", [
          { string_arg: "/dev/sda1" },
          { path_arg: { mount: "overlay", path: "/mnt/host" } },
          { string_arg: "ext4" },
          { long_arg: "4096" },
        ]),
      ),
      "mount",
    );
    assert.equal(d.source, "/dev/sda1");
    assert.equal(d.target, "/mnt/host");
    assert.equal(d.fstype, "ext4");
    assert.equal(d.flags, "MS_BIND");
  });
  it("mount(2) takes source, target and type as strings", () => {
    const d = detail(
      eventOf(
        kprobe("__x64_sys_mount", [
          { string_arg: "proc" },
          { string_arg: "/host/proc" },
          { string_arg: "proc" },
        ]),
      ),
      "mount",
    );
    assert.equal(d.operation, "mount");
    assert.equal(d.target, "/host/proc");
  });
  it("socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) creates a raw packet socket", () => {
    const d = detail(
      eventOf(kprobe("__x64_sys_socket", [{ int_arg: 17 }, { int_arg: 3 }, { int_arg: 768 }])),
      "socket",
    );
    assert.equal(d.operation, "create");
    assert.equal(d.family, "packet");
    assert.equal(d.type, "raw");
    assert.equal(d.protocol, "");
    const nonblocking = detail(
      eventOf(kprobe("__sys_socket", [{ int_arg: 2 }, { int_arg: 3 | 0o4000 }, { int_arg: 1 }])),
      "socket",
    );
    assert.equal(nonblocking.type, "raw");
    assert.equal(nonblocking.protocol, "icmp");
  });
  it("io_uring_setup is an io_uring setup with its queue size", () => {
    const ev = eventOf(kprobe("__x64_sys_io_uring_setup", [{ uint_arg: 256 }]));
    assert.equal(ev.kind, EventKind.IO_URING);
    const d = detail(ev, "ioUring");
    assert.equal(d.operation, "setup");
    assert.equal(d.entries, 256);
  });
});

describe("what Tetragon says about the process reaches the event", () => {
  it("capabilities by CAP_ name, credentials, audit uid, host namespaces, init tree, user, binary properties", () => {
    const ev = eventOf({
      process_exec: {
        process: proc(31227, "/usr/bin/sudo", {
          auid: 1000,
          ns: {
            net: { inum: 4026531840, is_host: true },
            pid: { inum: 4026532514 },
            user: { inum: 4026531837, is_host: true },
          },
          process_credentials: {
            uid: 1000,
            gid: 1000,
            euid: 0,
            egid: 1000,
            suid: 0,
            sgid: 1000,
            fsuid: 0,
            fsgid: 1000,
          },
          binary_properties: {
            setuid: 0,
            privileges_changed: ["PRIVILEGES_RAISED_EXEC_FILE_SETUID"],
            file: { inode: { number: "1835131", links: 1 } },
          },
          user: { name: "alice" },
          in_init_tree: false,
        }),
        parent: NODE_PROC,
      },
      node_name: "kind-worker",
      time: "2026-03-02T10:00:22.400000000Z",
    });
    const p = ev.process;
    assert.ok(p !== undefined);
    assert.deepEqual(p.capEffective, ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_NET_RAW", "CAP_SYS_ADMIN"]);
    assert.equal(p.auid, 1000);
    assert.equal(p.credentials?.euid, 0);
    assert.equal(p.credentials?.uid, 1000);
    assert.deepEqual(p.hostNamespaces, ["net", "user"]);
    assert.equal(p.inInitTree, false);
    assert.equal(p.user, "alice");
    assert.equal(p.binarySetuid, 0);
    assert.deepEqual(p.privilegesChanged, ["setuid"]);
    assert.equal(p.binaryLinks, 1);
    assert.equal(ev.pod?.container?.privileged, true);
    assert.equal(ev.parent?.auid, undefined, "4294967295 is no login uid");
  });
  it("a memory-only binary has no links", () => {
    const ev = eventOf({
      process_exec: {
        process: proc(31224, "/proc/self/fd/3", {
          binary_properties: { file: { inode: { number: "45021", links: 0 } } },
        }),
        parent: NODE_PROC,
      },
      node_name: "kind-worker",
    });
    assert.equal(ev.process?.binaryLinks, 0);
  });
  it("the hook's action, policy message and arguments are kept", () => {
    const ev = eventOf(
      kprobe(
        "security_file_permission",
        [{ file_arg: { path: "/etc/shadow" } }, { int_arg: 4, label: "mask" }],
        {
          action: "KPROBE_ACTION_SIGKILL",
          message: "sensitive file",
          return: { int_arg: 0 },
        },
      ),
    );
    assert.equal(ev.hook?.function, "security_file_permission");
    assert.equal(ev.hook?.action, "sigkill");
    assert.equal(ev.hook?.message, "sensitive file");
    assert.deepEqual(ev.hook?.args, ["/etc/shadow", "mask=4"]);
    assert.equal(ev.hook?.returnValue, 0n);
  });
  it("ancestors come from Tetragon when it sends them, else from the execs this normalizer saw", () => {
    const n = new TetragonNormalizer(new Counters());
    const tini = proc(30001, "/usr/bin/tini", {
      parent_exec_id: Buffer.from("kind-worker:1:1").toString("base64"),
    });
    run({ process_exec: { process: NODE_PROC, parent: tini }, node_name: "kind-worker" }, new Counters(), n);
    const sh = proc(31200, "/bin/sh");
    const withTable = run(
      { process_exec: { process: sh, parent: NODE_PROC }, node_name: "kind-worker" },
      new Counters(),
      n,
    ).event;
    assert.deepEqual(
      withTable?.ancestors.map((a) => a.binary),
      ["/usr/bin/tini"],
    );
    const curl = proc(31202, "/usr/bin/curl", { parent_exec_id: sh["exec_id"] as string });
    const sent = eventOf({
      process_exec: { process: curl, parent: sh, ancestors: [NODE_PROC, tini] },
      node_name: "kind-worker",
    });
    assert.deepEqual(
      sent.ancestors.map((a) => a.binary),
      ["/usr/local/bin/node", "/usr/bin/tini"],
    );
  });
});

describe("events that carry only a container id", () => {
  it("keep process.docker as the container id, for the resolver", () => {
    const p = proc(30050, "/app/bin/thumbnailer");
    delete p["pod"];
    const ev = eventOf(
      kprobe("security_file_permission", [{ file_arg: { path: "/etc/shadow" } }, { int_arg: 4 }], {}, p),
    );
    assert.equal(ev.pod?.namespace, "");
    assert.equal(ev.pod?.container?.id, "3f6b9a1c2d4e5f60718293a4b5c6d7e");
  });
});

describe("nothing vanishes unsaid", () => {
  it("a hook this build does not model is dropped and counted by function name", () => {
    const counters = new Counters();
    const n = new TetragonNormalizer(counters);
    run(kprobe("security_bpf", [{ bpf_cmd_arg: "BPF_PROG_LOAD" }]), counters, n);
    run(kprobe("security_bpf", [{ bpf_cmd_arg: "BPF_MAP_CREATE" }]), counters, n);
    assert.deepEqual(counters.byLabel("unsupported_hooks", "hook"), { security_bpf: 2 });
    assert.deepEqual(counters.byLabel("dropped", "reason"), { unsupported_hook: 2 });
  });
  it("beyond 64 distinct hook names the rest are counted as other", () => {
    const counters = new Counters();
    const n = new TetragonNormalizer(counters);
    for (let i = 0; i < 70; i++) run(kprobe(`made_up_${i}`, [{ int_arg: 1 }]), counters, n);
    const byHook = counters.byLabel("unsupported_hooks", "hook");
    assert.equal(Object.keys(byHook).length, 65);
    assert.equal(byHook["other"], 6);
  });
});
