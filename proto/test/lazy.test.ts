// Differential tests of the generated lazy readers (src/gen-lazy) against protobuf-es's
// reflective fromBinary: every fixture in the repo that holds Tetragon or Hubble output,
// random messages over the whole schema, and random corruptions of real bytes. The lazy
// reader must agree on every field it generates, or throw; never differ silently.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import fc from "fast-check";
import {
  create,
  fromBinary,
  fromJson,
  toBinary,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { clone, createFileRegistry, type DescFile } from "@bufbuild/protobuf";
import { lazyDifference } from "../src/lazy-diff.js";
import { GetEventsResponseSchema } from "../src/gen/tetragon/events_pb.js";
import { GetFlowsResponseSchema } from "../src/gen/observer/observer_pb.js";
import { decodeGetEventsResponse } from "../src/gen-lazy/tetragon.js";
import { decodeGetFlowsResponse } from "../src/gen-lazy/observer.js";

const repo = new URL("../../../", import.meta.url);

interface Subject {
  name: string;
  schema: DescMessage;
  lazy: (bytes: Uint8Array) => unknown;
}
const TETRAGON: Subject = {
  name: "tetragon",
  schema: GetEventsResponseSchema,
  lazy: decodeGetEventsResponse,
};
const HUBBLE: Subject = { name: "hubble", schema: GetFlowsResponseSchema, lazy: decodeGetFlowsResponse };

/**
 * The schema cut down to the fields lazy.config.json selects. protobuf-es decoding with it
 * skips the other fields as the lazy reader does (by wire type and length), so corrupt bytes
 * inside a skipped field mean the same to both: the oracle for corrupted input. (With the
 * full schema, protobuf-es parses skipped submessages and, leniently, lets one overrun its
 * length and go on reading its parent from a shifted position.)
 */
function prunedSchema(root: DescMessage): DescMessage {
  const config = JSON.parse(readFileSync(new URL("proto/lazy.config.json", repo), "utf8")) as {
    messages: Record<string, string | string[]>;
  };
  const files: DescFile[] = [];
  const visit = (f: DescFile): void => {
    if (files.includes(f)) return;
    f.dependencies.forEach(visit);
    files.push(f);
  };
  visit(root.file);
  const set = create(FileDescriptorSetSchema, {
    file: files.map((f) => clone(FileDescriptorProtoSchema, f.proto)),
  });
  for (const file of set.file) {
    const walk = (prefix: string, msgs: typeof file.messageType): void => {
      for (const m of msgs) {
        const name = `${prefix}.${m.name}`;
        const sel = config.messages[name];
        if (Array.isArray(sel)) {
          const keep = new Set(sel.map((x) => x.split("=")[0]));
          m.field = m.field.filter((f) => keep.has(f.name));
        }
        walk(name, m.nestedType);
      }
    };
    walk(file.package, file.messageType);
  }
  const pruned = createFileRegistry(set).getMessage(root.typeName);
  assert.ok(pruned !== undefined);
  return pruned;
}
const PRUNED = new Map<Subject, DescMessage>();

/** Corrupt bytes: the lazy reader throws, or equals protobuf-es with the pruned schema. */
function compareCorrupt(s: Subject, bytes: Uint8Array): "equal" | "lazy-threw" {
  let lazy: unknown;
  try {
    lazy = s.lazy(bytes);
  } catch {
    return "lazy-threw";
  }
  let pruned = PRUNED.get(s);
  if (pruned === undefined) PRUNED.set(s, (pruned = prunedSchema(s.schema)));
  let reflective: Message;
  try {
    reflective = fromBinary(pruned, bytes, { readUnknownFields: false });
  } catch (err) {
    assert.fail(`${s.name}: lazy reader accepted bytes fromBinary (pruned schema) refuses (${String(err)})`);
  }
  const d = lazyDifference(lazy, reflective, "$", { ignoreUnknown: true });
  assert.equal(d, undefined, `${s.name}: ${d ?? ""}`);
  return "equal";
}

/** Decodes both ways; the lazy reader must throw or agree. Returns what happened. */
function compare(s: Subject, bytes: Uint8Array): "equal" | "lazy-threw" {
  let lazy: unknown;
  try {
    lazy = s.lazy(bytes);
  } catch {
    return "lazy-threw";
  }
  let reflective: Message;
  try {
    reflective = fromBinary(s.schema, bytes);
  } catch (err) {
    assert.fail(`${s.name}: lazy reader accepted bytes fromBinary refuses (${String(err)})`);
  }
  const d = lazyDifference(lazy, reflective);
  assert.equal(d, undefined, `${s.name}: ${d ?? ""}`);
  return "equal";
}

/** Every JSON object of a fixture file: JSON lines, or one JSON document (object or array). */
function jsonObjects(path: URL): Record<string, unknown>[] {
  const text = readFileSync(path, "utf8");
  if (path.pathname.endsWith(".json")) return concatenatedJson(text);
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // malformed-line fixtures: the line is not JSON at all
    }
  }
  return out;
}

