/**
 * The ValidatingAdmissionPolicy parts generated from the rule table (`rules.ts`): one policy
 * per place a kind keeps its pod (bare pods, `spec.template` workloads, CronJobs), each with
 * its match conditions, variables and one validation per rule. The chart reads them from
 * `helm/hangar-agent/files/admission/policies.yaml` (written by
 * `node scripts/gen-admission-policy.mjs`; a test fails when the file is not current) and
 * adds names, the failure policy, the cluster-wide requirements and the bindings.
 */
import { stringify } from "yaml";
import { ADMISSION_LABELS, ADMISSION_RULES, CONTAINER_LISTS, type AdmissionRule } from "./rules.js";

export interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
}

export interface PolicyPart {
  /** Suffix of the policy's name: `pods`, `workloads`, `cronjobs`. */
  name: string;
  matchConstraints: { resourceRules: ResourceRule[] };
  matchConditions: { name: string; expression: string }[];
  /** After the chart's own `clusterRequireEgress` and `clusterRequireImageDigest`. */
  variables: { name: string; expression: string }[];
  validations: { expression: string; messageExpression: string; message: string; reason: string }[];
}

interface Target {
  name: string;
  rules: ResourceRule[];
  /** CEL: the pod's metadata as an optional. */
  metaOpt: string;
  /** CEL: the pod spec. */
  spec: string;
  metaPath: string;
  specPath: string;
  /** CEL: on UPDATE, whether the pod template changed (workloads only). */
  templateChanged?: string;
}

const TARGETS: readonly Target[] = [
  {
    name: "pods",
    rules: [
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
      // `kubectl debug` adds ephemeral containers through this subresource.
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        operations: ["UPDATE"],
        resources: ["pods/ephemeralcontainers"],
      },
    ],
    metaOpt: "optional.of(object.metadata)",
    spec: "object.spec",
    metaPath: "metadata",
    specPath: "spec",
  },
  {
    name: "workloads",
    rules: [
      {
        apiGroups: ["apps"],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE"],
        resources: ["deployments", "statefulsets", "daemonsets", "replicasets"],
      },
      { apiGroups: ["batch"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["jobs"] },
    ],
    metaOpt: "object.spec.template.?metadata",
    spec: "object.spec.template.spec",
    metaPath: "spec.template.metadata",
    specPath: "spec.template.spec",
    templateChanged: "oldObject.spec.template != object.spec.template",
  },
  {
    name: "cronjobs",
    rules: [
      {
        apiGroups: ["batch"],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE"],
        resources: ["cronjobs"],
      },
    ],
    metaOpt: "object.spec.jobTemplate.?spec.?template.?metadata",
    spec: "object.spec.jobTemplate.spec.template.spec",
    metaPath: "spec.jobTemplate.spec.template.metadata",
    specPath: "spec.jobTemplate.spec.template.spec",
    templateChanged: "oldObject.spec.jobTemplate != object.spec.jobTemplate",
  },
];

/** A CEL string literal. */
export function celString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** One violation in words: what is wrong, the fix, the rule id (the API-server test reads the id back). */
export function messageTail(rule: AdmissionRule): string {
  return `: ${rule.problem}, ${rule.fix} [${rule.id}]`;
}

/** Between the violations of different rules in one message. */
export const MESSAGE_SEPARATOR = "; ";

/** CEL of one rule: whether the pod violates it, and the list of paths that do. */
function ruleCel(rule: AdmissionRule): { bad: string; paths: string } {
  switch (rule.scope) {
    case "container":
      return {
        bad: CONTAINER_LISTS.map((l) => `variables.${l}.exists(c, ${rule.cel})`).join(" || "),
        paths: CONTAINER_LISTS.map(
          (l) =>
            `variables.${l}.filter(c, ${rule.cel}).map(c, variables.specPath + ${celString(`.${l}[`)} + ` +
            `string(variables.${l}Names.indexOf(c.name)) + ${celString(`].${rule.field}`)})`,
        ).join(" + "),
      };
    case "volume":
      return {
        bad: `variables.volumes.exists(v, ${rule.cel})`,
        paths:
          `variables.volumes.filter(v, ${rule.cel}).map(v, variables.specPath + '.volumes[' + ` +
          `string(variables.volumeNames.indexOf(v.name)) + ${celString(`].${rule.field}`)})`,
      };
    case "pod":
      return {
        bad: rule.cel,
        paths: `[variables.${rule.base === "spec" ? "specPath" : "metaPath"} + ${celString(`.${rule.field}`)}]`,
      };
  }
}

