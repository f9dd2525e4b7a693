/**
 * A real Kubernetes control plane for tests: etcd and kube-apiserver on loopback, in a fresh
 * temp dir, with RBAC on and token authentication. No kubelet, scheduler or controller-manager:
 * objects such as Pods are stored and served, nothing runs them.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { TestkitError } from "./errors.js";
import { freePorts } from "./ports.js";
import { findTool, isExecutable, SETUP_COMMAND } from "./tools.js";

const execFileAsync = promisify(execFile);

/** A bearer token accepted by the apiserver's static token file. */
export interface TokenUser {
  readonly token: string;
  readonly user: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
}

export interface ControlPlaneOptions {
  /** etcd binary; default: the cached build located by `findTool("etcd")`. */
  readonly etcdPath?: string;
  /** kube-apiserver binary; default: the cached build located by `findTool("kube-apiserver")`. */
  readonly kubeApiserverPath?: string;
  /** How long etcd, then kube-apiserver, may take to become ready. Default 60 000 ms each. */
  readonly readyTimeoutMs?: number;
  /** Extra tokens (no RBAC bindings are made for them: they start with no permissions). */
  readonly tokens?: readonly TokenUser[];
  /**
   * Admission plugins to turn off. Default `["ServiceAccount"]`: with it on, creating a Pod
   * fails until a `default` ServiceAccount exists in the namespace, which only
   * kube-controller-manager creates.
   */
  readonly disableAdmissionPlugins?: readonly string[];
  /** Extra kube-apiserver flags, appended last (so they override the defaults). */
  readonly apiserverArgs?: readonly string[];
  /**
   * Extra subjectAltNames of the apiserver's serving certificate (besides IP:127.0.0.1 and
   * DNS:localhost), e.g. `["IP:10.96.0.1", "DNS:kubernetes.default.svc"]` for clients in pods.
   */
  readonly servingSans?: readonly string[];
  /** Parent of the control plane's temp dir. Default `os.tmpdir()`. */
  readonly tmpRoot?: string;
  /** Environment used to locate tools (`HANGAR_CACHE`, `HANGAR_*_BIN`). Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** PEM file of the CA that signed the apiserver's serving certificate. */
  readonly caFile: string;
  /** The same CA, base64-encoded PEM (kubeconfig `certificate-authority-data`). */
  readonly caData: string;
  /** Admin token: user `hangar-admin`, group `system:masters`. */
  readonly token: string;
  /** kubeconfig for the admin token (context `hangar-testkit`). */
  readonly kubeconfigPath: string;
  /** `http://127.0.0.1:<port>` of etcd. */
  readonly etcdEndpoint: string;
  /** The temp dir holding data, certificates, keys and logs; removed by `stop()`. */
  readonly dir: string;
  /** Paths a kube-controller-manager would need to sign service-account tokens. */
  readonly serviceAccount: {
    readonly issuer: string;
    readonly signingKeyFile: string;
    readonly publicKeyFile: string;
  };
  readonly logFiles: { readonly etcd: string; readonly kubeApiserver: string };
  /** Process ids, for failure tests (for example, SIGSTOP etcd to see how a watch copes). */
  readonly pids: { readonly etcd: number; readonly kubeApiserver: number };
  /** Milliseconds from the call until etcd, then the apiserver, answered ready. */
  readonly timings: { readonly etcdReadyMs: number; readonly apiserverReadyMs: number };
  /** Writes a kubeconfig for another token into `dir` and returns its path. */
  writeKubeconfig(token: string, name?: string): Promise<string>;
  /** Kills kube-apiserver, stops etcd, and removes `dir`. Safe to call more than once. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type ControlPlaneAvailability =
  | { readonly ok: true; readonly etcd: string; readonly kubeApiserver: string }
  | { readonly ok: false; readonly reason: string };

/** Whether `startControlPlane()` can run here; `reason` says what is missing and how to fix it. */
export function controlPlaneAvailable(
  opts: Pick<ControlPlaneOptions, "etcdPath" | "kubeApiserverPath" | "env"> = {},
): ControlPlaneAvailability {
  const reasons: string[] = [];
  const etcd = resolveBinary("etcd", opts.etcdPath, opts.env, reasons);
  const kubeApiserver = resolveBinary("kube-apiserver", opts.kubeApiserverPath, opts.env, reasons);
  if (spawnSync("openssl", ["version"], { stdio: "ignore" }).status !== 0) {
    reasons.push("openssl is not on PATH (needed to make the apiserver's serving certificate)");
  }
  if (reasons.length > 0) return { ok: false, reason: reasons.join("; ") };
  return { ok: true, etcd, kubeApiserver };
}

/**
 * For `test(name, { skip: skipUnlessControlPlane() }, fn)`: false when the control plane can
 * run, otherwise the reason. With `HANGAR_REQUIRE_K8S=1` (CI) it never skips, so a missing
 * tool fails the test with the setup instructions instead of passing silently.
 */
export function skipUnlessControlPlane(env: NodeJS.ProcessEnv = process.env): false | string {
  const availability = controlPlaneAvailable({ env });
  if (availability.ok || env["HANGAR_REQUIRE_K8S"] === "1") return false;
  return `real Kubernetes control plane unavailable: ${availability.reason}`;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const availability = controlPlaneAvailable(opts);
  if (!availability.ok) {
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_TOOL_MISSING",
      `cannot start a Kubernetes control plane: ${availability.reason}`,
      {
        details: { setup: SETUP_COMMAND },
      },
    );
  }
  // Free ports are probed, then released, then bound by etcd/apiserver: another process may
  // take one in between. That shows up as "address already in use"; try again with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(availability.etcd, availability.kubeApiserver, opts);
    } catch (err) {
      if (attempt < 3 && err instanceof TestkitError && err.details["portInUse"] === true) continue;
      throw err;
    }
  }
}

