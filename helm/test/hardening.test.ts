/**
 * The chart hardens its own pods: the NetworkPolicies of `networkPolicy.*` (rules for the hub,
 * the REST API, the MCP proxy, metrics; the agents' egress to the hub, DNS, the API server and
 * the SIEM/OTLP ports), the Pod Security labels of `podSecurity.*`, the probe's sidecar layout
 * — rendered by `helm template`, validated by a server-side dry-run on a real kube-apiserver,
 * and `helm install --dry-run=server` for what needs the cluster (the API server's endpoint
 * port by `lookup`, NOTES.txt). Whether the policies really block is the one-node e2e's job
 * (e2e/src/scenario.ts, "the chart's NetworkPolicies").
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { apiRequest, skipUnlessControlPlane, startControlPlane, type ControlPlane } from "@hangar/testkit";
import {
  CHART,
  dryRun,
  ensureNamespace,
  find,
  mustFind,
  parseManifests,
  runHelm,
  skipUnlessHelm,
  template,
  type Manifest,
} from "./helpers.js";

const NS = "hangar-system";

interface Port {
  port: number | string;
  protocol: string;
}
interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Port[];
}
interface PolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress?: Rule[] | null;
  egress?: Rule[];
}
interface Container {
  name: string;
  command?: string[];
  args: string[];
  securityContext?: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
}

/** `helm template` with `--set-json` values (an empty list, which `--set` cannot give) and `--set` ones. */
async function templateJson(json: readonly string[], opts: { set: readonly string[] }): Promise<Manifest[]> {
  const r = await runHelm([
    "template",
    "hangar",
    CHART,
    "-n",
    NS,
    ...json.flatMap((j) => ["--set-json", j]),
    ...opts.set.flatMap((s) => ["--set", s]),
  ]);
  assert.equal(r.code, 0, r.stderr);
  return parseManifests(r.stdout);
}

const policy = (docs: Manifest[], name: string): PolicySpec =>
  mustFind(docs, "NetworkPolicy", name)["spec"] as PolicySpec;
const ports = (r: Rule): string[] => (r.ports ?? []).map((p) => `${p.protocol}/${p.port}`);
/** The rule allowing this port, or undefined. */
const ruleFor = (rules: readonly Rule[] | null | undefined, port: string): Rule | undefined =>
  (rules ?? []).find((r) => ports(r).includes(port));
const agentSel = { "app.kubernetes.io/name": "hangar-agent", "app.kubernetes.io/instance": "hangar" };
const controllerSel = {
  "app.kubernetes.io/name": "hangar-controller",
  "app.kubernetes.io/instance": "hangar",
};
const PROXY = [
  "proxy.enabled=true",
  "proxy.providers[0].provider=sample",
  "proxy.providers[0].namespace=mcp",
  "proxy.providers[0].service=sample",
];

