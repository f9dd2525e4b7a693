#!/usr/bin/env node
// Generates the lazy protobuf readers (proto/src/gen-lazy/*.ts) from the .proto files
// and proto/lazy.config.json.
//
// A reader decodes only the fields the config selects, straight from the wire into plain
// objects shaped like protobuf-es messages (same property names, oneofs as {case, value},
// wrappers unboxed, 64-bit integers as bigint), and skips every other field by its wire
// type without allocating. Fields the schema does not know are kept in `$unknown` like
// protobuf-es does. Malformed input (truncated, bad tag, bad wire type for a selected
// field, length past the end, invalid varint, groups) throws.
//
// The descriptors come from `buf build` (the same .proto files `buf generate` reads). The
// config is validated against them: a misspelt field, a renumbered one, a oneof selected in
// part, a reachable message without an entry, all fail generation.
//
// Usage: node proto/scripts/gen-lazy.mjs [--out DIR]   (default proto/src/gen-lazy)

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toolPath } from "./bin-path.mjs";
import { createFileRegistry, fromBinary, ScalarType } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, isWrapperDesc } from "@bufbuild/protobuf/wkt";

const protoDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  console.error(`gen-lazy: ${message}`);
  process.exit(1);
}

/** The descriptors of every .proto file under proto/ (and their imports), via `buf build`. */
function loadRegistry() {
  const tmp = mkdtempSync(join(tmpdir(), "hangar-gen-lazy-"));
  try {
    const image = join(tmp, "image.binpb");
    const env = { ...process.env, PATH: toolPath(protoDir) };
    const run = spawnSync("buf", ["build", "-o", image], { cwd: protoDir, env, encoding: "utf8" });
    if (run.error || run.status !== 0) {
      fail(`\`buf build\` failed: ${run.error?.message ?? ""}${run.stdout ?? ""}${run.stderr ?? ""}`);
    }
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(image)));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Config → selection, validated against the descriptors.

/** @returns {Map<string, {desc: any, fields: any[]}>} selected fields per message type name */
function select(registry, config) {
  const out = new Map();
  const problems = [];
  for (const [typeName, entry] of Object.entries(config.messages)) {
    const desc = registry.getMessage(typeName);
    if (desc === undefined) {
      problems.push(`${typeName}: no such message in the .proto files`);
      continue;
    }
    let fields;
    if (entry === "*") fields = [...desc.fields];
    else if (Array.isArray(entry)) {
      fields = [];
      for (const spec of entry) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(spec);
        if (m === null) {
          problems.push(`${typeName}: "${spec}" is not name=number`);
          continue;
        }
        const [, name, num] = m;
        const field = desc.fields.find((f) => f.name === name);
        if (field === undefined) {
          problems.push(
            `${typeName}: no field "${name}" (fields: ${desc.fields.map((f) => f.name).join(", ")})`,
          );
          continue;
        }
        if (field.number !== Number(num)) {
          problems.push(
            `${typeName}.${name}: number is ${field.number} in the .proto, the config says ${num}`,
          );
          continue;
        }
        if (fields.includes(field)) problems.push(`${typeName}.${name}: listed twice`);
        fields.push(field);
      }
    } else {
      problems.push(`${typeName}: expected "*" or a list of name=number`);
      continue;
    }
    // A oneof is selected whole: protobuf-es messages must satisfy the narrow types.
    for (const f of fields) {
      if (f.oneof === undefined) continue;
      for (const g of f.oneof.fields) {
        if (!fields.includes(g)) {
          problems.push(
            `${typeName}.${g.name}=${g.number}: member of oneof ${f.oneof.name}, whose ${f.name} is selected`,
          );
        }
      }
    }
    fields.sort((a, b) => a.number - b.number);
    out.set(typeName, { desc, fields });
  }
  if (problems.length > 0)
    fail(`lazy.config.json does not match the .proto files:\n  ${problems.join("\n  ")}`);
  return out;
}

/** Message types a selected field refers to (wrappers are unboxed, not messages). */
function referenced(field) {
  const m =
    field.fieldKind === "message" || field.fieldKind === "list" || field.fieldKind === "map"
      ? field.message
      : undefined;
  if (m === undefined) return undefined;
  if (field.fieldKind === "message" && isWrapperDesc(m)) return undefined;
  return m;
}

