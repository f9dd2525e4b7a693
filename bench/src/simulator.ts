/**
 * The simulator as the benchmarks run it: the agent's own gRPC simulator
 * (`startSimulator`) serving a fixture pool in a loop, as fast as the client
 * reads, applying the client's allow-list like a real Tetragon. Shared by the
 * child process (`sim-child.ts`) and the in-process fallback.
 */
import { startSimulator, type RunningSimulator } from "@hangar/agent";
import { fixture, type FixtureKind } from "./fixtures.js";
import { hubbleMessages } from "./hubble-fixtures.js";

export interface FixtureSimulatorOptions {
  /** unix:///path.sock */
  address: string;
  fixture: FixtureKind;
  pool: number;
}

export function startFixtureSimulator(opts: FixtureSimulatorOptions): Promise<RunningSimulator> {
  return startSimulator({
    tetragon: {
      address: opts.address,
      messages: fixture(opts.fixture, opts.pool),
      // Start over at the end: the stream never runs dry, whatever N is.
      loop: true,
      holdOpen: true,
      applyFilters: true,
    },
  });
}

/**
 * The simulator serving `pool` distinct Hubble flows (bench/src/hubble-fixtures.ts) in a loop.
 * The Hubble source skips a flow whose uuid it saw among the last 4 096, so pools for a
 * looping stream need more than that.
 */
export function startHubbleSimulator(opts: { address: string; pool: number }): Promise<RunningSimulator> {
  return startSimulator({
    hubble: {
      address: opts.address,
      messages: hubbleMessages(opts.pool),
      loop: true,
      holdOpen: true,
      applyFilters: true,
    },
  });
}
