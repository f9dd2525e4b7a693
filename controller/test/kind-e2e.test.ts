/**
 * kind-e2e/ without Docker (the runner itself needs Docker and is not run here):
 *  - ShellCheck finds nothing in kind-e2e/run.sh and scripts/setup-image-tools.sh;
 *  - attack.mjs, the scripted MCP client, drives the real sample server through the real
 *    MCP proxy (both as `hangar-controller` processes) into the server's vulnerable path;
 *  - the README's settings table has run.sh's defaults;
 *  - every Kubernetes object of kind-e2e/manifests/ (and the ConfigMap run.sh makes from
 *    attack.mjs) passes server-side dry-run on a real kube-apiserver, and their pods are
 *    admitted by Pod Security `restricted` (the label of the demo namespace);
 *  - the chart renders with kind-e2e/values/hangar-agent.yaml and what it renders passes
 *    server-side dry-run too.
 * Skips, saying why, when ShellCheck or the control plane is missing, except under CI=true or
 * HANGAR_REQUIRE_IMAGE_TOOLS=1 (ShellCheck) / HANGAR_REQUIRE_K8S=1 (control plane).
 */
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  apiRequest,
  KUBERNETES_VERSION,
  runHelm,
  skipUnlessControlPlane,
  skipUnlessHelm,
  startControlPlane,
  waitFor,
  type ControlPlane,
} from "@hangar/testkit";
import { parseAllDocuments } from "yaml";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const e2e = join(repo, "kind-e2e");
const required = process.env["CI"] === "true" || process.env["HANGAR_REQUIRE_IMAGE_TOOLS"] === "1";

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

function shellcheckPath(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The objects of YAML text; a parse error names the file and line. */
function objects(text: string, file: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const o = doc.toJS() as K8sObject | null;
    if (o !== null) out.push(o);
  }
  return out;
}

/** The REST path of an object's collection (the kinds kind-e2e and the chart use). */
function collection(o: K8sObject): string {
  const plural: Record<string, string> = {
    Namespace: "namespaces",
    ServiceAccount: "serviceaccounts",
    Service: "services",
    ConfigMap: "configmaps",
    Secret: "secrets",
    Pod: "pods",
    Deployment: "deployments",
    DaemonSet: "daemonsets",
    Job: "jobs",
    Role: "roles",
    RoleBinding: "rolebindings",
    ClusterRole: "clusterroles",
    ClusterRoleBinding: "clusterrolebindings",
    PodDisruptionBudget: "poddisruptionbudgets",
    NetworkPolicy: "networkpolicies",
    PriorityClass: "priorityclasses",
    ValidatingAdmissionPolicy: "validatingadmissionpolicies",
    ValidatingAdmissionPolicyBinding: "validatingadmissionpolicybindings",
  };
  const resource = plural[o.kind];
  if (resource === undefined) throw new Error(`no REST path known for kind ${o.kind} (${o.metadata.name})`);
  const base = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const cluster = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
  ].includes(o.kind);
  return cluster
    ? `${base}/${resource}`
    : `${base}/namespaces/${o.metadata.namespace ?? "default"}/${resource}`;
}

async function dryRun(cp: ControlPlane, o: K8sObject, where: string): Promise<void> {
  const r = await apiRequest(cp, "POST", `${collection(o)}?dryRun=All&fieldValidation=Strict`, { body: o });
  assert.ok(
    r.status === 201 || r.status === 200,
    `${where}: ${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name} refused (${r.status}): ${JSON.stringify(r.body)}`,
  );
}

/** A Pod from a workload's template, to let Pod Security admission judge it. */
function podOf(o: K8sObject): K8sObject | undefined {
  const tpl =
    o.kind === "Deployment" || o.kind === "DaemonSet" || o.kind === "Job"
      ? (o.spec?.["template"] as
          { metadata?: Record<string, unknown>; spec: Record<string, unknown> } | undefined)
      : undefined;
  if (tpl === undefined) return undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...(tpl.metadata ?? {}),
      name: `${o.metadata.name}-pod`,
      namespace: o.metadata.namespace ?? "default",
    },
    spec: tpl.spec,
  };
}

const shellcheck = shellcheckPath();
describe(
  "kind-e2e scripts pass ShellCheck",
  {
    skip:
      shellcheck === undefined && !required
        ? "shellcheck is not installed; run `bash scripts/setup-image-tools.sh` (apt-get install shellcheck) as root"
        : false,
  },
  () => {
    for (const script of ["kind-e2e/run.sh", "scripts/setup-image-tools.sh"]) {
      it(script, () => {
        const r = spawnSync(shellcheck ?? "shellcheck", ["--severity=style", "--external-sources", script], {
          cwd: repo,
          encoding: "utf8",
        });
        assert.equal(r.error, undefined, `could not run shellcheck: ${String(r.error)}`);
        assert.equal(r.status, 0, `shellcheck found problems in ${script}:\n${r.stdout}${r.stderr}`);
      });
    }
  },
);

