/**
 * The fuzz targets: each draws inputs (mostly real inputs, mutated) and runs one edge of the
 * product on them. A target throws only for a crash: an exception that is not the edge's
 * documented way of refusing input, or an output that breaks the edge's contract (a CEF line
 * with a raw newline, a checked JSON-RPC body the proxy would misroute).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, fromBinary, fromJson, toBinary, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { HubbleNormalizer, parseLine, TetragonNormalizer, traceEvent } from "@hangar/agent";
import { checkBody, messageProblem, readEnvelope, ToolPolicy } from "@hangar/controller";
import { Counters, type RuntimeEvent } from "@hangar/core";
import { alertRecord, encodeCef, encodeJson, encodeLeef } from "@hangar/export";
import { hangar, hubbleLazy, observer, tetragon, tetragonLazy } from "@hangar/proto";
import { corpusPath } from "@hangar/testkit";
import { RULES_DIR, loadSemantic, type SemanticModule } from "../cases/detect-events.js";
import { editJson, jsonEdit, spliceBytes, spliceEdit, spliceText } from "./mutate.js";

export interface FuzzTarget<T = unknown> {
  readonly name: string;
  /** What is run and what counts as a crash. */
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs one input; throws only on a crash. */
  run(input: T): void;
}

/** A crash: thrown by a target when an edge broke its contract. */
export class FuzzCrash extends Error {
  override readonly name = "FuzzCrash";
}

/** Errors that mean a bug in our code, whatever the edge documents: a type error, a stack overflow. */
function isBug(err: unknown): boolean {
  return (
    !(err instanceof Error) ||
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof EvalError
  );
}

function crash(what: string, err: unknown): never {
  const e = new FuzzCrash(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  if (err instanceof Error) e.stack = `${e.message}\n${err.stack ?? ""}`;
  throw e;
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
}

const noisyText = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.constantFrom('"', "\\", "{", "}", "[", "]", ",", ":", "\u0000", "\n", "\ud800", "1e999", "null"),
);

// ── sensor JSON readers (replay) and normalizers ─────────────────────────────

function jsonReaderTarget(
  name: string,
  format: "tetragon" | "hubble" | "traces",
  files: string[],
): FuzzTarget<{
  base: number;
  edits: Parameters<typeof editJson>[1];
  splices: Parameters<typeof spliceText>[1];
}> {
  const bases = files.flatMap((f) => lines(corpusPath(f as never)));
  const parsed = bases.map((l) => JSON.parse(l) as unknown);
  const counters = new Counters();
  const tetra = new TetragonNormalizer(counters);
  const hubble = new HubbleNormalizer(counters);
  return {
    name,
    description: `parseLine("${format}") over mutated lines of ${files.join(", ")} (JSON edits, then text splices), then the normalizer on what parses; a crash is an exception other than parseLine's Error, or any exception from the normalizer`,
    arbitrary: fc.record({
      base: fc.nat({ max: parsed.length - 1 }),
      edits: fc.array(jsonEdit, { maxLength: 4 }),
      splices: fc.array(spliceEdit(noisyText), { maxLength: 2 }),
    }),
    run({ base, edits, splices }) {
      const text = spliceText(JSON.stringify(editJson(parsed[base], edits)) ?? "null", splices);
      let rec;
      try {
        rec = parseLine(format, text, counters);
      } catch (err) {
        if (isBug(err) || (err as Error).constructor !== Error) crash("parseLine", err);
        return;
      }
      try {
        if (rec.sensor === "tetragon") tetra.normalize(rec.msg);
        else if (rec.sensor === "hubble") hubble.normalize(rec.msg);
        else if (rec.sensor === "proxy") traceEvent(rec.trace);
      } catch (err) {
        crash(`normalize (${rec.sensor})`, err);
      }
    },
  };
}