/** Pretty-printed documents one after another (what `tetra getevents -o json | jq .` writes). */
function concatenatedJson(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") {
      if (depth++ === 0) start = i;
    } else if ((c === "}" || c === "]") && --depth === 0) {
      const doc = JSON.parse(text.slice(start, i + 1)) as unknown;
      out.push(...((Array.isArray(doc) ? doc : [doc]) as Record<string, unknown>[]));
    }
  }
  return out;
}

const FIXTURES: readonly { file: string; subject: Subject }[] = [
  { file: "proto/test/fixtures/tetragon-events.jsonl", subject: TETRAGON },
  { file: "proto/test/fixtures/hubble-flows.jsonl", subject: HUBBLE },
  { file: "agent/test/fixtures/realistic-tetragon.jsonl", subject: TETRAGON },
  { file: "agent/test/fixtures/malformed-tetragon.jsonl", subject: TETRAGON },
  { file: "agent/test/fixtures/realistic-hubble.jsonl", subject: HUBBLE },
  ...readdirSync(new URL("testkit/corpus/", repo))
    .filter((f) => /^(tetragon|hubble).*\.jsonl?$/.test(f))
    .map((f) => ({ file: `testkit/corpus/${f}`, subject: f.startsWith("hubble") ? HUBBLE : TETRAGON })),
];

/** Fixture objects → binary messages (a bare Flow is wrapped in a GetFlowsResponse). */
function fixtureBytes(file: string, s: Subject): { bytes: Uint8Array[]; skipped: number } {
  const bytes: Uint8Array[] = [];
  let skipped = 0;
  for (const obj of jsonObjects(new URL(file, repo))) {
    const json =
      s === HUBBLE && !("flow" in obj || "lost_events" in obj || "node_status" in obj || "lostEvents" in obj)
        ? { flow: obj }
        : obj;
    try {
      const msg = fromJson(s.schema, json as JsonValue, { ignoreUnknownFields: true });
      bytes.push(toBinary(s.schema, msg));
    } catch {
      skipped++; // fixtures of malformed input: not a message in any encoding
    }
  }
  return { bytes, skipped };
}

test("lazy readers agree with fromBinary on every Tetragon and Hubble fixture in the repo", () => {
  const seen = { tetragon: 0, hubble: 0 };
  for (const { file, subject } of FIXTURES) {
    const { bytes } = fixtureBytes(file, subject);
    assert.ok(bytes.length > 0, `${file}: no messages`);
    for (const b of bytes) assert.equal(compare(subject, b), "equal", file);
    seen[subject.name as "tetragon" | "hubble"] += bytes.length;
  }
  assert.ok(seen.tetragon > 50 && seen.hubble > 20, `fixtures: ${JSON.stringify(seen)}`);
});

test("lazy readers keep unknown fields like fromBinary, at the top and nested", () => {
  const { bytes } = fixtureBytes("proto/test/fixtures/tetragon-events.jsonl", TETRAGON);
  const first = bytes[0]!;
  // field 9999, varint 150; field 9998, length-delimited "hi"
  const extra = Uint8Array.from([0xf8, 0xf0, 0x04, 0x96, 0x01, 0xf2, 0xf0, 0x04, 0x02, 0x68, 0x69]);
  const withUnknown = new Uint8Array(first.length + extra.length);
  withUnknown.set(first);
  withUnknown.set(extra, first.length);
  assert.equal(compare(TETRAGON, withUnknown), "equal");
  const lazy = decodeGetEventsResponse(withUnknown);
  assert.deepEqual(
    lazy.$unknown?.map((u) => u.no),
    [9999, 9998],
  );
  // nested: an unknown field inside process_exec.process
  const msg = fromBinary(GetEventsResponseSchema, first);
  assert.equal(msg.event.case, "processExec");
  if (msg.event.case === "processExec" && msg.event.value.process !== undefined)
    msg.event.value.process.$unknown = [{ no: 777, wireType: 0, data: Uint8Array.from([5]) }];
  const nested = toBinary(GetEventsResponseSchema, msg);
  assert.equal(compare(TETRAGON, nested), "equal");
  const l = decodeGetEventsResponse(nested);
  assert.equal(l.event.case === "processExec" ? l.event.value.process?.$unknown?.[0]?.no : -1, 777);
});