/** Messages reachable from root through selected fields, in a stable order; fails on missing entries and cycles. */
function reachable(selection, root) {
  const order = [];
  const state = new Map(); // 1 visiting, 2 done
  const problems = [];
  const visit = (typeName, path) => {
    if (state.get(typeName) === 2) return;
    if (state.get(typeName) === 1) {
      problems.push(`cycle: ${[...path, typeName].join(" → ")} (the readers do not recurse)`);
      return;
    }
    const sel = selection.get(typeName);
    if (sel === undefined) {
      problems.push(`${path.join(" → ")} → ${typeName}: selected field refers to a message without an entry`);
      return;
    }
    state.set(typeName, 1);
    for (const f of sel.fields) {
      const m = referenced(f);
      if (m !== undefined) visit(m.typeName, [...path, `${typeName}.${f.name}`]);
    }
    state.set(typeName, 2);
    order.push(typeName);
  };
  visit(root, []);
  if (problems.length > 0) fail(problems.join("\n  "));
  return order;
}

// ---------------------------------------------------------------------------------------------
// Code generation.

const WT = { varint: 0, bit64: 1, ld: 2, bit32: 5 };

/** wire type, reader expression, TS type, zero value of a scalar type */
function scalarInfo(t, where, utf8Validation = false) {
  switch (t) {
    case ScalarType.STRING:
      return { wt: WT.ld, read: utf8Validation ? "str(true)" : "str(false)", ts: "string", zero: '""' };
    case ScalarType.BYTES:
      return { wt: WT.ld, read: "bytes()", ts: "Uint8Array", zero: "new Uint8Array(0)" };
    case ScalarType.BOOL:
      return { wt: WT.varint, read: "bool()", ts: "boolean", zero: "false" };
    case ScalarType.INT32:
      return { wt: WT.varint, read: "u32() | 0", ts: "number", zero: "0" };
    case ScalarType.UINT32:
      return { wt: WT.varint, read: "u32()", ts: "number", zero: "0" };
    case ScalarType.SINT32:
      return { wt: WT.varint, read: "s32()", ts: "number", zero: "0" };
    case ScalarType.INT64:
      return { wt: WT.varint, read: "i64()", ts: "bigint", zero: "0n" };
    case ScalarType.UINT64:
      return { wt: WT.varint, read: "u64()", ts: "bigint", zero: "0n" };
    case ScalarType.SINT64:
      return { wt: WT.varint, read: "s64()", ts: "bigint", zero: "0n" };
    case ScalarType.FIXED32:
      return { wt: WT.bit32, read: "fx32()", ts: "number", zero: "0" };
    case ScalarType.SFIXED32:
      return { wt: WT.bit32, read: "sfx32()", ts: "number", zero: "0" };
    case ScalarType.FLOAT:
      return { wt: WT.bit32, read: "f32()", ts: "number", zero: "0" };
    case ScalarType.FIXED64:
      return { wt: WT.bit64, read: "fx64()", ts: "bigint", zero: "0n" };
    case ScalarType.SFIXED64:
      return { wt: WT.bit64, read: "sfx64()", ts: "bigint", zero: "0n" };
    case ScalarType.DOUBLE:
      return { wt: WT.bit64, read: "f64()", ts: "number", zero: "0" };
    default:
      return fail(`${where}: unsupported scalar type ${t}`);
  }
}

function checkLong(field) {
  if (field.longAsString) fail(`${field.parent.typeName}.${field.name}: jstype=JS_STRING is not supported`);
}

class Emitter {
  constructor(selection, order) {
    this.selection = selection;
    this.order = order;
    this.imports = new Map(); // module → alias
    this.helpers = []; // map entry readers
    this.names = new Map(); // typeName → TS name
    const used = new Set();
    for (const typeName of order) {
      const desc = selection.get(typeName).desc;
      if (this.isWkt(desc)) continue;
      const local = desc.typeName.slice(desc.file.proto.package.length + 1).replaceAll(".", "_");
      const name = used.has(local) ? desc.typeName.replaceAll(".", "_") : local;
      used.add(name);
      this.names.set(typeName, name);
    }
  }

  isWkt(desc) {
    return desc.file.name.startsWith("google/protobuf/");
  }

