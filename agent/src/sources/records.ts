import type { hangar, hubbleLazy, observer, tetragon, tetragonLazy } from "@hangar/proto";
import type { ProbeEvent } from "./probe/records.js";

/**
 * What a source hands to the normalize stage: upstream messages, untouched. `T` and `H` are
 * the Tetragon and Hubble message types: the gRPC sources decode with the lazy readers
 * (`@hangar/proto`'s tetragonLazy/hubbleLazy, only the fields the normalizers read), the
 * replay parses JSON into full protobuf-es messages; both satisfy the narrow types.
 */
export type SensorRecordOf<T, H> =
  | { readonly sensor: "tetragon"; readonly msg: T }
  | { readonly sensor: "hubble"; readonly msg: H }
  | { readonly sensor: "proxy"; readonly trace: hangar.CallTrace }
  | { readonly sensor: "probe"; readonly msg: ProbeEvent };

/** A record as the pipeline reads it. */
export type SensorRecord = SensorRecordOf<tetragonLazy.GetEventsResponse, hubbleLazy.GetFlowsResponse>;

/** A record parsed from JSON (replay, simulator): full protobuf-es messages. */
export type ParsedRecord = SensorRecordOf<tetragon.GetEventsResponse, observer.GetFlowsResponse>;

/**
 * A Tetragon message the live source has not decoded: its bytes, as gRPC delivered them (a
 * buffer of its own per message). The pipeline decodes it after the hold (hold/hold.ts): a
 * record held 250 ms outlives a young-generation garbage collection and is copied and then
 * promoted to the old generation; bytes are one small object to copy, a decoded event hundreds.
 */
export interface TetragonBytesRecord {
  readonly sensor: "tetragon-bytes";
  readonly bytes: Uint8Array;
}

/** What a source yields: records, or Tetragon bytes that `Pipeline.run` decodes. */
export type SourceRecord = SensorRecord | TetragonBytesRecord;

/** An event source: one function of (options, signal) returning an async iterable. */
export type Source<O> = (options: O, signal: AbortSignal) => AsyncIterable<SourceRecord>;
