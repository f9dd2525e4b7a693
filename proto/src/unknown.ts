import type { Message } from "@bufbuild/protobuf";

/**
 * Counts unknown-field entries (`$unknown`) on a message and on every message
 * nested in it: singular and repeated message fields, map values and oneof
 * values. Each entry is one field occurrence the schema did not know, e.g. a
 * field or oneof variant added by a newer Tetragon or Hubble.
 *
 * Works on any protobuf-es v2 message without its schema by walking the
 * message's own properties; meant for tests and diagnostics, not hot paths.
 */
export function countUnknownFields(message: Message): number {
  return countIn(message);
}

function countIn(value: unknown): number {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) {
    return 0;
  }
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countIn(item);
    return count;
  }
  const record = value as Record<string, unknown>;
  const unknown = record["$unknown"];
  if (Array.isArray(unknown)) count += unknown.length;
  for (const [key, field] of Object.entries(record)) {
    // Plain objects are maps or oneof `{ case, value }` holders; recurse into
    // those too. `$typeName`/`$unknown` themselves hold no messages.
    if (key === "$unknown" || key === "$typeName") continue;
    count += countIn(field);
  }
  return count;
}
