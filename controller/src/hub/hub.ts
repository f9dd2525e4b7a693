/**
 * The agent hub: the gRPC service `hangar.v1.AgentHubService` that every agent
 * keeps one `Connect` stream open to. Agents are authenticated by a client
 * certificate (mTLS) or a projected service-account token checked by a
 * TokenReview. Each agent message carries a sequence number; the hub hands it
 * to its handler (alert store, enforcer, baseline merge) and acknowledges it
 * only once the handler accepted it, so a message the hub acknowledged is never
 * lost and a message it did not is sent again after a reconnect. Duplicates
 * (handled, ack lost) are recognised by sequence number. The other way, call
 * traces, merged baselines and rule updates are sent with their own sequence
 * numbers and kept until the agent acknowledges them (bounded per node).
 *
 * Identity and node: an agent speaks for one node, and the hub checks that its credential
 * names that node: a pod-bound service-account token names its pod's node (TokenReview's
 * `authentication.kubernetes.io/node-name`), a client certificate names its node as a DNS
 * subjectAltName (`DNS:<node>`; the CN is the role that `allowedSubjects` checks). A hello for
 * another node is refused with PERMISSION_DENIED before it touches that node's stream.
 *
 * Refusals: permanent protocol errors get a status a client does not retry as transient
 * (PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION, UNAUTHENTICATED); only a
 * handler that failed (the message can succeed when sent again) is UNAVAILABLE.
 * Sequence numbers of agent messages run from 1 to 2^53-1 and increase on a stream (gaps are
 * fine: the agent's outbox drops its oldest on overflow); anything else is INVALID_ARGUMENT
 * (`HANGAR_ERR_HUB_SEQ`) and never acknowledged, so no number the agent could not count past
 * ever becomes the node's acknowledged position.
 */
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { hangar } from "@hangar/proto";
import { HUB_PROTOCOL_VERSION, MAX_HUB_SEQ } from "@hangar/core";
import { ControllerError } from "../errors.js";
import { checkAgentProtocol } from "./protocol.js";
import { ackBytes, hubServiceDefinition } from "./wire.js";
import type { KubeApi } from "../kube/kube.js";

type Req = hangar.ConnectRequest;
type Res = hangar.ConnectResponse;

/** The gRPC status each hub error code is answered with (the rest: UNAVAILABLE, the agent retries). */
const REFUSAL_STATUS: Partial<Record<string, grpc.status>> = {
  HANGAR_ERR_HUB_AUTH: grpc.status.UNAUTHENTICATED,
  HANGAR_ERR_HUB_NODE_DENIED: grpc.status.PERMISSION_DENIED,
  HANGAR_ERR_HUB_SEQ: grpc.status.INVALID_ARGUMENT,
};

/** What the hub does with agent messages; each resolves once the message is safe (then it is acknowledged). */
export interface HubHandlers {
  alert?(alert: hangar.Alert, agent: AgentIdentity): Promise<void> | void;
  enforcementRequest?(req: hangar.EnforcementRequest, agent: AgentIdentity): Promise<void> | void;
  baselineDelta?(delta: hangar.BaselineDelta, agent: AgentIdentity): Promise<void> | void;
  stats?(stats: hangar.AgentStats, agent: AgentIdentity): Promise<void> | void;
}

export interface AgentIdentity {
  node: string;
  /** Certificate subject CN, or the service-account user name. */
  principal: string;
  via: "mtls" | "token";
}

export interface HubTls {
  /** The hub's serving certificate and key (PEM). */
  certFile: string;
  keyFile: string;
  /**
   * PEM: the CA that signed agents' client certificates. With it, agents must present a
   * certificate (mTLS) and that is their identity; without it, TLS only, and agents
   * authenticate with a token.
   */
  clientCaFile?: string;
  /**
   * Allowed client certificate CNs (empty: any certificate the CA signed). The node an agent
   * may speak for is not the CN but a DNS subjectAltName of its certificate (`DNS:<node>`).
   */
  allowedSubjects?: string[];
}

export interface HubTokenAuth {
  kube: KubeApi;
  /** The audience agents' projected tokens carry. Default `hangar-controller`. */
  audience?: string;
  /** Allowed user names, e.g. `system:serviceaccount:hangar-system:hangar-agent`. */
  allowedUsers: string[];
}