  /** Alias.Name of a protobuf-es generated type (enum or message). */
  pbType(desc) {
    const module = this.isWkt(desc) ? "@bufbuild/protobuf/wkt" : `../gen/${desc.file.name}_pb.js`;
    let alias = this.imports.get(module);
    if (alias === undefined) {
      alias = this.isWkt(desc) ? "wkt" : `pb_${desc.file.name.replaceAll(/[^A-Za-z0-9]/g, "_")}`;
      this.imports.set(module, alias);
    }
    return `${alias}.${desc.typeName.slice(desc.file.proto.package.length + 1).replaceAll(".", "_")}`;
  }

  /** TS name of a selected message (the wkt type itself for google.protobuf messages). */
  msgType(desc) {
    return this.isWkt(desc) ? this.pbType(desc) : this.names.get(desc.typeName);
  }

  wrapperInfo(field) {
    const inner = field.message.fields.find((f) => f.number === 1);
    return scalarInfo(inner.scalar, `${field.parent.typeName}.${field.name}`, inner.utf8Validation);
  }

  /** TS type of a value (no optionality) for a field of kind scalar/enum/message. */
  valueType(field, kind) {
    if (kind === "scalar") {
      checkLong(field);
      return scalarInfo(field.scalar, field.name, field.utf8Validation).ts;
    }
    if (kind === "enum") return this.pbType(field.enum);
    return this.msgType(field.message);
  }

  fieldType(field) {
    switch (field.fieldKind) {
      case "scalar": {
        const t = this.valueType(field, "scalar");
        return field.presence === 1 ? { opt: true, ts: `${t} | undefined` } : { opt: false, ts: t };
      }
      case "enum": {
        const t = this.valueType(field, "enum");
        return field.presence === 1 ? { opt: true, ts: `${t} | undefined` } : { opt: false, ts: t };
      }
      case "message":
        if (isWrapperDesc(field.message))
          return { opt: true, ts: `${this.wrapperInfo(field).ts} | undefined` };
        return { opt: true, ts: `${this.msgType(field.message)} | undefined` };
      case "list":
        return { opt: false, ts: `${this.valueType(field, field.listKind)}[]` };
      case "map":
        if (field.mapKey !== ScalarType.STRING)
          fail(`${field.parent.typeName}.${field.name}: only string map keys`);
        return { opt: false, ts: `{ [key: string]: ${this.valueType(field, field.mapKind)} }` };
    }
    return fail(`${field.name}: unknown field kind`);
  }

  zero(field) {
    switch (field.fieldKind) {
      case "scalar":
        return field.presence === 1
          ? "undefined"
          : scalarInfo(field.scalar, field.name, field.utf8Validation).zero;
      case "enum":
        return field.presence === 1 ? "undefined" : String(field.enum.values[0].number);
      case "message":
        return "undefined";
      case "list":
        return "[]";
      case "map":
        return "{}";
    }
    return fail("zero");
  }

