/**
 * `GET /v1/alerts?follow` with followers that stop reading, over real sockets: 100 stalled
 * followers and thousands of alerts leave at most the per-follower bound in the controller
 * (the `api_followers_buffered` gauge), each is dropped with a final `event: dropped` that it
 * reads when it resumes, and one that never resumes is disconnected after the grace period.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import * as k8s from "@kubernetes/client-node";
import { Counters } from "@hangar/core";
import { hangar } from "@hangar/proto";
import { waitFor } from "@hangar/testkit";
import { AlertStore } from "../src/api/alerts.js";
import { runAlerts } from "../src/ctl/commands/alerts.js";
import { Authenticator } from "../src/api/auth.js";
import { startApi, type RunningApi } from "../src/api/server.js";
import { MemoryBaselineView } from "../src/baselines/baselines.js";
import { Enforcer } from "../src/enforce/engine.js";
import { parseConfig } from "../src/enforce/policy.js";
import { ConfigMapStore } from "../src/enforce/store.js";
import { KubeClient } from "../src/kube/kube.js";

const READ = "static-read-token-0123456789";
const LIMIT = 64 * 1024;
const FOLLOWERS = 100;

/** An enforcer the follow route never calls (no API server behind it). */
function idleEnforcer(): Enforcer {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "none", server: "https://127.0.0.1:1" }],
    users: [{ name: "none" }],
    contexts: [{ name: "none", cluster: "none", user: "none" }],
    currentContext: "none",
  });
  const kube = new KubeClient(kc);
  return new Enforcer({
    kube,
    store: new ConfigMapStore(kube, "hangar-system"),
    config: parseConfig({ mode: "audit" }),
    baseline: new MemoryBaselineView(),
  });
}

/** A follower that reads up to ": following" (it is subscribed), then stops reading. */
function stalledFollower(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let seen = "";
    const onData = (d: Buffer): void => {
      seen += d.toString("utf8");
      if (seen.includes(": following\n\n")) {
        s.off("data", onData);
        s.pause();
        resolve(s);
      }
    };
    s.on("data", onData);
    s.on("error", reject);
    s.write(`GET /v1/alerts?follow HTTP/1.1\r\nhost: test\r\nauthorization: Bearer ${READ}\r\n\r\n`);
  });
}

/** Reads the rest of a paused socket until the server ends it. */
function readToEnd(s: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    s.resume();
  });
}

