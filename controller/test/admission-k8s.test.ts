/**
 * The chart's admission policies (helm/hangar-agent/templates/admission-policy.yaml, rendered
 * by the real `helm template`) on a real kube-apiserver: each rule refuses its bad pod and
 * admits the fixed one, for a bare Pod and a Deployment (and the other workload kinds, and
 * ephemeral containers); the offline checker (`hangar-ctl admission check`) finds exactly the
 * same violations as the API server on every fixture; Warn admits with Warning headers, Audit
 * admits and writes the audit log; exemptions; and the chart's values select the mode and the
 * cluster-wide requirements.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  apiRequest,
  helmTemplate,
  skipUnlessControlPlane,
  skipUnlessHelm,
  startControlPlane,
  tempDir,
  waitFor,
  type ControlPlane,
} from "@hangar/testkit";
import { parseAllDocuments } from "yaml";
import { checkSources } from "../src/admission/check.js";
import {
  BREAK_CASES,
  brokenPod,
  expected,
  goodContainer,
  goodPod,
  type BreakCase,
} from "../src/admission/fixtures.js";
import { MESSAGE_SEPARATOR } from "../src/admission/policy.js";
import { ctl } from "../src/ctl/ctl.js";

const skip = skipUnlessControlPlane() || skipUnlessHelm();
const CHART = fileURLToPath(new URL("../../../helm/hangar-agent", import.meta.url));
const ADM = "/apis/admissionregistration.k8s.io/v1";
type Json = Record<string, unknown>;

interface Answer {
  status: number;
  body: Json;
  warnings: string[];
}

/** One API request that also returns the Warning headers (testkit's apiRequest drops headers). */
function send(
  cp: ControlPlane,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request(
      new URL(path, cp.server),
      {
        method,
        headers: {
          authorization: `Bearer ${cp.token}`,
          accept: "application/json",
          "content-type": contentType ?? "application/json",
        },
        ca: Buffer.from(cp.caData, "base64"),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const warnings: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            if (res.rawHeaders[i]!.toLowerCase() === "warning") warnings.push(res.rawHeaders[i + 1]!);
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            body: (text === "" ? {} : JSON.parse(text)) as Json,
            warnings,
          });
        });
      },
    );
    r.on("error", reject);
    r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The policies and bindings of the chart rendered with `set`. */
async function admissionObjects(set: string[]): Promise<Json[]> {
  const text = await helmTemplate({ chart: CHART, namespace: "hangar-system", set });
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Json | null)
    .filter((d): d is Json => d !== null && String(d["kind"]).startsWith("ValidatingAdmissionPolicy"));
}

