import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { Counters } from "@hangar/core";
import { LEARNING_WINDOW_ANNOTATION, LearningWindows, parseLearningWindow } from "./learning-window.js";
import type { PodInfo } from "./workloads.js";

function pod(name: string, provider: string | undefined, window: string | undefined): PodInfo {
  return {
    namespace: "mcp",
    name,
    uid: `uid-${name}`,
    labels: provider === undefined ? {} : { "mcp-hangar.io/provider": provider },
    ...(window === undefined ? {} : { annotations: { [LEARNING_WINDOW_ANNOTATION]: window } }),
    ips: [],
    containers: [],
  };
}

function setup(): {
  lw: LearningWindows;
  calls: [string, number, string | undefined][];
  lines: string[];
  counters: Counters;
} {
  const calls: [string, number, string | undefined][] = [];
  const lines: string[] = [];
  const counters = new Counters();
  const lw = new LearningWindows({
    baseline: {
      configureProvider: (p, s) => void calls.push([p, s.learningWindowMs, s.source]),
    },
    logger: pino({ level: "debug" }, { write: (l: string) => void lines.push(l) }),
    counters,
  });
  return { lw, calls, lines, counters };
}

describe("parseLearningWindow", () => {
  it("reads d, h, m, s and their combinations", () => {
    assert.equal(parseLearningWindow("30m"), 30 * 60_000);
    assert.equal(parseLearningWindow("2h"), 2 * 3_600_000);
    assert.equal(parseLearningWindow("1h30m"), 90 * 60_000);
    assert.equal(parseLearningWindow(" 45s "), 45_000);
    assert.equal(parseLearningWindow("1d"), 86_400_000);
  });
  it("refuses what is not a positive duration", () => {
    for (const bad of ["", "0m", "30", "m", "1.5h", "-2h", "2 hours", "30m2h", "PT1H"])
      assert.equal(parseLearningWindow(bad), undefined, bad);
  });
});

describe("LearningWindows", () => {
  it("configures the provider of an annotated pod, once per value", () => {
    const { lw, calls } = setup();
    lw.pod(pod("weather-0", "weather", "30m"));
    lw.pod(pod("weather-0", "weather", "30m"));
    lw.pod(pod("weather-1", "weather", "30m"));
    assert.deepEqual(calls, [["weather", 30 * 60_000, "annotation"]]);
    // A changed annotation applies again.
    lw.pod(pod("weather-1", "weather", "2h"));
    assert.deepEqual(calls.at(-1), ["weather", 2 * 3_600_000, "annotation"]);
  });

  it("ignores pods without the provider label or the annotation", () => {
    const { lw, calls } = setup();
    lw.pod(pod("plain", undefined, "30m"));
    lw.pod(pod("weather-0", "weather", undefined));
    assert.deepEqual(calls, []);
  });

  it("warns about a bad value once, naming the pod and the value, and keeps the window", () => {
    const { lw, calls, lines, counters } = setup();
    lw.pod(pod("weather-0", "weather", "2 hours"));
    lw.pod(pod("weather-0", "weather", "2 hours"));
    assert.deepEqual(calls, []);
    const warnings = lines.filter((l) => l.includes('"level":40'));
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] as string,
      /pod mcp\/weather-0: annotation mcp-hangar.io\/learning-window=\\"2 hours\\" is not a duration/,
    );
    assert.match(warnings[0] as string, /provider weather keeps its learning window/);
    assert.equal(counters.get("config_warnings", { reason: "learning_window" }), 1);
    // Fixed later: applied.
    lw.pod(pod("weather-0", "weather", "90m"));
    assert.deepEqual(calls, [["weather", 90 * 60_000, "annotation"]]);
  });
});