/** A TCP listener on loopback that counts the connections it accepts (and closes them). */
async function listener(): Promise<{ port: number; accepted(): number; close(): void }> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, accepted: () => n, close: () => server.close() };
}

/** Starts `hangar-controller ARGS` and resolves with the URL of its "… listening" log line. */
function startController(args: string[]): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  const main = join(repo, "controller", "dist", "src", "cli", "main.js");
  const proc = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`hangar-controller ${args.join(" ")}: no URL in 20 s:\n${out}`)),
      20_000,
    );
    const onData = (chunk: Buffer): void => {
      out += chunk.toString("utf8");
      const m = /"msg":"[^"]*listening[^"]*"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], output: () => out });
      }
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`hangar-controller ${args.join(" ")} exited ${code}:\n${out}`));
    });
  });
}

describe("kind-e2e/attack.mjs through the real MCP proxy to the real sample server", () => {
  const procs: ChildProcess[] = [];
  const listeners: { close(): void }[] = [];
  let dir = "";
  after(() => {
    for (const p of procs) p.kill("SIGTERM");
    for (const l of listeners) l.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("ordinary calls, then the injected run_report call reaches the server's vulnerable path", async () => {
    dir = mkdtempSync(join(tmpdir(), "hangar-kind-e2e-attack-"));
    // The server's real effects stay on this machine: its upstream and the injected shell's
    // destination are listeners of this test on loopback (in a cluster they are documentation
    // addresses that the e2e scenario routes to hosts of its own).
    const upstream = await listener();
    const exfil = await listener();
    listeners.push(upstream, exfil);
    const server = await startController([
      "sample-server",
      "--listen",
      "127.0.0.1:0",
      "--upstream",
      `127.0.0.1:${upstream.port}`,
      "--exfil",
      `127.0.0.1:${exfil.port}`,
    ]);
    procs.push(server.proc);
    const config = join(dir, "proxy.yaml");
    writeFileSync(
      config,
      JSON.stringify({
        listen: "127.0.0.1:0",
        providers: [{ provider: "sample", namespace: "mcp-demo", service: "sample-mcp", path: "/mcp" }],
        staticEndpoints: {
          sample: [{ url: server.url.replace(/\/mcp$/, "") + "/mcp", pod: "sample-mcp-0" }],
        },
      }),
    );
    const proxy = await startController(["proxy", "--config", config]);
    procs.push(proxy.proc);
    // Asynchronously, so that the servers' output keeps being read meanwhile.
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(e2e, "attack.mjs")],
        {
          timeout: 60_000,
          env: { ...process.env, MCP_URL: `${proxy.url}/mcp/sample`, LEARN_SECONDS: "0", SETTLE_MS: "0" },
        },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : (err.code as number | null), stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, `attack.mjs exited ${r.code}:\n${r.stdout}${r.stderr}`);
    const steps = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: string; tools?: string[]; tool?: string; text?: string });
    assert.deepEqual(steps.find((x) => x.step === "tools/list")?.tools?.includes("run_report"), true);
    assert.equal(steps.at(-1)?.step, "attacked");
    // The server saw the injected call and took its vulnerable path (its own log line).
    const injectedSeen = (): boolean => /"tool":"run_report"[^\n]*"injected":true/.test(server.output());
    for (let i = 0; i < 50 && !injectedSeen(); i++) await new Promise((res) => setTimeout(res, 100));
    const calls = server
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"tools/call"'))
      .map((l) => JSON.parse(l) as { tool: string; injected: boolean });
    assert.ok(
      calls.some((c) => c.tool === "get_weather" && !c.injected),
      "an ordinary call first",
    );
    assert.ok(
      calls.some((c) => c.tool === "run_report" && c.injected),
      `the injected call: ${server.output()}`,
    );
    // And did it: the ordinary call reached the upstream, the injected shell connected out.
    await waitFor("the ordinary call's connection to the upstream", () => upstream.accepted() > 0);
    await waitFor("the injected shell's connection to the exfil listener", () => exfil.accepted() > 0);
  });
});

it("kind-e2e/README.md's settings table has run.sh's defaults", () => {
  const script = readFileSync(join(e2e, "run.sh"), "utf8");
  const readme = readFileSync(join(e2e, "README.md"), "utf8");
  const defaults = [...script.matchAll(/^([A-Z_]+)="\$\{\1:-([^}"]*)\}"$/gm)];
  assert.ok(defaults.length >= 8, `run.sh's VAR="\${VAR:-default}" lines (found ${defaults.length})`);
  for (const [, name, value] of defaults) {
    assert.ok(readme.includes(`| \`${name}\` | \`${value}\` |`), `README.md: | \`${name}\` | \`${value}\` |`);
  }
});