describe("alert followers that stop reading", () => {
  let api: RunningApi;
  const alerts = new AlertStore(20_000);
  const counters = new Counters();

  before(async () => {
    api = await startApi({
      listen: "127.0.0.1:0",
      enforcer: idleEnforcer(),
      alerts,
      baseline: new MemoryBaselineView(),
      auth: new Authenticator({ staticTokens: [{ user: "grafana", role: "read", token: READ }] }),
      follow: { maxBufferedBytes: LIMIT, dropGraceMs: 120_000, counters },
    });
  });
  after(async () => {
    await api?.close();
  });

  /** Adds alerts of about 16 KiB one at a time, as the hub does, sampling the buffered-bytes gauge. */
  async function flood(n: number, prefix: string): Promise<number> {
    const pad = "x".repeat(16 * 1024);
    let peak = 0;
    for (let i = 0; i < n; i++) {
      alerts.add(
        create(hangar.AlertSchema, { id: `${prefix}${i}`, ruleId: "r", provider: "weather", message: pad }),
      );
      await tick();
      if (i % 20 === 19) peak = Math.max(peak, counters.get("api_followers_buffered"));
    }
    return peak;
  }

  /** The final event of a stream read as raw HTTP (chunked): `event: dropped` and its data. */
  function finalEvent(text: string): { reason: string; limitBytes: number } {
    const at = text.lastIndexOf("event: dropped\ndata: ");
    assert.ok(at >= 0, `a final event: …${text.slice(-200)}`);
    const line = text.slice(at + "event: dropped\ndata: ".length).split("\n")[0] ?? "";
    assert.doesNotMatch(text.slice(at), /event: alert/, "nothing after it");
    return JSON.parse(line) as { reason: string; limitBytes: number };
  }

  it("100 stalled followers and 16 MiB of alerts each: bounded buffers, each dropped with a final event it reads when it resumes", async () => {
    const sockets = await Promise.all(Array.from({ length: FOLLOWERS }, () => stalledFollower(api.url)));
    try {
      const peak = await flood(1_000, "a");
      // Unbounded, each follower would hold what the kernel did not take of 16 MiB; bounded,
      // at most LIMIT (and the final event) each.
      const bound = FOLLOWERS * (LIMIT + 1024);
      assert.ok(peak <= bound, `peak buffered ${peak} bytes <= ${bound}`);
      assert.ok(peak > 0, "the gauge saw what stalled followers held");
      assert.equal(counters.get("api_followers_dropped", { reason: "slow" }), FOLLOWERS);
      // They resume: each reads what was buffered, then the final event, then the end.
      const texts = await Promise.all(sockets.map(readToEnd));
      for (const t of texts) {
        const why = finalEvent(t);
        assert.equal(why.reason, "slow_consumer");
        assert.equal(why.limitBytes, LIMIT);
      }
      await waitFor("their buffers freed", () => counters.get("api_followers_buffered") === 0);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it("a dropped follower that never reads again is disconnected after the grace period", async () => {
    const qc = new Counters();
    const quick = await startApi({
      listen: "127.0.0.1:0",
      enforcer: idleEnforcer(),
      alerts,
      baseline: new MemoryBaselineView(),
      auth: new Authenticator({ staticTokens: [{ user: "grafana", role: "read", token: READ }] }),
      follow: { maxBufferedBytes: LIMIT, dropGraceMs: 300, counters: qc },
    });
    const s = await stalledFollower(quick.url);
    let closed = false;
    s.on("close", () => (closed = true));
    try {
      await flood(600, "g");
      assert.equal(qc.get("api_followers_dropped", { reason: "slow" }), 1);
      // Without the client reading a byte, the server lets go of what it held for it...
      await waitFor("its buffer freed", () => qc.get("api_followers_buffered") === 0);
      // ...and the connection is gone (the client sees the end once it looks).
      s.resume();
      await waitFor("disconnected", () => closed);
    } finally {
      s.destroy();
      await quick.close();
    }
  });

  it("a follower that keeps reading gets every alert and stays", async () => {
    const u = new URL(api.url);
    const s = connect(Number(u.port), u.hostname);
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString("utf8")));
    s.write(`GET /v1/alerts?follow&limit=1 HTTP/1.1\r\nhost: test\r\nauthorization: Bearer ${READ}\r\n\r\n`);
    try {
      await waitFor("following", () => text.includes(": following"));
      const before = counters.get("api_followers_dropped", { reason: "slow" });
      for (let i = 0; i < 200; i++) {
        alerts.add(
          create(hangar.AlertSchema, { id: `b${i}`, ruleId: "r", provider: "weather", message: "m" }),
        );
        if (i % 20 === 19) await tick();
      }
      await waitFor("all 200", () => text.includes("id: b199\n"));
      assert.equal(counters.get("api_followers_dropped", { reason: "slow" }), before);
      assert.doesNotMatch(text, /event: dropped/);
    } finally {
      s.destroy();
    }
  });

  it("hangar-ctl alerts --follow, dropped, says why on stderr and exits 1", async () => {
    const tiny = await startApi({
      listen: "127.0.0.1:0",
      enforcer: idleEnforcer(),
      alerts,
      baseline: new MemoryBaselineView(),
      auth: new Authenticator({ staticTokens: [{ user: "grafana", role: "read", token: READ }] }),
      // Smaller than one alert: the first live alert drops it, however fast it reads.
      follow: { maxBufferedBytes: 100, counters: new Counters() },
    });
    const io = {
      out: "",
      err: "",
      stdout: (t: string) => void (io.out += t),
      stderr: (t: string) => void (io.err += t),
    };
    const ac = new AbortController();
    try {
      const done = runAlerts(
        ["--server", tiny.url, "--token", READ, "--follow", "-o", "json", "--limit", "1"],
        io,
        ac.signal,
      );
      await waitFor("following", async () => {
        alerts.add(
          create(hangar.AlertSchema, {
            id: "c1",
            ruleId: "r",
            provider: "weather",
            message: "x".repeat(500),
          }),
        );
        return (await Promise.race([done.then(() => true), tick().then(() => false)])) || io.err !== "";
      });
      assert.equal(await done, 1);
      assert.match(
        io.err,
        /^hangar-ctl alerts: the controller stopped following for this client: this follower did not read/,
      );
    } finally {
      ac.abort();
      await tiny.close();
    }
  });
});