function resolveBinary(
  tool: "etcd" | "kube-apiserver",
  explicit: string | undefined,
  env: NodeJS.ProcessEnv | undefined,
  reasons: string[],
): string {
  if (explicit !== undefined) {
    if (!isExecutable(explicit)) {
      reasons.push(
        `${tool}: ${explicit} is not an executable file; run \`${SETUP_COMMAND}\` or fix the path`,
      );
    }
    return explicit;
  }
  const found = findTool(tool, env);
  if (!found.ok) reasons.push(found.reason);
  return found.path;
}

/** A process started by the testkit (also used by `cluster.ts`). */
export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Settles when the process exits or fails to spawn; never rejects. */
  readonly exited: Promise<string>;
  done: boolean;
}

const ADMIN_USER = "hangar-admin";
const SA_ISSUER = "https://kubernetes.default.svc.cluster.local";

async function startOnce(
  etcdBin: string,
  apiserverBin: string,
  opts: ControlPlaneOptions,
): Promise<ControlPlane> {
  const t0 = performance.now();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), "hangar-control-plane-")).catch(
    (cause: unknown) => {
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_SETUP_FAILED",
        `cannot create a temp dir: ${String(cause)}`,
        { cause },
      );
    },
  );
  const processes: Managed[] = [];
  const reaper = startReaper(dir);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Reverse start order: the apiserver first, so it does not log etcd errors on the way down.
      // The apiserver gets SIGKILL: its graceful shutdown costs ~1.1 s and all its state is in
      // etcd, which is thrown away. etcd gets SIGTERM (it exits in ~10 ms).
      for (const p of [...processes].reverse())
        await terminate(p, p.name === "kube-apiserver" ? "SIGKILL" : "SIGTERM");
      reaper.dismiss();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiserverPort] = await freePorts(3);
    const etcdEndpoint = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeer = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = launch(
      "etcd",
      etcdBin,
      [
        "--name=hangar",
        `--data-dir=${join(dir, "etcd-data")}`,
        `--listen-client-urls=${etcdEndpoint}`,
        `--advertise-client-urls=${etcdEndpoint}`,
        `--listen-peer-urls=${etcdPeer}`,
        `--initial-advertise-peer-urls=${etcdPeer}`,
        `--initial-cluster=hangar=${etcdPeer}`,
        "--initial-cluster-state=new",
        // Throwaway data: skip fsync, which dominates etcd latency on CI disks.
        "--unsafe-no-fsync=true",
        // Single member: elect itself quickly instead of after the default 1 s election timeout.
        "--heartbeat-interval=20",
        "--election-timeout=200",
        "--log-level=warn",
      ],
      dir,
    );
    processes.push(etcd);
    reaper.watch(etcd.child.pid);

    // Certificates and keys are made while etcd starts.
    const pki = await writePki(dir, opts.tokens ?? [], opts.servingSans ?? []);

    // The apiserver starts without waiting for etcd: it retries its etcd connection, and its
    // own initialisation (~2 s) overlaps etcd's leader election. Readiness is still checked in
    // order, so an etcd failure is reported as such.
    const server = `https://127.0.0.1:${apiserverPort}`;
    const apiserver = launch(
      "kube-apiserver",
      apiserverBin,
      [
        `--etcd-servers=${etcdEndpoint}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiserverPort}`,
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--token-auth-file=${pki.tokenFile}`,
        "--authorization-mode=RBAC",
        `--service-account-issuer=${SA_ISSUER}`,
        `--service-account-key-file=${pki.saPublicKey}`,
        `--service-account-signing-key-file=${pki.saSigningKey}`,
        "--service-cluster-ip-range=10.96.0.0/16",
        `--disable-admission-plugins=${(opts.disableAdmissionPlugins ?? ["ServiceAccount"]).join(",")}`,
        // The endpoints of the `kubernetes` Service would be 127.0.0.1, which Endpoints
        // validation rejects; with no reconciler the apiserver does not retry that forever.
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
        ...(opts.apiserverArgs ?? []),
      ],
      dir,
    );
    processes.push(apiserver);
    reaper.watch(apiserver.child.pid);
    await waitReady(etcd, readyTimeoutMs, () => probeEtcd(etcdEndpoint));
    const etcdReadyMs = performance.now() - t0;
    const ca = readFileSync(pki.caFile);
    await waitReady(apiserver, readyTimeoutMs, () => probeApiserver(server, ca, pki.adminToken));
    const apiserverReadyMs = performance.now() - t0;

    const caData = ca.toString("base64");
    const writeKubeconfig = async (token: string, name = "kubeconfig"): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, kubeconfigYaml(server, caData, token), { mode: 0o600 });
      return path;
    };
    const kubeconfigPath = await writeKubeconfig(pki.adminToken);
    return {
      server,
      caFile: pki.caFile,
      caData,
      token: pki.adminToken,
      kubeconfigPath,
      etcdEndpoint,
      dir,
      serviceAccount: { issuer: SA_ISSUER, signingKeyFile: pki.saSigningKey, publicKeyFile: pki.saPublicKey },
      logFiles: { etcd: etcd.logFile, kubeApiserver: apiserver.logFile },
      pids: { etcd: etcd.child.pid ?? -1, kubeApiserver: apiserver.child.pid ?? -1 },
      timings: { etcdReadyMs, apiserverReadyMs },
      writeKubeconfig,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function launch(name: string, bin: string, args: readonly string[], dir: string): Managed {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, "a");
  // ETCD_* variables are read by etcd as flags; keep the caller's from leaking in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")));
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { stdio: ["ignore", fd, fd], env });
  } finally {
    closeSync(fd);
  }
  const managed: Managed = {
    name,
    child,
    logFile,
    done: false,
    exited: new Promise<string>((resolve) => {
      child.once("error", (err) => {
        managed.done = true;
        resolve(`could not be spawned: ${err.message}`);
      });
      child.once("exit", (code, signal) => {
        managed.done = true;
        resolve(signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`);
      });
    }),
  };
  return managed;
}