// ---------------------------------------------------------------------------------------------
// Random messages over the whole schema (selected fields and skipped ones).

type Gen = fc.GeneratorValue;

function scalar(g: Gen, t: ScalarType): unknown {
  switch (t) {
    case ScalarType.STRING:
      return g(() => fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 })));
    case ScalarType.BYTES:
      return g(fc.uint8Array, { maxLength: 20 });
    case ScalarType.BOOL:
      return g(fc.boolean);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return g(fc.integer, { min: -0x80000000, max: 0x7fffffff });
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return g(fc.integer, { min: 0, max: 0xffffffff });
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return g(() =>
        fc.oneof(
          fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
          fc.bigInt({ min: 0n, max: 2n ** 40n }),
        ),
      );
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return g(() =>
        fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 40n })),
      );
    case ScalarType.FLOAT:
      return g(fc.float);
    case ScalarType.DOUBLE:
      return g(fc.double);
  }
}

function fieldValue(g: Gen, f: DescField, kind: "scalar" | "enum" | "message", depth: number): unknown {
  if (kind === "message") {
    const m = f.message!;
    if (isWrapperDesc(m)) return scalar(g, m.fields[0].scalar);
    return randomMessage(g, m, depth - 1);
  }
  if (kind === "enum") {
    const values = f.enum!.values.map((v) => v.number);
    return g(() => fc.oneof(fc.constantFrom(...values), fc.integer({ min: 0, max: 1000 })));
  }
  return scalar(g, f.scalar!);
}

function randomMessage(g: Gen, desc: DescMessage, depth: number): Message {
  const init: Record<string, unknown> = {};
  for (const oneof of desc.oneofs) {
    const choice = g(fc.integer, { min: -1, max: oneof.fields.length - 1 });
    const f = oneof.fields[choice];
    if (f === undefined || (f.fieldKind === "message" && depth <= 0)) continue;
    const kind = f.fieldKind === "message" ? "message" : f.fieldKind === "enum" ? "enum" : "scalar";
    init[oneof.localName] = { case: f.localName, value: fieldValue(g, f, kind, depth) };
  }
  for (const f of desc.fields) {
    if (f.oneof !== undefined) continue;
    if (!g(fc.boolean)) continue;
    switch (f.fieldKind) {
      case "scalar":
        init[f.localName] = scalar(g, f.scalar);
        break;
      case "enum":
        init[f.localName] = fieldValue(g, f, "enum", depth);
        break;
      case "message":
        if (depth > 0 || isWrapperDesc(f.message)) init[f.localName] = fieldValue(g, f, "message", depth);
        break;
      case "list": {
        if (f.listKind === "message" && depth <= 0) break;
        const n = g(fc.integer, { min: 0, max: 3 });
        init[f.localName] = Array.from({ length: n }, () => fieldValue(g, f, f.listKind, depth));
        break;
      }
      case "map": {
        if (f.mapKind === "message" && depth <= 0) break;
        const n = g(fc.integer, { min: 0, max: 3 });
        const map: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const key = g(fc.string, { maxLength: 12 });
          if (key === "__proto__") continue;

          map[key] = fieldValue(g, f, f.mapKind, depth);
        }
        init[f.localName] = map;
        break;
      }
    }
  }
  return create(desc, init as never);
}