export interface HubOptions {
  /** `host:port` (or `unix:///path`). */
  listen: string;
  tls?: HubTls;
  token?: HubTokenAuth;
  handlers: HubHandlers;
  controllerVersion?: string;
  /** Unacknowledged controller→agent messages kept per node. Default 10 000. */
  outboxLimit?: number;
  /**
   * Called after an agent's hello was answered and what it missed was sent again (first
   * connect and every reconnect): the place to send it what it should hold now (merged
   * baselines of the providers it hosts).
   */
  onHello?: (node: string) => void;
  /**
   * The controller merges baselines: until a node has sent its baselines in full (a
   * `BaselineDelta` with `full`) to this hub, its hello asks for them (`resync_baselines`).
   */
  resyncBaselines?: boolean;
}

/**
 * Who is on a stream: the certificate CN or service account, and the nodes its credential
 * names (a pod-bound token: the pod's node; a certificate: its DNS subjectAltNames). A token
 * not bound to a pod names none and may speak for any node (`nodes` undefined).
 */
interface Who {
  principal: string;
  via: "mtls" | "token";
  nodes?: readonly string[];
}

/** One stream: the node it said hello as, and the last agent sequence number seen on it. */
interface StreamCtx {
  state: NodeState | undefined;
  identity: AgentIdentity | undefined;
  lastSeq: bigint;
}

interface NodeState {
  /** Highest agent seq handled and acknowledged. */
  lastAcked: bigint;
  /** Next controller seq. */
  nextSeq: bigint;
  /** Controller→agent messages not yet acknowledged, in seq order. */
  outbox: Res[];
  stream: grpc.ServerDuplexStream<Req, Res> | undefined;
  /** Whether this node said hello to this hub since it started. */
  helloSeen: boolean;
  /** Version of the rule update last queued for the node. */
  rulesVersion: string | undefined;
  /** Keyed messages (`sendLatest`): key → seq of the one queued last. */
  latest: Map<string, bigint>;
}

export class HubStats {
  readonly counters = new Map<string, number>();
  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }
  get(name: string): number {
    return this.counters.get(name) ?? 0;
  }
}

