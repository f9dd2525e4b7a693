/**
 * Running the real `helm` against the chart, and talking to a real API server about what it
 * rendered: server-side dry-run of each manifest (strict field validation), and listing
 * everything that carries a release's label.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { apiRequest, helmTemplate, type ControlPlane, type CustomResourceDefinition } from "@hangar/testkit";
import { parseAllDocuments } from "yaml";

export { runHelm, skipUnlessHelm } from "@hangar/testkit";

export const CHART = fileURLToPath(new URL("../../hangar-agent", import.meta.url));
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

/** `helm template` of the chart with `--set`/`--api-versions` flags, parsed. */
export async function template(
  opts: {
    release?: string;
    namespace?: string;
    set?: readonly string[];
    apiVersions?: readonly string[];
  } = {},
): Promise<Manifest[]> {
  return parseManifests(await helmTemplate({ chart: CHART, ...opts }));
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      assert.deepEqual(d.errors, [], "helm rendered invalid YAML");
      return d.toJS() as Manifest | null;
    })
    .filter((d): d is Manifest => d !== null);
}

export function find(docs: readonly Manifest[], kind: string, name?: string): Manifest | undefined {
  return docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
}

export function mustFind(docs: readonly Manifest[], kind: string, name?: string): Manifest {
  const d = find(docs, kind, name);
  assert.ok(d !== undefined, `no ${kind}${name !== undefined ? ` ${name}` : ""} rendered`);
  return d;
}

type ApiTarget = Pick<ControlPlane, "server" | "caData" | "token">;

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

/** Discovery of one group/version (`v1`, `apps/v1`), cached per control plane. */
const discovery = new WeakMap<object, Map<string, ApiResource[]>>();
export async function resources(cp: ApiTarget, groupVersion: string): Promise<ApiResource[]> {
  let cache = discovery.get(cp);
  if (cache === undefined) discovery.set(cp, (cache = new Map<string, ApiResource[]>()));
  const hit = cache.get(groupVersion);
  if (hit !== undefined) return hit;
  const r = await apiRequest(cp, "GET", groupVersion === "v1" ? "/api/v1" : `/apis/${groupVersion}`);
  assert.equal(r.status, 200, `discovery of ${groupVersion}: HTTP ${r.status} (is its CRD installed?)`);
  const list = (r.body as { resources: ApiResource[] }).resources.filter((x) => !x.name.includes("/"));
  cache.set(groupVersion, list);
  return list;
}

/** The collection URL of a manifest's kind, from discovery. */
export async function collectionPath(cp: ApiTarget, m: Manifest, defaultNamespace: string): Promise<string> {
  const res = (await resources(cp, m.apiVersion)).find((x) => x.kind === m.kind);
  assert.ok(res !== undefined, `${m.apiVersion} ${m.kind} is not served by the API server`);
  const base = m.apiVersion === "v1" ? "/api/v1" : `/apis/${m.apiVersion}`;
  return res.namespaced
    ? `${base}/namespaces/${m.metadata.namespace ?? defaultNamespace}/${res.name}`
    : `${base}/${res.name}`;
}

/**
 * Server-side dry-run of every manifest: admission, defaulting, validation and strict field
 * validation (an unknown or duplicated field is an error), nothing stored. Returns the
 * failures as `Kind/name: message` lines.
 */
export async function dryRun(cp: ApiTarget, docs: readonly Manifest[], namespace: string): Promise<string[]> {
  const failures: string[] = [];
  for (const m of docs) {
    const path = await collectionPath(cp, m, namespace);
    const r = await apiRequest(
      cp,
      "POST",
      `${path}?dryRun=All&fieldManager=hangar-helm-test&fieldValidation=Strict`,
      {
        body: m,
      },
    );
    if (r.status !== 201 && r.status !== 200)
      failures.push(
        `${m.kind}/${m.metadata.name}: HTTP ${r.status} ${(r.body as { message?: string })?.message ?? JSON.stringify(r.body)}`,
      );
  }
  return failures;
}

