/**
 * Bounded name accounting for counters whose label values come from the input (unknown
 * field names, hook function names): the first 64 distinct values are counted by name,
 * the rest as "other", so a hostile stream cannot grow the counter set without end.
 */
import type { Message } from "@bufbuild/protobuf";
import type { Counters } from "@hangar/core";

export const MAX_NAMES = 64;

export class NamedCounter {
  readonly #names = new Set<string>();
  readonly #counters: Counters;
  readonly #family: "unknown_field_names" | "unsupported_hooks";
  readonly #sensor: string;
  readonly #label: "field" | "hook";

  constructor(counters: Counters, family: "unknown_field_names" | "unsupported_hooks", sensor: string) {
    this.#counters = counters;
    this.#family = family;
    this.#sensor = sensor;
    this.#label = family === "unsupported_hooks" ? "hook" : "field";
  }

  inc(name: string, n = 1): void {
    let key = name;
    if (!this.#names.has(name)) {
      if (this.#names.size >= MAX_NAMES) key = "other";
      else this.#names.add(name);
    }
    this.#counters.inc(this.#family, { sensor: this.#sensor, [this.#label]: key }, n);
  }
}

/** A decoded message's unknown fields ($unknown, binary decoding), as "type.#number". */
export function unknownFieldNames(m: Message | undefined, out: string[]): void {
  if (m?.$unknown === undefined) return;
  for (const u of m.$unknown) out.push(`${m.$typeName}.#${u.no}`);
}
