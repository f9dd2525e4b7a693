/**
 * The local stack's sensor: a live variant of the agent's sensor simulator.
 * It serves the same gRPC APIs as Tetragon (`FineGuidanceSensors/GetEvents`)
 * and Hubble (`Observer/GetFlows`), but instead of a prepared recording it
 * streams what the sample MCP server's tools report doing (`Effect`s), at the
 * moment they happen, as the messages those sensors send: process exec/exit,
 * `tcp_connect` and `security_file_permission` kprobes, Hubble DNS flows. Every
 * message names the pod the proxy routes the provider to (namespace, pod,
 * node, labels), so the agent's join finds the tool call that caused it.
 */
import { rmSync } from "node:fs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { flow, grpcServiceDefinition, observer, tetragon } from "@hangar/proto";
import type { Effect, Proc } from "@hangar/controller";

export interface PodIdentity {
  node: string;
  namespace: string;
  pod: string;
  podUid: string;
  podIp: string;
  /** Pod labels; the provider label `mcp-hangar.io/provider` among them. */
  labels: Record<string, string>;
  container: { id: string; name: string; image: string };
}

export interface LiveSensor {
  /** `unix://…` address the agent connects to (both APIs on one server). */
  readonly address: string;
  /** Resolves once both a Tetragon and a Hubble stream are open (the agent is listening). */
  readonly ready: Promise<void>;
  readonly stats: { tetragon: number; hubble: number; lost: number };
  /** Reports one effect as the sensor messages it makes. */
  push(effect: Effect): void;
  stop(): void;
}

