/**
 * bpf/tracingpolicies: every manifest is a valid TracingPolicy by the CRD's schema (the facts
 * in tracingpolicy-schema.ts), is restricted to MCP provider pods by podSelector, and hooks
 * what the agent's Tetragon normalizer turns into events.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { hookDetail } from "../src/normalize/tetragon.js";
import { PROVIDER_LABEL } from "@hangar/core";
import { TRACING_POLICY, validate } from "./tracingpolicy-schema.js";

const DIR = fileURLToPath(new URL("../../../bpf/tracingpolicies/", import.meta.url));

interface Policy {
  kind: string;
  metadata: { name: string };
  spec: {
    podSelector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    };
    kprobes?: { call: string; args?: { index: number; type: string }[] }[];
  };
}

function load(): { file: string; doc: unknown }[] {
  const out: { file: string; doc: unknown }[] = [];
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    for (const d of parseAllDocuments(readFileSync(DIR + file, "utf8"))) {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`);
      out.push({ file, doc: d.toJS() });
    }
  }
  return out;
}

describe("bpf/tracingpolicies", () => {
  const docs = load();

  it("holds the three policies the agent consumes", () => {
    assert.deepEqual(
      docs.map((d) => (d.doc as Policy).metadata.name),
      ["mcp-hangar-privileges", "mcp-hangar-sensitive-files", "mcp-hangar-tcp-connect"],
    );
  });

  for (const { file, doc } of docs) {
    it(`${file} is valid against the TracingPolicy CRD schema`, () => {
      assert.deepEqual(validate(doc, TRACING_POLICY), []);
    });

    it(`${file} applies only to pods with the ${PROVIDER_LABEL} label`, () => {
      const sel = (doc as Policy).spec.podSelector;
      assert.ok(sel !== undefined, "spec.podSelector is set");
      const byExpression = (sel.matchExpressions ?? []).some(
        (e) => e.key === PROVIDER_LABEL && (e.operator === "Exists" || e.operator === "In"),
      );
      const byLabel = sel.matchLabels?.[PROVIDER_LABEL] !== undefined;
      assert.ok(byExpression || byLabel, "selects on the provider label");
      assert.ok(
        !(sel.matchExpressions ?? []).some((e) => e.key === PROVIDER_LABEL && e.operator === "DoesNotExist"),
      );
    });

    it(`${file}: every hook maps to an event the agent understands`, () => {
      for (const k of (doc as Policy).spec.kprobes ?? []) {
        // Build the argument shapes Tetragon reports for the declared arg types.
        const args = (k.args ?? []).map((a) => {
          const arg = (c: string, value: unknown) => ({ arg: { case: c, value } }) as never;
          switch (a.type) {
            case "sock":
              return arg("sockArg", {
                family: "AF_INET",
                protocol: "IPPROTO_TCP",
                saddr: "",
                daddr: "",
                sport: 0,
                dport: 0,
                state: "",
                cookie: 0n,
              });
            case "file":
            case "path":
              return arg(a.type === "file" ? "fileArg" : "pathArg", {
                path: "/etc/shadow",
                flags: "",
                permission: "",
              });
            case "cred":
              return arg("processCredentialsArg", { uid: 0 });
            default:
              return arg("intArg", 0);
          }
        });
        const d = hookDetail(k.call, args);
        assert.ok(d !== undefined, `${k.call} yields no event in normalize/tetragon.ts`);
      }
    });
  }

  it("the validator catches what the API server would reject or silently drop", () => {
    const bad = {
      apiVersion: "cilium.io/v1alpha1",
      kind: "TracingPolicy",
      metadata: { name: "x" },
      spec: {
        podSelector: { matchExpressions: [{ key: PROVIDER_LABEL, operator: "Exist" }] },
        kprobes: [
          {
            args: [{ index: -1, type: "sockk" }],
            selectors: [{ matchArgs: [{ index: 0, operator: "StartsWith" }] }],
          },
        ],
        kprobe: [],
      },
    };
    assert.deepEqual(
      validate(bad, TRACING_POLICY).sort(),
      [
        "$.spec.kprobe: unknown field",
        '$.spec.kprobes[0]: missing required field "call"',
        "$.spec.kprobes[0].args[0].index: -1 < 0",
        '$.spec.kprobes[0].args[0].type: "sockk" is not one of ' +
          (
            TRACING_POLICY.properties?.spec?.properties?.kprobes?.items?.properties?.args?.items?.properties
              ?.type?.enum ?? []
          ).join(", "),
        '$.spec.kprobes[0].selectors[0].matchArgs[0].operator: "StartsWith" is not one of ' +
          (
            TRACING_POLICY.properties?.spec?.properties?.kprobes?.items?.properties?.selectors?.items
              ?.properties?.matchArgs?.items?.properties?.operator?.enum ?? []
          ).join(", "),
        '$.spec.podSelector.matchExpressions[0].operator: "Exist" is not one of In, NotIn, Exists, DoesNotExist',
      ].sort(),
    );
  });
});
