/**
 * Call traces as a pipeline source. Live, traces come from the controller's MCP
 * proxy over the agent⇄controller stream; in the local stack they come from a
 * recording, released at their start times.
 */
import { type CallTrace, type TraceSource, timeMs, sleep } from "@hangar/core";
import type { SensorRecord } from "./records.js";

/** Adapts the TraceSource port to the pipeline's record stream. */
export async function* traceRecords(source: TraceSource, signal: AbortSignal): AsyncIterable<SensorRecord> {
  for await (const trace of source.traces(signal)) {
    if (signal.aborted) return;
    yield { sensor: "proxy", trace };
  }
}

/** Releases recorded traces at their start times (wall clock), like a live proxy would. */
export class PacedTraceSource implements TraceSource {
  readonly #traces: readonly CallTrace[];
  constructor(traces: readonly CallTrace[]) {
    this.#traces = [...traces].sort((a, b) => timeMs(a.startTime) - timeMs(b.startTime));
  }
  async *traces(signal: AbortSignal): AsyncIterable<CallTrace> {
    for (const t of this.#traces) {
      const wait = timeMs(t.startTime) - Date.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) return;
      yield t;
    }
  }
}