describe(
  "kind-e2e manifests on a real kube-apiserver (server-side dry-run)",
  { skip: skipUnlessControlPlane() },
  () => {
    let cp: ControlPlane;
    before(async () => {
      cp = await startControlPlane();
    });
    after(async () => {
      await cp?.stop();
    });

    const manifestFiles = readdirSync(join(e2e, "manifests"))
      .filter((f) => f.endsWith(".yaml"))
      .sort();

    it("kind-e2e/manifests/*.yaml and the mcp-attack ConfigMap", async () => {
      const all = manifestFiles.flatMap((f) =>
        objects(readFileSync(join(e2e, "manifests", f), "utf8"), `kind-e2e/manifests/${f}`).map((o) => ({
          o,
          where: `kind-e2e/manifests/${f}`,
        })),
      );
      assert.ok(
        all.length >= 5,
        "the sample server (namespace, account, deployment, service) and the attack job",
      );
      // Namespaces are created for real (a dry-run object cannot hold others), the rest dry-run.
      for (const { o, where } of all.filter((x) => x.o.kind === "Namespace")) {
        await dryRun(cp, o, where);
        const r = await apiRequest(cp, "POST", collection(o), { body: o });
        assert.equal(r.status, 201, `${where}: namespace ${o.metadata.name}: ${JSON.stringify(r.body)}`);
      }
      const attack: K8sObject = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "mcp-attack", namespace: "mcp-demo" },
        data: { "attack.mjs": readFileSync(join(e2e, "attack.mjs"), "utf8") },
      };
      for (const { o, where } of [
        ...all.filter((x) => x.o.kind !== "Namespace"),
        { o: attack, where: "run.sh" },
      ]) {
        await dryRun(cp, o, where);
        const pod = podOf(o);
        // The pod as the workload controller would create it, judged by Pod Security admission
        // (the demo namespace enforces `restricted`).
        if (pod !== undefined)
          await dryRun(cp, pod, `${where} (pod template of ${o.kind} ${o.metadata.name})`);
      }
      const ns = all.find((x) => x.o.kind === "Namespace")?.o;
      assert.equal(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("Pod Security `restricted` in the demo namespace refuses a pod that breaks it (the check above can fail)", async () => {
      const bad: K8sObject = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "privileged", namespace: "mcp-demo" },
        spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] },
      };
      const r = await apiRequest(cp, "POST", `${collection(bad)}?dryRun=All`, { body: bad });
      assert.equal(r.status, 403, JSON.stringify(r.body));
    });

    it(
      "helm template ./helm/hangar-agent -f kind-e2e/values/hangar-agent.yaml renders objects the API server accepts",
      { skip: skipUnlessHelm() },
      async () => {
        const values = join(e2e, "values", "hangar-agent.yaml");
        const h = await runHelm([
          "template",
          "hangar-agent",
          join(repo, "helm", "hangar-agent"),
          "--namespace",
          "hangar-system",
          "--kube-version",
          KUBERNETES_VERSION,
          "-f",
          values,
          "--set",
          "agent.image.tag=e2e",
          "--set",
          "controller.image.tag=e2e",
        ]);
        assert.equal(h.code, 0, `helm template with kind-e2e/values/hangar-agent.yaml failed:\n${h.stderr}`);
        const rendered = objects(h.stdout, "helm template").filter((o) => o.kind !== undefined);
        const kinds = new Set(rendered.map((o) => o.kind));
        for (const k of ["DaemonSet", "Deployment", "Service"])
          assert.ok(kinds.has(k), `the chart renders a ${k}`);
        const images = JSON.stringify(
          rendered.filter((o) => o.kind === "DaemonSet" || o.kind === "Deployment"),
        );
        assert.match(images, /ghcr\.io\/mcp-hangar\/hangar-agent:e2e/);
        assert.match(images, /ghcr\.io\/mcp-hangar\/hangar-controller:e2e/);
        // run.sh finds the MCP proxy as the Service with port 8090 (values: proxy.port) and the
        // agent must mount the socket directories the Cilium and Tetragon values put the sockets in.
        const proxyPorts = rendered
          .filter((o) => o.kind === "Service")
          .flatMap((o) => (o.spec?.["ports"] as { port: number }[] | undefined) ?? [])
          .map((p) => p.port);
        assert.ok(
          proxyPorts.includes(8090),
          `a Service with the proxy port 8090 (ports: ${proxyPorts.join(", ")})`,
        );
        const agent = JSON.stringify(rendered.find((o) => o.kind === "DaemonSet"));
        for (const dir of ["/var/run/cilium/tetragon", "/var/run/cilium"]) {
          assert.ok(agent.includes(`"path":"${dir}"`), `the agent DaemonSet mounts the node's ${dir}`);
        }
        const r = await apiRequest(cp, "POST", "/api/v1/namespaces", {
          body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "hangar-system" } },
        });
        assert.ok(r.status === 201 || r.status === 409, JSON.stringify(r.body));
        for (const o of rendered) {
          o.metadata.namespace ??= "hangar-system";
          await dryRun(cp, o, "helm template (kind-e2e values)");
        }
      },
    );
  },
);