/** Replaces the installed policies and bindings by those of the chart rendered with `set`. */
async function install(cp: ControlPlane, set: string[]): Promise<void> {
  const sel = encodeURIComponent("app.kubernetes.io/component=admission");
  for (const res of ["validatingadmissionpolicybindings", "validatingadmissionpolicies"]) {
    const r = await apiRequest(cp, "DELETE", `${ADM}/${res}?labelSelector=${sel}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  for (const d of await admissionObjects(set)) {
    const res =
      d["kind"] === "ValidatingAdmissionPolicy"
        ? "validatingadmissionpolicies"
        : "validatingadmissionpolicybindings";
    const r = await apiRequest(cp, "POST", `${ADM}/${res}`, { body: d });
    assert.equal(r.status, 201, `${String(d["kind"])}: ${JSON.stringify(r.body)}`);
  }
}

async function namespace(cp: ControlPlane, name: string, labels: Record<string, string> = {}): Promise<void> {
  const r = await apiRequest(cp, "POST", "/api/v1/namespaces", {
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
  });
  assert.ok(r.status === 201 || r.status === 409, JSON.stringify(r.body));
}

let seq = 0;
const podObject = (p: { metadata: Json; spec: Json }, name = `p${++seq}`): Json => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { ...p.metadata, name },
  spec: p.spec,
});
const deploymentObject = (p: { metadata: Json; spec: Json }, name = `d${++seq}`): Json => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: { selector: { matchLabels: { app: (p.metadata["labels"] as Json)["app"] } }, template: p },
});

const PATHS: Record<string, string> = {
  Pod: "pods",
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  DaemonSet: "daemonsets",
  ReplicaSet: "replicasets",
  Job: "jobs",
  CronJob: "cronjobs",
};
function collection(kind: string, ns: string): string {
  const group =
    kind === "Pod" ? "/api/v1" : kind === "Job" || kind === "CronJob" ? "/apis/batch/v1" : "/apis/apps/v1";
  return `${group}/namespaces/${ns}/${PATHS[kind]!}`;
}

/** Creates `obj` in `ns` (dry run unless `keep`). */
function create(cp: ControlPlane, ns: string, obj: Json, keep = false): Promise<Answer> {
  return send(cp, "POST", `${collection(String(obj["kind"]), ns)}${keep ? "" : "?dryRun=All"}`, obj);
}

/** The violations a refusal or a warning names, as `rule path` lines, sorted. */
function apiViolations(message: string): string[] {
  const start = message.indexOf("denied request: ");
  const warn = message.indexOf("': ", message.indexOf("with binding"));
  const text =
    start >= 0 ? message.slice(start + "denied request: ".length) : message.slice(warn + 3).replace(/"$/, "");
  const out: string[] = [];
  for (const part of text.split(MESSAGE_SEPARATOR)) {
    const m = /^(.*?): .* \[([a-z-]+)\]$/.exec(part.trim());
    assert.ok(m !== null, `cannot read a violation from ${JSON.stringify(part)}`);
    for (const path of m[1]!.split(", ")) out.push(`${m[2]!} ${path}`);
  }
  return out.sort();
}

/** The offline checker's violations of the same object, in the same form. */
function offlineViolations(
  obj: Json,
  ns: string,
  opts: { requireEgress?: boolean; requireImageDigest?: boolean },
): string[] {
  const reports = checkSources(
    [
      {
        name: "x.json",
        text: JSON.stringify({ ...obj, metadata: { ...(obj["metadata"] as Json), namespace: ns } }),
      },
    ],
    opts,
  );
  return reports[0]!.violations.map((v) => `${v.rule} ${v.path}`).sort();
}

const needs = (
  c: BreakCase,
): { ns: string; opts: { requireEgress?: boolean; requireImageDigest?: boolean } } =>
  c.requires === "egress"
    ? { ns: "strict", opts: { requireEgress: true } }
    : c.requires === "digest"
      ? { ns: "strict", opts: { requireImageDigest: true } }
      : { ns: "mcp", opts: {} };

/**
 * Polls with a known-bad Pod, Deployment and CronJob until all three policies (pods, workloads,
 * cronjobs) answer as `mode` in `ns`: each takes its own moment to become active.
 */
async function untilActive(cp: ControlPlane, ns: string, mode: "Deny" | "Warn"): Promise<void> {
  const broken = brokenPod(BREAK_CASES[0]!);
  const bad = [
    podObject(broken),
    deploymentObject(broken),
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "active-probe" },
      spec: {
        schedule: "@daily",
        jobTemplate: { spec: { template: { ...broken, spec: { ...broken.spec, restartPolicy: "Never" } } } },
      },
    },
  ];
  let last = "";
  await waitFor(
    `the admission policies active in ${mode} mode in ${ns}`,
    async () => {
      for (const obj of bad) {
        const r = await create(cp, ns, obj);
        last = `${String(obj["kind"])}: ${r.status} ${JSON.stringify(r.body).slice(0, 400)} ${r.warnings.join(" ")}`;
        if (!(mode === "Deny" ? r.status === 403 : r.status === 201 && r.warnings.length > 0)) return false;
      }
      return true;
    },
    () => last,
    30_000,
    200,
  );
}

describe("admission policies on a real API server", { skip }, () => {
  let cp: ControlPlane;
  let auditLog: string;
  let tmp: { dir: string; cleanup: () => void } | undefined;

  before(async () => {
    tmp = tempDir("hangar-admission-");
    const policyFile = join(tmp.dir, "audit-policy.yaml");
    writeFileSync(
      policyFile,
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n    resources: [{group: "", resources: [pods]}]\n  - level: None\n',
    );
    auditLog = join(tmp.dir, "audit.log");
    writeFileSync(auditLog, "");
    cp = await startControlPlane({
      apiserverArgs: [`--audit-policy-file=${policyFile}`, `--audit-log-path=${auditLog}`],
    });
    await namespace(cp, "mcp");
    await namespace(cp, "strict", {
      "mcp-hangar.io/require-egress": "true",
      "mcp-hangar.io/require-image-digest": "true",
    });
    await namespace(cp, "warned", { "mcp-hangar.io/admission": "warn" });
    await namespace(cp, "audited", { "mcp-hangar.io/admission": "audit" });
    await namespace(cp, "legacy", { "mcp-hangar.io/admission": "off" });
    await namespace(cp, "kube-system");
    await install(cp, ["admission.mode=Deny"]);
    await untilActive(cp, "mcp", "Deny");
  });
  after(async () => {
    await cp?.stop();
    tmp?.cleanup();
  });

  for (const c of BREAK_CASES) {
    it(`${c.rule}: refuses its bad Pod and Deployment naming ${c.path}, admits the fixed ones; offline agrees`, async () => {
      const { ns, opts } = needs(c);
      for (const [obj, at] of [
        [podObject(brokenPod(c)), { spec: "spec", meta: "metadata" }],
        [deploymentObject(brokenPod(c)), { spec: "spec.template.spec", meta: "spec.template.metadata" }],
      ] as const) {
        const r = await create(cp, ns, obj);
        assert.equal(
          r.status,
          403,
          `${String(obj["kind"])} was admitted: ${JSON.stringify(r.body).slice(0, 300)}`,
        );
        const message = String(r.body["message"]);
        assert.deepEqual(apiViolations(message), expected(c, at), message);
        assert.deepEqual(offlineViolations(obj, ns, opts), apiViolations(message));
      }
      for (const obj of [podObject(goodPod()), deploymentObject(goodPod())]) {
        const r = await create(cp, ns, obj);
        assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 500));
        assert.deepEqual(offlineViolations(obj, ns, opts), []);
      }
    });
  }

  it("a pod breaking every rule at once: one refusal naming every field, as the offline checker does", async () => {
    const p = goodPod();
    for (const c of BREAK_CASES) c.apply(p);
    const obj = podObject(p);
    const r = await create(cp, "strict", obj);
    assert.equal(r.status, 403);
    const api = apiViolations(String(r.body["message"]));
    assert.equal(new Set(api.map((v) => v.split(" ")[0])).size, BREAK_CASES.length);
    assert.deepEqual(
      offlineViolations(obj, "strict", { requireEgress: true, requireImageDigest: true }),
      api,
    );
  });

  it("StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs are checked at their pod template", async () => {
    const c = BREAK_CASES.find((x) => x.rule === "host-pid")!;
    const tpl = (p: { metadata: Json; spec: Json }, restart: boolean): Json =>
      restart ? { ...p, spec: { ...p.spec, restartPolicy: "Never" } } : p;
    const sel = { matchLabels: { app: "weather" } };
    const objects: [Json, string][] = [
      [
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: { name: "s" },
          spec: { selector: sel, serviceName: "s", template: tpl(brokenPod(c), false) },
        },
        "spec.template.spec.hostPID",
      ],
      [
        {
          apiVersion: "apps/v1",
          kind: "DaemonSet",
          metadata: { name: "ds" },
          spec: { selector: sel, template: tpl(brokenPod(c), false) },
        },
        "spec.template.spec.hostPID",
      ],
      [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          metadata: { name: "rs" },
          spec: { selector: sel, template: tpl(brokenPod(c), false) },
        },
        "spec.template.spec.hostPID",
      ],
      [
        {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { name: "j" },
          spec: { template: tpl(brokenPod(c), true) },
        },
        "spec.template.spec.hostPID",
      ],
      [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          metadata: { name: "cj" },
          spec: { schedule: "@daily", jobTemplate: { spec: { template: tpl(brokenPod(c), true) } } },
        },
        "spec.jobTemplate.spec.template.spec.hostPID",
      ],
    ];
    for (const [obj, path] of objects) {
      const r = await create(cp, "mcp", obj);
      assert.equal(r.status, 403, `${String(obj["kind"])}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.deepEqual(apiViolations(String(r.body["message"])), [`host-pid ${path}`]);
      assert.deepEqual(offlineViolations(obj, "mcp", {}), [`host-pid ${path}`]);
    }
  });

  it("an ephemeral container added to a running provider pod is checked (kubectl debug)", async () => {
    const name = `eph${++seq}`;
    const created = await create(cp, "mcp", podObject(goodPod(), name), true);
    assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
    const pod = created.body;
    const spec = pod["spec"] as Json;
    const withDebug = (c: Json): Json => ({ ...pod, spec: { ...spec, ephemeralContainers: [c] } });
    const path = `/api/v1/namespaces/mcp/pods/${name}/ephemeralcontainers`;
    const bad = await send(
      cp,
      "PUT",
      path,
      withDebug({ name: "debug", image: "busybox", targetContainerName: "server" }),
    );
    assert.equal(bad.status, 403, JSON.stringify(bad.body).slice(0, 300));
    assert.ok(
      apiViolations(String(bad.body["message"])).includes(
        "seccomp spec.ephemeralContainers[0].securityContext.seccompProfile.type",
      ),
    );
    const good = await send(
      cp,
      "PUT",
      path,
      withDebug({ ...goodContainer("debug"), targetContainerName: "server" }),
    );
    assert.equal(good.status, 200, JSON.stringify(good.body).slice(0, 300));
  });

  it("exemptions: pods without the provider label, the exemption label, exempt namespaces, admission=off", async () => {
    const bad = brokenPod(BREAK_CASES[0]!);
    const unlabelled = { metadata: { labels: { app: "weather" } }, spec: bad.spec };
    const exempt = {
      metadata: { labels: { ...(bad.metadata["labels"] as Json), "mcp-hangar.io/admission-exempt": "true" } },
      spec: bad.spec,
    };
    for (const [ns, obj] of [
      ["mcp", podObject(unlabelled)],
      ["mcp", podObject(exempt)],
      ["mcp", deploymentObject(exempt)],
      ["kube-system", podObject(bad)],
      ["legacy", podObject(bad)],
    ] as const) {
      const r = await create(cp, ns, obj);
      assert.equal(r.status, 201, `${ns}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.deepEqual(r.warnings, []);
    }
  });

  it("a workload is checked again when its pod template changes, not when only its replicas or labels do", async () => {
    const c = BREAK_CASES.find((x) => x.rule === "host-ipc")!;
    const d = deploymentObject(brokenPod(c), "legacy-server");
    (d["metadata"] as Json)["labels"] = { "mcp-hangar.io/admission-exempt": "true" };
    const created = await create(cp, "mcp", d, true);
    assert.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300));
    const live = created.body;
    const path = `${collection("Deployment", "mcp")}/legacy-server`;
    const scaled = {
      ...live,
      metadata: { ...(live["metadata"] as Json), labels: {} },
      spec: { ...(live["spec"] as Json), replicas: 3 },
    };
    const r1 = await send(cp, "PUT", path, scaled);
    assert.equal(
      r1.status,
      200,
      `scaling and unlabelling an existing workload: ${JSON.stringify(r1.body).slice(0, 300)}`,
    );
    const spec = r1.body["spec"] as { template: { metadata: Json } };
    const changed = {
      ...r1.body,
      spec: {
        ...spec,
        template: {
          ...spec.template,
          metadata: {
            ...spec.template.metadata,
            annotations: { ...(spec.template.metadata["annotations"] as Json), "example.com/rev": "2" },
          },
        },
      },
    };
    const r2 = await send(cp, "PUT", path, changed);
    assert.equal(r2.status, 403, JSON.stringify(r2.body).slice(0, 300));
    assert.deepEqual(apiViolations(String(r2.body["message"])), ["host-ipc spec.template.spec.hostIPC"]);
  });

  it("a namespace labelled warn admits with a Warning header naming each field", async () => {
    const c = BREAK_CASES.find((x) => x.rule === "read-only-root-filesystem")!;
    const obj = deploymentObject(brokenPod(c));
    const r = await create(cp, "warned", obj);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.warnings.length, 1, r.warnings.join("\n"));
    assert.match(
      r.warnings[0]!,
      /^299 - "Validation failed for ValidatingAdmissionPolicy 'hangar-mcp-workloads-hangar-system' with binding 'hangar-mcp-workloads-hangar-system-warn': /,
    );
    assert.deepEqual(apiViolations(r.warnings[0]!), offlineViolations(obj, "warned", {}));
    assert.deepEqual(apiViolations(r.warnings[0]!), [
      "read-only-root-filesystem spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem",
    ]);
  });

  it("a namespace labelled audit admits without warnings and records the violation in the audit log", async () => {
    const c = BREAK_CASES.find((x) => x.rule === "capabilities-add")!;
    const name = `audited${++seq}`;
    const r = await create(cp, "audited", podObject(brokenPod(c), name), true);
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
    assert.deepEqual(r.warnings, []);
    const entry = await waitFor("the audit event of the pod", () =>
      readFileSync(auditLog, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map(
          (l) =>
            JSON.parse(l) as {
              verb: string;
              objectRef?: { name?: string; namespace?: string };
              annotations?: Record<string, string>;
            },
        )
        .find(
          (e) =>
            e.verb === "create" &&
            e.objectRef?.name === name &&
            e.annotations?.["validation.policy.admission.k8s.io/validation_failure"] !== undefined,
        ),
    );
    const failures = JSON.parse(
      entry.annotations!["validation.policy.admission.k8s.io/validation_failure"]!,
    ) as {
      message: string;
      binding: string;
      validationActions: string[];
    }[];
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.binding, "hangar-mcp-pods-hangar-system-audit");
    assert.deepEqual(failures[0]!.validationActions, ["Audit"]);
    assert.match(
      failures[0]!.message,
      /spec\.containers\[0\]\.securityContext\.capabilities\.add: adds capabilities, add none, or only NET_BIND_SERVICE \[capabilities-add\]/,
    );
  });

  it("hangar-ctl admission check --dry-run=server reports what the cluster's policies answer", async () => {
    const dir = join(tmp!.dir, "server");
    mkdirSync(dir, { recursive: true });
    const c = BREAK_CASES.find((x) => x.rule === "seccomp")!;
    const file = (name: string, docs: Json[]): string => {
      const path = join(dir, name);
      writeFileSync(path, docs.map((d) => JSON.stringify(d)).join("\n---\n"));
      return path;
    };
    const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = "";
      let err = "";
      const code = await ctl(
        ["admission", "check", "--dry-run=server", "--kubeconfig", cp.kubeconfigPath, ...args],
        {
          stdout: (t) => (out += t),
          stderr: (t) => (err += t),
        },
      );
      return { code, out, err };
    };
    const bad = deploymentObject(brokenPod(c), "weather");
    const refused = await run(["-n", "mcp", "-f", file("bad.yaml", [bad])]);
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(
      refused.out,
      /Deployment mcp\/weather: refused \(server-side dry run\)\n {2}spec\.template\.spec\.containers\[0\]\.securityContext\.seccompProfile\.type: runs without a seccomp profile, .* \[seccomp\]/,
    );
    const warned = await run(["-n", "warned", "-f", file("bad.yaml", [bad])]);
    assert.equal(warned.code, 1);
    assert.match(
      warned.out,
      /Deployment warned\/weather: admitted with warnings \(server-side dry run\)\n {2}spec\.template\.spec\.containers\[0\]\.securityContext\.seccompProfile\.type: /,
    );
    const good = await run(["-n", "mcp", "-f", file("good.yaml", [deploymentObject(goodPod(), "weather")])]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /Deployment mcp\/weather: admitted \(server-side dry run\)/);
    const nowhere = await run([
      "-n",
      "no-such-namespace",
      "-f",
      file("good.yaml", [deploymentObject(goodPod(), "weather")]),
    ]);
    assert.equal(nowhere.code, 2);
    assert.match(
      nowhere.out,
      /refused it for another reason: HTTP 404: namespaces "no-such-namespace" not found/,
    );
    assert.equal((await run(["--values", "x.yaml", "-f", file("good.yaml", [])])).code, 2);
  });

  it("the chart's values select the cluster-wide mode and requirements", async () => {
    await install(cp, ["admission.mode=Warn", "admission.requireImageDigest=true"]);
    await untilActive(cp, "mcp", "Warn");
    const c = BREAK_CASES.find((x) => x.rule === "image-digest")!;
    const r = await create(cp, "mcp", podObject(brokenPod(c)));
    assert.equal(r.status, 201);
    assert.deepEqual(apiViolations(r.warnings[0] ?? ""), ["image-digest spec.containers[0].image"]);
    // A namespace's own label still wins over the default mode.
    await namespace(cp, "denied", { "mcp-hangar.io/admission": "deny" });
    const d = await create(cp, "denied", podObject(brokenPod(c)));
    assert.equal(d.status, 403, JSON.stringify(d.body).slice(0, 300));
    await install(cp, ["admission.mode=Audit"]);
    await waitFor(
      "Audit mode: admitted without a warning",
      async () => {
        const x = await create(cp, "mcp", podObject(brokenPod(BREAK_CASES[0]!)));
        return x.status === 201 && x.warnings.length === 0;
      },
      undefined,
      30_000,
      200,
    );
    await install(cp, ["admission.enabled=false"]);
    assert.deepEqual(await admissionObjects(["admission.enabled=false"]), []);
  });
});
