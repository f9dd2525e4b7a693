/**
 * The offline admission check: manifests (multi-document YAML or JSON, `List` kinds) against
 * the rule table of `rules.ts`, scoped as the chart's policies scope them (the provider label,
 * the exemption label, exempt namespaces, a namespace's `mcp-hangar.io/admission=off`), with
 * the requirements a namespace's labels or the chart's values turn on.
 */
import { parseAllDocuments } from "yaml";
import { ControllerError } from "../errors.js";
import {
  ADMISSION_LABELS,
  ADMISSION_RULES,
  CONTAINER_LISTS,
  POD_LOCATIONS,
  type AdmissionContext,
  type Container,
  type PodMeta,
  type PodSpec,
} from "./rules.js";

export interface Violation {
  readonly rule: string;
  /** The field to change, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  readonly path: string;
  readonly problem: string;
  readonly fix: string;
}

export interface ObjectReport {
  /** `FILE:doc N` (and ` item I` inside a List). */
  readonly where: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Why it was not checked; undefined when it was. */
  readonly skipped?: string;
  readonly violations: Violation[];
}

export interface CheckOptions {
  /** Cluster-wide (the chart's `admission.requireEgress`). */
  readonly requireEgress?: boolean;
  /** Cluster-wide (the chart's `admission.requireImageDigest`). */
  readonly requireImageDigest?: boolean;
  /** Never checked (the chart's `admission.exemptNamespaces`). Default `["kube-system"]`. */
  readonly exemptNamespaces?: readonly string[];
  /** The namespace of objects that name none. Default `default`. */
  readonly defaultNamespace?: string;
  /** Namespace labels besides those of `Namespace` objects among the inputs. */
  readonly namespaceLabels?: ReadonlyMap<string, Record<string, string>>;
}

export interface Source {
  /** A file name, or `-` for standard input. */
  readonly name: string;
  readonly text: string;
}

interface Doc {
  readonly where: string;
  readonly obj: Record<string, unknown>;
}

const inputError = (where: string, message: string): ControllerError =>
  new ControllerError("HANGAR_ERR_ADMISSION_INPUT", `${where}: ${message}`);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses every source into objects (List items flattened); throws `HANGAR_ERR_ADMISSION_INPUT` naming `file:doc N`. */
export function parseSources(sources: readonly Source[]): Doc[] {
  const out: Doc[] = [];
  for (const src of sources) {
    const file = src.name === "-" ? "<stdin>" : src.name;
    parseAllDocuments(src.text).forEach((d, i) => {
      const where = `${file}:doc ${i + 1}`;
      const err = d.errors[0];
      if (err !== undefined) {
        const line = err.linePos?.[0].line;
        throw inputError(
          where,
          `${line !== undefined ? `line ${line}: ` : ""}${(err.message.split("\n")[0] ?? "").replace(/[\s:]+$/, "")}`,
        );
      }
      const value: unknown = d.toJS();
      if (value === null || value === undefined) return; // an empty document
      if (!isObject(value)) throw inputError(where, "not an object (a Kubernetes manifest is a map)");
      const kind = value["kind"];
      if (typeof kind !== "string" || kind === "") throw inputError(where, 'no "kind"');
      if (kind.endsWith("List") && Array.isArray(value["items"])) {
        (value["items"] as unknown[]).forEach((item, j) => {
          const w = `${where} item ${j + 1}`;
          if (!isObject(item)) throw inputError(w, "not an object");
          if (typeof item["kind"] !== "string" || item["kind"] === "") throw inputError(w, 'no "kind"');
          out.push({ where: w, obj: item });
        });
        return;
      }
      out.push({ where, obj: value });
    });
  }
  return out;
}

/** The value at a dotted path, or undefined. */
function at(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const k of path.split(".")) {
    if (!isObject(v)) return undefined;
    v = v[k];
  }
  return v;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

