/**
 * Small helpers over a running control plane: a JSON request as admin (or as
 * someone else through impersonation), installing a CustomResourceDefinition
 * and waiting until it is served, and the CiliumNetworkPolicy CRD for tests of
 * code that writes Cilium policies on a control plane without Cilium; a namespace and a
 * provider's pod (stored, never run) for tests that need them to exist.
 */
import { request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import type { ControlPlane } from "./control-plane.js";
import { TestkitError } from "./errors.js";

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ApiRequestOptions {
  body?: unknown;
  contentType?: string;
  /** Act as this user (`Impersonate-User`), e.g. `system:serviceaccount:ns:name`. */
  asUser?: string;
  /** With `asUser`: `Impersonate-Group` values. */
  asGroups?: readonly string[];
  /** Bearer token instead of the admin token. */
  token?: string;
}

/** One request to the control plane's API server; resolves with any status. */
export function apiRequest(
  cp: Pick<ControlPlane, "server" | "caData" | "token">,
  method: string,
  path: string,
  opts: ApiRequestOptions = {},
): Promise<ApiResponse> {
  const url = new URL(path, cp.server);
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string | string[]> = {
    accept: "application/json",
    authorization: `Bearer ${opts.token ?? cp.token}`,
  };
  if (payload !== undefined) headers["content-type"] = opts.contentType ?? "application/json";
  if (opts.asUser !== undefined) headers["impersonate-user"] = opts.asUser;
  if (opts.asGroups !== undefined && opts.asGroups.length > 0)
    headers["impersonate-group"] = [...opts.asGroups];
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: Buffer.from(cp.caData, "base64") }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          // keep text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Creates `crd` (a CustomResourceDefinition object) and waits until discovery serves it. */
export async function installCrd(
  cp: Pick<ControlPlane, "server" | "caData" | "token">,
  crd: CustomResourceDefinition,
  timeoutMs = 30_000,
): Promise<void> {
  const res = await apiRequest(cp, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
    body: crd,
  });
  if (res.status !== 201 && res.status !== 409)
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `installing CRD ${crd.metadata.name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`,
    );
  const version = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await apiRequest(cp, "GET", `/apis/${crd.spec.group}/${version}`);
    const served =
      d.status === 200 &&
      ((d.body as { resources?: { name: string }[] }).resources ?? []).some(
        (r) => r.name === crd.spec.names.plural,
      );
    if (served) return;
    if (Date.now() > deadline)
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
        `CRD ${crd.metadata.name} not served after ${timeoutMs} ms`,
      );
    await sleep(50);
  }
}

/** Deletes a CRD and waits until discovery no longer serves it. */
export async function uninstallCrd(
  cp: Pick<ControlPlane, "server" | "caData" | "token">,
  crd: CustomResourceDefinition,
  timeoutMs = 30_000,
): Promise<void> {
  await apiRequest(
    cp,
    "DELETE",
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
  );
  const version = crd.spec.versions.find((v) => v.storage)?.name ?? crd.spec.versions[0]?.name;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await apiRequest(cp, "GET", `/apis/${crd.spec.group}/${version}`);
    const served =
      d.status === 200 &&
      ((d.body as { resources?: { name: string }[] }).resources ?? []).some(
        (r) => r.name === crd.spec.names.plural,
      );
    if (!served) return;
    if (Date.now() > deadline)
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
        `CRD ${crd.metadata.name} still served after ${timeoutMs} ms`,
      );
    await sleep(50);
  }
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string };
  spec: {
    group: string;
    scope: "Namespaced" | "Cluster";
    names: { kind: string; plural: string; singular: string; listKind: string; shortNames?: string[] };
    versions: { name: string; served: boolean; storage: boolean; schema: unknown; subresources?: unknown }[];
  };
}

/**
 * The CiliumNetworkPolicy API (`cilium.io/v2`, kind CiliumNetworkPolicy, plural
 * `ciliumnetworkpolicies`, short name `cnp`, namespaced), written here from
 * Cilium's documented API facts. The schema checks the top level (a `spec` or
 * `specs` object, `endpointSelector` on each rule, the egress/egressDeny
 * lists) and keeps the rest as given, which is what tests of a policy writer
 * need; it is not Cilium's full validation.
 */
export function ciliumNetworkPolicyCrd(): CustomResourceDefinition {
  const rule = {
    type: "object",
    required: ["endpointSelector"],
    properties: {
      endpointSelector: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      egress: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      egressDeny: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      ingress: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      ingressDeny: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      enableDefaultDeny: {
        type: "object",
        properties: { egress: { type: "boolean" }, ingress: { type: "boolean" } },
      },
      description: { type: "string" },
      labels: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    },
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "ciliumnetworkpolicies.cilium.io" },
    spec: {
      group: "cilium.io",
      scope: "Namespaced",
      names: {
        kind: "CiliumNetworkPolicy",
        plural: "ciliumnetworkpolicies",
        singular: "ciliumnetworkpolicy",
        listKind: "CiliumNetworkPolicyList",
        shortNames: ["cnp", "ciliumnp"],
      },
      versions: [
        {
          name: "v2",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: rule,
                specs: { type: "array", items: rule },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
          subresources: { status: {} },
        },
      ],
    },
  };
}

/** Creates namespace `name` (already there is fine). */
export async function ensureNamespace(cp: ControlPlane, name: string): Promise<void> {
  const res = await apiRequest(cp, "POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`namespace ${name}: ${res.status}`);
}

/**
 * A pod of `provider` (label `mcp-hangar.io/provider`; stored, not run, on node `node-a`) with
 * an optional `mcp-hangar.io/egress` annotation.
 */
export async function providerPod(
  cp: ControlPlane,
  namespace: string,
  provider: string,
  egress?: string,
  name = `${provider}-0`,
): Promise<void> {
  const res = await apiRequest(cp, "POST", `/api/v1/namespaces/${namespace}/pods`, {
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        labels: { "mcp-hangar.io/provider": provider },
        ...(egress !== undefined ? { annotations: { "mcp-hangar.io/egress": egress } } : {}),
      },
      spec: { containers: [{ name: "mcp", image: "example.invalid/mcp:1" }], nodeName: "node-a" },
    },
  });
  if (res.status !== 201) throw new Error(`pod ${name}: ${res.status} ${JSON.stringify(res.body)}`);
}
