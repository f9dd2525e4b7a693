/**
 * The admission check through a cluster: each pod or workload of the manifests is sent to the
 * API server as a server-side dry run (`dryRun=All`: admission runs, nothing is stored), and
 * what the chart's policies answered — a refusal (Deny) or warnings (Warn) — is read back into
 * violations by rule id (the policies' messages end each violation with `[rule]`). Whatever
 * else the API server says about an object (its namespace does not exist, a field is invalid)
 * is reported as that object's error.
 */
import type { KubeApi } from "../kube/kube.js";
import type { ObjectReport, Violation } from "./check.js";
import { parseSources, type Source } from "./check.js";
import { MESSAGE_SEPARATOR } from "./policy.js";
import { ADMISSION_RULES, POD_LOCATIONS } from "./rules.js";

const COLLECTION: Readonly<Record<string, string>> = {
  Pod: "/api/v1/namespaces/NS/pods",
  Deployment: "/apis/apps/v1/namespaces/NS/deployments",
  StatefulSet: "/apis/apps/v1/namespaces/NS/statefulsets",
  DaemonSet: "/apis/apps/v1/namespaces/NS/daemonsets",
  ReplicaSet: "/apis/apps/v1/namespaces/NS/replicasets",
  Job: "/apis/batch/v1/namespaces/NS/jobs",
  CronJob: "/apis/batch/v1/namespaces/NS/cronjobs",
};

/** Where the policies' own text starts in a refusal or a warning. */
const POLICY_TEXT =
  /ValidatingAdmissionPolicy '(hangar-mcp-[^']+)' with binding '([^']+)'(?: denied request)?: (.*?)"?$/s;

/** The violations a message of the chart's policies names, with the rule table's problem and fix. */
export function violationsOf(message: string): Violation[] | undefined {
  const m = POLICY_TEXT.exec(message);
  if (m === null) return undefined;
  const out: Violation[] = [];
  for (const part of (m[3] ?? "").split(MESSAGE_SEPARATOR)) {
    const v = /^(.*?): .* \[([a-z-]+)\]$/s.exec(part.trim());
    if (v === null) continue;
    const rule = ADMISSION_RULES.find((r) => r.id === v[2]);
    for (const path of (v[1] ?? "").split(", "))
      out.push({ rule: v[2] ?? "", path, problem: rule?.problem ?? "", fix: rule?.fix ?? "" });
  }
  return out;
}

export interface ServerReport extends ObjectReport {
  /** `refused` (Deny), `warned` (Warn), `admitted`; or `error` with the API server's message. */
  readonly answer: "refused" | "warned" | "admitted" | "error";
  readonly error?: string;
}

/** Sends each pod and workload of `sources` as a dry run; `namespace` for objects that name none. */
export async function dryRunSources(
  kube: KubeApi,
  sources: readonly Source[],
  namespace: string,
): Promise<ServerReport[]> {
  const out: ServerReport[] = [];
  for (const { where, obj } of parseSources(sources)) {
    const kind = obj["kind"] as string;
    const meta = (obj["metadata"] ?? {}) as { name?: unknown; namespace?: unknown };
    const name = typeof meta.name === "string" ? meta.name : "";
    const ns = typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : namespace;
    const base = { where, kind, namespace: ns, name };
    const collection = COLLECTION[kind];
    if (collection === undefined || POD_LOCATIONS[kind] === undefined) {
      out.push({
        ...base,
        skipped: "not a pod or a workload with a pod template",
        violations: [],
        answer: "admitted",
      });
      continue;
    }
    const res = await kube.send({
      method: "POST",
      path: collection.replace("NS", encodeURIComponent(ns)),
      query: { dryRun: "All", fieldManager: "hangar-ctl" },
      body: { ...obj, metadata: { ...(obj["metadata"] as object), namespace: ns } },
    });
    const message = (res.body as { message?: string } | undefined)?.message ?? "";
    if (res.status === 200 || res.status === 201) {
      const warned = (res.warnings ?? []).flatMap((w) => violationsOf(w) ?? []);
      out.push({ ...base, violations: warned, answer: warned.length > 0 ? "warned" : "admitted" });
      continue;
    }
    const refused = violationsOf(message);
    if (refused !== undefined) out.push({ ...base, violations: refused, answer: "refused" });
    else out.push({ ...base, violations: [], answer: "error", error: `HTTP ${res.status}: ${message}` });
  }
  return out;
}