export async function ensureNamespace(
  cp: ApiTarget,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const r = await apiRequest(cp, "POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
  });
  assert.ok(r.status === 201 || r.status === 409, JSON.stringify(r.body));
}

/**
 * Every object of every listable kind (namespaced ones across all namespaces, and
 * cluster-scoped ones) that carries `app.kubernetes.io/instance=<release>`, as
 * `Kind namespace/name` lines.
 */
export async function releaseObjects(cp: ApiTarget, release: string): Promise<string[]> {
  const groups: string[] = ["v1"];
  const apis = await apiRequest(cp, "GET", "/apis");
  for (const g of (apis.body as { groups: { preferredVersion: { groupVersion: string } }[] }).groups)
    groups.push(g.preferredVersion.groupVersion);
  const out: string[] = [];
  const selector = encodeURIComponent(`app.kubernetes.io/instance=${release}`);
  for (const gv of groups) {
    const base = gv === "v1" ? "/api/v1" : `/apis/${gv}`;
    const r = await apiRequest(cp, "GET", base);
    if (r.status !== 200) continue;
    for (const res of (r.body as { resources: ApiResource[] }).resources) {
      if (res.name.includes("/") || !res.verbs.includes("list")) continue;
      const l = await apiRequest(cp, "GET", `${base}/${res.name}?labelSelector=${selector}`);
      if (l.status !== 200) continue;
      for (const item of (l.body as { items: { metadata: { name: string; namespace?: string } }[] }).items)
        out.push(`${res.kind} ${item.metadata.namespace ?? ""}/${item.metadata.name}`);
    }
  }
  return out.sort();
}

/** A minimal TracingPolicy CRD (cilium.io/v1alpha1, cluster-scoped), written here from
 * Tetragon's documented API facts: spec with kprobes/tracepoints lists and a podSelector. */
export function tracingPolicyCrd(): CustomResourceDefinition {
  const list = { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "tracingpolicies.cilium.io" },
    spec: {
      group: "cilium.io",
      scope: "Cluster",
      names: {
        kind: "TracingPolicy",
        listKind: "TracingPolicyList",
        plural: "tracingpolicies",
        singular: "tracingpolicy",
      },
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              required: ["spec"],
              properties: {
                spec: {
                  type: "object",
                  properties: {
                    kprobes: list,
                    tracepoints: list,
                    uprobes: list,
                    lsmhooks: list,
                    podSelector: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                    containerSelector: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                    options: list,
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** A minimal cert-manager Certificate CRD (cert-manager.io/v1), written here from
 * cert-manager's documented API facts: spec.secretName and spec.issuerRef.name required. */
export function certificateCrd(): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "certificates.cert-manager.io" },
    spec: {
      group: "cert-manager.io",
      scope: "Namespaced",
      names: {
        kind: "Certificate",
        listKind: "CertificateList",
        plural: "certificates",
        singular: "certificate",
      },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              required: ["spec"],
              properties: {
                spec: {
                  type: "object",
                  required: ["secretName", "issuerRef"],
                  properties: {
                    secretName: { type: "string" },
                    secretTemplate: {
                      type: "object",
                      properties: {
                        labels: { type: "object", additionalProperties: { type: "string" } },
                        annotations: { type: "object", additionalProperties: { type: "string" } },
                      },
                    },
                    commonName: { type: "string" },
                    dnsNames: { type: "array", items: { type: "string" } },
                    duration: { type: "string" },
                    renewBefore: { type: "string" },
                    usages: { type: "array", items: { type: "string" } },
                    privateKey: {
                      type: "object",
                      properties: {
                        algorithm: { type: "string", enum: ["RSA", "ECDSA", "Ed25519"] },
                        size: { type: "integer" },
                        rotationPolicy: { type: "string", enum: ["Never", "Always"] },
                        encoding: { type: "string" },
                      },
                    },
                    issuerRef: {
                      type: "object",
                      required: ["name"],
                      properties: {
                        name: { type: "string" },
                        kind: { type: "string" },
                        group: { type: "string" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
}
