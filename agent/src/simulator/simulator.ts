/**
 * The sensor simulator: real gRPC servers that speak `tetragon.FineGuidanceSensors`
 * and `observer.Observer`, streaming a recording over a unix socket or TCP. Used
 * by tests, the benchmarks and `npm start`. Options control pacing, looping and
 * failure ("drop the connection after N events").
 */
import { rmSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { grpcServiceDefinition, observer, tetragon } from "@hangar/proto";
import { AgentError } from "../errors.js";
import { timeMs } from "@hangar/core";
import { grpcTarget } from "../sources/grpc.js";
import { hubbleAllows, tetragonAllows } from "./filters.js";

export interface StreamBehaviour {
  /** Events per second per stream; 0 or undefined = as fast as the client reads. */
  rate?: number;
  /** Send each message at its recorded time offset from the first one (real-time replay). */
  paceByTime?: boolean;
  /** Close each stream with UNAVAILABLE after this many events. */
  dropAfter?: number;
  /**
   * Where the sensor's live head is when the simulator starts (default 0). Like a
   * real sensor, the simulator is live: all streams share one cursor, so a client
   * that reconnects gets what comes next, not the recording from the start, and
   * events "sent" while no client was connected are lost.
   */
  startAt?: number;
  /** Start over at the end instead of ending the stream (default false: end with OK). */
  loop?: boolean;
  /** Keep the stream open, idle, after the recording ends (like a live sensor). Default true. */
  holdOpen?: boolean;
  /** Apply the client's allow/deny lists (default true, as a real sensor does). */
  applyFilters?: boolean;
  /**
   * Hubble only: how many flows before `startAt` the ring buffer still holds for
   * a `since` request (default: all of them).
   */
  ringSize?: number;
}

export interface SimulatedSensor<M> extends StreamBehaviour {
  /** unix:///path.sock or host:port (port 0 = pick a free one). */
  address: string;
  messages: readonly M[];
}

export interface SimulatorOptions {
  tetragon?: SimulatedSensor<tetragon.GetEventsResponse>;
  hubble?: SimulatedSensor<observer.GetFlowsResponse>;
}

export interface SimulatorStats {
  streams: number;
  sent: number;
  filtered: number;
}

export interface RunningSimulator {
  /** The bound addresses (with the real port when 0 was asked). */
  tetragonAddress?: string;
  hubbleAddress?: string;
  readonly stats: { tetragon: SimulatorStats; hubble: SimulatorStats };
  /** Closes the servers and every open stream at once (like a sensor that dies). */
  stop(): Promise<void>;
}

interface Prepared<M> {
  msg: M;
  bytes: Uint8Array;
  t: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function serveStream<M>(
  call: grpc.ServerWritableStream<Uint8Array, Uint8Array>,
  prepared: readonly Prepared<M>[],
  cfg: StreamBehaviour,
  allows: (m: M) => boolean,
  first: number,
  stats: SimulatorStats,
  cursor: { next: number },
): Promise<void> {
  stats.streams++;
  let cancelled = false;
  call.on("cancelled", () => {
    cancelled = true;
  });
  call.on("error", () => {
    cancelled = true;
  });
  const applyFilters = cfg.applyFilters ?? true;
  const rate = cfg.rate ?? 0;
  const start = Date.now();
  let sentHere = 0;
  let filteredHere = 0;
  let t0 = 0;
  let loopOffset = 0;
  // One loop lasts from the first to the last recorded time, plus one second.
  const loopSpan =
    prepared.length === 0
      ? 0
      : (prepared[prepared.length - 1] as Prepared<M>).t - (prepared[0] as Prepared<M>).t + 1000;
  let i = first;
  for (;;) {
    if (i >= prepared.length) {
      if (cfg.loop === true && prepared.length > 0) i = 0;
      else break;
    }
    if (cancelled) return;
    if (cfg.dropAfter !== undefined && sentHere >= cfg.dropAfter) {
      // Like a sensor that goes away: what was written is flushed, then the
      // stream ends with UNAVAILABLE (the status a client sees on a lost server).
      call.emit(
        "error",
        Object.assign(new Error("simulated sensor failure"), { code: grpc.status.UNAVAILABLE }),
      );
      return;
    }
    const p = prepared[i++] as Prepared<M>;
    cursor.next = i;
    if (cfg.paceByTime === true) {
      // Absolute schedule: each message at its recorded offset (plus whole loops).
      if (i - 1 === first && sentHere === 0 && filteredHere === 0) t0 = p.t;
      if (i - 1 === 0 && (sentHere > 0 || filteredHere > 0)) loopOffset += loopSpan;
      const wait = start + loopOffset + (p.t - t0) - Date.now();
      if (wait > 1) await sleep(Math.min(wait, 60_000));
      if (cancelled) return;
    }
    if (applyFilters && !allows(p.msg)) {
      filteredHere++;
      stats.filtered++;
      continue;
    }
    if (!call.write(p.bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off("drain", done);
          call.off("cancelled", done);
          resolve();
        };
        call.on("drain", done);
        call.on("cancelled", done);
      });
    }
    sentHere++;
    stats.sent++;
    if (cfg.paceByTime !== true && rate > 0) {
      const due = start + (sentHere * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 1) await sleep(wait);
    } else if (cfg.paceByTime !== true && (sentHere & 1023) === 0) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  if (cancelled) return;
  if (cfg.holdOpen ?? true) {
    // A live sensor never ends the stream; wait for the client or shutdown.
    await new Promise<void>((resolve) => {
      call.on("cancelled", () => resolve());
      call.on("close", () => resolve());
      call.on("finish", () => resolve());
    });
    return;
  }
  call.end();
}

function bind(server: grpc.Server, address: string): Promise<string> {
  const target = grpcTarget(address);
  if (target.startsWith("unix:")) rmSync(target.slice("unix:".length), { force: true });
  return new Promise((resolve, reject) => {
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err !== null) {
        reject(
          new AgentError("HANGAR_ERR_SIMULATOR", `simulator cannot listen on ${address}: ${err.message}`, {
            cause: err,
          }),
        );
        return;
      }
      resolve(target.startsWith("unix:") ? address : address.replace(/:0$/, `:${port}`));
    });
  });
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const servers: grpc.Server[] = [];
  const stats = {
    tetragon: { streams: 0, sent: 0, filtered: 0 },
    hubble: { streams: 0, sent: 0, filtered: 0 },
  };
  const result: RunningSimulator = {
    stats,
    async stop() {
      for (const s of servers) s.forceShutdown();
      await Promise.resolve();
    },
  };
  const t = opts.tetragon;
  if (t !== undefined) {
    const prepared = t.messages.map((msg) => ({
      msg,
      bytes: toBinary(tetragon.GetEventsResponseSchema, msg),
      t: timeMs(msg.time),
    }));
    const tCursor = { next: t.startAt ?? 0 };
    const server = new grpc.Server({
      "grpc.max_send_message_length": -1,
      "grpc.max_receive_message_length": -1,
    });
    server.addService(grpcServiceDefinition(tetragon.FineGuidanceSensors, { raw: true }), {
      getEvents: (call: grpc.ServerWritableStream<Uint8Array, Uint8Array>) => {
        const req = fromBinary(tetragon.GetEventsRequestSchema, call.request);
        void serveStream(
          call,
          prepared,
          t,
          (m) => tetragonAllows(req, m),
          tCursor.next,
          stats.tetragon,
          tCursor,
        );
      },
    });
    result.tetragonAddress = await bind(server, t.address);
    servers.push(server);
  }
  const h = opts.hubble;
  if (h !== undefined) {
    const prepared = h.messages.map((msg) => {
      const f = msg.responseTypes.case === "flow" ? msg.responseTypes.value : undefined;
      return { msg, bytes: toBinary(observer.GetFlowsResponseSchema, msg), t: timeMs(f?.time ?? msg.time) };
    });
    const hCursor = { next: h.startAt ?? 0 };
    const server = new grpc.Server({
      "grpc.max_send_message_length": -1,
      "grpc.max_receive_message_length": -1,
    });
    server.addService(grpcServiceDefinition(observer.Observer, { raw: true }), {
      getFlows: (call: grpc.ServerWritableStream<Uint8Array, Uint8Array>) => {
        const req = fromBinary(observer.GetFlowsRequestSchema, call.request);
        let first = hCursor.next;
        if (req.since !== undefined) {
          // Like Hubble's ring buffer: serve from the first flow at or after
          // `since` that the ring still holds (never past the live head), then follow.
          const since = timeMs(req.since);
          const idx = prepared.findIndex((p) => p.t >= since);
          const oldest = h.ringSize === undefined ? 0 : Math.max(0, hCursor.next - h.ringSize);
          if (idx >= 0) first = Math.max(Math.min(idx, hCursor.next), oldest);
        }
        void serveStream(call, prepared, h, (m) => hubbleAllows(req, m), first, stats.hubble, hCursor);
      },
    });
    result.hubbleAddress = await bind(server, h.address);
    servers.push(server);
  }
  return result;
}
