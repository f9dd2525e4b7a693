/**
 * Proto-JSON of a message, the same text as `toJsonString(schema, message)` of
 * @bufbuild/protobuf with default options, from a writer compiled once per message type:
 * field lists, JSON names (quoted), enum names and presence rules are read from the descriptors
 * once, not looked up through the reflection API per field per message, and the text is written
 * directly, without an intermediate JSON value to stringify (the agent writes every
 * alert as a JSON line; the reflective path was ~3 % of its CPU at 80 alerts/s). A message
 * with anything the compiled writer does not model (fields of Any, FieldMask, Struct or
 * wrapper types, non-string map keys, proto2 required fields) is written by the library, and
 * so is every message holding a value the library refuses: the output, or the error, is the
 * library's.
 */
import { ScalarType, toJson, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { base64Encode } from "@bufbuild/protobuf/wire";

/** JSON text, or undefined for a field left out. */
type Json = string | undefined;
type ToJson = (m: Record<string, unknown>) => string;

/** A value the compiled writer does not render the library's way: the library decides. */
class Mismatch extends Error {}
const MISMATCH = new Mismatch("proto-json: not the compiled writer's case");

const { IMPLICIT, LEGACY_REQUIRED } = FeatureSet_FieldPresence;

const compiled = new WeakMap<DescMessage, ToJson>();

/** `toJsonString(schema, message)` (default options), from a writer compiled for `schema`. */
export function protoJsonString(schema: DescMessage, message: object): string {
  try {
    return writer(schema)(message as Record<string, unknown>);
  } catch (err) {
    if (err !== MISMATCH) throw err;
    return JSON.stringify(toJson(schema, message as never));
  }
}

function writer(desc: DescMessage): ToJson {
  let w = compiled.get(desc);
  if (w === undefined) {
    // Registered before the fields are compiled: recursive types reach it lazily.
    let fn: ToJson | undefined;
    w = (m) => (fn ??= compileMessage(desc))(m);
    compiled.set(desc, w);
  }
  return w;
}

function library(desc: DescMessage): ToJson {
  return (m) => JSON.stringify(toJson(desc, m as never));
}

function compileMessage(desc: DescMessage): ToJson {
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      return timestampJson;
    case "google.protobuf.Duration":
      return durationJson;
    case "google.protobuf.Struct":
      return (m) => structJson(m);
    case "google.protobuf.Value":
      return (m) => valueJson(m);
    case "google.protobuf.ListValue":
      return (m) => listValueJson(m);
  }
  if (desc.typeName.startsWith("google.protobuf.")) return library(desc);
  const sorted = [...desc.fields].sort((a, b) => a.number - b.number);
  if (sorted.some(libraryField)) return library(desc);
  const fields = sorted.map(compileField);
  return (m) => {
    // The text JSON.stringify gives the library's value: fields in number order, unset ones left out.
    let out = "";
    for (const f of fields) {
      const v = f.get(m);
      if (v !== undefined) out += (out === "" ? "{" : ",") + f.key + v;
    }
    return out === "" ? "{}" : `${out}}`;
  };
}

/** Well-known types the compiled writer reads in any field (their local form is the message). */
const COMPILED_WKT = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.Value",
  "google.protobuf.ListValue",
]);

/**
 * A field whose message the library writes: proto2 required fields, maps with non-string keys,
 * and fields of other well-known types (wrappers and Struct have a local form of their own).
 */
function libraryField(f: DescField): boolean {
  if (f.presence === LEGACY_REQUIRED) return true;
  if (f.fieldKind === "map" && f.mapKey !== ScalarType.STRING) return true;
  const m =
    f.fieldKind === "message" ||
    (f.fieldKind === "list" && f.listKind === "message") ||
    (f.fieldKind === "map" && f.mapKind === "message")
      ? f.message
      : undefined;
  return m !== undefined && m.typeName.startsWith("google.protobuf.") && !COMPILED_WKT.has(m.typeName);
}

interface CompiledField {
  /** `"jsonName":` */
  readonly key: string;
  /** The field's JSON value, or undefined when it is not set (left out). */
  get(m: Record<string, unknown>): Json;
}