export async function startLiveSensor(opts: {
  socket: string;
  pod: PodIdentity;
  server: Proc;
}): Promise<LiveSensor> {
  const { pod } = opts;
  const runId = Date.now();
  const execIds = new Map<number, string>();
  const execId = (p: Proc): string => {
    let id = execIds.get(p.pid);
    if (id === undefined) {
      // Tetragon's exec id: base64 of node:ktime:pid; the run's start keeps ids unique across runs.
      id = Buffer.from(`${pod.node}:${runId * 1000 + p.pid}:${p.pid}`).toString("base64");
      execIds.set(p.pid, id);
    }
    return id;
  };
  const started = new Map<number, number>([[opts.server.pid, runId - 1000]]);
  const tPod = create(tetragon.PodSchema, {
    namespace: pod.namespace,
    name: pod.pod,
    uid: pod.podUid,
    podLabels: pod.labels,
    workload: pod.labels["app"] ?? pod.pod,
    workloadKind: "Deployment",
    container: {
      id: pod.container.id,
      name: pod.container.name,
      image: { name: pod.container.image, id: `${pod.container.image}@sha256:0000` },
    },
  });
  const proc = (p: Proc, parent?: Proc): tetragon.Process =>
    create(tetragon.ProcessSchema, {
      execId: execId(p),
      pid: p.pid,
      uid: 1000,
      cwd: "/app",
      binary: p.binary,
      arguments: p.args,
      startTime: timestampFromMs(started.get(p.pid) ?? Date.now()),
      pod: tPod,
      ...(parent !== undefined ? { parentExecId: execId(parent) } : {}),
    });

  const tStreams = new Set<grpc.ServerWritableStream<Uint8Array, Uint8Array>>();
  const hStreams = new Set<grpc.ServerWritableStream<Uint8Array, Uint8Array>>();
  const stats = { tetragon: 0, hubble: 0, lost: 0 };
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  const check = (): void => {
    if (tStreams.size > 0 && hStreams.size > 0) markReady();
  };
  const serve =
    (set: Set<grpc.ServerWritableStream<Uint8Array, Uint8Array>>, parse: (b: Uint8Array) => unknown) =>
    (call: grpc.ServerWritableStream<Uint8Array, Uint8Array>): void => {
      // The request (allow/deny lists, `since`) is read for validity; every message is for an MCP pod.
      parse(call.request);
      set.add(call);
      check();
      const drop = (): void => void set.delete(call);
      call.on("cancelled", drop);
      call.on("close", drop);
      call.on("error", drop);
    };
  const server = new grpc.Server({ "grpc.max_send_message_length": -1 });
  server.addService(grpcServiceDefinition(tetragon.FineGuidanceSensors, { raw: true }), {
    getEvents: serve(tStreams, (b) => fromBinary(tetragon.GetEventsRequestSchema, b)),
  });
  server.addService(grpcServiceDefinition(observer.Observer, { raw: true }), {
    getFlows: serve(hStreams, (b) => fromBinary(observer.GetFlowsRequestSchema, b)),
  });
  rmSync(opts.socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${opts.socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err === null ? resolve() : reject(err),
    ),
  );

  const sendTetragon = (event: tetragon.GetEventsResponse["event"], now: number): void => {
    const bytes = toBinary(
      tetragon.GetEventsResponseSchema,
      create(tetragon.GetEventsResponseSchema, { nodeName: pod.node, time: timestampFromMs(now), event }),
    );
    if (tStreams.size === 0) stats.lost++;
    for (const s of tStreams) s.write(bytes);
    stats.tetragon++;
  };
  const kprobe = (p: Proc, functionName: string, args: tetragon.KprobeArgument["arg"][]) =>
    ({
      case: "processKprobe",
      value: create(tetragon.ProcessKprobeSchema, {
        process: proc(p),
        functionName,
        args: args.map((arg) => create(tetragon.KprobeArgumentSchema, { arg })),
        action: tetragon.KprobeAction.POST,
        policyName: functionName === "tcp_connect" ? "hangar-network" : "hangar-files",
      }),
    }) as const;

  return {
    address: `unix://${opts.socket}`,
    ready,
    stats,
    push(e: Effect): void {
      const now = Date.now();
      switch (e.kind) {
        case "exec":
          started.set(e.process.pid, now);
          execIds.delete(e.process.pid);
          sendTetragon(
            {
              case: "processExec",
              value: create(tetragon.ProcessExecSchema, {
                process: proc(e.process, e.parent),
                parent: proc(e.parent),
              }),
            },
            now,
          );
          return;
        case "exit":
          sendTetragon(
            {
              case: "processExit",
              value: create(tetragon.ProcessExitSchema, {
                process: proc(e.process, e.parent),
                parent: proc(e.parent),
                status: e.status,
              }),
            },
            now,
          );
          return;
        case "file":
          sendTetragon(
            kprobe(e.process, "security_file_permission", [
              {
                case: "fileArg",
                value: create(tetragon.KprobeFileSchema, { path: e.path, permission: "-rw-r--r--" }),
              },
              // MAY_READ = 4, MAY_WRITE = 2
              { case: "intArg", value: e.operation === "read" ? 4 : 2 },
            ]),
            now,
          );
          return;
        case "connect":
          sendTetragon(
            kprobe(e.process, "tcp_connect", [
              {
                case: "sockArg",
                value: create(tetragon.KprobeSockSchema, {
                  family: "AF_INET",
                  type: "SOCK_STREAM",
                  protocol: "IPPROTO_TCP",
                  saddr: pod.podIp,
                  sport: 40_000 + (now % 20_000),
                  daddr: e.ip,
                  dport: e.port,
                  state: "TCP_SYN_SENT",
                }),
              },
            ]),
            now,
          );
          return;
        case "dns": {
          const f = create(flow.FlowSchema, {
            time: timestampFromMs(now),
            uuid: `dns-${runId}-${stats.hubble}`,
            verdict: flow.Verdict.FORWARDED,
            IP: { source: "10.96.0.10", destination: pod.podIp, ipVersion: flow.IPVersion.IPv4 },
            l4: { protocol: { case: "UDP", value: { sourcePort: 53, destinationPort: 41_000 } } },
            source: create(flow.EndpointSchema, {
              identity: 102,
              namespace: "kube-system",
              podName: "coredns-local",
              labels: ["k8s:k8s-app=kube-dns"],
            }),
            destination: create(flow.EndpointSchema, {
              ID: 2911,
              identity: 48_213,
              namespace: pod.namespace,
              podName: pod.pod,
              labels: Object.entries(pod.labels).map(([k, v]) => `k8s:${k}=${v}`),
            }),
            Type: flow.FlowType.L7,
            nodeName: pod.node,
            l7: {
              type: flow.L7FlowType.RESPONSE,
              record: {
                case: "dns",
                value: { query: `${e.query}.`, ips: e.ips, ttl: 30, qtypes: ["A"], rrtypes: ["A"], rcode: 0 },
              },
            },
            trafficDirection: flow.TrafficDirection.EGRESS,
            isReply: true,
          });
          const bytes = toBinary(
            observer.GetFlowsResponseSchema,
            create(observer.GetFlowsResponseSchema, {
              nodeName: pod.node,
              time: timestampFromMs(now),
              responseTypes: { case: "flow", value: f },
            }),
          );
          if (hStreams.size === 0) stats.lost++;
          for (const s of hStreams) s.write(bytes);
          stats.hubble++;
          return;
        }
      }
    },
    stop(): void {
      server.forceShutdown();
      rmSync(opts.socket, { force: true });
    },
  };
}
