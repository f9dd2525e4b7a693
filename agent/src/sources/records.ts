import type { observer, tetragon, hangar } from "@hangar/proto";
import type { ProbeEvent } from "./probe/records.js";

/** What sources hand to the normalize stage: upstream messages, untouched. */
export type SensorRecord =
  | { readonly sensor: "tetragon"; readonly msg: tetragon.GetEventsResponse }
  | { readonly sensor: "hubble"; readonly msg: observer.GetFlowsResponse }
  | { readonly sensor: "proxy"; readonly trace: hangar.CallTrace }
  | { readonly sensor: "probe"; readonly msg: ProbeEvent };

/** An event source: one function of (options, signal) returning an async iterable. */
export type Source<O> = (options: O, signal: AbortSignal) => AsyncIterable<SensorRecord>;