function compileField(f: DescField): CompiledField {
  const local = f.localName;
  const value = valueWriter(f);
  let get: (m: Record<string, unknown>) => Json;
  if (f.oneof !== undefined) {
    const group = f.oneof.localName;
    get = (m) => {
      const o = m[group] as { case: string | undefined; value: unknown };
      return o.case === local ? value(o.value) : undefined;
    };
  } else if (f.presence !== IMPLICIT) {
    get = (m) => {
      const v = m[local];
      return v !== undefined && Object.hasOwn(m, local) ? value(v) : undefined;
    };
  } else {
    switch (f.fieldKind) {
      case "list":
        get = (m) => {
          const v = m[local] as unknown[];
          return v.length > 0 ? value(v) : undefined;
        };
        break;
      case "map":
        get = (m) => {
          const v = m[local] as Record<string, unknown>;
          for (const k in v) if (Object.hasOwn(v, k)) return value(v);
          return undefined;
        };
        break;
      case "scalar": {
        const zero = zeroTest(f.scalar);
        get = (m) => {
          const v = m[local];
          return zero(v) ? undefined : value(v);
        };
        break;
      }
      case "enum": {
        const first = f.enum.values[0]?.number;
        get = (m) => {
          const v = m[local];
          return v === first ? undefined : value(v);
        };
        break;
      }
      default:
        // A message field with implicit presence: the library refuses it.
        get = () => {
          throw MISMATCH;
        };
    }
  }
  return { key: `${JSON.stringify(f.jsonName)}:`, get };
}

/** The implicit-presence zero test of @bufbuild/protobuf (isScalarZeroValue). */
function zeroTest(t: ScalarType): (v: unknown) => boolean {
  switch (t) {
    case ScalarType.BOOL:
      return (v) => v === false;
    case ScalarType.STRING:
      return (v) => v === "";
    case ScalarType.BYTES:
      return (v) => v instanceof Uint8Array && v.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return (v) => Object.is(v, 0);
    default:
      // Loose comparison matches 0n, 0 and "0", as the library's does.
      // eslint-disable-next-line eqeqeq
      return (v) => v == 0;
  }
}

/** The writer of a list's items or a map's values. */
function elementWriter(
  kind: "scalar" | "enum" | "message",
  f: { scalar?: ScalarType | undefined; enum?: DescEnum | undefined; message?: DescMessage | undefined },
): (v: unknown) => Json {
  if (kind === "scalar") return scalarWriter(f.scalar as ScalarType);
  if (kind === "enum") return enumWriter(f.enum as DescEnum);
  return writer(f.message as DescMessage) as (v: unknown) => Json;
}

function valueWriter(f: DescField): (v: unknown) => Json {
  switch (f.fieldKind) {
    case "scalar":
      return scalarWriter(f.scalar);
    case "enum":
      return enumWriter(f.enum);
    case "message":
      return writer(f.message) as (v: unknown) => Json;
    case "list": {
      const item = elementWriter(f.listKind, f);
      return (v) => {
        const list = v as unknown[];
        if (list.length === 0) return undefined;
        let out = "[";
        for (let i = 0; i < list.length; i++) out += (i === 0 ? "" : ",") + (item(list[i]) as string);
        return `${out}]`;
      };
    }
    case "map": {
      const item = elementWriter(f.mapKind, f);
      return (v) => {
        const map = v as Record<string, unknown>;
        const keys = Object.keys(map);
        if (keys.length === 0) return undefined;
        return objectText(keys, (k) => item(map[k]) as string);
      };
    }
  }
}

function scalarWriter(t: ScalarType): (v: unknown) => Json {
  switch (t) {
    case ScalarType.INT32:
    case ScalarType.SFIXED32:
    case ScalarType.SINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT32:
      return (v) => {
        if (typeof v !== "number") throw MISMATCH;
        return JSON.stringify(v);
      };
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return (v) => {
        if (typeof v !== "number") throw MISMATCH;
        if (Number.isNaN(v)) return '"NaN"';
        if (v === Number.POSITIVE_INFINITY) return '"Infinity"';
        if (v === Number.NEGATIVE_INFINITY) return '"-Infinity"';
        return JSON.stringify(v);
      };
    case ScalarType.STRING:
      return (v) => {
        if (typeof v !== "string") throw MISMATCH;
        return JSON.stringify(v);
      };
    case ScalarType.BOOL:
      return (v) => {
        if (typeof v !== "boolean") throw MISMATCH;
        return v ? "true" : "false";
      };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
    case ScalarType.INT64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      return (v) => {
        if (typeof v === "bigint" || typeof v === "string" || (typeof v === "number" && Number.isInteger(v)))
          return JSON.stringify(v.toString());
        throw MISMATCH;
      };
    case ScalarType.BYTES:
      return (v) => {
        if (!(v instanceof Uint8Array)) throw MISMATCH;
        return `"${base64Encode(v)}"`;
      };
  }
}

