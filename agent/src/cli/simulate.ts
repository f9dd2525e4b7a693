import { startSimulator, type StreamBehaviour } from "../simulator/simulator.js";
import { loadHubbleRecording, loadTetragonRecording } from "../simulator/load.js";
import { buildScenario } from "../simulator/scenario.js";
import type { Malformed } from "../replay/recording.js";
import { AgentError } from "../errors.js";
import { intOption, parse } from "@hangar/core";
import { waitForSignal } from "./run.js";

const HELP = `Usage: hangar-agent simulate [options]

Serves recordings over real gRPC servers speaking tetragon.FineGuidanceSensors/GetEvents
and observer.Observer/GetFlows, on unix sockets or TCP. For tests, demos and benchmarks.

  --tetragon-address ADDR     where to serve Tetragon (unix:///path.sock or host:port)
  --tetragon-recording FILE   JSON lines as 'tetra getevents -o json' writes them
  --hubble-address ADDR       where to serve Hubble
  --hubble-recording FILE     JSON lines as 'hubble observe -o json' writes them
  --scenario                  serve the built-in demo scenario instead of recordings
  --rate N                    events per second per stream (default: as fast as the client reads)
  --realtime                  send events at their recorded time offsets
  --loop                      start over at the end of the recording
  --drop-after N              close each stream with UNAVAILABLE after N events
  --no-filters                ignore the client's allow-lists (a real sensor applies them)
`;

export async function simulateCommand(args: string[]): Promise<number> {
  const v = parse("simulate", args, {
    "tetragon-address": { type: "string" },
    "tetragon-recording": { type: "string" },
    "hubble-address": { type: "string" },
    "hubble-recording": { type: "string" },
    scenario: { type: "boolean" },
    rate: { type: "string" },
    realtime: { type: "boolean" },
    loop: { type: "boolean" },
    "drop-after": { type: "string" },
    "no-filters": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const tAddr = v["tetragon-address"];
  const hAddr = v["hubble-address"];
  if (tAddr === undefined && hAddr === undefined) {
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      "simulate: give --tetragon-address and/or --hubble-address",
    );
  }
  const behaviour: StreamBehaviour = { applyFilters: v["no-filters"] !== true, loop: v.loop === true };
  const rate = intOption("simulate", "rate", v.rate, 1);
  const dropAfter = intOption("simulate", "drop-after", v["drop-after"], 1);
  if (rate !== undefined) behaviour.rate = rate;
  if (dropAfter !== undefined) behaviour.dropAfter = dropAfter;
  if (v.realtime === true) behaviour.paceByTime = true;
  const malformed: Malformed[] = [];
  const scenario = v.scenario === true ? buildScenario({ startMs: Date.now() }) : undefined;
  const pick = <M>(
    addr: string | undefined,
    file: string | undefined,
    fromScenario: M[] | undefined,
    load: (f: string, m: Malformed[]) => M[],
    what: string,
  ) => {
    if (addr === undefined) return undefined;
    const messages = fromScenario ?? (file === undefined ? undefined : load(file, malformed));
    if (messages === undefined)
      throw new AgentError(
        "HANGAR_ERR_CONFIG_INVALID",
        `simulate: --${what}-address needs --${what}-recording or --scenario`,
      );
    return { ...behaviour, address: addr, messages };
  };
  const tetragon = pick(
    tAddr,
    v["tetragon-recording"],
    scenario?.tetragon,
    loadTetragonRecording,
    "tetragon",
  );
  const hubble = pick(hAddr, v["hubble-recording"], scenario?.hubble, loadHubbleRecording, "hubble");
  for (const m of malformed) process.stderr.write(`${m.file}:${m.line}: skipped: ${m.error}\n`);
  const sim = await startSimulator({
    ...(tetragon === undefined ? {} : { tetragon }),
    ...(hubble === undefined ? {} : { hubble }),
  });
  if (sim.tetragonAddress !== undefined)
    process.stderr.write(
      `serving Tetragon GetEvents on ${sim.tetragonAddress} (${tetragon?.messages.length ?? 0} events)\n`,
    );
  if (sim.hubbleAddress !== undefined)
    process.stderr.write(
      `serving Hubble GetFlows on ${sim.hubbleAddress} (${hubble?.messages.length ?? 0} responses)\n`,
    );
  await waitForSignal();
  await sim.stop();
  process.stderr.write(`${JSON.stringify(sim.stats)}\n`);
  return 0;
}
