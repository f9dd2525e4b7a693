/**
 * The agent's side of the hub: one `hangar.v1.AgentHubService/Connect` stream
 * to the controller. Alerts, enforcement requests and baseline deltas go out
 * with sequence numbers and stay in a bounded outbox (./outbox.ts: in memory, or
 * on disk under `<spool-dir>/hub` so that a restart loses nothing) until the
 * controller acknowledges them; after a reconnect the controller's hello says
 * what it already has and the rest is sent again, in order. Call traces, merged
 * baselines and rule updates come back, acknowledged once handed on, with
 * duplicates dropped by sequence number. Authentication: a client certificate
 * (mTLS) and/or a projected service-account token read from a file at each
 * connect (the kubelet rotates it).
 *
 * Refusals: a stream the hub ends with a permanent status (UNAUTHENTICATED,
 * PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION) before it answered the hello, or
 * with HANGAR_ERR_HUB_AUTH, HANGAR_ERR_HUB_NODE_DENIED or HANGAR_ERR_HUB_PROTOCOL at any time
 * (a credential for another node, a protocol error, another major protocol version), is a
 * refusal of the connection itself and cannot succeed by trying again at once; the client reports a
 * `HubRefusal` and tries again on a slow backoff of its own (`refusedBackoff`, from 5 s up to
 * 5 min). One refusal is mended here: `HANGAR_ERR_HUB_SEQ` (an impossible sequence number,
 * e.g. from a counter pushed past 2^53-1) makes the client number what it has pending after
 * the hub's last acknowledged number and send it again at once.
 *
 * Dead letters: a stream the hub ends with a permanent status after it answered the hello
 * (RESOURCE_EXHAUSTED: a message over its size limit; INVALID_ARGUMENT, FAILED_PRECONDITION,
 * PERMISSION_DENIED without one of the connection codes above) would fail the same way on
 * every resend. The client then sends one message at a time, each only after
 * the one before was acknowledged, up to the last one it had sent; a message the hub refuses
 * permanently while it is the only one in flight is set aside: counted
 * (`hub_dead_letters{kind,code}`), reported (`onDeadLetter`, logged by the agent with its
 * number, kind, size and the hub's words), and acknowledged locally, so the ones after it go
 * on. Transient statuses (UNAVAILABLE, DEADLINE_EXCEEDED, …) are retried as before.
 */
import { readFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcServiceDefinition, hangar } from "@hangar/proto";
import {
  HUB_PROTOCOL_VERSION,
  type Counters,
  type AlertSink,
  type TraceSource,
  Backoff,
  sleep,
  type BackoffOptions,
  type CounterName,
  MAX_HUB_SEQ,
} from "@hangar/core";
import { grpcTarget } from "../sources/grpc.js";
import { MemoryOutbox, type HubOutbox } from "./outbox.js";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

/**
 * gRPC statuses that say "this will not work by sending it again": never a hot retry. Before
 * the hub answered the hello (or with a CONNECTION_CODES code) they refuse the connection.
 */
const REFUSED = new Set<number>([
  grpc.status.UNAUTHENTICATED,
  grpc.status.PERMISSION_DENIED,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.FAILED_PRECONDITION,
]);

/** The hub's codes that refuse the connection itself, whenever they come (see HubRefusal). */
const CONNECTION_CODES = new Set<string>([
  "HANGAR_ERR_HUB_AUTH",
  "HANGAR_ERR_HUB_NODE_DENIED",
  "HANGAR_ERR_HUB_PROTOCOL",
]);

/**
 * The hub refused this agent with a permanent status: what it said, and when the client
 * tries again. Handed to `onError`; the agent logs it as an error, not as a lost stream.
 */
export class HubRefusal extends Error {
  override readonly name = "HubRefusal";
  constructor(
    /** The gRPC status name, e.g. `PERMISSION_DENIED`. */
    readonly status: string,
    /** The hub's error code (`HANGAR_ERR_HUB_…`), "" when it sent none. */
    readonly code: string,
    readonly details: string,
    /** Milliseconds until the next try. */
    readonly retryInMs: number,
    options?: ErrorOptions,
  ) {
    super(
      `the hub refused this agent (${status}): ${details}; a permanent refusal, next try in ${Math.round(retryInMs / 1000)} s`,
      options,
    );
  }
}

