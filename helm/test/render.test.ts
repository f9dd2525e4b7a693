/**
 * `helm lint --strict`, and `helm template` of the chart in each values scenario (defaults,
 * enforce mode with the MCP proxy, no Tetragon, no Cilium, hub TLS off, hub TLS by
 * cert-manager, the eBPF probe), every rendered manifest validated by a server-side dry-run
 * (strict field validation) on a real kube-apiserver with the CRDs the scenario needs.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  apiRequest,
  ciliumNetworkPolicyCrd,
  installCrd,
  skipUnlessControlPlane,
  startControlPlane,
  type ControlPlane,
} from "@hangar/testkit";
import { parse } from "yaml";
import {
  CHART,
  certificateCrd,
  dryRun,
  ensureNamespace,
  find,
  mustFind,
  REPO,
  runHelm,
  skipUnlessHelm,
  template,
  tracingPolicyCrd,
  type Manifest,
} from "./helpers.js";

const NS = "hangar-system";
const TP_API = "cilium.io/v1alpha1/TracingPolicy";
const CERT_API = "cert-manager.io/v1/Certificate";

interface Container {
  name: string;
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  securityContext?: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  hostPID?: boolean;
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string }; secret?: { secretName: string } }[];
  securityContext?: Record<string, unknown>;
  serviceAccountName: string;
  priorityClassName?: string;
  tolerations?: unknown[];
}

function podSpec(m: Manifest): PodSpec {
  return (m["spec"] as { template: { spec: PodSpec } }).template.spec;
}
function agentArgs(docs: Manifest[]): string[] {
  return podSpec(mustFind(docs, "DaemonSet", "hangar-agent")).containers[0]!.args;
}
function controllerArgs(docs: Manifest[]): string[] {
  return podSpec(mustFind(docs, "Deployment", "hangar-controller")).containers[0]!.args;
}
function configData(docs: Manifest[], key: string): Record<string, unknown> {
  const cm = mustFind(docs, "ConfigMap", "hangar-controller-config");
  const text = (cm["data"] as Record<string, string>)[key];
  assert.ok(text !== undefined, `ConfigMap hangar-controller-config has no ${key}`);
  return parse(text) as Record<string, unknown>;
}
function hostPaths(docs: Manifest[]): string[] {
  return podSpec(mustFind(docs, "DaemonSet", "hangar-agent"))
    .volumes.flatMap((v) => (v.hostPath !== undefined ? [v.hostPath.path] : []))
    .sort();
}
function rulesOf(docs: Manifest[], kind: "ClusterRole" | "Role", name: string): string[] {
  const r = mustFind(docs, kind, name)["rules"] as {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
  }[];
  return r.flatMap((x) =>
    x.resources.flatMap((res) => x.verbs.map((v) => `${v} ${x.apiGroups[0] ?? ""}/${res}`)),
  );
}

describe("helm lint", { skip: skipUnlessHelm() }, () => {
  test("the chart lints clean in strict mode", async () => {
    const r = await runHelm(["lint", "--strict", CHART]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test("values.schema.json and the template checks refuse bad values, naming them", async () => {
    const mode = await runHelm(["lint", "--strict", CHART, "--set", "enforcement.mode=block"]);
    assert.notEqual(mode.code, 0);
    assert.match(mode.stdout + mode.stderr, /\/enforcement\/mode.*one of 'audit', 'enforce'/);
    const typo = await runHelm(["lint", "--strict", CHART, "--set", "agent.imgae.tag=x"]);
    assert.notEqual(typo.code, 0);
    assert.match(typo.stdout + typo.stderr, /additional properties 'imgae' not allowed/);
    const proxy = await runHelm([
      "template",
      "x",
      CHART,
      "--set",
      "proxy.enabled=true",
      "--kube-version",
      "1.37.1",
    ]);
    assert.notEqual(proxy.code, 0);
    assert.match(proxy.stderr, /proxy\.enabled: the MCP proxy needs at least one entry in proxy\.providers/);
    const cm = await runHelm([
      "template",
      "x",
      CHART,
      "--kube-version",
      "1.37.1",
      "--set",
      "hub.tls.certManager.enabled=true",
      "--set",
      "hub.tls.certManager.issuerRef.name=ca",
    ]);
    assert.notEqual(cm.code, 0);
    assert.match(
      cm.stderr,
      /hub\.tls\.certManager\.enabled: the cluster does not serve cert-manager\.io\/v1 Certificate/,
    );
    const none = await runHelm([
      "template",
      "x",
      CHART,
      "--kube-version",
      "1.37.1",
      "--set",
      "tetragon.enabled=false",
      "--set",
      "hubble.enabled=false",
    ]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /the agent needs at least one sensor/);
  });
});

describe(
  "helm template scenarios, server-side dry-run on a real kube-apiserver",
  { skip: skipUnlessHelm() || skipUnlessControlPlane() },
  () => {
    let cp: ControlPlane;
    before(async () => {
      cp = await startControlPlane();
      await ensureNamespace(cp, NS);
      await installCrd(cp, tracingPolicyCrd());
      await installCrd(cp, certificateCrd());
      await installCrd(cp, ciliumNetworkPolicyCrd());
    });
    after(async () => {
      await cp?.stop();
    });

    const valid = async (docs: Manifest[]): Promise<void> => {
      assert.deepEqual(await dryRun(cp, docs, NS), [], "every manifest passes the API server's dry-run");
    };

    test("defaults: audit mode, Tetragon + Hubble sockets, baseline dir, generated hub TLS and tokens", async () => {
      const docs = await template();
      await valid(docs);
      // The dry-run can fail: an unknown field and an invalid value are refused, named.
      const broken = structuredClone(mustFind(docs, "DaemonSet"));
      (podSpec(broken).containers[0] as unknown as Record<string, unknown>)["imagePullPolicyy"] = "Always";
      const badPort = structuredClone(mustFind(docs, "Service"));
      (badPort["spec"] as { ports: { port: number }[] }).ports[0]!.port = 70000;
      const failures = await dryRun(cp, [broken, badPort], NS);
      assert.equal(failures.length, 2, failures.join("\n"));
      assert.match(failures[0]!, /DaemonSet\/hangar-agent: HTTP 400 .*unknown field .*imagePullPolicyy/);
      assert.match(failures[1]!, /Service\/hangar-controller: HTTP 422 .*spec\.ports\[0\]\.port/);
      assert.equal(find(docs, "TracingPolicy"), undefined, "no TracingPolicy without the Tetragon API");
      assert.equal(configData(docs, "policy.yaml")["mode"], "audit");
      assert.deepEqual(configData(docs, "policy.yaml")["controller"], {
        namespace: NS,
        podLabels: { "app.kubernetes.io/name": "hangar-controller" },
      });
      const args = agentArgs(docs);
      for (const a of [
        "--tetragon=unix:///var/run/tetragon/tetragon.sock",
        "--hubble=unix:///var/run/cilium/hubble.sock",
        "--db=/var/lib/hangar-agent/baseline.duckdb",
        "--spool-dir=/var/lib/hangar-agent/spool",
        "--health-port=9876",
        "--prometheus-port=9090",
        `--hub=hangar-controller.${NS}.svc:8443`,
        "--hub-ca=/etc/hangar/hub-tls/ca.crt",
        "--hub-token-file=/var/run/secrets/hangar/token",
      ])
        assert.ok(args.includes(a), `agent args lack ${a}: ${args.join(" ")}`);
      assert.deepEqual(hostPaths(docs), ["/var/lib/hangar-agent", "/var/run/cilium", "/var/run/tetragon"]);
      const agent = podSpec(mustFind(docs, "DaemonSet", "hangar-agent"));
      assert.deepEqual(agent.containers[0]!.env?.find((e) => e.name === "NODE_NAME")?.valueFrom, {
        fieldRef: { fieldPath: "spec.nodeName" },
      });
      // Node flags sized by the agent/steady bench (bench/README.md, issue #19).
      assert.equal(
        agent.containers[0]!.env?.find((e) => e.name === "NODE_OPTIONS")?.value,
        "--max-semi-space-size=4 --max-old-space-size=256",
      );
      assert.equal(agent.hostPID, undefined);
      assert.equal(agent.priorityClassName, "system-node-critical");
      assert.deepEqual(agent.tolerations, [{ operator: "Exists" }]);
      const ctl = controllerArgs(docs);
      for (const a of [
        "--hub-tls-cert=/etc/hangar/hub-tls/tls.crt",
        "--tokens-secret=hangar-controller-tokens",
        `--hub-agent=${NS}:hangar-agent`,
        "--config=/etc/hangar/config/policy.yaml",
        "--alert-store-max=10000",
        "--alert-store-mib=16",
      ])
        assert.ok(ctl.includes(a), `controller args lack ${a}: ${ctl.join(" ")}`);
      assert.equal((mustFind(docs, "Deployment")["spec"] as { replicas: number }).replicas, 2);
      assert.equal(find(docs, "Service", "hangar-controller-mcp"), undefined);
      mustFind(docs, "PodDisruptionBudget", "hangar-controller");

      // The generated hub certificate: signed by the CA in the same Secret, for the Service name.
      const tls = mustFind(docs, "Secret", "hangar-hub-tls")["data"] as Record<string, string>;
      const ca = new X509Certificate(Buffer.from(tls["ca.crt"]!, "base64"));
      const cert = new X509Certificate(Buffer.from(tls["tls.crt"]!, "base64"));
      assert.ok(cert.verify(ca.publicKey), "tls.crt is signed by ca.crt");
      assert.equal(cert.checkHost(`hangar-controller.${NS}.svc`), `hangar-controller.${NS}.svc`);
      assert.ok(
        cert.checkPrivateKey(
          (await import("node:crypto")).createPrivateKey(Buffer.from(tls["tls.key"]!, "base64")),
        ),
      );
      const tokens = mustFind(docs, "Secret", "hangar-controller-tokens")["data"] as Record<string, string>;
      assert.deepEqual(Object.keys(tokens), ["admin.admin"]);
      assert.match(Buffer.from(tokens["admin.admin"]!, "base64").toString(), /^[A-Za-z0-9]{40}$/);

      // Rule packs: every file of rules/ is in the ConfigMap, unchanged.
      const rules = mustFind(docs, "ConfigMap", "hangar-rules")["data"] as Record<string, string>;
      const packs = readdirSync(join(REPO, "rules")).filter((f) => f.endsWith(".rules"));
      assert.deepEqual(Object.keys(rules).sort(), packs.sort());
      for (const f of packs) assert.equal(rules[f], readFileSync(join(REPO, "rules", f), "utf8"), f);
    });

    test("with the Tetragon API: the TracingPolicies of bpf/tracingpolicies/, labelled for the release", async () => {
      const docs = await template({ apiVersions: [TP_API] });
      await valid(docs);
      const tps = docs.filter((d) => d.kind === "TracingPolicy");
      const files = readdirSync(join(REPO, "bpf", "tracingpolicies")).filter((f) => f.endsWith(".yaml"));
      assert.equal(tps.length, files.length);
      for (const f of files) {
        const src = parse(readFileSync(join(REPO, "bpf", "tracingpolicies", f), "utf8")) as Manifest;
        const got = mustFind(tps, "TracingPolicy", src.metadata.name);
        assert.deepEqual(got["spec"], src["spec"], f);
        assert.equal(got.metadata.labels?.["app.kubernetes.io/instance"], "hangar");
      }
    });

    test("enforce mode with the MCP proxy, SIEM and OTLP", async () => {
      const docs = await template({
        apiVersions: [TP_API],
        set: [
          "enforcement.mode=enforce",
          "enforcement.policy.defaultTtlSeconds=600",
          "proxy.enabled=true",
          "proxy.providers[0].provider=weather",
          "proxy.providers[0].namespace=mcp",
          "proxy.providers[0].service=weather",
          "siem.destinations[0]=tcp://siem.example:514?format=cef&framing=octet-counting",
          "controller.siem.destinations[0]=tls://siem.example:6514?format=cef",
          "metrics.otlpEndpoint=http://otel.observability:4317",
        ],
      });
      await valid(docs);
      const policy = configData(docs, "policy.yaml");
      assert.equal(policy["mode"], "enforce");
      assert.equal(policy["defaultTtlSeconds"], 600);
      assert.deepEqual(configData(docs, "proxy.yaml"), {
        listen: "0.0.0.0:8090",
        providers: [{ provider: "weather", namespace: "mcp", service: "weather" }],
        // Scale-out: peers by pod name, traces to the leader's Service, the shared token from a Secret.
        replicas: {
          token: "/etc/hangar/proxy-peers/token",
          peerService: { namespace: NS, service: "hangar-controller-mcp-peers", port: "mcp" },
          collector: `http://hangar-controller.${NS}.svc:8090`,
        },
      });
      assert.ok(controllerArgs(docs).includes("--proxy-config=/etc/hangar/config/proxy.yaml"));
      const selector = (svc: string): Record<string, string> =>
        (mustFind(docs, "Service", svc)["spec"] as { selector: Record<string, string> }).selector;
      // The API, the hub and the trace collector stay with the replica holding the Lease…
      assert.equal(selector("hangar-controller")["mcp-hangar.io/controller-role"], "leader");
      const ports = (mustFind(docs, "Service", "hangar-controller")["spec"] as { ports: { name: string }[] })
        .ports;
      assert.deepEqual(
        ports.map((p) => p.name),
        ["api", "hub", "mcp"],
      );
      // …MCP callers reach every replica, and the replicas find each other by pod name.
      for (const svc of ["hangar-controller-mcp", "hangar-controller-mcp-peers"])
        assert.equal(selector(svc)["mcp-hangar.io/controller-role"], undefined, svc);
      assert.equal(
        (mustFind(docs, "Service", "hangar-controller-mcp")["spec"] as { sessionAffinity: string })
          .sessionAffinity,
        "ClientIP",
      );
      assert.equal(
        (mustFind(docs, "Service", "hangar-controller-mcp-peers")["spec"] as { clusterIP: string }).clusterIP,
        "None",
      );
      const peersSecret = mustFind(docs, "Secret", "hangar-controller-proxy-peers")["data"] as Record<
        string,
        string
      >;
      assert.equal(Buffer.from(peersSecret["token"] ?? "", "base64").length, 48);
      assert.ok(
        rulesOf(docs, "ClusterRole", `hangar-controller-${NS}`).includes(
          "watch discovery.k8s.io/endpointslices",
        ),
      );
      const args = agentArgs(docs);
      assert.ok(args.includes("--siem=tcp://siem.example:514?format=cef&framing=octet-counting"));
      assert.ok(args.includes("--otlp-endpoint=http://otel.observability:4317"));
      // The controller exports enforcement events (and the alerts it receives), spooling on an emptyDir.
      const cargs = controllerArgs(docs);
      assert.ok(cargs.includes("--siem=tls://siem.example:6514?format=cef"));
      assert.ok(cargs.includes("--spool-dir=/var/lib/hangar-controller/spool"));
      assert.ok(cargs.includes("--otlp-endpoint=http://otel.observability:4317"));
      assert.ok(cargs.includes("--prometheus-port=9090"));
      const deploy = mustFind(docs, "Deployment", "hangar-controller") as unknown as {
        spec: { template: { spec: { volumes: { name: string; emptyDir?: { sizeLimit: string } }[] } } };
      };
      assert.equal(
        deploy.spec.template.spec.volumes.find((v) => v.name === "spool")?.emptyDir?.sizeLimit,
        "512Mi",
      );
    });

    test("no Tetragon: --tetragon=none, no socket mount, no TracingPolicy even where the API exists", async () => {
      const docs = await template({ apiVersions: [TP_API], set: ["tetragon.enabled=false"] });
      await valid(docs);
      assert.ok(agentArgs(docs).includes("--tetragon=none"));
      assert.deepEqual(hostPaths(docs), ["/var/lib/hangar-agent", "/var/run/cilium"]);
      assert.equal(find(docs, "TracingPolicy"), undefined);
    });

    test("no Cilium: --hubble=none and no Hubble socket mount", async () => {
      const docs = await template({ set: ["hubble.enabled=false"] });
      await valid(docs);
      assert.ok(agentArgs(docs).includes("--hubble=none"));
      assert.deepEqual(hostPaths(docs), ["/var/lib/hangar-agent", "/var/run/tetragon"]);
    });

    test("hub TLS off: no certificate Secret, plaintext hub on both sides", async () => {
      const docs = await template({ set: ["hub.tls.enabled=false"] });
      await valid(docs);
      assert.equal(find(docs, "Secret", "hangar-hub-tls"), undefined);
      assert.ok(!agentArgs(docs).some((a) => a.startsWith("--hub-ca")));
      assert.ok(!controllerArgs(docs).some((a) => a.startsWith("--hub-tls")));
      assert.ok(agentArgs(docs).includes("--hub-token-file=/var/run/secrets/hangar/token"));
    });

    test("hub TLS by cert-manager: a Certificate into the same Secret name, nothing generated", async () => {
      const docs = await template({
        apiVersions: [CERT_API],
        set: ["hub.tls.certManager.enabled=true", "hub.tls.certManager.issuerRef.name=hangar-ca"],
      });
      await valid(docs);
      const cert = mustFind(docs, "Certificate", "hangar-controller-hub")["spec"] as Record<string, unknown>;
      assert.equal(cert["secretName"], "hangar-hub-tls");
      assert.ok((cert["dnsNames"] as string[]).includes(`hangar-controller.${NS}.svc`));
      assert.equal(find(docs, "Secret", "hangar-hub-tls"), undefined);
      assert.ok(agentArgs(docs).includes("--hub-ca=/etc/hangar/hub-tls/ca.crt"));
    });

    test("eBPF probe: privileged with hostPID, cgroup and BTF mounted read-only", async () => {
      const docs = await template({ set: ["agent.probe.enabled=true", "agent.probe.sockState=true"] });
      await valid(docs);
      const spec = podSpec(mustFind(docs, "DaemonSet", "hangar-agent"));
      assert.equal(spec.hostPID, true);
      assert.equal(spec.containers[0]!.securityContext?.["privileged"], true);
      const args = agentArgs(docs);
      for (const a of ["--probe", "--probe-cgroup-root=/host/sys/fs/cgroup", "--probe-sock-state"])
        assert.ok(args.includes(a), a);
      const mounts = spec.containers[0]!.volumeMounts.filter((m) => m.name === "cgroup" || m.name === "btf");
      assert.deepEqual(
        mounts.map((m) => [m.mountPath, m.readOnly]),
        [
          ["/host/sys/fs/cgroup", true],
          ["/sys/kernel/btf", true],
        ],
      );
    });

    test("Pod Security: the controller's pod is admitted under `restricted`; the agent's needs `privileged`", async () => {
      await ensureNamespace(cp, "psa-restricted", { "pod-security.kubernetes.io/enforce": "restricted" });
      await ensureNamespace(cp, "psa-privileged", { "pod-security.kubernetes.io/enforce": "privileged" });
      const docs = await template();
      const pod = (m: Manifest, ns: string): Record<string, unknown> => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${m.metadata.name}-psa`, namespace: ns },
        spec: podSpec(m),
      });
      const create = (body: Record<string, unknown>, ns: string) =>
        apiRequest(cp, "POST", `/api/v1/namespaces/${ns}/pods?dryRun=All`, { body });
      const ctl = await create(pod(mustFind(docs, "Deployment"), "psa-restricted"), "psa-restricted");
      assert.equal(ctl.status, 201, JSON.stringify(ctl.body));
      const agentRestricted = await create(
        pod(mustFind(docs, "DaemonSet"), "psa-restricted"),
        "psa-restricted",
      );
      assert.equal(agentRestricted.status, 403, "the check can fail: hostPath is not restricted");
      assert.match(
        (agentRestricted.body as { message: string }).message,
        /violates PodSecurity "restricted:latest"/,
      );
      const agent = await create(pod(mustFind(docs, "DaemonSet"), "psa-privileged"), "psa-privileged");
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
    });
  },
);
