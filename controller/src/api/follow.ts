/**
 * `GET /v1/alerts?follow`: alerts as server-sent events, with a bound on what one follower may
 * hold in the controller's memory. A follower that stops reading leaves its events in the
 * response's write buffer; past `maxBufferedBytes` it is dropped: no more alerts are queued for
 * it, one final `event: dropped` says why (it gets it when it reads again) and the connection
 * ends; one that still does not read is destroyed after `dropGraceMs`. Counted
 * (`api_followers_dropped{reason}`), and the bytes buffered for all followers are a gauge
 * (`api_followers_buffered`).
 */
import type { ServerResponse } from "node:http";
import type { Counters } from "@hangar/core";
import { matches, type AlertFilter, type AlertJson, type AlertStore } from "./alerts.js";

export interface FollowOptions {
  /** Bytes one follower may have waiting in the controller before it is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** How long a dropped follower has to read its final event before it is destroyed. Default 30 s. */
  dropGraceMs?: number;
  /** SSE keep-alive comment interval. Default 15 s. */
  keepAliveMs?: number;
  /** Where `api_followers_buffered` and `api_followers_dropped` go. */
  counters?: Counters;
}

/** The alert followers of one REST API: what they hold, and how each is fed. */
export class Followers {
  readonly #opts: FollowOptions;
  readonly #open = new Set<ServerResponse>();
  /** One serialization per alert, whatever the number of followers. */
  readonly #frames = new WeakMap<AlertJson, string>();
  dropped = 0;

  constructor(opts: FollowOptions = {}) {
    this.#opts = opts;
    opts.counters?.gauge("api_followers_buffered", undefined, () => this.bufferedBytes());
  }

  /** Bytes waiting in the write buffers of every follower (what a slow reader costs). */
  bufferedBytes(): number {
    let n = 0;
    for (const res of this.#open) n += res.writableLength;
    return n;
  }

  /** Followers with an open connection. */
  get size(): number {
    return this.#open.size;
  }

  #frame(a: AlertJson): string {
    let f = this.#frames.get(a);
    if (f === undefined) {
      f = `id: ${a.id ?? ""}\nevent: alert\ndata: ${JSON.stringify(a)}\n\n`;
      this.#frames.set(a, f);
    }
    return f;
  }

  /** Streams the backlog, then every new alert matching `filter`, until the client goes or falls behind. */
  follow(res: ServerResponse, store: AlertStore, filter: AlertFilter, backlog: AlertJson[]): void {
    const limit = this.#opts.maxBufferedBytes ?? 1024 * 1024;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    this.#open.add(res);
    let done = false;
    const stop = (): void => {
      if (done) return;
      done = true;
      clearInterval(keepAlive);
      unsubscribe();
    };
    const drop = (): void => {
      const buffered = res.writableLength;
      stop();
      this.dropped++;
      this.#opts.counters?.inc("api_followers_dropped", { reason: "slow" });
      const why = {
        reason: "slow_consumer",
        message: `this follower did not read: ${buffered} bytes were waiting for it (limit ${limit}); reconnect, with ?since= the time of the last alert it has`,
        bufferedBytes: buffered,
        limitBytes: limit,
      };
      // The connection closes once the client has read the final event (no keep-alive for a
      // follower that fell behind), or is destroyed when the grace runs out first.
      const socket = res.socket;
      res.end(`event: dropped\ndata: ${JSON.stringify(why)}\n\n`, () => socket?.end());
      if (socket === null) return;
      const t = setTimeout(() => socket.destroy(), this.#opts.dropGraceMs ?? 30_000);
      t.unref();
      socket.once("close", () => clearTimeout(t));
    };
    // Writes unless that would put the follower past its bound; then drops it instead.
    // While the backlog is being written, new alerts wait in `live` (bounded the same way).
    let live: string[] | undefined = [];
    let liveBytes = 0;
    const send = (chunk: string): void => {
      if (done) return;
      const n = Buffer.byteLength(chunk);
      if (live !== undefined) {
        if (liveBytes + n > limit) drop();
        else {
          live.push(chunk);
          liveBytes += n;
        }
      } else if (res.writableLength + n > limit) drop();
      else res.write(chunk);
    };
    const keepAlive = setInterval(() => send(": keep-alive\n\n"), this.#opts.keepAliveMs ?? 15_000);
    keepAlive.unref();
    res.once("close", () => {
      stop();
      this.#open.delete(res);
    });
    const unsubscribe = store.subscribe((a) => {
      if (matches(a, filter)) send(this.#frame(a));
    });
    // The backlog (at most `limit` alerts the store holds) goes at the pace the client reads.
    void (async () => {
      for (const a of backlog) {
        if (done) return;
        if (res.writableLength > limit) await drained(res);
        if (done || res.destroyed) return;
        res.write(this.#frame(a));
      }
      if (done) return;
      res.write(": following\n\n");
      const waiting = live ?? [];
      live = undefined;
      for (const chunk of waiting) send(chunk);
    })();
  }
}

/** Resolves when a response that buffered too much can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}