const HubClientCtor = grpc.makeGenericClientConstructor(
  grpcServiceDefinition(hangar.AgentHubService),
  hangar.AgentHubService.name,
);

export interface HubClientOptions {
  /** `host:port`, `dns:///host:port` or `unix:///path`. */
  address: string;
  node: string;
  agentVersion?: string;
  tls?: { caFile: string; certFile?: string; keyFile?: string; serverName?: string };
  /** A projected service-account token (audience `hangar-controller`), re-read at every connect. */
  tokenFile?: string;
  /**
   * Where messages wait until acknowledged: a DiskOutbox (durable) or, by default, a
   * MemoryOutbox of `outboxLimit` messages. Either drops the oldest beyond its bound and
   * counts them (`hub_outbox_dropped{reason}`, and `dropped`).
   */
  outbox?: HubOutbox;
  /** Bound of the default memory outbox. Default 100 000. */
  outboxLimit?: number;
  /** Call traces waiting for the pipeline. Default 10 000. */
  traceQueue?: number;
  backoff?: BackoffOptions;
  /** Backoff after a permanent refusal (see HubRefusal). Default 5 s growing to 5 min. */
  refusedBackoff?: BackoffOptions;
  counters?: Counters;
  onBaseline?: (b: hangar.BaselineSummary) => void;
  /** Rule packs from the controller; acknowledged once this returns (handle errors inside). */
  onRuleUpdate?: (u: hangar.RuleUpdate) => void;
  /** The version of the last rule update this process received, said in each hello (default ""). */
  rulesVersion?: () => string;
  /** A provider's cluster-wide merged baseline; acknowledged once this returns (handle errors inside). */
  onMergedBaseline?: (m: hangar.MergedBaseline) => void;
  /** The controller's hello asks for every baseline in full (it holds none of this node's). */
  onResyncBaselines?: () => void;
  onError?: (err: unknown) => void;
  /** A message the hub refused for good, set aside (see Dead letters above). */
  onDeadLetter?: (d: DeadLetter) => void;
}

export interface DeadLetter {
  readonly seq: bigint;
  /** alert, enforcementRequest, baselineDelta, … */
  readonly kind: string;
  /** Its encoded size. */
  readonly bytes: number;
  /** The alert's or request's id, when it has one. */
  readonly id: string;
  /** The gRPC status name and the hub's message. */
  readonly code: string;
  readonly details: string;
}

/** Statuses that say "this will never be accepted": resending the same message cannot help. */
const PERMANENT = new Set<number>([
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.PERMISSION_DENIED,
]);

export class HubClient implements AlertSink, TraceSource {
  readonly #opts: HubClientOptions;
  readonly #client: grpc.Client;
  readonly #outbox: HubOutbox;
  /** The next outbox message to write on the current stream. */
  #sendSeq = 0n;
  #pumping = false;
  #lastReceived = 0n;
  #acked = 0n;
  #call: grpc.ClientDuplexStream<Req, Res> | undefined;
  /** Settles when the current stream has ended (error, end or close), even before anyone waits. */
  #callEnded: Promise<void> = Promise.resolve();
  /** The hub's acknowledged position as this stream knows it (its hello, then its acks). */
  #streamAcked = 0n;
  /** Whether the hub's hello arrived on the current stream. */
  #streamHello = false;
  /** Renumberings after a HANGAR_ERR_HUB_SEQ refusal since the hub last acknowledged something. */
  #seqResyncs = 0;
  #ready = false;
  readonly #ac = new AbortController();
  readonly #ackWaiters: { seq: bigint; resolve: () => void }[] = [];
  readonly #traces: hangar.CallTrace[] = [];
  #traceWake: (() => void) | undefined;
  readonly #loop: Promise<void>;
  connects = 0;
  dropped = 0;
  deadLetters = 0;
  /** After a permanent refusal: send one message at a time up to this number (see Dead letters). */
  #careful: bigint | undefined;