export class AgentHub {
  readonly #opts: HubOptions;
  readonly #server = new grpc.Server({
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    // No channelz: it keeps a trace and call counters per connection and stamps a Date on
    // every message; nothing here reads it.
    "grpc.enable_channelz": 0,
  });
  readonly #nodes = new Map<string, NodeState>();
  readonly stats = new HubStats();
  #port = 0;
  #rules: hangar.RuleUpdate | undefined;
  /** Nodes that sent a full baseline to this hub since it started. */
  readonly #fullBaselines = new Set<string>();

  constructor(opts: HubOptions) {
    if (opts.tls?.clientCaFile === undefined && opts.token === undefined)
      throw new ControllerError(
        "HANGAR_ERR_HUB_CONFIG",
        "the hub needs mTLS (a client CA) or token auth (TokenReview): refusing to run open",
      );
    this.#opts = opts;
    this.#server.addService(hubServiceDefinition(), {
      connect: (call: grpc.ServerDuplexStream<Req, Res>) => {
        void this.#serve(call);
      },
    });
  }

  /** Port actually bound. */
  get port(): number {
    return this.#port;
  }

  /** Controller→agent messages not yet acknowledged, over all nodes (a metrics gauge). */
  outboxDepth(): number {
    let n = 0;
    for (const s of this.#nodes.values()) n += s.outbox.length;
    return n;
  }

  /** Nodes with an open stream. */
  connected(): string[] {
    return [...this.#nodes.entries()].filter(([, s]) => s.stream !== undefined).map(([n]) => n);
  }

  async start(): Promise<number> {
    let creds: grpc.ServerCredentials;
    const tls = this.#opts.tls;
    try {
      creds =
        tls === undefined
          ? grpc.ServerCredentials.createInsecure()
          : grpc.ServerCredentials.createSsl(
              // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS files named by the operator's --hub-tls-* flags
              tls.clientCaFile !== undefined ? readFileSync(tls.clientCaFile) : null,
              // eslint-disable-next-line security/detect-non-literal-fs-filename -- TLS files named by the operator's --hub-tls-* flags
              [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
              tls.clientCaFile !== undefined,
            );
    } catch (cause) {
      throw new ControllerError("HANGAR_ERR_HUB_CONFIG", `hub TLS files: ${String(cause)}`, { cause });
    }
    this.#port = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(this.#opts.listen, creds, (err, port) =>
        err !== null
          ? reject(
              new ControllerError(
                "HANGAR_ERR_HUB_CONFIG",
                `hub cannot listen on ${this.#opts.listen}: ${err.message}`,
                { cause: err },
              ),
            )
          : resolve(port),
      );
    });
    return this.#port;
  }

  /**
   * Ends every agent stream and keeps serving: the agents reconnect (through the Service,
   * to the replica now holding the Lease). Returns how many streams were ended.
   */
  disconnectAll(): number {
    let n = 0;
    for (const s of this.#nodes.values())
      if (s.stream !== undefined) {
        s.stream.end();
        n++;
      }
    return n;
  }

  /** Stops accepting, ends every stream (agents reconnect elsewhere). */
  async stop(graceMs = 2_000): Promise<void> {
    for (const s of this.#nodes.values()) s.stream?.end();
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Queues a message for one node (sent now if connected, else on its next connect). */
  send(node: string, message: Res["message"]): bigint {
    const state = this.#state(node);
    const seq = state.nextSeq++;
    const res = create(hangar.ConnectResponseSchema, { seq, message });
    state.outbox.push(res);
    const limit = this.#opts.outboxLimit ?? 10_000;
    if (state.outbox.length > limit) {
      state.outbox.splice(0, state.outbox.length - limit);
      this.stats.inc("hub_outbox_dropped");
    }
    state.stream?.write(res);
    return seq;
  }

  /**
   * Like `send`, for messages where only the newest matters (a provider's merged baseline,
   * the rule packs): an older message with the same key still waiting for the node's ack
   * is dropped from its outbox, so a node that is away gets only the newest on reconnect.
   */
  sendLatest(node: string, key: string, message: Res["message"]): bigint {
    const state = this.#state(node);
    const previous = state.latest.get(key);
    if (previous !== undefined) state.outbox = state.outbox.filter((r) => r.seq !== previous);
    const seq = this.send(node, message);
    state.latest.set(key, seq);
    return seq;
  }

  /**
   * The rule packs every agent should run: sent now to every node that has connected, and to
   * each node when it connects and has not been sent this version yet.
   */
  setRules(update: hangar.RuleUpdate): void {
    this.#rules = update;
    for (const [node, st] of this.#nodes) {
      if (!st.helloSeen || st.rulesVersion === update.version) continue;
      st.rulesVersion = update.version;
      this.sendLatest(node, "rules", { case: "ruleUpdate", value: update });
    }
  }

  /** Sends to every node known to the hub (call traces, baselines and rule updates for all). */
  broadcast(message: Res["message"]): void {
    for (const node of this.#nodes.keys()) this.send(node, message);
  }

  #state(node: string): NodeState {
    let s = this.#nodes.get(node);
    if (s === undefined) {
      s = {
        lastAcked: 0n,
        nextSeq: 1n,
        outbox: [],
        stream: undefined,
        helloSeen: false,
        rulesVersion: undefined,
        latest: new Map(),
      };
      this.#nodes.set(node, s);
    }
    return s;
  }

  async #authenticate(call: grpc.ServerDuplexStream<Req, Res>): Promise<Who> {
    const tls = this.#opts.tls;
    if (tls?.clientCaFile !== undefined) {
      const cert = call.getAuthContext().sslPeerCertificate;
      const cn = cert?.subject?.CN;
      const subject = Array.isArray(cn) ? cn[0] : cn;
      if (subject === undefined) throw new ControllerError("HANGAR_ERR_HUB_AUTH", "no client certificate");
      if ((tls.allowedSubjects ?? []).length > 0 && !(tls.allowedSubjects ?? []).includes(subject))
        throw new ControllerError("HANGAR_ERR_HUB_AUTH", `client certificate CN ${subject} is not allowed`);
      return { principal: subject, via: "mtls", nodes: certificateNodes(cert?.subjectaltname) };
    }
    const auth = this.#opts.token;
    // eslint-disable-next-line security/detect-possible-timing-attacks -- compares with undefined (is it configured), not a secret
    if (auth === undefined) throw new ControllerError("HANGAR_ERR_HUB_AUTH", "no authentication configured");
    const header = call.metadata.get("authorization")[0];
    const m = /^Bearer\s+(\S+)$/i.exec(typeof header === "string" ? header : "");
    if (m === null)
      throw new ControllerError("HANGAR_ERR_HUB_AUTH", "missing bearer token (metadata authorization)");
    const res = await auth.kube.call({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token: m[1], audiences: [auth.audience ?? "hangar-controller"] },
      },
    });
    const status = (
      res.body as {
        status?: {
          authenticated?: boolean;
          error?: string;
          user?: { username?: string; extra?: Record<string, string[]> };
        };
      }
    ).status;
    if (status?.authenticated !== true)
      throw new ControllerError(
        "HANGAR_ERR_HUB_AUTH",
        `token rejected by TokenReview${status?.error !== undefined ? `: ${status.error}` : ""}`,
      );
    const user = status.user?.username ?? "";
    if (!auth.allowedUsers.includes(user))
      throw new ControllerError("HANGAR_ERR_HUB_AUTH", `${user} may not connect as an agent`);
    // A token bound to a pod names the pod's node: that agent may only speak for that node.
    const boundNode = status.user?.extra?.["authentication.kubernetes.io/node-name"]?.[0];
    return { principal: user, via: "token", ...(boundNode !== undefined ? { nodes: [boundNode] } : {}) };
  }

  async #serve(call: grpc.ServerDuplexStream<Req, Res>): Promise<void> {
    let who: Who;
    try {
      who = await this.#authenticate(call);
    } catch (err) {
      this.stats.inc("hub_auth_failures");
      if (err instanceof ControllerError) this.#refuse(call, err);
      // The TokenReview itself failed (API server unreachable): transient, the agent retries soon.
      else
        call.emit("error", {
          code: grpc.status.UNAVAILABLE,
          details: `HANGAR_ERR_HUB_AUTH: the TokenReview failed: ${err instanceof Error ? err.message : String(err)}`,
        });
      return;
    }
    const ctx: StreamCtx = { state: undefined, identity: undefined, lastSeq: 0n };
    let refused = false;
    const fail = (err: unknown): void => {
      refused = true;
      this.#refuse(call, err);
    };
    const step = (req: Req): Promise<void> | undefined => {
      if (refused) return undefined;
      try {
        return this.#handle(call, req, who, ctx)?.catch(fail);
      } catch (err) {
        fail(err);
        return undefined;
      }
    };
    // Messages are handled one at a time, in order: an ack always means "this and everything
    // before". A message whose handler is synchronous (an alert) is handled and acknowledged
    // at once; while one is waiting (an enforcement request, a baseline merge), the next ones
    // wait behind it.
    let pending: Promise<void> | undefined;
    call.on("data", (req: Req) => {
      const next = pending === undefined ? step(req) : pending.then(() => step(req));
      pending = next;
      if (next !== undefined)
        void next.then(() => {
          if (pending === next) pending = undefined;
        });
    });
    const done = (): void => {
      if (ctx.state !== undefined && ctx.state.stream === call) ctx.state.stream = undefined;
    };
    call.on("end", () => {
      done();
      call.end();
    });
    call.on("error", done);
    call.on("cancelled", done);
  }

  /**
   * Ends a stream with the status its error calls for: a refusal the agent cannot fix by
   * sending again (a permanent status, the error code first in the details), or UNAVAILABLE
   * for a handler that failed (the message was not acknowledged and is sent again).
   */
  #refuse(call: grpc.ServerDuplexStream<Req, Res>, err: unknown): void {
    const status = err instanceof ControllerError ? REFUSAL_STATUS[err.code] : undefined;
    if (err instanceof ControllerError && status !== undefined) {
      if (status !== grpc.status.UNAUTHENTICATED) this.stats.inc("hub_refusals");
      call.emit("error", { code: status, details: `${err.code}: ${err.message}` });
      return;
    }
    if (err instanceof ControllerError && err.code === "HANGAR_ERR_HUB_PROTOCOL") {
      this.stats.inc("hub_refusals");
      const code = (err.details as { status?: grpc.status } | undefined)?.status;
      call.emit("error", {
        code: code ?? grpc.status.FAILED_PRECONDITION,
        details: `${err.code}: ${err.message}`,
      });
      return;
    }
    this.stats.inc("hub_handler_failures");
    // Not acknowledged: the agent sends it again after reconnecting.
    call.emit("error", {
      code: grpc.status.UNAVAILABLE,
      details: `HANGAR_ERR_HUB_STREAM: handler failed, not acknowledged: ${err instanceof Error ? err.message : String(err)}`,
    });
  }

  /** Handles one message; a promise when its handler is asynchronous (acknowledged once it resolves). */
  #handle(
    call: grpc.ServerDuplexStream<Req, Res>,
    req: Req,
    who: Who,
    ctx: StreamCtx,
  ): Promise<void> | undefined {
    const m = req.message;
    if (m.case === "hello") {
      if (ctx.state !== undefined)
        throw protocolError(grpc.status.FAILED_PRECONDITION, "a second hello on one stream");
      const node = m.value.node;
      // another major version of the protocol: FAILED_PRECONDITION (HANGAR_ERR_HUB_PROTOCOL)
      checkAgentProtocol(node, m.value.protocolVersion);
      if (node === "") throw protocolError(grpc.status.INVALID_ARGUMENT, "hello.node is empty");
      if (m.value.lastReceivedSeq > MAX_HUB_SEQ)
        throw new ControllerError(
          "HANGAR_ERR_HUB_SEQ",
          `hello.last_received_seq ${m.value.lastReceivedSeq} is beyond ${MAX_HUB_SEQ}: the hub never sent such a number`,
        );
      if (who.nodes !== undefined && !who.nodes.includes(node)) {
        throw new ControllerError(
          "HANGAR_ERR_HUB_NODE_DENIED",
          who.via === "token"
            ? `${who.principal}'s token is bound to a pod on node ${who.nodes.join(", ")}, not ${node}`
            : who.nodes.length === 0
              ? `client certificate CN ${who.principal} names no node (a DNS subjectAltName with the node name), so it may not speak for ${node}`
              : `client certificate CN ${who.principal} is for node ${who.nodes.join(", ")}, not ${node}`,
          { details: { principal: who.principal, node, bound: [...who.nodes] } },
        );
      }
      const s = this.#state(node);
      const previous = s.stream;
      s.stream = call;
      previous?.end();
      this.stats.inc("hub_connects");
      const id: AgentIdentity = { node, principal: who.principal, via: who.via };
      if (!s.helloSeen) {
        // First contact since this hub started: the agent may hold higher numbers from a hub
        // before it. Number what is queued for it after those, so nothing looks like a duplicate.
        s.helloSeen = true;
        let seq = m.value.lastReceivedSeq;
        const renumbered = new Map<bigint, bigint>();
        for (const r of s.outbox) {
          renumbered.set(r.seq, ++seq);
          r.seq = seq;
        }
        for (const [k, old] of s.latest) s.latest.set(k, renumbered.get(old) ?? 0n);
        s.nextSeq = seq + 1n;
      }
      // What the agent already has is dropped; the rest is sent again, in order.
      s.outbox = s.outbox.filter((r) => r.seq > m.value.lastReceivedSeq);
      call.write(
        create(hangar.ConnectResponseSchema, {
          message: {
            case: "hello",
            value: {
              controllerVersion: this.#opts.controllerVersion ?? "dev",
              lastAckedSeq: s.lastAcked,
              resyncBaselines: this.#opts.resyncBaselines === true && !this.#fullBaselines.has(node),
              protocolVersion: HUB_PROTOCOL_VERSION,
            },
          },
        }),
      );
      for (const r of s.outbox) call.write(r);
      // The rule packs, unless the agent process already received this version (it says so in
      // its hello) or it is among what was just sent again.
      const rules = this.#rules;
      if (rules !== undefined && m.value.rulesVersion !== rules.version) {
        const queued = s.latest.get("rules");
        const resent =
          s.rulesVersion === rules.version && queued !== undefined && s.outbox.some((r) => r.seq === queued);
        if (!resent) {
          s.rulesVersion = rules.version;
          this.sendLatest(node, "rules", { case: "ruleUpdate", value: rules });
        }
      } else if (rules !== undefined) s.rulesVersion = rules.version;
      this.#opts.onHello?.(node);
      ctx.state = s;
      ctx.identity = id;
      return undefined;
    }
    const { state, identity } = ctx;
    if (state === undefined || identity === undefined)
      throw protocolError(
        grpc.status.FAILED_PRECONDITION,
        `${m.case ?? "an empty message"} before hello: a stream starts with the agent's hello`,
      );
    if (m.case === "ack") {
      if (state.outbox.length > 0) state.outbox = state.outbox.filter((r) => r.seq > m.value.seq);
      return undefined;
    }
    if (req.seq === 0n || req.seq > MAX_HUB_SEQ)
      throw new ControllerError(
        "HANGAR_ERR_HUB_SEQ",
        `${m.case ?? "message"} seq ${req.seq} is outside 1..${MAX_HUB_SEQ}: not acknowledged; number it after the hub's last acknowledged ${state.lastAcked}`,
        { details: { seq: req.seq.toString(), lastAcked: state.lastAcked.toString() } },
      );
    if (req.seq <= ctx.lastSeq)
      throw new ControllerError(
        "HANGAR_ERR_HUB_SEQ",
        `${m.case ?? "message"} seq ${req.seq} does not increase on this stream (the one before was ${ctx.lastSeq})`,
        { details: { seq: req.seq.toString(), lastAcked: state.lastAcked.toString() } },
      );
    ctx.lastSeq = req.seq;
    if (req.seq <= state.lastAcked) {
      // A message handled before whose ack was lost: acknowledge again, do not handle twice.
      this.stats.inc("hub_duplicates");
      writeAck(call, state.lastAcked);
      return undefined;
    }
    const h = this.#opts.handlers;
    let handled: Promise<void> | void = undefined;
    let stat: string | undefined;
    switch (m.case) {
      case "alert":
        handled = h.alert?.(m.value, identity);
        stat = "hub_alerts";
        break;
      case "enforcementRequest":
        handled = h.enforcementRequest?.(m.value, identity);
        stat = "hub_enforcement_requests";
        break;
      case "baselineDelta": {
        const full = m.value.full;
        const done = (): void => {
          if (full) this.#fullBaselines.add(identity.node);
        };
        const r = h.baselineDelta?.(m.value, identity);
        handled = isPromise(r) ? r.then(done) : done();
        stat = "hub_baseline_deltas";
        break;
      }
      case "stats":
        handled = h.stats?.(m.value, identity);
        break;
      default:
        stat = "hub_unknown_messages";
    }
    const seq = req.seq;
    const ack = (): void => {
      if (stat !== undefined) this.stats.inc(stat);
      state.lastAcked = seq;
      writeAck(call, seq);
    };
    if (isPromise(handled)) return handled.then(ack);
    ack();
    return undefined;
  }
}

