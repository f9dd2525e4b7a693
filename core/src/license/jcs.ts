/**
 * The JSON Canonicalization Scheme (RFC 8785): the one byte string a license's signature
 * covers, whatever order or spacing the file was written with. Objects' members are sorted
 * by the UTF-16 code units of their names, numbers are written as ECMAScript writes them
 * (`Number.prototype.toString`, which `JSON.stringify` uses), strings with JSON's minimal
 * escapes, and nothing else is allowed: no `undefined`, functions, non-finite numbers or
 * lone surrogates (RFC 8785 section 3.2.2.2 requires valid Unicode).
 */

/** The canonical JSON text of `value`; throws a TypeError naming the path of what JSON cannot hold. */
export function canonicalize(value: unknown): string {
  return write(value, "$");
}

function write(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${String(value)} is not a JSON number`);
      // ECMAScript's Number serialization is the one RFC 8785 prescribes (-0 is written 0).
      return JSON.stringify(value);
    case "string":
      return quote(value, path);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v, i) => write(v, `${path}[${i}]`)).join(",")}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null)
        throw new TypeError(`${path}: only plain objects have a canonical JSON form`);
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      // Sorted by UTF-16 code units: JavaScript's default string comparison is exactly that.
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${quote(k, path)}:${write(v, `${path}.${k}`)}`).join(",")}}`;
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} has no JSON form`);
  }
}

function quote(s: string, path: string): string {
  if (!s.isWellFormed()) throw new TypeError(`${path}: a string with a lone surrogate is not valid Unicode`);
  // JSON.stringify escapes exactly what RFC 8785 3.2.2.2 asks: ", \, \b \f \n \r \t, other
  // controls as \u00xx (lower-case hex), and nothing else.
  return JSON.stringify(s);
}