// ── protobuf intake: mutated GetEventsResponse / GetFlowsResponse bytes ──────
function protobufTarget(): FuzzTarget<{ base: number; splices: Parameters<typeof spliceBytes>[1] }> {
  const counters = new Counters();
  const tetra = new TetragonNormalizer(counters);
  const hubble = new HubbleNormalizer(counters);
  const encoded: { sensor: "tetragon" | "hubble"; bytes: Uint8Array }[] = [];
  for (const l of lines(corpusPath("tetragon.jsonl"))) {
    try {
      const m = fromJson(tetragon.GetEventsResponseSchema, JSON.parse(l) as JsonValue, {
        ignoreUnknownFields: true,
      });
      encoded.push({ sensor: "tetragon", bytes: toBinary(tetragon.GetEventsResponseSchema, m) });
    } catch {
      // A corpus line the strict reader refuses (it tests the lenient path): not a base here.
    }
  }
  for (const l of lines(corpusPath("hubble.jsonl"))) {
    try {
      const m = fromJson(observer.GetFlowsResponseSchema, JSON.parse(l) as JsonValue, {
        ignoreUnknownFields: true,
      });
      encoded.push({ sensor: "hubble", bytes: toBinary(observer.GetFlowsResponseSchema, m) });
    } catch {
      // as above
    }
  }
  const byteText = fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("latin1"));
  return {
    name: "protobuf-intake",
    description: `fromBinary and the lazy readers the sources use (tetragonLazy/hubbleLazy), each + normalize, over ${encoded.length} encoded corpus messages (GetEventsResponse, GetFlowsResponse) with bytes inserted, deleted, replaced, duplicated, truncated; decode may refuse the bytes (any Error: the gRPC stream counts it), a crash is any exception from the normalizer`,
    arbitrary: fc.record({
      base: fc.nat({ max: encoded.length - 1 }),
      splices: fc.array(spliceEdit(byteText), { minLength: 1, maxLength: 4 }),
    }),
    run({ base, splices }) {
      const b = encoded[base];
      if (b === undefined) return;
      const bytes = spliceBytes(b.bytes, splices);
      // Both decoders: fromBinary (replay, tests) and the lazy reader (the gRPC sources).
      const attempt = <M>(
        decoder: string,
        decode: () => M,
        normalizer: string,
        normalize: (m: M) => unknown,
      ): void => {
        let msg: M;
        try {
          msg = decode();
        } catch (err) {
          if (!(err instanceof Error)) crash(decoder, err);
          return;
        }
        try {
          normalize(msg);
        } catch (err) {
          crash(normalizer, err);
        }
      };
      if (b.sensor === "tetragon") {
        attempt(
          "fromBinary",
          () => fromBinary(tetragon.GetEventsResponseSchema, bytes),
          "TetragonNormalizer.normalize",
          (m) => tetra.normalize(m),
        );
        attempt(
          "decodeGetEventsResponse",
          () => tetragonLazy.decodeGetEventsResponse(bytes),
          "TetragonNormalizer.normalize (lazy)",
          (m) => tetra.normalize(m),
        );
      } else {
        attempt(
          "fromBinary",
          () => fromBinary(observer.GetFlowsResponseSchema, bytes),
          "HubbleNormalizer.normalize",
          (m) => hubble.normalize(m),
        );
        attempt(
          "decodeGetFlowsResponse",
          () => hubbleLazy.decodeGetFlowsResponse(bytes),
          "HubbleNormalizer.normalize (lazy)",
          (m) => hubble.normalize(m),
        );
      }
    },
  };
}

// ── rule parser and compiler ─────────────────────────────────────────────────
const VOCAB = [
  "rule",
  "list",
  "macro",
  "patch",
  "requires",
  "engine",
  "event",
  "sequence",
  "count",
  "by",
  "maxspan",
  "within",
  "over",
  "where",
  "and",
  "or",
  "not",
  "in",
  "contains",
  "startswith",
  "endswith",
  "glob",
  "regex",
  "cidr",
  "icontains",
  "exists",
  "baseline",
  "description",
  "severity",
  "mitre",
  "maturity",
  "test",
  "at",
  "expect",
  "match",
  "no",
  "message",
  "except",
  "action",
  "alert",
  "block_egress",
  "cooldown",
  "version",
  "enabled",
  "disabled",
  "true",
  "false",
  "exec",
  "connect",
  "dns",
  "file",
  "tool_call",
  "exit",
  "flow",
  "process.binary",
  "process.arguments",
  "destination.ip",
  "destination.port",
  "dns.query",
  "file.path",
  "tool.name",
  "tool.args",
  "tool.arg_values",
  "session.id",
  "pod.name",
  "parent.binary",
  "a.process.exec_id",
  "len",
  "lower",
  "entropy",
  "basename",
  "egress",
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ",",
  ":",
  "=",
  "!=",
  "<",
  ">=",
  '"x"',
  "'(a|b)*c'",
  "'\\1'",
  '"10.0.0.0/8"',
  "30s",
  "0s",
  "5m",
  "1",
  "-1",
  "3.5",
  "@shells",
  "T1059",
  "high",
  "stable",
  "m",
  "a",
  "b",
  "\n",
  "#c\n",
];

