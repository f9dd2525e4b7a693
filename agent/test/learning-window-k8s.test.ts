/**
 * Per-provider learning windows from the pod annotation `mcp-hangar.io/learning-window`,
 * end to end on a real kube-apiserver (etcd + kube-apiserver from @hangar/testkit): the
 * running agent's pod watch reads the annotation and the real baseline engine (DuckDB on
 * disk, loaded through the bootstrap) learns for that long; a bad value is reported naming
 * the pod and the value, and that provider keeps the default window.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import * as k8s from "@kubernetes/client-node";
import { hangar } from "@hangar/proto";
import {
  skipUnlessControlPlane,
  startControlPlane,
  type ControlPlane,
  memoryLogger,
  tempDir,
  waitFor,
} from "@hangar/testkit";
import { startAgent } from "../src/agent.js";
import { loadBaselineStore } from "../src/bootstrap/plugins.js";
import type { BaselineStore, CallTrace, TraceSource } from "@hangar/core";

const noControlPlane = skipUnlessControlPlane();
const noEngine = await (async () => {
  const { dir, cleanup } = tempDir("hangar-lw-probe-");
  try {
    await (await loadBaselineStore({ db: join(dir, "probe.duckdb"), learn: false })).close?.();
    return undefined;
  } catch (err) {
    return `the baseline engine is not in this build: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    cleanup();
  }
})();
const skip = noControlPlane !== false ? noControlPlane : (noEngine ?? false);

/** Call traces pushed by the test, as the controller's stream would deliver them. */
class PushTraces implements TraceSource {
  readonly #q: CallTrace[] = [];
  #wake: (() => void) | undefined;
  push(t: CallTrace): void {
    this.#q.push(t);
    this.#wake?.();
  }
  async *traces(signal: AbortSignal): AsyncIterable<CallTrace> {
    while (!signal.aborted) {
      const t = this.#q.shift();
      if (t !== undefined) {
        yield t;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }
}

const T0 = Date.parse("2026-03-02T10:00:00Z");
const MIN = 60_000;

function trace(provider: string, ms: number, id: string): CallTrace {
  const at = { seconds: BigInt(Math.floor(ms / 1000)), nanos: 0 };
  return create(hangar.CallTraceSchema, {
    traceId: id.padStart(32, "0"),
    spanId: id.padStart(16, "0"),
    provider,
    tool: "search",
    method: "tools/call",
    node: "node-a",
    startTime: at,
    endTime: at,
    status: hangar.CallStatus.OK,
  });
}

describe("learning window from the pod annotation, on a real kube-apiserver", { skip }, () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;

  before(async () => {
    cp = await startControlPlane();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "mcp" } } });
    const pod = (name: string, provider: string, window: string): Promise<unknown> =>
      core.createNamespacedPod({
        namespace: "mcp",
        body: {
          metadata: {
            name,
            labels: { "mcp-hangar.io/provider": provider },
            annotations: { "mcp-hangar.io/learning-window": window },
          },
          spec: { nodeName: "node-a", containers: [{ name: "server", image: "ghcr.io/example/mcp:1" }] },
        },
      });
    await pod("notes-0", "notes", "2m");
    await pod("files-0", "files", "soon");
  });
  after(async () => {
    await cp?.stop();
  });

  it("the agent learns a provider for its annotated window; a bad value keeps the default and says so", async () => {
    const { dir, cleanup } = tempDir("hangar-lw-");
    const { logger, lines } = memoryLogger();
    let baseline: BaselineStore | undefined;
    let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      baseline = await loadBaselineStore({ db: join(dir, "baseline.duckdb"), learn: false });
      const traces = new PushTraces();
      agent = await startAgent({
        node: "node-a",
        namespaces: [],
        kubeConfig: kc,
        traceSource: traces,
        traceHoldMs: 0,
        baseline,
        sinks: [],
        logger,
      });
      const b = baseline;
      await waitFor(
        "the annotation applied",
        () => lines.some((l) => l.includes("learning window 2m")),
        agent.counters,
      );
      await waitFor(
        "the bad value reported",
        () => lines.some((l) => l.includes('"level":40')),
        agent.counters,
      );
      const warning = lines.find((l) => l.includes('"level":40')) as string;
      assert.match(
        warning,
        /pod mcp\/files-0: annotation mcp-hangar\.io\/learning-window=\\"soon\\" is not a duration/,
      );
      assert.equal(agent.counters.get("config_warnings", { reason: "learning_window" }), 1);

      traces.push(trace("notes", T0, "1"));
      traces.push(trace("files", T0, "2"));
      await waitFor(
        "both baselines started",
        () => b.lookup("files", "tool", "search") !== "none",
        agent.counters,
      );
      assert.equal(b.lookup("notes", "tool", "search"), "learning");
      // Two minutes later (event time) the annotated provider enforces; the other still learns (1 h default).
      traces.push(trace("notes", T0 + 2 * MIN + 1000, "3"));
      traces.push(trace("files", T0 + 2 * MIN + 1000, "4"));
      await waitFor("notes enforcing", () => b.lookup("notes", "tool", "search") === "known", agent.counters);
      assert.equal(b.lookup("notes", "tool", "delete_everything"), "new");
      assert.equal(b.lookup("files", "tool", "search"), "learning");
      const windows = Object.fromEntries(
        (b.sync?.summaries() ?? []).map((s) => [s.provider, Number(s.learningWindow?.seconds ?? 0n)]),
      );
      assert.deepEqual(windows, { notes: 120, files: 3600 });
    } finally {
      await agent?.stop();
      if (agent === undefined) await baseline?.close?.();
      cleanup();
    }
  });
});