/** The violations of one pod (spec and metadata) under `ctx`; paths start with `specPath` / `metaPath`. */
export function checkPod(
  spec: PodSpec,
  meta: PodMeta,
  ctx: AdmissionContext,
  paths: { spec: string; meta: string } = { spec: "spec", meta: "metadata" },
): Violation[] {
  const out: Violation[] = [];
  for (const rule of ADMISSION_RULES) {
    const v = (path: string): void => {
      out.push({ rule: rule.id, path, problem: rule.problem, fix: rule.fix });
    };
    switch (rule.scope) {
      case "container":
        for (const list of CONTAINER_LISTS)
          (spec[list] ?? []).forEach((c: Container, i) => {
            if (rule.violates(c, spec, ctx)) v(`${paths.spec}.${list}[${i}].${rule.field}`);
          });
        break;
      case "volume":
        (spec.volumes ?? []).forEach((vol, i) => {
          if (rule.violates(vol)) v(`${paths.spec}.volumes[${i}].${rule.field}`);
        });
        break;
      case "pod":
        if (rule.violates(spec, meta, ctx))
          v(`${rule.base === "spec" ? paths.spec : paths.meta}.${rule.field}`);
        break;
    }
  }
  return out;
}

/** Throws unless the pod spec's lists are lists of maps (as the API server would). */
function validateSpec(where: string, specPath: string, spec: Record<string, unknown>): void {
  for (const list of [...CONTAINER_LISTS, "volumes"]) {
    const v = spec[list];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v) || !v.every(isObject))
      throw inputError(where, `${specPath}.${list}: must be a list of objects`);
  }
  if (spec["securityContext"] !== undefined && !isObject(spec["securityContext"]))
    throw inputError(where, `${specPath}.securityContext: must be an object`);
}

/** Checks every object of `sources` as the chart's admission policies would. */
export function checkSources(sources: readonly Source[], opts: CheckOptions = {}): ObjectReport[] {
  const docs = parseSources(sources);
  const L = ADMISSION_LABELS;
  const nsLabels = new Map(opts.namespaceLabels ?? []);
  for (const { obj } of docs)
    if (obj["kind"] === "Namespace" && typeof at(obj, "metadata.name") === "string")
      nsLabels.set(at(obj, "metadata.name") as string, stringMap(at(obj, "metadata.labels")));
  const exempt = new Set(opts.exemptNamespaces ?? ["kube-system"]);
  const reports: ObjectReport[] = [];
  for (const { where, obj } of docs) {
    const kind = obj["kind"] as string;
    const name = typeof at(obj, "metadata.name") === "string" ? (at(obj, "metadata.name") as string) : "";
    const nsv = at(obj, "metadata.namespace");
    const namespace = typeof nsv === "string" && nsv !== "" ? nsv : (opts.defaultNamespace ?? "default");
    const base = { where, kind, namespace, name };
    const loc = POD_LOCATIONS[kind];
    if (loc === undefined) {
      reports.push({ ...base, skipped: "not a pod or a workload with a pod template", violations: [] });
      continue;
    }
    const spec = at(obj, loc.spec);
    if (!isObject(spec)) throw inputError(where, `${kind} ${name}: ${loc.spec} is missing or not an object`);
    validateSpec(where, loc.spec, spec);
    const meta = at(obj, loc.meta);
    const podMeta: PodMeta = {
      labels: stringMap(at(meta, "labels")),
      annotations: stringMap(at(meta, "annotations")),
    };
    const ownLabels = stringMap(at(obj, "metadata.labels"));
    const ns = nsLabels.get(namespace) ?? {};
    const skipped =
      podMeta.labels?.[L.provider] === undefined
        ? `no ${L.provider} label on ${loc.meta}`
        : ownLabels[L.exempt] === "true" || podMeta.labels[L.exempt] === "true"
          ? `exempt by the label ${L.exempt}=true`
          : exempt.has(namespace)
            ? `namespace ${namespace} is exempt`
            : ns[L.mode] === "off"
              ? `namespace ${namespace} has ${L.mode}=off`
              : undefined;
    if (skipped !== undefined) {
      reports.push({ ...base, skipped, violations: [] });
      continue;
    }
    const ctx: AdmissionContext = {
      requireEgress: opts.requireEgress === true || ns[L.requireEgress] === "true",
      requireImageDigest: opts.requireImageDigest === true || ns[L.requireImageDigest] === "true",
    };
    reports.push({
      ...base,
      violations: checkPod(spec, podMeta, ctx, { spec: loc.spec, meta: loc.meta }),
    });
  }
  return reports;
}