function ruleTarget(mod: SemanticModule): FuzzTarget<{ text: string }> {
  const files = ["stable.rules", "incubating.rules", "sandbox.rules", "common.rules"];
  const items: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(RULES_DIR, f), "utf8");
    // Items start at a keyword in column 1; good enough to cut pieces to mutate.
    for (const piece of text.split(/\n(?=(?:rule|list|macro|patch|requires) )/)) items.push(piece);
  }
  const mutated = fc
    .record({
      base: fc.nat({ max: items.length - 1 }),
      splices: fc.array(
        spliceEdit(
          fc.oneof(
            noisyText,
            fc.constantFrom(...VOCAB).map((w) => ` ${w} `),
          ),
        ),
        {
          maxLength: 4,
        },
      ),
    })
    .map(({ base, splices }) => spliceText(items[base] ?? "", splices));
  const soup = fc.array(fc.constantFrom(...VOCAB), { maxLength: 40 }).map((ws) => ws.join(" "));
  const shaped = fc
    .tuple(
      fc.constantFrom("exec", "connect", "dns", "file", "tool_call"),
      fc.array(fc.constantFrom(...VOCAB), { maxLength: 12 }),
    )
    .map(
      ([kind, ws]) =>
        `rule f.r { description "d" severity high mitre T1059 maturity stable\n event ${kind} where ${ws.join(" ")}\n}`,
    );
  const events = ["exec", "connect", "dns", "file", "tool_call"].map((k, i) =>
    mod.testEvent(k, 1000 + i, i, new Map()),
  );
  return {
    name: "rules",
    description:
      "compileSources (lexer, nearley parser, type checker, compiler) over mutated items of the shipped packs, token soup, and shaped conditions; rules that compile run on one event of each kind; a crash is any exception (errors are diagnostics)",
    arbitrary: fc.oneof(mutated, soup, shaped).map((text) => ({ text })),
    run({ text }) {
      let r;
      try {
        r = mod.compileSources(new Map([["fuzz.rules", text]]));
      } catch (err) {
        crash("compileSources", err);
      }
      if (!r.ok || r.rules.length === 0) return;
      try {
        const det = new mod.HangarDetector({ rules: r.rules, latenessMs: 0 });
        for (const ev of events) det.process(ev);
        det.flush();
      } catch (err) {
        crash("detector on compiled rules", err);
      }
    },
  };
}

// ── CEF / LEEF / JSON encoders ───────────────────────────────────────────────
const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "|",
    "\\",
    "=",
    "\n",
    "\r\n",
    "\t",
    "\u0000",
    "\u001b]0;x\u0007",
    "\u2028",
    "\ud800",
    "a|b=c\\",
    "x".repeat(5000),
  ),
);

function alertOf(s: string[]): hangar.Alert {
  const [a = "", b = "", c = "", d = "", e = "", f = "", g = "", h = ""] = s;
  return create(hangar.AlertSchema, {
    id: a,
    ruleId: b,
    message: c,
    explanation: d,
    provider: e,
    node: f,
    mitre: [g, h],
    severity: hangar.Severity.HIGH,
    score: 7.5,
    time: timestampFromMs(1_700_000_000_000),
    toolCalls: [{ tool: c, sessionId: d, traceId: e, caller: { subject: f } }],
    evidence: [
      {
        process: { binary: g, pid: 42 },
        detail: {
          case: "connect",
          value: { sourceIp: h, destinationIp: a, sourcePort: 1, destinationPort: 443, protocol: b },
        },
      },
    ],
  });
}