/**
 * One validation for all rules, so that a refusal (Deny stops at the first failed validation)
 * and a warning name every violation at once: `<paths>: <problem>, <fix> [<rule>]; …`.
 */
function validations(): PolicyPart["validations"] {
  const rules = ADMISSION_RULES.map(ruleCel);
  return [
    {
      expression: rules.map((r) => `!(${r.bad})`).join(" && "),
      messageExpression:
        "(" +
        ADMISSION_RULES.map(
          (rule, i) =>
            `((${rules[i]!.bad}) ? [(${rules[i]!.paths}).join(', ') + ${celString(messageTail(rule))}] : [])`,
        ).join(" + ") +
        `).join(${celString(MESSAGE_SEPARATOR)})`,
      message:
        "an MCP provider pod breaks the hangar admission rules; `hangar-ctl admission check -f FILE` lists each field to change",
      reason: "Forbidden",
    },
  ];
}

function part(t: Target): PolicyPart {
  const L = ADMISSION_LABELS;
  const label = (meta: string, key: string): string => `${meta}.?labels[?${celString(key)}]`;
  const matchConditions = [
    { name: "mcp-provider", expression: `${label(t.metaOpt, L.provider)}.hasValue()` },
    {
      name: "not-exempt",
      expression:
        `${label("object.metadata", L.exempt)}.orValue('') != 'true' && ` +
        `${label(t.metaOpt, L.exempt)}.orValue('') != 'true'`,
    },
    ...(t.templateChanged !== undefined
      ? [{ name: "template-changed", expression: `request.operation != 'UPDATE' || ${t.templateChanged}` }]
      : []),
  ];
  const nsLabel = (key: string): string =>
    `namespaceObject.metadata.?labels[?${celString(key)}].orValue('') == 'true'`;
  const variables = [
    { name: "spec", expression: t.spec },
    { name: "annotations", expression: `${t.metaOpt}.?annotations.orValue({})` },
    { name: "specPath", expression: celString(t.specPath) },
    { name: "metaPath", expression: celString(t.metaPath) },
    ...CONTAINER_LISTS.flatMap((l) => [
      { name: l, expression: `variables.spec.?${l}.orValue([])` },
      { name: `${l}Names`, expression: `variables.${l}.map(c, c.name)` },
    ]),
    { name: "volumes", expression: "variables.spec.?volumes.orValue([])" },
    { name: "volumeNames", expression: "variables.volumes.map(v, v.name)" },
    {
      name: "requireEgress",
      expression: `variables.clusterRequireEgress || ${nsLabel(L.requireEgress)}`,
    },
    {
      name: "requireImageDigest",
      expression: `variables.clusterRequireImageDigest || ${nsLabel(L.requireImageDigest)}`,
    },
  ];
  return {
    name: t.name,
    matchConstraints: { resourceRules: t.rules },
    matchConditions,
    variables,
    validations: validations(),
  };
}

/** Every policy part, generated from the rule table. */
export function policyParts(): PolicyPart[] {
  return TARGETS.map(part);
}

/** The chart file `files/admission/policies.yaml`, as `scripts/gen-admission-policy.mjs` writes it. */
export function chartFile(): string {
  return (
    "# Generated by `node scripts/gen-admission-policy.mjs` from controller/src/admission/rules.ts.\n" +
    "# Do not edit: change the rule table and run the script (a test fails when this is not current).\n" +
    stringify({ policies: policyParts() }, { lineWidth: 0 })
  );
}