/**
 * A detached `sh` that exists only to clean up after a test process that dies without calling
 * `stop()` (crash, timeout, SIGKILL, Ctrl-C): it collects the pids of etcd and kube-apiserver
 * from a pipe and, when the pipe closes because this process is gone, SIGKILLs them and
 * removes the temp dir. `stop()` dismisses it. It holds no reference on the event loop.
 */
export function startReaper(dir: string): { watch(pid: number | undefined): void; dismiss(): void } {
  const script =
    'pids=""; while read -r pid; do pids="$pids $pid"; done; kill -9 $pids 2>/dev/null; rm -rf -- "$0"';
  const reaper = spawn("sh", ["-c", script, dir], { stdio: ["pipe", "ignore", "ignore"], detached: true });
  // Without sh there is no safety net, but stop() still works: ignore its errors.
  reaper.on("error", () => undefined);
  reaper.stdin.on("error", () => undefined);
  reaper.unref();
  (reaper.stdin as Partial<Socket>).unref?.();
  return {
    watch: (pid) => {
      if (pid !== undefined) reaper.stdin.write(`${pid}\n`);
    },
    dismiss: () => {
      reaper.kill("SIGKILL");
    },
  };
}

export async function terminate(p: Managed, signal: NodeJS.Signals, graceMs = 5_000): Promise<void> {
  if (p.done) return;
  p.child.kill(signal);
  const ac = new AbortController();
  const graceful = await Promise.race([
    p.exited.then(() => true),
    sleep(graceMs, false, { signal: ac.signal }).catch(() => false),
  ]);
  ac.abort();
  if (!graceful && !p.done) {
    p.child.kill("SIGKILL");
    await p.exited;
  }
}

type Probe = () => Promise<{ ready: boolean; detail: string }>;

async function waitReady(p: Managed, timeoutMs: number, probe: Probe): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    if (p.done) {
      const why = await p.exited;
      const tail = await logTail(p.logFile);
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_PROCESS_EXITED",
        `${p.name} ${why} before it was ready (binary ${String(p.child.spawnfile)}).\n` +
          `Last lines of ${p.logFile}:\n${tail}`,
        { details: { process: p.name, log: p.logFile, portInUse: /address already in use/i.test(tail) } },
      );
    }
    try {
      const result = await probe();
      if (result.ready) return;
      last = result.detail;
    } catch (err) {
      last = describeError(err);
    }
    if (performance.now() >= deadline) {
      const tail = await logTail(p.logFile);
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
        `${p.name} did not become ready within ${(timeoutMs / 1000).toFixed(1)}s ` +
          `(last probe: ${last}). Last lines of ${p.logFile}:\n${tail}`,
        { details: { process: p.name, log: p.logFile, lastProbe: last } },
      );
    }
    // Wake early if the process dies while we wait.
    await Promise.race([sleep(150), p.exited]);
  }
}

