/** The normalize stage: any sensor record → at most one RuntimeEvent, counted by sensor and kind. */
import { hangar } from "@hangar/proto";
import type { Counters } from "@hangar/core";
import type { SensorRecord } from "../sources/records.js";
import { HubbleNormalizer } from "./hubble.js";
import { ProbeNormalizer } from "./probe.js";
import { TetragonNormalizer, type NormalizeResult } from "./tetragon.js";
import { traceEvent } from "./traces.js";

export class NormalizeStage {
  readonly #tetragon: TetragonNormalizer;
  readonly #hubble: HubbleNormalizer;
  readonly #probe: ProbeNormalizer;
  readonly #counters: Counters;

  /** `probe`: the eBPF probe's normalizer (node name, cgroup resolver); a bare one by default. */
  constructor(counters: Counters, options: { probe?: ProbeNormalizer } = {}) {
    this.#counters = counters;
    this.#tetragon = new TetragonNormalizer(counters);
    this.#hubble = new HubbleNormalizer(counters);
    this.#probe = options.probe ?? new ProbeNormalizer({ counters });
  }

  process(rec: SensorRecord): NormalizeResult {
    let r: NormalizeResult;
    switch (rec.sensor) {
      case "tetragon":
        r = this.#tetragon.normalize(rec.msg);
        break;
      case "hubble":
        r = this.#hubble.normalize(rec.msg);
        break;
      case "proxy":
        r = { event: traceEvent(rec.trace) };
        break;
      case "probe":
        r = this.#probe.normalize(rec.msg);
        break;
    }
    if (r.event !== undefined)
      this.#counters.inc("events", {
        sensor: rec.sensor,
        kind: hangar.EventKind[r.event.kind]?.toLowerCase() ?? "unspecified",
      });
    return r;
  }
}