  constructor(opts: HubClientOptions) {
    this.#opts = opts;
    this.#outbox =
      opts.outbox ??
      new MemoryOutbox({
        ...(opts.outboxLimit === undefined ? {} : { limit: opts.outboxLimit }),
      });
    opts.counters?.gauge("queue_depth", { queue: "hub_outbox" }, () => this.#outbox.pending);
    opts.counters?.gauge("hub_outbox_bytes", undefined, () => this.#outbox.bytes);
    this.#outbox.onError = (err) => {
      this.#count("hub_outbox_errors");
      this.#opts.onError?.(err);
    };
    this.#outbox.onWritten = () => this.#pump();
    this.#outbox.onDrop = (n, reason) => {
      this.dropped += n;
      this.#opts.counters?.inc("hub_outbox_dropped", { reason }, n);
    };
    const target = grpcTarget(opts.address);
    let creds = grpc.credentials.createInsecure();
    if (opts.tls !== undefined) {
      creds = grpc.credentials.createSsl(
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS and token files named by the operator's --hub-* flags
        readFileSync(opts.tls.caFile),
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS and token files named by the operator's --hub-* flags
        opts.tls.keyFile !== undefined ? readFileSync(opts.tls.keyFile) : null,
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS and token files named by the operator's --hub-* flags
        opts.tls.certFile !== undefined ? readFileSync(opts.tls.certFile) : null,
      );
    }
    this.#client = new HubClientCtor(target, creds, {
      "grpc.keepalive_time_ms": 30_000,
      // Merged baselines of large providers and rule packs exceed gRPC's default 4 MiB.
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
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
    return this.#outbox.pending;
  }

  /** The outbox (memory or disk). */
  get outbox(): HubOutbox {
    return this.#outbox;
  }

  get connected(): boolean {
    return this.#ready;
  }

