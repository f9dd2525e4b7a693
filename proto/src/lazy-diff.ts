/**
 * Compares a lazy reader's object (gen-lazy/) with the message protobuf-es decoded from the
 * same bytes, on every field the lazy object has (the generated ones, with `$typeName` and
 * `$unknown`). Used by the differential tests of the readers.
 */

/** The first difference as "path: lazy … reflective …", or undefined when they agree. */
export function lazyDifference(
  lazy: unknown,
  reflective: unknown,
  path = "$",
  options: { ignoreUnknown?: boolean } = {},
): string | undefined {
  if (lazy === reflective) return undefined;
  if (lazy instanceof Uint8Array || reflective instanceof Uint8Array) {
    if (!(lazy instanceof Uint8Array) || !(reflective instanceof Uint8Array))
      return `${path}: lazy ${describe(lazy)}, reflective ${describe(reflective)}`;
    if (lazy.length !== reflective.length || lazy.some((b, i) => b !== reflective[i]))
      return `${path}: bytes differ (${lazy.length} vs ${reflective.length} bytes)`;
    return undefined;
  }
  if (Array.isArray(lazy) || Array.isArray(reflective)) {
    if (!Array.isArray(lazy) || !Array.isArray(reflective))
      return `${path}: lazy ${describe(lazy)}, reflective ${describe(reflective)}`;
    if (lazy.length !== reflective.length) return `${path}: length ${lazy.length} vs ${reflective.length}`;
    for (let i = 0; i < lazy.length; i++) {
      const d = lazyDifference(lazy[i], reflective[i], `${path}[${i}]`, options);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (typeof lazy === "object" && lazy !== null && typeof reflective === "object" && reflective !== null) {
    const l = lazy as Record<string, unknown>;
    const r = reflective as Record<string, unknown>;
    // $unknown only exists when there were unknown fields: both or neither.
    if (
      options.ignoreUnknown !== true &&
      ("$typeName" in l || "$typeName" in r) &&
      (l["$unknown"] === undefined) !== (r["$unknown"] === undefined)
    )
      return `${path}.$unknown: lazy ${describe(l["$unknown"])}, reflective ${describe(r["$unknown"])}`;
    // Maps and oneofs (no $typeName): the same keys on both sides.
    if (!("$typeName" in l) && Object.keys(l).length !== Object.keys(r).length)
      return `${path}: keys ${Object.keys(l).join(",")} vs ${Object.keys(r).join(",")}`;
    for (const key of Object.keys(l)) {
      if (key === "$unknown" && options.ignoreUnknown === true) continue;
      const d = lazyDifference(l[key], r[key], `${path}.${key}`, options);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (
    typeof lazy === "number" &&
    typeof reflective === "number" &&
    Number.isNaN(lazy) &&
    Number.isNaN(reflective)
  )
    return undefined;
  return `${path}: lazy ${describe(lazy)}, reflective ${describe(reflective)}`;
}

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === "object" && v !== null) return "object";
  return String(v);
}