describe(
  "the chart's NetworkPolicies, Pod Security labels and probe sidecar, rendered",
  { skip: skipUnlessHelm() },
  () => {
    test("defaults: the controller accepts the hub from agents only, the agents send to hub, DNS, API server", async () => {
      const docs = await template();
      const ctl = policy(docs, "hangar-controller");
      assert.deepEqual(ctl.podSelector.matchLabels, controllerSel);
      assert.deepEqual(ctl.policyTypes, ["Ingress"]);
      assert.deepEqual(ruleFor(ctl.ingress, "TCP/8443"), {
        from: [{ podSelector: { matchLabels: agentSel } }],
        ports: [{ port: 8443, protocol: "TCP" }],
      });
      // The replicas talk to each other on any port; nobody else reaches the REST API by default.
      assert.ok(
        ctl.ingress?.some(
          (r) =>
            r.ports === undefined &&
            r.from?.[0]?.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "hangar-controller",
        ),
      );
      assert.equal(
        ruleFor(ctl.ingress, "TCP/8080"),
        undefined,
        "no REST API rule without apiNamespaces/apiFrom",
      );
      assert.equal(ruleFor(ctl.ingress, "TCP/8090"), undefined, "no proxy rule without the proxy");
      assert.deepEqual(ruleFor(ctl.ingress, "TCP/9090")?.from, [
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
      ]);
      assert.equal(ctl.ingress?.length, 3);

      const agent = policy(docs, "hangar-agent");
      assert.deepEqual(agent.podSelector.matchLabels, agentSel);
      assert.deepEqual(agent.policyTypes, ["Ingress", "Egress"]);
      assert.deepEqual(agent.ingress?.map(ports), [["TCP/9090"]]);
      const egress = agent.egress ?? [];
      assert.deepEqual(egress.map(ports), [["TCP/8443"], ["UDP/53", "TCP/53"], ["TCP/443", "TCP/6443"]]);
      assert.deepEqual(egress[0]!.to, [{ podSelector: { matchLabels: controllerSel } }]);
      assert.deepEqual(egress[1]!.to, [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
          podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
        },
      ]);
      assert.equal(egress[2]!.to, undefined, "any address on the API server's ports unless apiServer.cidrs");
    });

    test("values widen and narrow each rule: API namespaces, proxy callers, metrics, SIEM/OTLP ports, CIDRs", async () => {
      const docs = await templateJson(["networkPolicy.metrics.from=[]", "networkPolicy.agent.dns.to=[]"], {
        set: [
          ...PROXY,
          "networkPolicy.controller.apiNamespaces={ops,ci}",
          "networkPolicy.controller.apiFrom[0].ipBlock.cidr=10.9.0.0/16",
          "networkPolicy.controller.proxyFrom[0].namespaceSelector.matchLabels.team=ai",
          "networkPolicy.controller.proxyFrom[0].podSelector.matchLabels.role=mcp-client",
          "siem.destinations={udp://qradar.example:5514?format=leef,tls://siem.example?ca=/x,tcp://s.example:514,file:///var/log/a}",
          "metrics.otlpEndpoint=http://otel.observability:4318",
          "networkPolicy.agent.siem.to[0].ipBlock.cidr=192.0.2.0/24",
          "networkPolicy.agent.apiServer.cidrs={172.18.0.2/32}",
          "networkPolicy.agent.apiServer.ports={6443}",
          "networkPolicy.agent.extraEgress[0].ports[0].port=8200",
        ],
      });
      const ctl = policy(docs, "hangar-controller");
      assert.deepEqual(ruleFor(ctl.ingress, "TCP/8080")?.from, [
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ops" } } },
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ci" } } },
        { ipBlock: { cidr: "10.9.0.0/16" } },
      ]);
      assert.deepEqual(ruleFor(ctl.ingress, "TCP/8090")?.from, [
        {
          namespaceSelector: { matchLabels: { team: "ai" } },
          podSelector: { matchLabels: { role: "mcp-client" } },
        },
      ]);
      assert.equal(ruleFor(ctl.ingress, "TCP/9090"), undefined, "metrics.from [] lets nobody scrape");
      const agent = policy(docs, "hangar-agent");
      assert.deepEqual(agent.ingress, [], "no metrics rule: the agents accept nothing");
      const egress = agent.egress ?? [];
      assert.equal(ruleFor(egress, "UDP/53")?.to, undefined, "dns.to [] is any address");
      assert.deepEqual(ruleFor(egress, "TCP/6443"), {
        ports: [{ port: 6443, protocol: "TCP" }],
        to: [{ ipBlock: { cidr: "172.18.0.2/32" } }],
      });
      // Ports from the URLs (tls without a port: 6514; file:// needs none), OTLP's from its URL.
      assert.deepEqual(ruleFor(egress, "UDP/5514"), {
        ports: [
          { port: 5514, protocol: "UDP" },
          { port: 6514, protocol: "TCP" },
          { port: 514, protocol: "TCP" },
          { port: 4318, protocol: "TCP" },
        ],
        to: [{ ipBlock: { cidr: "192.0.2.0/24" } }],
      });
      assert.deepEqual(egress.at(-1), { ports: [{ port: 8200 }] });
    });

    test("each can be switched off: everything, one side, the agents' egress", async () => {
      const none = await template({ set: ["networkPolicy.enabled=false"] });
      assert.equal(find(none, "NetworkPolicy"), undefined);
      const noCtl = await template({ set: ["networkPolicy.controller.enabled=false"] });
      assert.equal(find(noCtl, "NetworkPolicy", "hangar-controller"), undefined);
      mustFind(noCtl, "NetworkPolicy", "hangar-agent");
      const noEgress = await template({ set: ["networkPolicy.agent.egress=false"] });
      assert.deepEqual(policy(noEgress, "hangar-agent").policyTypes, ["Ingress"]);
      assert.equal(policy(noEgress, "hangar-agent").egress, undefined);
      const noAgent = await template({ set: ["networkPolicy.agent.enabled=false"] });
      assert.equal(find(noAgent, "NetworkPolicy", "hangar-agent"), undefined);
    });

    test("values.schema.json refuses malformed policy values, naming them", async () => {
      for (const [set, want] of [
        ["networkPolicy.agent.apiServer.ports={https}", /\/networkPolicy\/agent\/apiServer\/ports\/0/],
        ["networkPolicy.agent.apiServer.cidrs={10.0.0.1}", /\/networkPolicy\/agent\/apiServer\/cidrs\/0/],
        [
          "networkPolicy.controller.apiNamespaces={Ops_Team}",
          /\/networkPolicy\/controller\/apiNamespaces\/0/,
        ],
        ["networkPolicy.controller.proxyFrom=everyone", /\/networkPolicy\/controller\/proxyFrom/],
        ["networkPolicy.agent.egres=false", /additional properties 'egres' not allowed/],
        ["podSecurity.labels.enforce=strict", /\/podSecurity\/labels\/enforce/],
        ["agent.probe.layout=daemon", /\/agent\/probe\/layout/],
      ] as const) {
        const r = await runHelm(["lint", "--strict", CHART, "--set", set]);
        assert.notEqual(r.code, 0, set);
        assert.match(r.stdout + r.stderr, want, set);
      }
    });

    test("podSecurity.manageNamespace: the release namespace with the enforce/warn/audit labels", async () => {
      assert.equal(find(await template(), "Namespace"), undefined, "off by default");
      const docs = await template({
        set: ["podSecurity.manageNamespace=true", "podSecurity.labels.warn=baseline"],
      });
      const ns = mustFind(docs, "Namespace", NS);
      const labels = ns.metadata.labels ?? {};
      assert.equal(labels["pod-security.kubernetes.io/enforce"], "privileged");
      assert.equal(labels["pod-security.kubernetes.io/enforce-version"], "latest");
      assert.equal(labels["pod-security.kubernetes.io/warn"], "baseline");
      assert.equal(labels["pod-security.kubernetes.io/audit"], "restricted");
      assert.equal(labels["app.kubernetes.io/instance"], "hangar");
    });

    test("probe sidecar: the loader privileged in its own container, the agent container without privileges", async () => {
      const refused = await runHelm([
        "template",
        "x",
        CHART,
        "--set",
        "agent.probe.enabled=true,agent.probe.layout=sidecar",
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /agent\.probe\.layout=sidecar: set agent\.probe\.cgroupMode to v2 or v1:CONTROLLER/,
      );

      const docs = await template({
        set: [
          "agent.probe.enabled=true",
          "agent.probe.layout=sidecar",
          "agent.probe.cgroupMode=v2",
          "agent.probe.sockState=true",
        ],
      });
      const spec = (
        mustFind(docs, "DaemonSet", "hangar-agent")["spec"] as {
          template: {
            spec: {
              hostPID?: boolean;
              containers: Container[];
              volumes: { name: string; emptyDir?: unknown }[];
            };
          };
        }
      ).template.spec;
      assert.equal(spec.hostPID, true);
      const [agent, probe] = spec.containers;
      assert.equal(agent?.name, "agent");
      assert.equal(agent.securityContext?.["privileged"], undefined);
      assert.deepEqual(agent.securityContext?.["capabilities"], { drop: ["ALL"] });
      assert.equal(agent.securityContext?.["allowPrivilegeEscalation"], false);
      for (const a of [
        "--probe",
        "--probe-listen=/run/hangar/probe.sock",
        "--probe-cgroup-mode=v2",
        "--probe-sock-state",
      ])
        assert.ok(agent.args.includes(a), `agent args lack ${a}`);
      assert.ok(!agent.volumeMounts.some((m) => m.name === "btf"), "the agent does not need BTF");
      assert.equal(probe?.name, "probe");
      assert.deepEqual(probe.command, ["/usr/local/lib/hangar/hangar-probe"]);
      assert.deepEqual(probe.args, [
        "--output=unix:/run/hangar/probe.sock",
        "--cgroup-mode=v2",
        "--sock-state",
      ]);
      assert.equal(probe.securityContext?.["privileged"], true);
      assert.deepEqual(
        probe.volumeMounts.map((m) => m.mountPath),
        ["/run/hangar", "/sys/kernel/btf"],
      );
      assert.ok(spec.volumes.some((v) => v.name === "probe-socket" && v.emptyDir !== undefined));
    });
  },
);

