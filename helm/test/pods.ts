/**
 * Runs a container of a Pod the chart made, as a local process, the way a kubelet would give
 * it its files: every volume the container mounts is written into a temp dir (ConfigMaps and
 * Secrets from the API server, projected service-account tokens from a TokenRequest bound to
 * the pod, hostPath and emptyDir as empty dirs), and the container's args are rewritten from
 * mount paths to those dirs. The in-cluster API access is replaced by a kubeconfig with a
 * token of the pod's service account. No image is run: the container's entrypoint is the
 * repository's own CLI (`hangar-agent` = agent/dist/src/cli/main.js, `hangar-controller` =
 * controller/dist/src/cli/main.js), as in the images.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { apiRequest, type ControlPlane } from "@hangar/testkit";

export interface PodObject {
  metadata: { name: string; namespace: string; uid: string };
  spec: {
    nodeName?: string;
    serviceAccountName: string;
    containers: {
      name: string;
      args?: string[];
      volumeMounts?: { name: string; mountPath: string }[];
    }[];
    volumes?: {
      name: string;
      configMap?: { name: string; items?: { key: string; path: string }[] };
      secret?: { secretName: string; items?: { key: string; path: string }[] };
      projected?: {
        sources: { serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string } }[];
      };
      hostPath?: { path: string };
      emptyDir?: unknown;
    }[];
  };
}

/** A TokenRequest for the pod's service account, bound to the pod (so it carries the pod's node). */
export async function podToken(cp: ControlPlane, pod: PodObject, audience?: string): Promise<string> {
  const r = await apiRequest(
    cp,
    "POST",
    `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${pod.spec.serviceAccountName}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          ...(audience !== undefined ? { audiences: [audience] } : {}),
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
    },
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return (r.body as { status: { token: string } }).status.token;
}

/**
 * Writes the container's volumes under `dir`; returns mountPath → local dir. Mounts of the
 * API server's own `kube-api-access-*` volume are left out (use a kubeconfig instead).
 */
export async function materialize(
  cp: ControlPlane,
  pod: PodObject,
  container: string,
  dir: string,
): Promise<Map<string, string>> {
  const c = pod.spec.containers.find((x) => x.name === container);
  assert.ok(c !== undefined, `pod ${pod.metadata.name} has no container ${container}`);
  const mounts = new Map<string, string>();
  const ns = pod.metadata.namespace;
  for (const m of c.volumeMounts ?? []) {
    if (m.name.startsWith("kube-api-access-")) continue;
    const v = pod.spec.volumes?.find((x) => x.name === m.name);
    assert.ok(v !== undefined, `volume ${m.name} of ${pod.metadata.name} is not defined`);
    const local = join(dir, m.name);
    await mkdir(local, { recursive: true });
    mounts.set(m.mountPath, local);
    const write = async (
      data: Record<string, string>,
      items: { key: string; path: string }[] | undefined,
    ) => {
      for (const { key, path } of items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
        const value = data[key];
        assert.ok(value !== undefined, `${m.name}: key ${key} is missing`);
        await writeFile(join(local, path), value);
      }
    };
    if (v.configMap !== undefined) {
      const r = await apiRequest(cp, "GET", `/api/v1/namespaces/${ns}/configmaps/${v.configMap.name}`);
      assert.equal(r.status, 200, `ConfigMap ${v.configMap.name} for volume ${m.name}`);
      await write((r.body as { data: Record<string, string> }).data, v.configMap.items);
    } else if (v.secret !== undefined) {
      const r = await apiRequest(cp, "GET", `/api/v1/namespaces/${ns}/secrets/${v.secret.secretName}`);
      assert.equal(r.status, 200, `Secret ${v.secret.secretName} for volume ${m.name}`);
      const data = Object.fromEntries(
        Object.entries((r.body as { data: Record<string, string> }).data).map(([k, b64]) => [
          k,
          Buffer.from(b64, "base64").toString("utf8"),
        ]),
      );
      await write(data, v.secret.items);
    } else if (v.projected !== undefined) {
      for (const s of v.projected.sources) {
        assert.ok(
          s.serviceAccountToken !== undefined,
          `volume ${m.name}: only serviceAccountToken sources are emulated`,
        );
        await writeFile(
          join(local, s.serviceAccountToken.path),
          await podToken(cp, pod, s.serviceAccountToken.audience),
        );
      }
    } else {
      assert.ok(v.hostPath !== undefined || v.emptyDir !== undefined, `volume ${m.name}: unsupported kind`);
    }
  }
  return mounts;
}

/** Replaces each mount path at the start of a path inside an arg (`--db=/var/lib/x/f` → `--db=<dir>/f`). */
export function rewriteArgs(args: readonly string[], mounts: ReadonlyMap<string, string>): string[] {
  const byLength = [...mounts.entries()].sort((a, b) => b[0].length - a[0].length);
  return args.map((arg) => {
    for (const [mountPath, local] of byLength) {
      const i = arg.indexOf(mountPath);
      if (i >= 0 && (arg.length === i + mountPath.length || arg[i + mountPath.length] === "/"))
        return arg.slice(0, i) + local + arg.slice(i + mountPath.length);
    }
    return arg;
  });
}

export interface Running {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the output matches, rejects when the process exits or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function run(cli: string, args: readonly string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let exited: string | undefined;
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = `exited (${signal ?? String(code)})`;
      resolve();
    }),
  );
  return {
    child,
    output: () => out,
    waitFor: async (re, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (exited !== undefined) throw new Error(`${cli} ${exited} before printing ${String(re)}:\n${out}`);
        if (Date.now() > deadline)
          throw new Error(`${cli} did not print ${String(re)} within ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: async () => {
      if (exited !== undefined) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(t);
    },
  };
}