  /** The statements that decode one selected field; returns [caseLabels, code]. */
  decodeField(typeName, field) {
    const tag = (wt) => (field.number << 3) | wt;
    const prop = `m.${field.localName}`;
    const newMsg = (desc) => `new_${this.fnName(desc)}()`;
    if (field.oneof !== undefined) {
      const oneof = `m.${field.oneof.localName}`;
      const c = JSON.stringify(field.localName);
      if (field.fieldKind === "message") {
        if (isWrapperDesc(field.message))
          fail(`${typeName}.${field.name}: wrapper in a oneof is not supported`);
        const fn = this.fnName(field.message);
        return [
          [tag(WT.ld)],
          `{ const e = lenEnd(); const o = ${oneof}; ${oneof} = { case: ${c}, value: d_${fn}(e, o.case === ${c} ? o.value : ${newMsg(field.message)}) }; break; }`,
        ];
      }
      const info =
        field.fieldKind === "enum"
          ? scalarInfo(ScalarType.INT32, "")
          : scalarInfo(field.scalar, field.name, field.utf8Validation);
      if (field.fieldKind === "scalar") checkLong(field);
      const value = field.fieldKind === "enum" ? `(${info.read}) as ${this.pbType(field.enum)}` : info.read;
      return [[tag(info.wt)], `${oneof} = { case: ${c}, value: ${value} }; break;`];
    }
    switch (field.fieldKind) {
      case "scalar": {
        checkLong(field);
        const info = scalarInfo(field.scalar, field.name, field.utf8Validation);
        return [[tag(info.wt)], `${prop} = ${info.read}; break;`];
      }
      case "enum":
        return [[tag(WT.varint)], `${prop} = (u32() | 0) as ${this.pbType(field.enum)}; break;`];
      case "message": {
        if (isWrapperDesc(field.message)) {
          const info = this.wrapperInfo(field);
          return [
            [tag(WT.ld)],
            `{ const e = lenEnd(); let v = ${prop} ?? ${info.zero}; while (P < e) { const t = tag(); if (t === ${(1 << 3) | info.wt}) v = ${info.read}; else other(t, e); } end(e); ${prop} = v; break; }`,
          ];
        }
        const fn = this.fnName(field.message);
        return [
          [tag(WT.ld)],
          `{ const e = lenEnd(); ${prop} = d_${fn}(e, ${prop} ?? ${newMsg(field.message)}); break; }`,
        ];
      }
      case "list": {
        if (field.listKind === "message") {
          const fn = this.fnName(field.message);
          return [
            [tag(WT.ld)],
            `{ const e = lenEnd(); ${prop}.push(d_${fn}(e, ${newMsg(field.message)})); break; }`,
          ];
        }
        const info =
          field.listKind === "enum"
            ? scalarInfo(ScalarType.INT32, "")
            : scalarInfo(field.scalar, field.name, field.utf8Validation);
        if (field.listKind === "scalar") checkLong(field);
        const read = field.listKind === "enum" ? `(${info.read}) as ${this.pbType(field.enum)}` : info.read;
        if (info.wt === WT.ld) return [[tag(WT.ld)], `${prop}.push(${read}); break;`];
        return [
          [tag(info.wt)],
          `${prop}.push(${read}); break;`,
          [tag(WT.ld)],
          `{ const e = lenEnd(); const a = ${prop}; while (P < e) a.push(${read}); end(e); break; }`,
        ];
      }
      case "map": {
        if (field.mapKind === "message")
          fail(`${typeName}.${field.name}: maps of messages are not supported`);
        const info =
          field.mapKind === "enum"
            ? scalarInfo(ScalarType.INT32, "")
            : scalarInfo(field.scalar, field.name, field.utf8Validation);
        const read = field.mapKind === "enum" ? `(${info.read}) as ${this.pbType(field.enum)}` : info.read;
        const zero = field.mapKind === "enum" ? String(field.enum.values[0].number) : info.zero;
        const entry = `{ const e = lenEnd(); let k = ""; let v: ${this.valueType(field, field.mapKind)} = ${zero}; while (P < e) { const t = tag(); if (t === ${(1 << 3) | WT.ld}) k = str(${field.utf8Validation}); else if (t === ${(2 << 3) | info.wt}) v = ${read}; else throw malformed("map entry field " + String(t >>> 3) + " wire type " + String(t & 7)); } end(e); o[k] = v; }`;
        const helper = `me_${this.fnName(field.parent)}_${field.localName}`;
        this.helpers.push(
          `/** One entry of ${typeName}.${field.name} into o. */\nfunction ${helper}(o: { [key: string]: ${this.valueType(field, field.mapKind)} }): void ${entry}`,
        );
        // string→string maps whose tag is one byte (labels): shared decoded objects for equal bytes
        if (field.mapKind === "scalar" && field.scalar === ScalarType.STRING && tag(WT.ld) < 0x80)
          return [[tag(WT.ld)], `${prop} = smap(${prop}, ${tag(WT.ld)}, ${helper}, stop); break;`];
        return [[tag(WT.ld)], `${helper}(${prop}); break;`];
      }
    }
    return fail(`${typeName}.${field.name}: unsupported`);
  }

  fnName(desc) {
    return desc.typeName.replaceAll(".", "_");
  }