function isPromise(v: Promise<void> | void): v is Promise<void> {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}

/** Acknowledges `seq` (and everything before it) on a stream, pre-encoded (`ackBytes`). */
function writeAck(call: grpc.ServerDuplexStream<Req, Res>, seq: bigint): void {
  (call as unknown as grpc.ServerDuplexStream<Req, Uint8Array>).write(ackBytes(seq));
}

/** A permanent protocol error (`HANGAR_ERR_HUB_PROTOCOL`) answered with `status`. */
function protocolError(status: grpc.status, message: string): ControllerError {
  return new ControllerError("HANGAR_ERR_HUB_PROTOCOL", message, { details: { status } });
}

/**
 * The nodes a client certificate names: its DNS subjectAltNames (Node's `subjectaltname`
 * text, e.g. `DNS:node-a, IP Address:10.0.0.1`). A quoted entry (Node quotes names with
 * characters no node name has) or a wildcard names no node.
 */
export function certificateNodes(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined) return [];
  const out: string[] = [];
  for (const part of subjectAltName.split(", ")) {
    if (!part.startsWith("DNS:")) continue;
    const name = part.slice(4);
    // A DNS name (a node's name): lower-case letters, digits, '-' and '.', alphanumeric at both ends.
    if (name.length <= 253 && /^[a-z0-9][-a-z0-9.]*$/.test(name) && /[a-z0-9]$/.test(name)) out.push(name);
  }
  return out;
}
