/**
 * Mutations the fuzz targets apply to real inputs (corpus lines, encoded messages, rule
 * files): fast-check draws the choices, these functions apply them deterministically, so a
 * failing input shrinks and replays from its seed.
 */
import fc from "fast-check";

/** A JSON value that stresses readers: huge and odd numbers, long and control-laden strings, deep nesting. */
export const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    "",
    null,
    -1,
    0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    "1e309",
    2 ** 53 + 1,
    "18446744073709551616",
    "-9223372036854775809",
    "NaN",
    "Infinity",
    "1.5",
    "0x10",
    "\u0000\u001b[31m\u202e",
    "9".repeat(400),
    "A".repeat(70_000),
    "2026-13-45T99:99:99Z",
    "1970-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "CALL_STATUS_NOPE",
    { "@type": "type.googleapis.com/nope" },
    [],
    {},
    true,
  ),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.integer(),
  fc.double(),
);

/** One edit of a JSON tree, by paths drawn as indices into the keys at each level. */
export type JsonEdit =
  | { t: "set"; path: number[]; value: unknown }
  | { t: "delete"; path: number[] }
  | { t: "add"; path: number[]; key: string; value: unknown }
  | { t: "wrap"; path: number[] };

const path = fc.array(fc.nat(), { minLength: 0, maxLength: 6 });
export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  fc.record({ t: fc.constant("set" as const), path, value: nastyJson }),
  fc.record({ t: fc.constant("delete" as const), path }),
  fc.record({
    t: fc.constant("add" as const),
    path,
    key: fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom("__proto__", "constructor", "process", "flow"),
    ),
    value: nastyJson,
  }),
  fc.record({ t: fc.constant("wrap" as const), path }),
);

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}

/** Applies `edits` to a deep copy of `root`. */
export function editJson(root: unknown, edits: readonly JsonEdit[]): unknown {
  const top = { v: structuredClone(root) } as Record<string, unknown>;
  for (const e of edits) {
    // Walk down: at each level the index picks one key (modulo the count), stopping at a leaf.
    let parent: Record<string, unknown> | unknown[] = top;
    let key: string | number = "v";
    for (const i of e.path) {
      const cur: unknown = (parent as Record<string, unknown>)[key as string];
      if (!isContainer(cur)) break;
      const keys = Object.keys(cur);
      if (keys.length === 0) break;
      parent = cur;
      key = keys[i % keys.length] as string;
      if (Array.isArray(cur)) key = Number(key);
    }
    const slots = parent as Record<string | number, unknown>;
    switch (e.t) {
      // Values are cloned in: fast-check hands out the same constant objects to many inputs.
      case "set":
        slots[key] = structuredClone(e.value);
        break;
      case "delete":
        if (Array.isArray(parent) && typeof key === "number") parent.splice(key, 1);
        else delete slots[key];
        break;
      case "add": {
        const target = slots[key];
        if (isContainer(target) && !Array.isArray(target))
          Object.defineProperty(target, e.key, {
            value: structuredClone(e.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else if (Array.isArray(target)) target.push(structuredClone(e.value));
        break;
      }
      case "wrap":
        slots[key] = [slots[key]];
        break;
    }
  }
  return top["v"];
}

/** One edit of a text or a byte string: positions are fractions of the length, so they fit any input. */
export type SpliceEdit =
  | { t: "insert"; at: number; text: string }
  | { t: "delete"; at: number; len: number }
  | { t: "replace"; at: number; text: string }
  | { t: "dup"; at: number; len: number }
  | { t: "truncate"; at: number };

const at = fc.double({ min: 0, max: 1, noNaN: true });
export const spliceEdit = (insert: fc.Arbitrary<string>): fc.Arbitrary<SpliceEdit> =>
  fc.oneof(
    fc.record({ t: fc.constant("insert" as const), at, text: insert }),
    fc.record({ t: fc.constant("delete" as const), at, len: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ t: fc.constant("replace" as const), at, text: insert }),
    fc.record({ t: fc.constant("dup" as const), at, len: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ t: fc.constant("truncate" as const), at }),
  );

/** Applies splice edits to a string. */
export function spliceText(s: string, edits: readonly SpliceEdit[]): string {
  let out = s;
  for (const e of edits) {
    const i = Math.floor(e.at * out.length);
    switch (e.t) {
      case "insert":
        out = out.slice(0, i) + e.text + out.slice(i);
        break;
      case "delete":
        out = out.slice(0, i) + out.slice(i + e.len);
        break;
      case "replace":
        out = out.slice(0, i) + e.text + out.slice(i + e.text.length);
        break;
      case "dup":
        out = out.slice(0, i + e.len) + out.slice(i, i + e.len) + out.slice(i + e.len);
        break;
      case "truncate":
        out = out.slice(0, i);
        break;
    }
  }
  return out;
}

/** Applies splice edits to bytes (inserted text is taken as latin1 bytes). */
export function spliceBytes(b: Uint8Array, edits: readonly SpliceEdit[]): Uint8Array {
  return new Uint8Array(Buffer.from(spliceText(Buffer.from(b).toString("latin1"), edits), "latin1"));
}