  emitMessage(typeName) {
    const { desc, fields } = this.selection.get(typeName);
    const fn = this.fnName(desc);
    const tsName = this.msgType(desc);
    const lines = [];
    if (!this.isWkt(desc)) {
      lines.push(`/** \`${typeName}\`: the fields the normalizers read (lazy.config.json). */`);
      lines.push(`export interface ${tsName} {`);
      lines.push(`  readonly $typeName: ${JSON.stringify(typeName)};`);
      lines.push(`  $unknown?: UnknownField[] | undefined;`);
      const oneofs = new Set();
      for (const f of fields) {
        if (f.oneof !== undefined) {
          if (oneofs.has(f.oneof)) continue;
          oneofs.add(f.oneof);
          const cases = f.oneof.fields.map((g) => {
            const kind = g.fieldKind;
            return `{ case: ${JSON.stringify(g.localName)}; value: ${this.valueType(g, kind)} }`;
          });
          lines.push(
            `  ${f.oneof.localName}: ${cases.join(" | ")} | { case: undefined; value?: undefined };`,
          );
          continue;
        }
        const t = this.fieldType(f);
        lines.push(`  ${f.localName}${t.opt ? "?" : ""}: ${t.ts};`);
      }
      lines.push("}");
    }
    // constructor with every property, so all objects of a type share one shape
    const init = [`$typeName: ${JSON.stringify(typeName)}`];
    const seen = new Set();
    for (const f of fields) {
      if (f.oneof !== undefined) {
        if (seen.has(f.oneof)) continue;
        seen.add(f.oneof);
        init.push(`${f.oneof.localName}: { case: undefined }`);
      } else init.push(`${f.localName}: ${this.zero(f)}`);
    }
    lines.push(`function new_${fn}(): ${tsName} {`);
    lines.push(`  return { ${init.join(", ")} };`);
    lines.push("}");
    // field numbers: selected (a wrong wire type is an error) and known (skipped)
    const selected = fields.map((f) => f.number);
    const known = desc.fields.map((f) => f.number).filter((n) => !selected.includes(n));
    lines.push(`function d_${fn}(stop: number, m: ${tsName}): ${tsName} {`);
    lines.push("  while (P < stop) {");
    lines.push("    const t = tag();");
    lines.push("    switch (t) {");
    for (const f of fields) {
      const parts = this.decodeField(typeName, f);
      for (let i = 0; i < parts.length; i += 2) {
        for (const label of parts[i]) lines.push(`      case ${label}:`);
        lines.push(`        ${parts[i + 1]}`);
      }
    }
    lines.push("      default:");
    lines.push("        switch (t >>> 3) {");
    for (const n of selected) lines.push(`          case ${n}:`);
    if (selected.length > 0)
      lines.push(`            throw malformed(\`${typeName}: field \${t >>> 3} with wire type \${t & 7}\`);`);
    for (const n of known) lines.push(`          case ${n}:`);
    if (known.length > 0) lines.push("            skip(t);\n            break;");
    lines.push("          default:");
    lines.push("            unknown(m, t);");
    lines.push("        }");
    lines.push("    }");
    lines.push("  }");
    lines.push("  end(stop);");
    lines.push("  return m;");
    lines.push("}");
    return lines.join("\n");
  }

  emitFile(root, outName) {
    const bodies = this.order.map((t) => this.emitMessage(t));
    const rootDesc = this.selection.get(root).desc;
    const rootName = this.msgType(rootDesc);
    const fn = this.fnName(rootDesc);
    const checks = this.order
      .filter((t) => !this.isWkt(this.selection.get(t).desc))
      .map((t) => `  Assignable<${this.pbType(this.selection.get(t).desc)}, ${this.names.get(t)}>,`);
    const imports = [...this.imports.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([module, alias]) => `import type * as ${alias} from "${module}";`);
    return [
      `// Code generated by proto/scripts/gen-lazy.mjs from the .proto files and proto/lazy.config.json.`,
      `// DO NOT EDIT: run \`npm run generate\` (checked by proto/scripts/check-generated.mjs).`,
      `// Lazy reader for ${root} (${outName}).`,
      `/* eslint-disable */`,
      `import type { UnknownField } from "@bufbuild/protobuf";`,
      ...imports,
      "",
      prelude([...bodies, ...this.helpers].join("\n") + " input( release( "),
      ...bodies,
      ...this.helpers,
      "",
      `/**`,
      ` * Decodes a ${root} from its binary form, reading only the selected fields; throws on`,
      ` * malformed input like fromBinary does.`,
      ` */`,
      `export function decode${rootName}(bytes: Uint8Array): ${rootName} {`,
      `  input(bytes);`,
      `  try {`,
      `    return d_${fn}(L, new_${fn}());`,
      `  } finally {`,
      `    release();`,
      `  }`,
      `}`,
      "",
      `/** Compile-time proof that protobuf-es messages satisfy the narrow types. */`,
      `type Assignable<T extends U, U> = [T, U];`,
      `export type ProtobufEsAssignable = [`,
      ...checks,
      `];`,
      "",
    ].join("\n");
  }
}