  #count(name: CounterName, by = 1): void {
    this.#opts.counters?.inc(name, undefined, by);
  }

  /** Queues one message; returns its sequence number (0n when the outbox refused it as too large). */
  send(message: Req["message"]): bigint {
    const seq = this.#outbox.append(message);
    this.#pump();
    return seq;
  }

  /** Writes what the stream has not been sent yet, in order, reading the outbox in batches. */
  #pump(): void {
    if (this.#pumping || !this.#ready) return;
    this.#pumping = true;
    const call = this.#call;
    void (async () => {
      try {
        while (
          call !== undefined &&
          this.#ready &&
          this.#call === call &&
          this.#sendSeq < this.#outbox.nextSeq
        ) {
          if (this.#careful !== undefined && this.#outbox.firstSeq > this.#careful) this.#careful = undefined;
          // Careful: one message in flight at a time (the next goes out on its acknowledgement).
          if (this.#careful !== undefined && this.#sendSeq > this.#outbox.firstSeq) break;
          const batch = await this.#outbox.read(this.#sendSeq, this.#careful === undefined ? 256 : 1);
          if (!this.#ready || this.#call !== call || batch.length === 0) break;
          for (const r of batch) {
            if (r.seq < this.#sendSeq) continue;
            const more = call.write(r);
            this.#sendSeq = r.seq + 1n;
            // A stream that ended before or while we wait never drains: stop waiting then too.
            if (!more) await Promise.race([drained(call), this.#callEnded]);
            if (this.#call !== call) break;
          }
        }
      } catch (err) {
        this.#count("hub_outbox_read_errors");
        this.#opts.onError?.(err);
      } finally {
        this.#pumping = false;
      }
      if (
        this.#ready &&
        this.#call !== undefined &&
        this.#sendSeq < this.#outbox.nextSeq &&
        (this.#careful === undefined || this.#sendSeq <= this.#outbox.firstSeq)
      )
        this.#pump();
    })();
  }

  // AlertSink
  write(alert: hangar.Alert): void {
    this.send({ case: "alert", value: alert });
  }
  /** Resolves when everything sent so far has been acknowledged. */
  flush(): Promise<void> {
    return this.waitAcked(this.#outbox.nextSeq - 1n);
  }
  /** Waits up to 5 s for the hub to acknowledge everything; what it did not stays in a disk outbox. */
  async shutdown(): Promise<void> {
    await Promise.race([this.flush(), sleep(5_000, this.#ac.signal)]);
    this.close();
    await this.#loop;
    await this.#outbox.close();
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
    const refused = new Backoff({ initialMs: 5_000, maxMs: 300_000, ...this.#opts.refusedBackoff });
    while (!this.#ac.signal.aborted) {
      const started = Date.now();
      let wait: number | undefined;
      try {
        await this.#session();
      } catch (err) {
        if (!this.#ac.signal.aborted) {
          this.#count("hub_stream_errors");
          const answered = this.#ready;
          this.#ready = false;
          wait = this.#refusal(err, refused, answered);
          if (wait === undefined) {
            this.#opts.onError?.(err);
            const code = (err as { code?: unknown } | null)?.code;
            if (typeof code === "number" && PERMANENT.has(code)) await this.#refused(err, code, answered);
          }
        }
      }
      this.#ready = false;
      this.#call = undefined;
      if (Date.now() - started > 10_000) backoff.reset();
      if (wait === undefined) refused.reset();
      await sleep(wait ?? backoff.next(), this.#ac.signal);
    }
  }

  /**
   * The hub ended the stream with a permanent status. With one message in flight after a
   * careful start, that message is the one refused: set it aside. Otherwise start carefully.
   */
  async #refused(err: unknown, code: number, answered: boolean): Promise<void> {
    const first = this.#outbox.firstSeq;
    if (answered && this.#careful !== undefined && this.#sendSeq === first + 1n) {
      const details = (err as { details?: unknown }).details;
      const name = grpc.status[code] ?? String(code);
      const [m] = await this.#outbox.read(first, 1).catch((e: unknown) => {
        this.#opts.onError?.(e);
        return [];
      });
      const kind = m?.message.case ?? "unknown";
      const v = m?.message.value as { id?: unknown } | undefined;
      this.deadLetters++;
      this.#opts.counters?.inc("hub_dead_letters", { kind, code: name });
      this.#opts.onDeadLetter?.({
        seq: first,
        kind,
        bytes: m === undefined ? 0 : toBinary(hangar.ConnectRequestSchema, m).length,
        id: typeof v?.id === "string" ? v.id : "",
        code: name,
        details: typeof details === "string" ? details : String(err),
      });
      // Acknowledged here: the hub will never take it, and the ones after it must go on.
      this.#ack(first);
      return;
    }
    if (this.#sendSeq > first) this.#careful = this.#sendSeq - 1n;
  }

  /**
   * A stream the hub ended with a permanent status: renumbers after an impossible sequence
   * number (once; then again only after the hub acknowledged something), else reports a
   * HubRefusal when the hub refused the connection itself (before it answered the hello, or
   * with a connection code). Returns how long to wait, or undefined for an ordinary lost
   * stream or a refusal of messages (see Dead letters).
   */
  #refusal(err: unknown, refused: Backoff, answered: boolean): number | undefined {
    const e = err as { code?: unknown; details?: unknown };
    if (typeof e.code !== "number" || !REFUSED.has(e.code)) return undefined;
    const details = typeof e.details === "string" ? e.details : String(err);
    const code = /^(HANGAR_ERR_[A-Z_]+):/.exec(details)?.[1] ?? "";
    if (code === "HANGAR_ERR_HUB_SEQ" && this.#seqResyncs === 0) {
      this.#seqResyncs++;
      // A number the hub sent that it now refuses to hear back: forget it.
      if (this.#lastReceived > MAX_HUB_SEQ) this.#lastReceived = 0n;
      // Renumber only after the hub's own hello said where it stands.
      const helloSeen = this.#streamHello;
      if (helloSeen) this.#renumberAfter(this.#streamAcked);
      this.#opts.onError?.(
        new Error(
          `the hub refused a sequence number (${details}); ${helloSeen ? `pending messages renumbered from ${this.#streamAcked + 1n}` : "trying again"}`,
          { cause: err },
        ),
      );
      return 0;
    }
    // After the hello, a permanent status without a connection code is about the messages in
    // flight: the careful resend (#refused) finds the one refused and sets it aside.
    if (answered && code !== "HANGAR_ERR_HUB_SEQ" && !CONNECTION_CODES.has(code)) return undefined;
    const retryInMs = refused.next();
    this.#opts.onError?.(
      new HubRefusal(grpc.status[e.code] ?? String(e.code), code, details, retryInMs, { cause: err }),
    );
    return retryInMs;
  }

  #session(): Promise<void> {
    const md = new grpc.Metadata();
    if (this.#opts.tokenFile !== undefined)
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS and token files named by the operator's --hub-* flags
      md.set("authorization", `Bearer ${readFileSync(this.#opts.tokenFile, "utf8").trim()}`);
    const call = (
      this.#client as unknown as { connect(md: grpc.Metadata): grpc.ClientDuplexStream<Req, Res> }
    ).connect(md);
    this.#call = call;
    this.#callEnded = new Promise<void>((ended) => {
      call.once("error", () => ended());
      call.once("end", () => ended());
      call.once("close", () => ended());
    });
    this.#streamAcked = 0n;
    this.#streamHello = false;
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
              rulesVersion: this.#opts.rulesVersion?.() ?? "",
              protocolVersion: HUB_PROTOCOL_VERSION,
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
    const first = this.#outbox.firstSeq;
    const shift = acked + 1n - first;
    this.#outbox.renumber(acked + 1n);
    for (const w of this.#ackWaiters) if (w.seq >= first) w.seq += shift;
    this.#acked = acked;
    this.#count("hub_renumbered");
  }

  #ack(seq: bigint): void {
    if (seq > this.#streamAcked) this.#streamAcked = seq;
    if (seq > this.#acked) this.#acked = seq;
    this.#outbox.ack(seq);
    // Careful mode sends the next message once this one is acknowledged.
    if (this.#careful !== undefined) this.#pump();
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
        if (m.value.lastAckedSeq > MAX_HUB_SEQ)
          throw new Error(
            `the hub's hello says it acknowledged ${m.value.lastAckedSeq}, beyond ${MAX_HUB_SEQ}: not counting past it`,
          );
        this.connects++;
        this.#count("hub_connects");
        this.#streamAcked = m.value.lastAckedSeq;
        this.#streamHello = true;
        if (m.value.lastAckedSeq >= this.#outbox.nextSeq) this.#renumberAfter(m.value.lastAckedSeq);
        else this.#ack(m.value.lastAckedSeq);
        this.#ready = true;
        // Everything the controller does not have yet, in order.
        this.#sendSeq = this.#outbox.firstSeq;
        this.#pump();
        if (m.value.resyncBaselines && this.#opts.onResyncBaselines !== undefined) {
          this.#count("hub_baseline_resyncs");
          const resync = this.#opts.onResyncBaselines;
          setImmediate(resync);
        }
        return;
      case "ack":
        this.#seqResyncs = 0;
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
    else if (m.case === "mergedBaseline") this.#opts.onMergedBaseline?.(m.value);
    this.#lastReceived = res.seq;
    call.write(create(hangar.ConnectRequestSchema, { message: { case: "ack", value: { seq: res.seq } } }));
  }
}

/** Resolves when a stream that refused more data wants some again, or ends. */
function drained(call: grpc.ClientDuplexStream<Req, Res>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off("drain", done);
      call.off("close", done);
      call.off("error", done);
      call.off("finish", done);
      resolve();
    };
    call.once("drain", done);
    call.once("close", done);
    call.once("error", done);
    call.once("finish", done);
  });
}