/** `fetch failed (ECONNREFUSED)` rather than just `fetch failed`. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: unknown } | undefined)?.code ?? (err as { code?: unknown }).code;
  return typeof code === "string" && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

export async function logTail(file: string, lines = 40): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  const all = text.trimEnd().split("\n");
  const tail = all.slice(-lines).join("\n");
  return tail === "" ? "(log is empty)" : tail;
}

async function probeEtcd(endpoint: string): Promise<{ ready: boolean; detail: string }> {
  const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
  const body = await res.text();
  return {
    ready: res.ok && body.includes('"health":"true"'),
    detail: `GET /health: ${res.status} ${body.trim()}`,
  };
}

function probeApiserver(
  server: string,
  ca: Buffer,
  token: string,
): Promise<{ ready: boolean; detail: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}/readyz?verbose`,
      // agent: false, so no keep-alive socket outlives the probe.
      { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2_000, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          const failing = body
            .split("\n")
            .filter((l) => l.startsWith("[-]"))
            .join("; ");
          resolve({
            ready: res.statusCode === 200,
            detail: `GET /readyz: ${String(res.statusCode)} ${failing}`.trim(),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("GET /readyz timed out after 2s")));
    req.on("error", reject);
    req.end();
  });
}

interface Pki {
  readonly caFile: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly saSigningKey: string;
  readonly saPublicKey: string;
  readonly tokenFile: string;
  readonly adminToken: string;
}

async function writePki(
  dir: string,
  tokens: readonly TokenUser[],
  extraSans: readonly string[],
): Promise<Pki> {
  const p = (name: string): string => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];
  try {
    await execFileAsync("openssl", [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      p("ca.key"),
      "-out",
      p("ca.crt"),
      "-subj",
      "/CN=hangar-testkit-ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await execFileAsync("openssl", [
      "req",
      "-x509",
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      ...ec,
      "-keyout",
      p("serving.key"),
      "-out",
      p("serving.crt"),
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      `subjectAltName=${["IP:127.0.0.1", "DNS:localhost", ...extraSans].join(",")}`,
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-addext",
      "keyUsage=critical,digitalSignature",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ]);
  } catch (cause) {
    const stderr = (cause as { stderr?: unknown }).stderr;
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `openssl could not make the apiserver's certificates: ${typeof stderr === "string" ? stderr.trim() : String(cause)}`,
      { cause },
    );
  }
  const sa = generateKeyPairSync("ec", {
    namedCurve: "prime256v1",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await writeFile(p("sa.key"), sa.privateKey, { mode: 0o600 });
  await writeFile(p("sa.pub"), sa.publicKey);

  const adminToken = randomBytes(24).toString("hex");
  const rows: TokenUser[] = [
    { token: adminToken, user: ADMIN_USER, uid: ADMIN_USER, groups: ["system:masters"] },
    ...tokens,
  ];
  await writeFile(p("tokens.csv"), rows.map(tokenCsvRow).join("\n") + "\n", { mode: 0o600 });
  return {
    caFile: p("ca.crt"),
    servingCert: p("serving.crt"),
    servingKey: p("serving.key"),
    saSigningKey: p("sa.key"),
    saPublicKey: p("sa.pub"),
    tokenFile: p("tokens.csv"),
    adminToken,
  };
}

function tokenCsvRow(t: TokenUser): string {
  for (const field of [t.token, t.user, t.uid ?? "", ...(t.groups ?? [])]) {
    if (/[",\n]/.test(field))
      throw new TestkitError(
        "HANGAR_ERR_TESTKIT_SETUP_FAILED",
        `token file field ${JSON.stringify(field)} may not contain a comma, quote or newline`,
      );
  }
  const groups = t.groups !== undefined && t.groups.length > 0 ? `,"${t.groups.join(",")}"` : "";
  return `${t.token},${t.user},${t.uid ?? t.user}${groups}`;
}

function kubeconfigYaml(server: string, caData: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: hangar-testkit",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${caData}`,
    "users:",
    "- name: hangar-testkit-user",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: hangar-testkit",
    "  context:",
    "    cluster: hangar-testkit",
    "    user: hangar-testkit-user",
    "current-context: hangar-testkit",
    "",
  ].join("\n");
}
