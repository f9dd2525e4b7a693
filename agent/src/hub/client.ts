/**
 * The agent's side of the hub: one `hangar.v1.AgentHubService/Connect` stream
 * to the controller. Alerts, enforcement requests and baseline deltas go out
 * with sequence numbers and stay in a bounded outbox until the controller
 * acknowledges them; after a reconnect the controller's hello says what it
 * already has and the rest is sent again, in order. Call traces, merged
 * baselines and rule updates come back, acknowledged once handed on, with
 * duplicates dropped by sequence number. Authentication: a client certificate
 * (mTLS) and/or a projected service-account token read from a file at each
 * connect (the kubelet rotates it).
 */
import { readFileSync } from "node:fs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { hangar } from "@hangar/proto";
import type { Counters } from "../pipeline/counters.js";
import type { AlertSink, TraceSource } from "../ports/ports.js";
import { Backoff, sleep, type BackoffOptions } from "../sources/backoff.js";
import { grpcTarget } from "../sources/grpc.js";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

const definition: grpc.ServiceDefinition = {
  connect: {
    path: `/${hangar.AgentHubService.typeName}/${hangar.AgentHubService.method.connect.name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: Req) => Buffer.from(toBinary(hangar.ConnectRequestSchema, m)),
    requestDeserialize: (b: Buffer) => fromBinary(hangar.ConnectRequestSchema, b),
    responseSerialize: (m: Res) => Buffer.from(toBinary(hangar.ConnectResponseSchema, m)),
    responseDeserialize: (b: Buffer) => fromBinary(hangar.ConnectResponseSchema, b),
  },
};
const HubClientCtor = grpc.makeGenericClientConstructor(definition, "AgentHubService");

export interface HubClientOptions {
  /** `host:port`, `dns:///host:port` or `unix:///path`. */
  address: string;
  node: string;
  agentVersion?: string;
  tls?: { caFile: string; certFile?: string; keyFile?: string; serverName?: string };
  /** A projected service-account token (audience `hangar-controller`), re-read at every connect. */
  tokenFile?: string;
  /** Messages kept until acknowledged. Default 100 000; beyond it the oldest are dropped and counted. */
  outboxLimit?: number;
  /** Call traces waiting for the pipeline. Default 10 000. */
  traceQueue?: number;
  backoff?: BackoffOptions;
  counters?: Counters;
  onBaseline?: (b: hangar.BaselineSummary) => void;
  onRuleUpdate?: (u: hangar.RuleUpdate) => void;
  onError?: (err: unknown) => void;
}

export class HubClient implements AlertSink, TraceSource {
  readonly #opts: HubClientOptions;
  readonly #client: grpc.Client;
  readonly #outbox: Req[] = [];
  #nextSeq = 1n;
  #lastReceived = 0n;
  #acked = 0n;
  #call: grpc.ClientDuplexStream<Req, Res> | undefined;
  #ready = false;
  readonly #ac = new AbortController();
  readonly #ackWaiters: { seq: bigint; resolve: () => void }[] = [];
  readonly #traces: hangar.CallTrace[] = [];
  #traceWake: (() => void) | undefined;
  readonly #loop: Promise<void>;
  connects = 0;
  dropped = 0;

  constructor(opts: HubClientOptions) {
    this.#opts = opts;
    const target = grpcTarget(opts.address);
    let creds = grpc.credentials.createInsecure();
    if (opts.tls !== undefined) {
      creds = grpc.credentials.createSsl(
        readFileSync(opts.tls.caFile),
        opts.tls.keyFile !== undefined ? readFileSync(opts.tls.keyFile) : null,
        opts.tls.certFile !== undefined ? readFileSync(opts.tls.certFile) : null,
      );
    }
    this.#client = new HubClientCtor(target, creds, {
      "grpc.keepalive_time_ms": 30_000,
      ...(opts.tls?.serverName !== undefined ? { "grpc.ssl_target_name_override": opts.tls.serverName } : {}),
    });
    this.#loop = this.#run();
  }

  /** Sequence number the controller has acknowledged up to. */
  get acked(): bigint {
    return this.#acked;
  }

  /** Messages not yet acknowledged. */
  get pending(): number {
    return this.#outbox.length;
  }

  get connected(): boolean {
    return this.#ready;
  }

  #count(name: string, by = 1): void {
    this.#opts.counters?.inc(name, undefined, by);
  }

  /** Queues one message; returns its sequence number. */
  send(message: Req["message"]): bigint {
    const req = create(hangar.ConnectRequestSchema, { seq: this.#nextSeq++, message });
    this.#outbox.push(req);
    const limit = this.#opts.outboxLimit ?? 100_000;
    if (this.#outbox.length > limit) {
      const n = this.#outbox.length - limit;
      this.#outbox.splice(0, n);
      this.dropped += n;
      this.#count("hub_outbox_dropped", n);
    }
    if (this.#ready) this.#call?.write(req);
    return req.seq;
  }

  // AlertSink
  write(alert: hangar.Alert): void {
    this.send({ case: "alert", value: alert });
  }
  /** Resolves when everything sent so far has been acknowledged. */
  flush(): Promise<void> {
    return this.waitAcked(this.#nextSeq - 1n);
  }
  async shutdown(): Promise<void> {
    await Promise.race([this.flush(), sleep(5_000, this.#ac.signal)]);
    this.close();
    await this.#loop;
  }

  requestEnforcement(req: hangar.EnforcementRequest): bigint {
    return this.send({ case: "enforcementRequest", value: req });
  }
  sendBaselineDelta(delta: hangar.BaselineDelta): bigint {
    return this.send({ case: "baselineDelta", value: delta });
  }

  waitAcked(seq: bigint): Promise<void> {
    if (this.#acked >= seq) return Promise.resolve();
    return new Promise((resolve) => this.#ackWaiters.push({ seq, resolve }));
  }

  // TraceSource
  async *traces(signal: AbortSignal): AsyncIterable<hangar.CallTrace> {
    while (!signal.aborted && !this.#ac.signal.aborted) {
      const t = this.#traces.shift();
      if (t !== undefined) {
        yield t;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#traceWake = resolve;
        const done = (): void => resolve();
        signal.addEventListener("abort", done, { once: true });
        this.#ac.signal.addEventListener("abort", done, { once: true });
      });
      this.#traceWake = undefined;
    }
  }

  close(): void {
    this.#ac.abort();
    this.#call?.cancel();
    this.#client.close();
    this.#traceWake?.();
  }

  async #run(): Promise<void> {
    const backoff = new Backoff(this.#opts.backoff);
    while (!this.#ac.signal.aborted) {
      const started = Date.now();
      try {
        await this.#session();
      } catch (err) {
        if (!this.#ac.signal.aborted) {
          this.#count("hub_stream_errors");
          this.#opts.onError?.(err);
        }
      }
      this.#ready = false;
      this.#call = undefined;
      if (Date.now() - started > 10_000) backoff.reset();
      await sleep(backoff.next(), this.#ac.signal);
    }
  }

  #session(): Promise<void> {
    const md = new grpc.Metadata();
    if (this.#opts.tokenFile !== undefined)
      md.set("authorization", `Bearer ${readFileSync(this.#opts.tokenFile, "utf8").trim()}`);
    const call = (
      this.#client as unknown as { connect(md: grpc.Metadata): grpc.ClientDuplexStream<Req, Res> }
    ).connect(md);
    this.#call = call;
    return new Promise<void>((resolve, reject) => {
      call.on("data", (res: Res) => {
        try {
          this.#receive(call, res);
        } catch (err) {
          call.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      call.on("error", reject);
      call.on("end", resolve);
      call.write(
        create(hangar.ConnectRequestSchema, {
          message: {
            case: "hello",
            value: {
              node: this.#opts.node,
              agentVersion: this.#opts.agentVersion ?? "dev",
              lastReceivedSeq: this.#lastReceived,
            },
          },
        }),
      );
    });
  }

  /**
   * The controller acknowledged more than this process ever sent: an earlier agent
   * process on this node did. What is pending here is new to the controller, so it is
   * numbered after what the controller has (else it would be taken for duplicates).
   */
  #renumberAfter(acked: bigint): void {
    const first = this.#nextSeq - BigInt(this.#outbox.length);
    const shift = acked + 1n - first;
    for (const r of this.#outbox) r.seq += shift;
    for (const w of this.#ackWaiters) if (w.seq >= first) w.seq += shift;
    this.#nextSeq += shift;
    this.#acked = acked;
    this.#count("hub_renumbered");
  }

  #ack(seq: bigint): void {
    if (seq > this.#acked) this.#acked = seq;
    let drop = 0;
    while (drop < this.#outbox.length && (this.#outbox[drop] as Req).seq <= seq) drop++;
    this.#outbox.splice(0, drop);
    for (let i = this.#ackWaiters.length - 1; i >= 0; i--) {
      const w = this.#ackWaiters[i] as { seq: bigint; resolve: () => void };
      if (w.seq <= this.#acked) {
        this.#ackWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  #receive(call: grpc.ClientDuplexStream<Req, Res>, res: Res): void {
    const m = res.message;
    switch (m.case) {
      case "hello":
        this.connects++;
        this.#count("hub_connects");
        if (m.value.lastAckedSeq >= this.#nextSeq) this.#renumberAfter(m.value.lastAckedSeq);
        else this.#ack(m.value.lastAckedSeq);
        this.#ready = true;
        // Everything the controller does not have yet, in order.
        for (const r of this.#outbox) call.write(r);
        return;
      case "ack":
        this.#ack(m.value.seq);
        return;
      default:
        break;
    }
    if (res.seq <= this.#lastReceived) {
      this.#count("hub_duplicates");
      call.write(
        create(hangar.ConnectRequestSchema, { message: { case: "ack", value: { seq: this.#lastReceived } } }),
      );
      return;
    }
    if (m.case === "callTrace") {
      if (this.#traces.length >= (this.#opts.traceQueue ?? 10_000)) {
        this.#traces.shift();
        this.#count("hub_traces_dropped");
      }
      this.#traces.push(m.value);
      this.#traceWake?.();
    } else if (m.case === "baseline") this.#opts.onBaseline?.(m.value);
    else if (m.case === "ruleUpdate") this.#opts.onRuleUpdate?.(m.value);
    this.#lastReceived = res.seq;
    call.write(create(hangar.ConnectRequestSchema, { message: { case: "ack", value: { seq: res.seq } } }));
  }
}