for (const s of [TETRAGON, HUBBLE]) {
  test(`lazy ${s.name} reader agrees with fromBinary on random messages over the schema`, () => {
    fc.assert(
      fc.property(fc.gen(), (g) => {
        const bytes = toBinary(s.schema, randomMessage(g, s.schema, 6));
        assert.equal(compare(s, bytes), "equal");
      }),
      { numRuns: 400, endOnFailure: true },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Corrupted bytes: the lazy reader throws or agrees.

for (const s of [TETRAGON, HUBBLE]) {
  test(`lazy ${s.name} reader on corrupted bytes: throws or equals fromBinary (selected fields), never differs`, () => {
    const pool = FIXTURES.filter((f) => f.subject === s).flatMap((f) => fixtureBytes(f.file, s).bytes);
    const counts = { equal: 0, "lazy-threw": 0 };
    fc.assert(
      fc.property(
        fc.nat(pool.length - 1),
        fc.array(
          fc.record({
            op: fc.constantFrom("set", "truncate", "insert", "delete"),
            at: fc.nat(),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (i, ops) => {
          let b = Array.from(pool[i]!);
          for (const { op, at, byte } of ops) {
            const p = b.length === 0 ? 0 : at % b.length;
            if (op === "set" && b.length > 0) b[p] = byte;
            else if (op === "truncate") b = b.slice(0, p);
            else if (op === "insert") b.splice(p, 0, byte);
            else b.splice(p, 1);
          }
          counts[compareCorrupt(s, Uint8Array.from(b))]++;
        },
      ),
      { numRuns: 3000, endOnFailure: true },
    );
    // both outcomes occur: the corruptions are neither all fatal nor all harmless
    assert.ok(counts.equal > 100 && counts["lazy-threw"] > 100, JSON.stringify(counts));
    console.log(`# ${s.name} corruptions: ${JSON.stringify(counts)}`);
  });
}

test("lazy readers throw on truncated input, bad tags, lengths past the end, invalid varints", () => {
  const { bytes } = fixtureBytes("proto/test/fixtures/tetragon-events.jsonl", TETRAGON);
  const b = bytes[0]!;
  assert.throws(() => decodeGetEventsResponse(b.subarray(0, b.length - 1)));
  assert.throws(() => decodeGetEventsResponse(Uint8Array.from([0x00])), /illegal tag/);
  assert.throws(() => decodeGetEventsResponse(Uint8Array.from([0x0f])), /illegal tag/); // wire type 7
  assert.throws(() => decodeGetEventsResponse(Uint8Array.from([0x0a, 0x05, 0x01])), /premature EOF/);
  // node_name (1000) as a varint: wrong wire type for a selected string field
  assert.throws(() => decodeGetEventsResponse(Uint8Array.from([0xc0, 0x3e, 0x01])), /wire type 0/);
  // an unknown varint field of 11 bytes
  const long = [0xf8, 0xf0, 0x04, ...Array<number>(10).fill(0xff), 0x01];
  assert.throws(() => decodeGetEventsResponse(Uint8Array.from(long)), /invalid varint/);
  // (fromBinary skips it: the lazy reader is stricter here, which only costs an undecodable count)
  // a group (wire type 3) is refused
  assert.throws(() => decodeGetFlowsResponse(Uint8Array.from([0xfb, 0x3e])), /groups/);
  assert.deepEqual(decodeGetEventsResponse(new Uint8Array(0)).event, { case: undefined });
  // node_name with invalid UTF-8 (proto3 strings are validated, as fromBinary does)
  const badUtf8 = Uint8Array.from([0xc2, 0x3e, 0x02, 0xc3, 0x28]);
  assert.throws(() => fromBinary(GetEventsResponseSchema, badUtf8));
  assert.throws(() => decodeGetEventsResponse(badUtf8), /utf-8/i);
  const longBad = Uint8Array.from([0xc2, 0x3e, 40, ...Array<number>(39).fill(0x61), 0xff]);
  assert.throws(() => decodeGetEventsResponse(longBad), /utf-8/i);
  // a valid U+FFFD in a long string is kept
  const fffd = Uint8Array.from([0xc2, 0x3e, 42, ...Array<number>(39).fill(0x61), 0xef, 0xbf, 0xbd]);
  assert.equal(decodeGetEventsResponse(fffd).nodeName, `${"a".repeat(39)}\ufffd`);
});

test("interned strings: equal bytes give equal strings through slot reuse; invalid UTF-8 is never interned", () => {
  const enc = new TextEncoder();
  // node_name (field 1000, tag bytes c2 3e) with the given bytes
  const nodeName = (b: Uint8Array): Uint8Array => Uint8Array.from([0xc2, 0x3e, b.length, ...b]);
  // 20,000 distinct names over 4,096 slots (so slots are reused), each decoded twice, then all
  // again in another order: every answer is the name its bytes say, never a slot's other name.
  const names = Array.from(
    { length: 20_000 },
    (_, i) => `n${i.toString(36)}-${"é".repeat(i % 3)}${"x".repeat(i % 90)}`,
  );
  for (const n of names) {
    const b = nodeName(enc.encode(n));
    assert.equal(decodeGetEventsResponse(b).nodeName, n);
    assert.equal(decodeGetEventsResponse(b).nodeName, n);
  }
  for (let i = names.length - 1; i >= 0; i -= 7) {
    const n = names[i]!;
    assert.equal(decodeGetEventsResponse(nodeName(enc.encode(n))).nodeName, n);
  }
  // Two byte sequences that differ in one byte only, alternating: never mixed up.
  for (let i = 0; i < 100; i++) {
    assert.equal(decodeGetEventsResponse(nodeName(enc.encode("pod-a"))).nodeName, "pod-a");
    assert.equal(decodeGetEventsResponse(nodeName(enc.encode("pod-b"))).nodeName, "pod-b");
  }
  // Same length, same first and last 16 bytes (the same slot by construction), different middle.
  const mid = (c: string): string => `${"p".repeat(16)}${c.repeat(20)}${"s".repeat(16)}`;
  for (let i = 0; i < 50; i++)
    for (const c of ["a", "b", "c"])
      assert.equal(decodeGetEventsResponse(nodeName(enc.encode(mid(c)))).nodeName, mid(c));
  // Invalid bytes throw every time (the first answer was not kept for the second).
  const bad = Uint8Array.from([0x61, 0xc3, 0x28]);
  for (let i = 0; i < 3; i++) assert.throws(() => decodeGetEventsResponse(nodeName(bad)), /utf-8/i);
  // A real U+FFFD decodes the same the first and the second time.
  const fffd = Uint8Array.from([0x61, 0xef, 0xbf, 0xbd]);
  assert.equal(decodeGetEventsResponse(nodeName(fffd)).nodeName, "a\ufffd");
  assert.equal(decodeGetEventsResponse(nodeName(fffd)).nodeName, "a\ufffd");
  // The decoded string does not keep the input alive or change with it: the key is a copy.
  const input = nodeName(enc.encode("mutable"));
  assert.equal(decodeGetEventsResponse(input).nodeName, "mutable");
  input[3] = 0x4d; // "Mutable"
  assert.equal(decodeGetEventsResponse(input).nodeName, "Mutable");
  assert.equal(decodeGetEventsResponse(nodeName(enc.encode("mutable"))).nodeName, "mutable");
});

test("label maps: equal bytes share one decoded object; entries after other fields merge into a copy", () => {
  const enc = new TextEncoder();
  const ld = (field: number, body: Uint8Array): Uint8Array => {
    assert.ok(body.length < 128 && field < 16);
    return Uint8Array.from([(field << 3) | 2, body.length, ...body]);
  };
  const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
  const entry = (k: string, v: string): Uint8Array => ld(5, cat(ld(1, enc.encode(k)), ld(2, enc.encode(v))));
  const wrap = (pod: Uint8Array): Uint8Array => ld(1, ld(1, ld(10, pod)));
  const labels = (bytes: Uint8Array): Record<string, string> | undefined => {
    const m = decodeGetEventsResponse(bytes);
    return m.event.case === "processExec" ? m.event.value.process?.pod?.podLabels : undefined;
  };
  const plain = wrap(cat(entry("app", "srv"), entry("tier", "mcp")));
  const first = labels(plain);
  assert.deepEqual(first, { app: "srv", tier: "mcp" });
  assert.equal(labels(plain), first, "same bytes, same object");
  // shared, so frozen: a write would change every event with these labels, and throws instead
  assert.throws(() => {
    (first as Record<string, string>)["app"] = "changed";
  }, TypeError);
  assert.deepEqual(labels(plain), { app: "srv", tier: "mcp" });
  // split by another field: protobuf-es merges; the shared object is not touched
  const split = wrap(
    cat(entry("app", "srv"), entry("tier", "mcp"), ld(2, enc.encode("srv-0")), entry("zone", "a")),
  );
  assert.equal(compare(TETRAGON, split), "equal");
  assert.deepEqual(labels(split), { app: "srv", tier: "mcp", zone: "a" });
  assert.deepEqual(first, { app: "srv", tier: "mcp" });
  // a later entry with the same key wins, as in fromBinary
  const dup = wrap(cat(entry("app", "srv"), entry("app", "other")));
  assert.equal(compare(TETRAGON, dup), "equal");
  assert.deepEqual(labels(dup), { app: "other" });
});