/** The 7 header fields of a CEF line (split at unescaped pipes) and the extension. */
function cefParts(line: string): { header: string[]; ext: string } {
  const header: string[] = [];
  let cur = "";
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (header.length === 7) return { header, ext: line.slice(i) };
    if (ch === "\\") {
      cur += line.slice(i, i + 2);
      i++;
    } else if (ch === "|") {
      header.push(cur);
      cur = "";
    } else cur += ch;
  }
  return { header, ext: "" };
}

function encoderTarget(): FuzzTarget<{ fields: string[]; maxBytes: number | undefined }> {
  return {
    name: "siem-encoders",
    description:
      "alertRecord + encodeCef, encodeLeef, encodeJson over alerts with hostile strings (pipes, backslashes, =, CR/LF, tabs, control and escape characters, lone surrogates, 5,000 characters); a crash is an exception, a raw CR/LF, a CEF line without exactly 7 header fields or with an unescaped = outside a key, a LEEF attribute that is not key=value, or JSON that does not parse",
    arbitrary: fc.record({
      fields: fc.array(hostile, { minLength: 8, maxLength: 8 }),
      maxBytes: fc.option(fc.integer({ min: 64, max: 4096 }), { nil: undefined }),
    }),
    run({ fields, maxBytes }) {
      let cef: string;
      let leef: string;
      let json: string;
      try {
        const rec = alertRecord(alertOf(fields));
        const opts = maxBytes === undefined ? {} : { maxBytes };
        cef = encodeCef(rec, opts);
        leef = encodeLeef(rec, opts);
        json = encodeJson(rec);
      } catch (err) {
        crash("encode", err);
      }
      for (const [what, line] of [
        ["CEF", cef],
        ["LEEF", leef],
        ["JSON", json],
      ] as const)
        if (/[\r\n]/.test(line))
          throw new FuzzCrash(`${what} line holds a raw CR or LF: ${JSON.stringify(line.slice(0, 200))}`);
      const { header, ext } = cefParts(cef);
      if (header.length !== 7 || header[0] !== "CEF:0" || header[1] !== "MCP Hangar")
        throw new FuzzCrash(`CEF header is not 7 fields: ${JSON.stringify(cef.slice(0, 300))}`);
      // Every unescaped `=` in the extension ends a key: alphanumeric, after a space or at the start.
      for (let i = 0; i < ext.length; i++) {
        if (ext[i] === "\\") {
          i++;
          continue;
        }
        if (ext[i] === "=" && !/(^| )[A-Za-z0-9]+$/.test(ext.slice(0, i)))
          throw new FuzzCrash(
            `CEF extension has an unescaped = in a value at ${i}: ${JSON.stringify(ext.slice(0, 300))}`,
          );
      }
      // LEEF 2.0: six header fields (no pipe in them: the encoder replaces it), then attributes
      // separated by tabs; a value may hold a pipe.
      const leefParts = leef.split("|");
      const leefAttrs = leefParts.slice(6).join("|");
      if (leefParts[0] !== "LEEF:2.0" || leefParts.length < 7 || leefParts[1] !== "MCP Hangar")
        throw new FuzzCrash(
          `LEEF header is not 6 fields then attributes: ${JSON.stringify(leef.slice(0, 300))}`,
        );
      for (const attr of leefAttrs.split("\t"))
        if (attr !== "" && !/^[A-Za-z0-9]+=/.test(attr))
          throw new FuzzCrash(`LEEF attribute is not key=value: ${JSON.stringify(attr.slice(0, 200))}`);
      try {
        JSON.parse(json);
      } catch (err) {
        crash("encodeJson output", err);
      }
    },
  };
}

// ── the proxy's JSON-RPC edge ────────────────────────────────────────────────
const RPC_TEMPLATES: unknown[] = [
  {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "c", version: "1" } },
  },
  {
    jsonrpc: "2.0",
    id: "a",
    method: "tools/call",
    params: { name: "run_report", arguments: { report: "x" } },
  },
  { jsonrpc: "2.0", method: "notifications/initialized" },
  { jsonrpc: "2.0", id: 3, result: { content: [{ type: "text", text: "ok" }], isError: false } },
  { jsonrpc: "2.0", id: 4, error: { code: -32601, message: "nope" } },
  [
    { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "a" } },
    { jsonrpc: "2.0", id: 2, method: "tools/list" },
  ],
];