function enumWriter(e: DescEnum): (v: unknown) => Json {
  if (e.typeName === "google.protobuf.NullValue")
    return (v) => {
      if (typeof v !== "number") throw MISMATCH;
      return "null";
    };
  const names = new Map<number, string>(e.values.map((x) => [x.number, JSON.stringify(x.name)]));
  return (v) => {
    if (typeof v !== "number") throw MISMATCH;
    return names.get(v) ?? JSON.stringify(v);
  };
}

const MIN_TIMESTAMP_MS = Date.parse("0001-01-01T00:00:00Z");
const MAX_TIMESTAMP_MS = Date.parse("9999-12-31T23:59:59Z");

/** RFC 3339 with 0, 3, 6 or 9 fraction digits, as the library writes it. */
function timestampJson(m: Record<string, unknown>): string {
  const nanos = m.nanos as number;
  const ms = Number(m.seconds) * 1000;
  if (!(ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS) || !(nanos >= 0 && nanos <= 999_999_999))
    throw MISMATCH;
  const iso = new Date(ms).toISOString();
  if (nanos === 0) return `"${iso.replace(".000Z", "Z")}"`;
  const digits = String(nanos + 1_000_000_000).slice(1);
  const z = digits.endsWith("000000")
    ? `.${digits.slice(0, 3)}Z`
    : digits.endsWith("000")
      ? `.${digits.slice(0, 6)}Z`
      : `.${digits}Z`;
  return `"${iso.replace(".000Z", z)}"`;
}

function durationJson(m: Record<string, unknown>): string {
  const seconds = Number(m.seconds);
  const nanos = m.nanos as number;
  if (
    seconds > 315576000000 ||
    seconds < -315576000000 ||
    (seconds > 0 && nanos < 0) ||
    (seconds < 0 && nanos > 0)
  )
    throw MISMATCH;
  let text = (m.seconds as bigint).toString();
  if (nanos !== 0) {
    let n = String(Math.abs(nanos));
    n = "0".repeat(9 - n.length) + n;
    if (n.endsWith("000000")) n = n.slice(0, 3);
    else if (n.endsWith("000")) n = n.slice(0, 6);
    text += `.${n}`;
    if (nanos < 0 && seconds === 0) text = `-${text}`;
  }
  return `"${text}s"`;
}

function structJson(m: Record<string, unknown>): string {
  const fields = m.fields as Record<string, Record<string, unknown>>;
  return objectText(Object.keys(fields), (k) => valueJson(fields[k] as Record<string, unknown>));
}

/**
 * `{"k":v,…}` over own keys, in their order. The library builds a plain object with
 * `obj[k] = v`, where "__proto__" sets the prototype (or is ignored) instead of adding a key,
 * so JSON.stringify leaves it out: so does this.
 */
function objectText(keys: readonly string[], value: (k: string) => string): string {
  let out = "";
  for (const k of keys) {
    if (k === "__proto__") continue;
    out += `${out === "" ? "{" : ","}${JSON.stringify(k)}:${value(k)}`;
  }
  return out === "" ? "{}" : `${out}}`;
}

function valueJson(m: Record<string, unknown>): string {
  const kind = m.kind as { case: string | undefined; value: unknown };
  switch (kind.case) {
    case "nullValue":
      return "null";
    case "numberValue":
      if (!Number.isFinite(kind.value)) throw MISMATCH;
      return JSON.stringify(kind.value);
    case "boolValue":
    case "stringValue":
      return JSON.stringify(kind.value);
    case "structValue":
      return structJson(kind.value as Record<string, unknown>);
    case "listValue":
      return listValueJson(kind.value as Record<string, unknown>);
    default:
      throw MISMATCH;
  }
}

function listValueJson(m: Record<string, unknown>): string {
  return `[${(m.values as Record<string, unknown>[]).map(valueJson).join(",")}]`;
}
