import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi,
} from "@kubernetes/client-node";
import {
  KUBERNETES_VERSION,
  TestkitError,
  TestkitErrorCodes,
  findTool,
  skipUnlessControlPlane,
  startControlPlane,
  type ControlPlane,
} from "../src/index.js";

const ALICE_TOKEN = "alice-token-without-any-rbac";

function kubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

describe("real control plane (etcd + kube-apiserver)", { skip: skipUnlessControlPlane() }, () => {
  let cp: ControlPlane;
  let core: CoreV1Api;

  before(async () => {
    const t0 = performance.now();
    cp = await startControlPlane({
      tokens: [{ token: ALICE_TOKEN, user: "alice", groups: ["hangar:testers"] }],
    });
    console.log(
      `# control plane ready in ${(performance.now() - t0).toFixed(0)} ms ` +
        `(etcd ${cp.timings.etcdReadyMs.toFixed(0)} ms, apiserver ${cp.timings.apiserverReadyMs.toFixed(0)} ms) at ${cp.server}`,
    );
    core = kubeConfig(cp.kubeconfigPath).makeApiClient(CoreV1Api);
  });

  after(async () => {
    const t0 = performance.now();
    await cp?.stop();
    console.log(`# control plane stopped in ${(performance.now() - t0).toFixed(0)} ms`);
    if (cp !== undefined) assert.equal(existsSync(cp.dir), false, "stop() removes the temp dir");
  });

  test("serves the pinned Kubernetes version", async () => {
    const info = await kubeConfig(cp.kubeconfigPath).makeApiClient(VersionApi).getCode();
    assert.equal(info.gitVersion, KUBERNETES_VERSION);
  });

  test("stores Pods bound to a node and filters them by spec.nodeName", async () => {
    await core.createNamespace({ body: { metadata: { name: "hangar-test" } } });
    for (const [name, nodeName] of [
      ["mcp-server-a", "node-a"],
      ["mcp-server-b", "node-b"],
    ] as const) {
      await core.createNamespacedPod({
        namespace: "hangar-test",
        body: {
          metadata: { name, labels: { app: "mcp" } },
          spec: { nodeName, containers: [{ name: "server", image: "ghcr.io/example/mcp:1.0" }] },
        },
      });
    }
    const onA = await core.listNamespacedPod({
      namespace: "hangar-test",
      fieldSelector: "spec.nodeName=node-a",
    });
    assert.deepEqual(
      onA.items.map((p) => p.metadata?.name),
      ["mcp-server-a"],
    );
    const everywhere = await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=node-a" });
    assert.deepEqual(
      everywhere.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`),
      ["hangar-test/mcp-server-a"],
    );
  });

  test("RBAC is enforced: a token with no bindings gets 403 until a RoleBinding grants access", async () => {
    const aliceConfig = await cp.writeKubeconfig(ALICE_TOKEN, "alice.kubeconfig");
    const alice = kubeConfig(aliceConfig).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "rbac-test" } } });

    assert.equal(await statusOf(alice.listNamespacedPod({ namespace: "rbac-test" })), 403);
    assert.equal(await statusOf(alice.listNode()), 403);

    const rbac = kubeConfig(cp.kubeconfigPath).makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: "rbac-test",
      body: {
        metadata: { name: "pod-reader" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: "rbac-test",
      body: {
        metadata: { name: "alice-reads-pods" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
      },
    });
    // The RBAC authorizer reads through an informer; allow it a moment to see the binding.
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (
      (status = await statusOf(alice.listNamespacedPod({ namespace: "rbac-test" }))) !== 200 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
    assert.equal(
      await statusOf(alice.listNamespacedPod({ namespace: "hangar-test" })),
      403,
      "only in the bound namespace",
    );
  });

  test("an unknown token is rejected with 401", async () => {
    const strangerConfig = await cp.writeKubeconfig("no-such-token", "stranger.kubeconfig");
    assert.equal(await statusOf(kubeConfig(strangerConfig).makeApiClient(CoreV1Api).listNamespace()), 401);
  });
});

test(
  "a test process that dies without stop() leaves no etcd, apiserver or temp dir behind",
  { skip: skipUnlessControlPlane() },
  async () => {
    const index = new URL("../src/index.js", import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { startControlPlane } = await import(${JSON.stringify(index)});
         const cp = await startControlPlane();
         console.log(JSON.stringify({ pids: cp.pids, dir: cp.dir }));
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const [line] = (await once(createInterface({ input: child.stdout }), "line")) as [string];
    const { pids, dir } = JSON.parse(line) as { pids: { etcd: number; kubeApiserver: number }; dir: string };
    assert.ok(alive(pids.etcd) && alive(pids.kubeApiserver) && existsSync(dir));

    child.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    while ((alive(pids.etcd) || alive(pids.kubeApiserver) || existsSync(dir)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(alive(pids.etcd), false, "etcd is killed");
    assert.equal(alive(pids.kubeApiserver), false, "kube-apiserver is killed");
    assert.equal(existsSync(dir), false, "the temp dir is removed");
  },
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("control plane failures are explained", () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "hangar-testkit-fakes-"));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  async function fakeBinary(name: string, script: string): Promise<string> {
    const path = join(scratch, name);
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return path;
  }

  test("a missing binary names the setup script", async () => {
    await assert.rejects(
      startControlPlane({ kubeApiserverPath: "/nonexistent/kube-apiserver" }),
      (err: unknown) => {
        assert.ok(err instanceof TestkitError);
        assert.equal(err.code, "HANGAR_ERR_TESTKIT_TOOL_MISSING");
        assert.match(err.message, /\/nonexistent\/kube-apiserver is not an executable file/);
        assert.match(err.message, /bash scripts\/setup-k8s-tools\.sh/);
        return true;
      },
    );
  });

  test("the default lookup says which version to build and where it was looked for", async () => {
    const env = { HANGAR_CACHE: join(scratch, "empty-cache") };
    const lookup = findTool("kube-apiserver", env);
    assert.equal(lookup.ok, false);
    await assert.rejects(startControlPlane({ env }), (err: unknown) => {
      assert.ok(err instanceof TestkitError);
      assert.equal(err.code, "HANGAR_ERR_TESTKIT_TOOL_MISSING");
      assert.ok(err.message.includes(`kube-apiserver ${KUBERNETES_VERSION} is not installed`), err.message);
      assert.ok(err.message.includes(lookup.path), err.message);
      assert.match(err.message, /bash scripts\/setup-k8s-tools\.sh/);
      return true;
    });
  });

  // These two run a fake kube-apiserver behind the real etcd.
  const etcd = findTool("etcd");
  const etcdSkip =
    etcd.ok || process.env["HANGAR_REQUIRE_K8S"] === "1"
      ? false
      : `needs etcd: ${etcd.ok ? "" : etcd.reason}`;

  test("an apiserver that never gets ready times out with its log tail", { skip: etcdSkip }, async () => {
    const fake = await fakeBinary(
      "hanging-apiserver",
      'echo "fake kube-apiserver: pretending to start"\nexec sleep 60',
    );
    const tmpRoot = await mkdtemp(join(scratch, "root-"));
    const t0 = performance.now();
    await assert.rejects(
      startControlPlane({ kubeApiserverPath: fake, readyTimeoutMs: 3_000, tmpRoot }),
      (err: unknown) => {
        assert.ok(err instanceof TestkitError);
        assert.equal(err.code, "HANGAR_ERR_TESTKIT_READY_TIMEOUT");
        assert.match(err.message, /kube-apiserver did not become ready within 3\.0s/);
        assert.match(err.message, /last probe: .*ECONNREFUSED/);
        assert.match(err.message, /fake kube-apiserver: pretending to start/);
        return true;
      },
    );
    assert.ok(performance.now() - t0 < 15_000, "gives up near the timeout and stops quickly");
    assert.deepEqual(await readdir(tmpRoot), [], "the temp dir is removed after a failed start");
  });

  test(
    "an apiserver that exits early fails fast with its exit code and log tail",
    { skip: etcdSkip },
    async () => {
      const fake = await fakeBinary("crashing-apiserver", 'echo "Error: unknown flag: --bogus" >&2\nexit 3');
      const t0 = performance.now();
      await assert.rejects(
        startControlPlane({ kubeApiserverPath: fake, readyTimeoutMs: 30_000 }),
        (err: unknown) => {
          assert.ok(err instanceof TestkitError);
          assert.equal(err.code, "HANGAR_ERR_TESTKIT_PROCESS_EXITED");
          assert.match(err.message, /kube-apiserver exited with code 3 before it was ready/);
          assert.match(err.message, /Error: unknown flag: --bogus/);
          return true;
        },
      );
      assert.ok(performance.now() - t0 < 10_000, "does not wait for the readiness timeout");
    },
  );
});

test("every error code is documented in the README", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const documented = [...readme.matchAll(/`(HANGAR_ERR_TESTKIT_[A-Z_]+)`/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(documented)].sort(), Object.keys(TestkitErrorCodes).sort());
});