const PRELUDE = String.raw`
// ---- wire reader (module state: one decode at a time, synchronous) ----
const EMPTY = new Uint8Array(0);
let B: Uint8Array = EMPTY;
/** The input as a Buffer, for its native UTF-8 decoder (utf8Slice: toString without the argument checks). */
let S: Buffer & { utf8Slice(start: number, end: number): string } = Buffer.alloc(0) as never;
let P = 0;
let L = 0;
const STRICT = new TextDecoder("utf-8", { fatal: true });

function input(bytes: Uint8Array): void {
  B = bytes;
  S = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as never;
  P = 0;
  L = bytes.length;
}
function release(): void {
  B = EMPTY;
  S = Buffer.alloc(0) as never;
}
function malformed(what: string): Error {
  return new Error("cannot decode message from binary: " + what);
}
function eof(): Error {
  return new RangeError("premature EOF");
}
function view(): DataView {
  return new DataView(B.buffer, B.byteOffset, B.byteLength);
}
/** A tag: field number << 3 | wire type, with protobuf-es's checks. */
function tag(): number {
  if (P >= L) throw eof();
  const b0 = B[P++]!;
  let t: number;
  if (b0 < 0x80) t = b0;
  else {
    t = b0 & 0x7f;
    let shift = 7;
    for (;;) {
      if (P >= L) throw eof();
      const b = B[P++]!;
      if (shift === 28) {
        if (b > 0x0f) throw malformed("illegal tag: varint overflows uint32");
        t = (t | (b << 28)) >>> 0;
        break;
      }
      t |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
  }
  if (t >>> 3 === 0 || (t & 7) > 5) throw malformed("illegal tag: field no " + String(t >>> 3) + " wire type " + String(t & 7));
  return t;
}
/** varint as uint32 (protobuf-es varint32read: low 32 bits, at most 10 bytes). */
function u32(): number {
  if (P >= L) throw eof();
  let b = B[P++]!;
  if (b < 0x80) return b;
  let r = b & 0x7f;
  for (let shift = 7; shift < 28; shift += 7) {
    if (P >= L) throw eof();
    b = B[P++]!;
    r |= (b & 0x7f) << shift;
    if (b < 0x80) return r;
  }
  if (P >= L) throw eof();
  b = B[P++]!;
  r |= (b & 0x0f) << 28;
  for (let n = 5; b >= 0x80; n++) {
    if (n >= 10) throw malformed("invalid varint");
    if (P >= L) throw eof();
    b = B[P++]!;
  }
  return r >>> 0;
}
function s32(): number {
  const z = u32();
  return (z >>> 1) ^ -(z & 1);
}
let HI = 0;
/** varint as 64 bits: returns the low 32 bits (unsigned), sets HI to the high 32 bits (unsigned). */
function v64(): number {
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (P >= L) throw eof();
    b = B[P++]!;
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      HI = 0;
      return lo >>> 0;
    }
  }
  if (P >= L) throw eof();
  b = B[P++]!;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x70) >> 4;
  if (b >= 0x80) {
    for (let shift = 3; ; shift += 7) {
      if (shift > 31) throw malformed("invalid varint");
      if (P >= L) throw eof();
      b = B[P++]!;
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
  }
  HI = hi >>> 0;
  return lo >>> 0;
}
function u64(): bigint {
  const lo = v64();
  if (HI < 0x200000) return BigInt(HI * 4294967296 + lo);
  return (BigInt(HI) << 32n) | BigInt(lo);
}
function i64(): bigint {
  const lo = v64();
  if (HI < 0x200000) return BigInt(HI * 4294967296 + lo);
  return BigInt.asIntN(64, (BigInt(HI) << 32n) | BigInt(lo));
}
function s64(): bigint {
  const z = u64();
  return (z >> 1n) ^ -(z & 1n);
}
function bool(): boolean {
  const lo = v64();
  return lo !== 0 || HI !== 0;
}
function fixed(n: number): number {
  const at = P;
  P += n;
  if (P > L) throw eof();
  return at;
}
function fx32(): number {
  return view().getUint32(fixed(4), true);
}
function sfx32(): number {
  return view().getInt32(fixed(4), true);
}
function f32(): number {
  return view().getFloat32(fixed(4), true);
}
function f64(): number {
  return view().getFloat64(fixed(8), true);
}
function fx64(): bigint {
  return view().getBigUint64(fixed(8), true);
}
function sfx64(): bigint {
  return view().getBigInt64(fixed(8), true);
}
/** Reads a length and returns where the value ends; throws if past the input. */
function lenEnd(): number {
  const n = u32();
  const e = P + n;
  if (e > L) throw eof();
  return e;
}
/** A nested value must end exactly where its length said. */
function end(e: number): void {
  if (P !== e) throw malformed("field overruns its message");
}
function bytes(): Uint8Array {
  const e = lenEnd();
  const s = P;
  P = e;
  return B.subarray(s, e);
}
/**
 * A copy of input bytes, to keep as a key: B may be a Buffer, whose slice() is a view that would
 * keep the whole input (a gRPC message, or a pooled slab) alive.
 */
function copy(s: number, e: number): Uint8Array {
  const k = new Uint8Array(e - s);
  k.set(B.subarray(s, e));
  return k;
}
/** UTF-8 → string, as fromBinary does it: with validation (throws), else with replacement characters. */
function utf8(s: number, e: number, validate: boolean): string {
  const out = S.utf8Slice(s, e);
  // Invalid sequences become U+FFFD; a U+FFFD may also be real: the strict decoder decides.
  if (validate && out.includes("\ufffd")) STRICT.decode(B.subarray(s, e));
  return out;
}
/**
 * Strings of up to INTERN_MAX bytes are interned in a direct-mapped table keyed by a hash of
 * their bytes: the same pod names, container and exec ids, binaries and paths come with event
 * after event, and an event the agent keeps a while (the rule engine's ordering buffer, the
 * process table) then points at a string that is already old instead of a new one that each
 * young-generation collection copies and then promotes. Only valid UTF-8 is interned, so a
 * validating field never gets a string a non-validating one decoded with replacement
 * characters. Bounded: a string is let in the second time its hash comes to a slot (so one-off
 * values, e.g. exec ids, are neither copied nor kept), and replaces the slot's entry then.
 */
const INTERN_MAX = 128;
const INTERN_SLOTS = 4096;
const internKeys: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(INTERN_SLOTS).fill(undefined);
const internStrs: string[] = new Array<string>(INTERN_SLOTS).fill("");
/** The hash last seen at each slot (the admission test). */
const internSeen = new Int32Array(INTERN_SLOTS);
/** A string field: interned when short (see above); short ASCII without a decoder call. */
function str(validate: boolean): string {
  const e = lenEnd();
  const s = P;
  P = e;
  const n = e - s;
  if (n === 0) return "";
  if (n > INTERN_MAX) return utf8(s, e, validate);
  // The slot's hash: the length, and the first and last 16 bytes (the whole string up to 32
  // bytes); a hit still compares every byte.
  let h = Math.imul(0x811c9dc5 ^ n, 0x01000193);
  if (n <= 32) for (let i = s; i < e; i++) h = Math.imul(h ^ B[i]!, 0x01000193);
  else {
    for (let i = s; i < s + 16; i++) h = Math.imul(h ^ B[i]!, 0x01000193);
    for (let i = e - 16; i < e; i++) h = Math.imul(h ^ B[i]!, 0x01000193);
  }
  const slot = h & (INTERN_SLOTS - 1);
  const key = internKeys[slot];
  if (key !== undefined && key.length === n) {
    let i = 0;
    while (i < n && key[i] === B[s + i]) i++;
    if (i === n) return internStrs[slot]!;
  }
  let out = "";
  if (n <= 32) {
    for (let i = s; i < e; i++) {
      const c = B[i]!;
      if (c >= 0x80) {
        out = utf8(s, e, validate);
        break;
      }
      out += String.fromCharCode(c);
    }
  } else out = utf8(s, e, validate);
  if (internSeen[slot] !== h) internSeen[slot] = h;
  else if (!out.includes("\ufffd")) {
    internKeys[slot] = copy(s, e);
    internStrs[slot] = out;
  }
  return out;
}
/**
 * A string→string map field (labels): the run of its entries that follow each other is
 * decoded once per distinct bytes and the object shared by every message with the same
 * bytes (the same pod's labels arrive with every event): a shared map is frozen, so code that
 * wrote into one would throw instead of changing another event's labels.
 * Entries after other fields are merged into a copy, as protobuf-es merges them.
 */
function smap(
  cur: { [key: string]: string },
  tagByte: number,
  entry: (o: { [key: string]: string }) => void,
  stop: number,
): { [key: string]: string } {
  const start = P;
  let empty = true;
  for (const _ in cur) {
    empty = false;
    break;
  }
  if (!empty) {
    const o = Object.isFrozen(cur) ? { ...cur } : cur;
    entry(o);
    return o;
  }
  // the run: this entry and the ones right after it with the same tag
  let e = lenEnd();
  while (e < stop && B[e] === tagByte) {
    P = e + 1;
    e = lenEnd();
  }
  P = start;
  let h = 0x811c9dc5;
  for (let i = start; i < e; i++) h = Math.imul(h ^ B[i]!, 0x01000193);
  h = (h ^ (e - start)) >>> 0;
  const hit = MAPS.get(h);
  if (hit !== undefined && hit.bytes.length === e - start) {
    let same = true;
    for (let i = 0, j = start; j < e; i++, j++)
      if (hit.bytes[i] !== B[j]) {
        same = false;
        break;
      }
    if (same) {
      P = e;
      return hit.map;
    }
  }
  const o: { [key: string]: string } = {};
  entry(o);
  while (P < e) {
    P++; // the tag byte, checked above
    entry(o);
  }
  if (MAPS.size >= 4096) MAPS.clear();
  Object.freeze(o);
  MAPS.set(h, { bytes: copy(start, e), map: o });
  return o;
}
const MAPS = new Map<number, { bytes: Uint8Array; map: { [key: string]: string } }>();
/** Skips a value by its wire type (groups are refused). */
function skip(t: number): void {
  switch (t & 7) {
    case 0:
      for (let n = 0; ; n++) {
        if (n >= 10) throw malformed("invalid varint");
        if (P >= L) throw eof();
        if (B[P++]! < 0x80) break;
      }
      return;
    case 1:
      fixed(8);
      return;
    case 2:
      P = lenEnd();
      return;
    case 5:
      fixed(4);
      return;
    default:
      throw malformed("groups are not supported (field " + String(t >>> 3) + ")");
  }
}
/** A field the schema does not know: kept as protobuf-es keeps it. */
function unknown(m: { $unknown?: UnknownField[] | undefined }, t: number): void {
  const s = P;
  skip(t);
  (m.$unknown ??= []).push({ no: t >>> 3, wireType: t & 7, data: B.subarray(s, P) });
}
/** Inside a wrapper: any other field is unknown to protobuf-es too (dropped with the unboxing). */
function other(t: number, e: number): void {
  if (t >>> 3 === 1) throw malformed("wrapper value with wire type " + String(t & 7));
  skip(t);
  if (P > e) throw malformed("field overruns its message");
}
`;

