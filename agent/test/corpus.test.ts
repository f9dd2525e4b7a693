/**
 * The sensor-output corpus (testkit/corpus: events written in the shapes Tetragon and Hubble
 * document) through `hangar-agent replay --default-rules`, as a new user would run it: every
 * record is kept or refused with a reason, what the sensors say reaches the events, and the
 * alerts are exactly the expected ones (none from setgid, listen or sendmsg).
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { before, describe, it } from "node:test";
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { pino } from "pino";
import { hangar } from "@hangar/proto";
import { CORPUS_FILES, corpusPath } from "@hangar/testkit";
import { defaultRulesDir, replay, type ReplaySummary } from "../src/replay/replay.js";

interface Ev {
  id: string;
  kind: string;
  provider: string;
  time: string;
  pod?: {
    namespace?: string;
    name?: string;
    container?: { id?: string; name?: string; privileged?: boolean };
  };
  process?: {
    pid?: number;
    binary?: string;
    execId?: string;
    capEffective?: string[];
    hostNamespaces?: string[];
    credentials?: { uid?: number; euid?: number };
    auid?: number;
    binaryLinks?: number;
    binarySetuid?: number;
    privilegesChanged?: string[];
    inInitTree?: boolean;
  };
  ancestors?: { binary?: string }[];
  attributions?: { tool: string }[];
  hook?: { function?: string; returnValue?: string; action?: string; args?: string[] };
  privilege?: {
    operation?: string;
    targetUid?: number;
    targetGid?: number;
    denied?: boolean;
    capabilities?: string[];
  };
  socket?: {
    operation?: string;
    localPort?: number;
    remoteIp?: string;
    bytes?: string;
    family?: string;
    type?: string;
  };
  dup?: { newFd?: number; oldFd?: number; target?: string };
  module?: { operation?: string; name?: string; signatureOk?: boolean; tainted?: string[] };
  namespace?: { operation?: string; types?: string[]; fd?: number };
  ptrace?: { request?: string; targetPid?: number };
  mount?: { source?: string; target?: string; fstype?: string };
  ioUring?: { operation?: string; entries?: number };
  connect?: { destinationIp?: string; destinationNames?: string[] };
  file?: { path?: string; operation?: string; hook?: string };
  flow?: {
    direction?: string;
    podIsSource?: boolean;
    sourceIp?: string;
    destinationIp?: string;
    verdict?: string;
    dropReason?: string;
    peerPod?: string;
    trafficDirection?: string;
    l7Type?: string;
    http?: { method?: string; url?: string; code?: number };
  };
  dns?: { query?: string; rrtypes?: string[]; response?: boolean };
}
interface AlertJson {
  ruleId: string;
  severity: string;
  message: string;
}

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let rest = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts.filter((l) => l !== ""));
      done();
    },
  });
  return { stream, lines };
}

describe("the upstream-shaped corpus through replay --default-rules", () => {
  let summary: ReplaySummary;
  let events: Ev[];
  let alerts: AlertJson[];
  let eventLines: string[];
  let alertLines: string[];
  const warnings: string[] = [];

  before(async () => {
    const out = sink();
    const evs = sink();
    const logger = pino({ level: "warn" }, { write: (l: string) => warnings.push(l) });
    const r = await replay({
      tetragon: [CORPUS_FILES.tetragon, CORPUS_FILES.tetragonPretty, CORPUS_FILES.tetragonEnterprise].map(
        corpusPath,
      ),
      hubble: [CORPUS_FILES.hubble, CORPUS_FILES.hubbleBare, CORPUS_FILES.hubblePretty].map(corpusPath),
      traces: [corpusPath(CORPUS_FILES.traces)],
      rules: [defaultRulesDir()],
      learn: false,
      format: "json",
      strict: false,
      events: evs.stream,
      stdout: out.stream,
      logger,
    });
    summary = r.summary;
    eventLines = evs.lines;
    alertLines = out.lines;
    events = evs.lines.map((l) => JSON.parse(l) as Ev);
    alerts = out.lines.map((l) => JSON.parse(l) as AlertJson);
  });

  // Alerts and events leave as lines of core's compiled proto-JSON writer (core/src/proto-json.ts).
  it("writes every alert and event line exactly as @bufbuild/protobuf's toJsonString does", () => {
    assert.ok(alertLines.length >= 5, `${alertLines.length} alerts`);
    assert.ok(eventLines.length >= 50, `${eventLines.length} events`);
    for (const line of alertLines)
      assert.equal(line, toJsonString(hangar.AlertSchema, fromJsonString(hangar.AlertSchema, line)));
    for (const line of eventLines)
      assert.equal(
        line,
        toJsonString(hangar.RuntimeEventSchema, fromJsonString(hangar.RuntimeEventSchema, line)),
      );
  });

  const one = (pred: (e: Ev) => boolean, what: string): Ev => {
    const found = events.filter(pred);
    assert.equal(found.length, 1, `${what}: ${found.length} events`);
    return found[0] as Ev;
  };
  const hook = (fn: string) => (e: Ev) => e.hook?.function === fn;

  it("keeps every record or refuses it with a reason", () => {
    const dropped = Object.values(summary.dropped).reduce((a, b) => a + b, 0);
    assert.equal(summary.read, summary.kept + dropped + summary.malformed.length);
    assert.equal(summary.read, 82);
    assert.deepEqual(summary.dropped, {
      not_mcp_pod: 2,
      unsupported_hook: 1,
      sensor_notice: 3,
      unsupported_variant: 1,
    });
    assert.deepEqual(summary.unsupported_hooks, { security_bpf: 1 });
    assert.deepEqual(summary.unknown_fields, {
      "tetragon.Process.cgroup_id_v3": 1,
      "flow.Flow.flow_hash_v2": 1,
    });
    // Only the enterprise-only variants are refused, each naming where it comes from.
    assert.deepEqual(
      summary.malformed.map((m) => [m.file.split("/").pop(), m.line, m.error.split(" is not")[0]]),
      [
        ["tetragon-enterprise.jsonl", 1, '"process_connect"'],
        ["tetragon-enterprise.jsonl", 2, '"process_listen"'],
        ["tetragon-enterprise.jsonl", 3, '"process_close"'],
      ],
    );
    assert.ok(summary.malformed.every((m) => m.error.includes("enterprise distribution")));
    assert.equal(summary.kept, events.length);
    assert.ok(events.every((e) => e.provider === "fs-tools"));
    // No "kept 0" hint: events were kept.
    assert.ok(!warnings.some((w) => w.includes("kept 0 events")));
  });

  it("reads pretty-printed events and bare flows", () => {
    // The pretty-printed file: thumbnailer pid 30060's exec and exit.
    const pretty = events.filter((e) => e.process?.pid === 30060);
    assert.deepEqual(
      pretty.map((e) => e.kind),
      ["EVENT_KIND_EXEC", "EVENT_KIND_EXIT"],
    );
    one(
      (e) => e.flow?.destinationIp === "198.51.100.7" && e.flow.podIsSource === true,
      "the bare egress flow",
    );
    one((e) => e.flow?.sourceIp === "198.51.100.7", "the bare reply flow");
    assert.ok(
      events.some(
        (e) =>
          e.kind === "EVENT_KIND_FLOW" &&
          e.flow?.destinationIp === "140.82.112.6" &&
          e.time.startsWith("2026-03-02T10:00:08"),
      ),
    );
  });

  it("setgid is a group change, setuid(0) a user change, a refused cap_capable is denied", () => {
    const setgid = one(hook("__x64_sys_setgid"), "setgid");
    assert.deepEqual(setgid.privilege, { hook: "__x64_sys_setgid", operation: "setgid", targetGid: 0 });
    const setresgid = one(hook("__x64_sys_setresgid"), "setresgid");
    assert.equal(setresgid.privilege?.targetGid, 0);
    assert.equal(setresgid.privilege?.targetUid, undefined);
    assert.equal(one(hook("__x64_sys_setuid"), "setuid").privilege?.targetUid, 0);
    const cap = one(hook("cap_capable"), "cap_capable");
    assert.equal(cap.privilege?.denied, true);
    assert.equal(cap.hook?.returnValue, "-1");
    assert.equal(one(hook("commit_creds"), "commit_creds").privilege?.targetUid, 0);
  });

  it("listen, send and close are socket operations; dup2 redirects a descriptor", () => {
    const listen = one(hook("inet_csk_listen_start"), "listen");
    assert.equal(listen.kind, "EVENT_KIND_SOCKET");
    assert.equal(listen.socket?.operation, "listen");
    assert.equal(listen.socket?.localPort, 3000);
    const sends = events.filter(hook("tcp_sendmsg"));
    assert.deepEqual(
      sends.map((e) => [e.kind, e.socket?.operation, e.socket?.remoteIp, e.socket?.bytes]),
      [
        ["EVENT_KIND_SOCKET", "send", "140.82.112.6", "517"],
        ["EVENT_KIND_SOCKET", "send", "203.0.113.51", "22"],
      ],
    );
    assert.equal(one(hook("tcp_close"), "close").socket?.operation, "close");
    assert.ok(!events.some((e) => e.kind === "EVENT_KIND_CONNECT" && e.connect?.destinationIp === "0.0.0.0"));
    const dups = events.filter((e) => e.kind === "EVENT_KIND_DUP");
    assert.deepEqual(
      dups.map((e) => [e.hook?.function, e.dup?.oldFd, e.dup?.newFd, e.dup?.target]),
      [
        ["do_dup2", undefined, 0, "unknown"],
        ["do_dup2", undefined, 1, "unknown"],
        ["__x64_sys_dup2", 1, 2, "unknown"],
      ],
    );
  });

  it("escape-class hooks are events of their own", () => {
    const load = one(hook("do_init_module"), "module load");
    assert.deepEqual(load.module, {
      operation: "load",
      name: "rk",
      signatureOk: false,
      tainted: ["TAINT_OUT_OF_TREE_MODULE", "TAINT_UNSIGNED_MODULE"],
      hook: "do_init_module",
    });
    assert.equal(one(hook("security_kernel_module_request"), "module request").module?.name, "ipt_LOG");
    assert.deepEqual(
      events
        .filter((e) => e.kind === "EVENT_KIND_NAMESPACE")
        .map((e) => [e.namespace?.operation, e.namespace?.types]),
      [
        ["setns", ["mnt"]],
        ["setns", ["net"]],
        ["unshare", ["pid"]],
      ],
    );
    const ptrace = one(hook("__x64_sys_ptrace"), "ptrace");
    assert.equal(ptrace.ptrace?.request, "PTRACE_ATTACH");
    assert.equal(ptrace.ptrace?.targetPid, 30010);
    const mount = one(hook("security_sb_mount"), "mount");
    assert.deepEqual(
      [mount.mount?.source, mount.mount?.target, mount.mount?.fstype, mount.hook?.returnValue],
      ["/dev/sda1", "/mnt/host", "ext4", "-1"],
    );
    const raw = one(hook("__x64_sys_socket"), "socket");
    assert.deepEqual(
      [raw.socket?.operation, raw.socket?.family, raw.socket?.type],
      ["create", "packet", "raw"],
    );
    const uring = one(hook("__x64_sys_io_uring_setup"), "io_uring");
    assert.deepEqual(
      [uring.kind, uring.ioUring?.operation, uring.ioUring?.entries],
      ["EVENT_KIND_IO_URING", "setup", 256],
    );
  });

  it("an event with only process.docker resolves to its pod through the container id", () => {
    const shadow = one((e) => e.file?.path === "/etc/shadow", "the unenriched read");
    assert.equal(shadow.pod?.namespace, "mcp");
    assert.equal(shadow.pod?.name, "fs-tools-5d8c7b9f6-8xk2p");
    assert.equal(shadow.pod?.container?.name, "server");
    assert.equal(shadow.provider, "fs-tools");
  });

  it("what Tetragon says about the process reaches the event", () => {
    const curl = one(
      (e) => e.kind === "EVENT_KIND_EXEC" && e.process?.binary === "/usr/bin/curl",
      "curl exec",
    );
    assert.deepEqual(
      curl.ancestors?.map((a) => a.binary),
      ["/usr/local/bin/node", "/usr/bin/tini"],
    );
    assert.ok(curl.process?.capEffective?.includes("CAP_DAC_OVERRIDE"));
    assert.deepEqual(curl.process?.hostNamespaces, ["time", "time_for_children", "user"]);
    assert.equal(curl.process?.credentials?.uid, 1000);
    assert.equal(curl.process?.auid, undefined);
    assert.equal(curl.process?.inInitTree, true);
    assert.equal(curl.attributions?.[0]?.tool, "run_command");
    // A hook event without Tetragon's ancestors gets them from the execs seen before.
    const setuid = one(hook("__x64_sys_setuid"), "setuid");
    assert.deepEqual(
      setuid.ancestors?.map((a) => a.binary),
      ["/bin/sh", "/usr/local/bin/node", "/usr/bin/tini"],
    );
    const x = one((e) => e.kind === "EVENT_KIND_EXEC" && e.process?.binary === "/tmp/x", "/tmp/x exec");
    assert.equal(x.process?.binaryLinks, 0);
    const sudo = one(
      (e) => e.kind === "EVENT_KIND_EXEC" && e.process?.binary === "/usr/bin/sudo",
      "sudo exec",
    );
    assert.equal(sudo.process?.binarySetuid, 0);
    assert.deepEqual(sudo.process?.privilegesChanged, ["setuid"]);
    // proto3 JSON leaves zero values out: euid 0 is the absent key.
    assert.equal(sudo.process?.credentials?.euid ?? 0, 0);
    assert.equal(sudo.process?.credentials?.uid, 1000);
    const lsm = one(hook("bprm_check_security"), "LSM");
    assert.deepEqual([lsm.file?.path, lsm.file?.operation], ["/tmp/x", "FILE_OPERATION_EXECUTE"]);
    const tp = one(hook("syscalls/sys_enter_openat"), "tracepoint");
    assert.equal(tp.file?.path, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  });

  it("flows have local and remote sides and a direction; L7 HTTP and DNS types are kept", () => {
    const reply = one(
      (e) => e.flow?.sourceIp === "140.82.112.6" && e.flow.trafficDirection === "egress",
      "the reply",
    );
    assert.deepEqual(
      [reply.flow?.direction, reply.flow?.podIsSource ?? false, reply.flow?.destinationIp],
      ["egress", false, "10.244.1.23"],
    );
    const ingress = one((e) => e.flow?.sourceIp === "10.244.2.9", "the ingress SYN");
    assert.deepEqual(
      [ingress.flow?.direction, ingress.flow?.podIsSource ?? false, ingress.flow?.peerPod],
      ["ingress", false, "hangar-controller-6f7d9c8b5-2mkqz"],
    );
    const ingressReply = one((e) => e.flow?.destinationIp === "10.244.2.9", "the ingress reply");
    assert.deepEqual([ingressReply.flow?.direction, ingressReply.flow?.podIsSource], ["ingress", true]);
    const get = one((e) => e.flow?.l7Type === "request", "the HTTP request");
    assert.deepEqual(get.flow?.http, {
      method: "GET",
      url: "http://inventory.shop.svc.cluster.local:8080/v1/items?limit=50",
      protocol: "HTTP/1.1",
    });
    assert.equal(one((e) => e.flow?.l7Type === "response", "the HTTP response").flow?.http?.code, 200);
    const dropped = one((e) => e.flow?.verdict === "DROPPED", "the dropped flow");
    assert.equal(dropped.flow?.dropReason, "POLICY_DENIED");
    const answers = events.filter((e) => e.dns?.response === true);
    assert.ok(answers.length === 3 && answers.every((e) => e.dns?.rrtypes?.[0] === "A"));
    // Names on connections: the pod's own DNS answer names the address it then connects to.
    const api = one((e) => e.connect?.destinationIp === "10.0.0.1", "the API connect");
    assert.deepEqual(api.connect?.destinationNames, ["kubernetes.default.svc.cluster.local"]);
    const c2 = one((e) => e.connect?.destinationIp === "203.0.113.52", "the C2 connect");
    assert.deepEqual(c2.connect?.destinationNames, ["c2.evil.example"]);
  });

  it("raises exactly the expected alerts, none from setgid, listen or sendmsg, and no empty '(tool )'", () => {
    assert.deepEqual(
      alerts.map((a) => a.ruleId),
      [
        "hangar.tool.shell_metacharacters_args",
        "hangar.exec.shell_from_server",
        "hangar.exec.server_shell_downloads_from_raw_ip",
        "hangar.exec.reverse_shell",
        "hangar.exec.stdio_redirected_to_socket",
        "hangar.priv.setuid_root",
        "hangar.escape.namespace_enter",
        "hangar.escape.namespace_create",
        "hangar.escape.mount",
        "hangar.escape.module_autoload_request",
        "hangar.escape.kernel_module_load",
        "hangar.net.raw_packet_socket",
        "hangar.k8s.api_dns_lookup",
        "hangar.k8s.api_access",
        "hangar.escape.io_uring_outside_runtime",
        "hangar.escape.ptrace_attach",
        "hangar.cred.service_account_token_read",
        "hangar.priv.sudo_or_su",
        "hangar.priv.setuid_root",
        "hangar.file.sensitive_credentials_read",
      ],
    );
    const setuid = alerts.filter((a) => a.ruleId === "hangar.priv.setuid_root").map((a) => a.message);
    assert.deepEqual(setuid, [
      "/bin/bash (uid 1000) called setuid to become root",
      "/usr/bin/sudo (uid 1000) called commit_creds to become root",
    ]);
    assert.ok(
      alerts.every((a) => !/\(tool \)|, session \)|\( *\)/.test(a.message)),
      alerts.map((a) => a.message).join("\n"),
    );
    assert.equal(
      alerts.find((a) => a.ruleId === "hangar.escape.kernel_module_load")?.message,
      "/sbin/insmod loaded the kernel module rk (tainted: TAINT_OUT_OF_TREE_MODULE,TAINT_UNSIGNED_MODULE)",
    );
  });
});