function proxyTarget(): FuzzTarget<{
  base: number;
  edits: Parameters<typeof editJson>[1];
  splices: Parameters<typeof spliceText>[1];
  tool: string;
}> {
  const policy = new ToolPolicy({
    mode: "enforce",
    deny: ["run_*", "/^exec$/"],
    allow: ["get_*", "run_*", "exec"],
  });
  return {
    name: "proxy-jsonrpc",
    description:
      "checkBody over mutated JSON-RPC messages and batches, readEnvelope (the large-message reader) over the same text, ToolPolicy.decide over hostile names; a crash is an exception from checkBody or decide, readEnvelope throwing other than SyntaxError, a body checkBody accepts holding a message messageProblem refuses, or readEnvelope reading another jsonrpc, id or method than JSON.parse",
    arbitrary: fc.record({
      base: fc.nat({ max: RPC_TEMPLATES.length - 1 }),
      edits: fc.array(jsonEdit, { maxLength: 3 }),
      splices: fc.array(spliceEdit(noisyText), { maxLength: 1 }),
      tool: hostile,
    }),
    run({ base, edits, splices, tool }) {
      const spliced = spliceText(JSON.stringify(editJson(RPC_TEMPLATES[base], edits)) ?? "null", splices);
      // What arrives is bytes: a lone surrogate in the text is U+FFFD on the wire, for both readers.
      const bytes = Buffer.from(spliced);
      const text = bytes.toString("utf8");
      let body: unknown;
      let parsed = true;
      try {
        body = JSON.parse(text);
      } catch {
        parsed = false;
      }
      if (parsed) {
        let r;
        try {
          r = checkBody(body);
        } catch (err) {
          crash("checkBody", err);
        }
        if (r.ok && r.batch) {
          const ids = r.messages
            .filter((m) => "method" in m && "id" in m)
            .map((m) => `${typeof (m as { id: unknown }).id}:${String((m as { id: unknown }).id)}`);
          if (new Set(ids).size !== ids.length)
            throw new FuzzCrash(
              `checkBody accepted a batch with a repeated request id: ${text.slice(0, 300)}`,
            );
        }
        if (r.ok)
          for (const m of r.messages)
            if (messageProblem(m, "") !== undefined)
              throw new FuzzCrash(
                `checkBody accepted a message messageProblem refuses: ${text.slice(0, 300)}`,
              );
      }
      let env: object | undefined;
      try {
        env = readEnvelope(bytes);
      } catch (err) {
        if (!(err instanceof SyntaxError)) crash("readEnvelope", err);
      }
      if (parsed && env !== undefined && typeof body === "object" && body !== null && !Array.isArray(body)) {
        const b = body as Record<string, unknown>;
        const e = env as Record<string, unknown>;
        for (const k of ["jsonrpc", "id", "method"])
          if (JSON.stringify(e[k]) !== JSON.stringify(b[k]))
            throw new FuzzCrash(
              `readEnvelope read ${k}=${JSON.stringify(e[k])}, JSON.parse ${JSON.stringify(b[k])}: ${text.slice(0, 300)}`,
            );
      }
      try {
        policy.decide(tool);
      } catch (err) {
        crash("ToolPolicy.decide", err);
      }
    },
  };
}

/** Every target, built once (corpus read, packs cut, rule engine loaded). */
export async function fuzzTargets(): Promise<FuzzTarget<never>[]> {
  const mod = await loadSemantic();
  const all: FuzzTarget<never>[] = [
    jsonReaderTarget("tetragon-json", "tetragon", [
      "tetragon.jsonl",
      "tetragon-enterprise.jsonl",
    ]) as FuzzTarget<never>,
    jsonReaderTarget("hubble-json", "hubble", ["hubble.jsonl", "hubble-bare.jsonl"]) as FuzzTarget<never>,
    jsonReaderTarget("traces-json", "traces", ["traces.jsonl"]) as FuzzTarget<never>,
    protobufTarget() as FuzzTarget<never>,
    ruleTarget(mod) as FuzzTarget<never>,
    encoderTarget() as FuzzTarget<never>,
    proxyTarget() as FuzzTarget<never>,
  ];
  return all;
}

export type { RuntimeEvent };