/** The prelude without the helpers this file does not call (the build refuses unused locals). */
function prelude(bodies) {
  const chunks = PRELUDE.split(/\n(?=(?:\/\*\*[^\n]*\*\/\n)?function |let HI)/);
  const nameOf = (chunk) => /^(?:\/\*\*[^\n]*\*\/\n)?function (\w+)/.exec(chunk)?.[1];
  let kept = chunks;
  for (;;) {
    const text = kept.join("\n") + bodies;
    const next = kept.filter((c) => {
      const name = nameOf(c);
      if (name === undefined) return true;
      return new RegExp(`\\b${name}\\(`, "g").exec(text.replace(c, "")) !== null;
    });
    if (next.length === kept.length) return next.join("\n");
    kept = next;
  }
}

// ---------------------------------------------------------------------------------------------

const args = process.argv.slice(2);
let outDir = join(protoDir, "src", "gen-lazy");
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--out") outDir = resolve(args[++i] ?? fail("--out needs a directory"));
  else if (args[i] === "--help" || args[i] === "-h") {
    console.log("usage: gen-lazy.mjs [--out DIR]   (default proto/src/gen-lazy)");
    process.exit(0);
  } else fail(`unknown argument ${args[i]}`);
}

const config = JSON.parse(readFileSync(join(protoDir, "lazy.config.json"), "utf8"));
const registry = loadRegistry();
const selection = select(registry, config);
const files = new Map();
const used = new Set();
for (const [outName, root] of Object.entries(config.outputs)) {
  const order = reachable(selection, root);
  for (const t of order) used.add(t);
  files.set(outName, new Emitter(selection, order).emitFile(root, outName));
}
const unused = [...selection.keys()].filter((t) => !used.has(t));
if (unused.length > 0) fail(`lazy.config.json has entries no output reaches: ${unused.join(", ")}`);
mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) if (!files.has(name)) rmSync(join(outDir, name));
for (const [name, text] of files) writeFileSync(join(outDir, name), text);
console.log(`gen-lazy: ${files.size} readers, ${used.size} messages → ${outDir}`);