describe(
  "the hardening objects on a real kube-apiserver",
  { skip: skipUnlessHelm() || skipUnlessControlPlane() },
  () => {
    let cp: ControlPlane;
    before(async () => {
      cp = await startControlPlane();
      await ensureNamespace(cp, NS);
    });
    after(async () => {
      await cp?.stop();
    });

    test("the policies, the managed namespace and the sidecar DaemonSet pass a strict server-side dry-run", async () => {
      const docs = [
        ...(
          await template({
            set: [
              ...PROXY,
              "networkPolicy.controller.apiNamespaces={ops}",
              "siem.destinations={udp://qradar.example:5514}",
              "networkPolicy.agent.apiServer.cidrs={172.18.0.2/32,fd00::1/128}",
            ],
          })
        ).filter((d) => d.kind === "NetworkPolicy"),
        ...(
          await template({
            set: ["agent.probe.enabled=true", "agent.probe.layout=sidecar", "agent.probe.cgroupMode=v2"],
          })
        ).filter((d) => d.kind === "DaemonSet"),
      ];
      assert.equal(docs.length, 3);
      assert.deepEqual(await dryRun(cp, docs, NS), []);
      const ns = mustFind(
        await template({ set: ["podSecurity.manageNamespace=true"], namespace: "hangar-psa" }),
        "Namespace",
      );
      assert.deepEqual(await dryRun(cp, [ns], NS), []);
      // The check can fail: a policy port the API server refuses.
      const bad = structuredClone(mustFind(docs, "NetworkPolicy", "hangar-agent"));
      (bad["spec"] as PolicySpec).egress![0]!.ports![0]!.port = 70000;
      const failures = await dryRun(cp, [bad], NS);
      assert.equal(failures.length, 1);
      assert.match(
        failures[0]!,
        /NetworkPolicy\/hangar-agent: HTTP 422 .*spec\.egress\[0\]\.ports\[0\]\.port/,
      );
    });

    test("Pod Security: with the labels NOTES.txt prints, the agent is admitted, with and without the probe sidecar", async () => {
      const ns = "hangar-psa-labels";
      await ensureNamespace(cp, ns, {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "restricted",
      });
      for (const probe of [false, true]) {
        const docs = await template({
          namespace: ns,
          set: probe
            ? ["agent.probe.enabled=true", "agent.probe.layout=sidecar", "agent.probe.cgroupMode=v2"]
            : [],
        });
        const ds = mustFind(docs, "DaemonSet", "hangar-agent");
        const r = await apiRequest(cp, "POST", `/api/v1/namespaces/${ns}/pods?dryRun=All`, {
          body: {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "agent-psa", namespace: ns },
            spec: (ds["spec"] as { template: { spec: unknown } }).template.spec,
          },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });

    test("helm install --dry-run=server: the API server's endpoint port by lookup, NOTES with the label command", async () => {
      // The test API server runs without an endpoint reconciler: give the `kubernetes` Service
      // the Endpoints a reconciler would write, on a port that is no default.
      const endpoints = await apiRequest(cp, "POST", "/api/v1/namespaces/default/endpoints", {
        body: {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: "kubernetes", namespace: "default" },
          subsets: [
            { addresses: [{ ip: "10.0.0.10" }], ports: [{ name: "https", port: 16443, protocol: "TCP" }] },
          ],
        },
      });
      assert.equal(endpoints.status, 201, JSON.stringify(endpoints.body));
      const install = async (...set: string[]) => {
        const r = await runHelm(
          ["install", "hangar", CHART, "-n", NS, "--dry-run=server", ...set.flatMap((s) => ["--set", s])],
          { kubeconfig: cp.kubeconfigPath },
        );
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
      };
      const out = await install();
      const manifests = parseManifests(out.slice(out.indexOf("---"), out.indexOf("NOTES:")));
      const egress = policy(manifests, "hangar-agent").egress ?? [];
      assert.deepEqual(ports(ruleFor(egress, "TCP/6443")!), ["TCP/443", "TCP/6443", "TCP/16443"]);
      const notes = out.slice(out.indexOf("NOTES:"));
      assert.match(
        notes,
        new RegExp(
          `kubectl label --overwrite namespace ${NS} \\\\\\n\\s+pod-security\\.kubernetes\\.io/audit=restricted pod-security\\.kubernetes\\.io/audit-version=latest \\\\\\n\\s+pod-security\\.kubernetes\\.io/enforce=privileged`,
        ),
      );
      assert.match(notes, /NetworkPolicies guard the chart's pods/);
      // An EndpointSlice (what current API servers write) is preferred.
      const slice = await apiRequest(
        cp,
        "POST",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        {
          body: {
            apiVersion: "discovery.k8s.io/v1",
            kind: "EndpointSlice",
            metadata: {
              name: "kubernetes",
              namespace: "default",
              labels: { "kubernetes.io/service-name": "kubernetes" },
            },
            addressType: "IPv4",
            endpoints: [{ addresses: ["10.0.0.10"] }],
            ports: [{ name: "https", port: 17443, protocol: "TCP" }],
          },
        },
      );
      assert.equal(slice.status, 201, JSON.stringify(slice.body));
      const sliced = await install();
      const slicedEgress =
        policy(parseManifests(sliced.slice(sliced.indexOf("---"), sliced.indexOf("NOTES:"))), "hangar-agent")
          .egress ?? [];
      assert.deepEqual(ports(ruleFor(slicedEgress, "TCP/6443")!), ["TCP/443", "TCP/6443", "TCP/17443"]);
      // discoverPorts=false: only the listed ports (what `helm template` renders anyway).
      const fixed = await install("networkPolicy.agent.apiServer.discoverPorts=false");
      const fixedEgress =
        policy(parseManifests(fixed.slice(fixed.indexOf("---"), fixed.indexOf("NOTES:"))), "hangar-agent")
          .egress ?? [];
      assert.deepEqual(ports(ruleFor(fixedEgress, "TCP/6443")!), ["TCP/443", "TCP/6443"]);
      const off = await install("networkPolicy.enabled=false", "podSecurity.manageNamespace=false");
      assert.match(off.slice(off.indexOf("NOTES:")), /NetworkPolicies for the chart's pods are OFF/);
    });
  },
);
