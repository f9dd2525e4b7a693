import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { ControllerError } from "../errors.js";
import { checkPod, checkSources, type ObjectReport } from "./check.js";
import { BREAK_CASES, brokenPod, expected, goodContainer, goodPod } from "./fixtures.js";
import { ADMISSION_RULES } from "./rules.js";

const ALL = { requireEgress: true, requireImageDigest: true };

function deployment(pod: { metadata: object; spec: object }, name = "weather", namespace = "mcp"): object {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: { selector: { matchLabels: { app: "weather" } }, template: pod },
  };
}
const bare = (pod: { metadata: object; spec: object }, name = "weather-0", namespace = "mcp"): object => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { ...pod.metadata, name, namespace },
  spec: pod.spec,
});
const yamlOf = (...docs: object[]): string => docs.map((d) => stringify(d)).join("---\n");
const one = (reports: ObjectReport[]): ObjectReport => {
  assert.equal(reports.length, 1);
  return reports[0]!;
};

describe("admission rules, offline", () => {
  it("every rule has a break case, and the good pod passes all of them", () => {
    assert.deepEqual(BREAK_CASES.map((c) => c.rule).sort(), ADMISSION_RULES.map((r) => r.id).sort());
    const p = goodPod();
    assert.deepEqual(checkPod(p.spec, p.metadata, ALL), []);
  });

  for (const c of BREAK_CASES) {
    it(`${c.rule}: the broken pod is refused with the path, the fixed one passes (pod and Deployment)`, () => {
      const ctx = { requireEgress: c.requires === "egress", requireImageDigest: c.requires === "digest" };
      const bad = brokenPod(c);
      const v = checkPod(bad.spec, bad.metadata, ctx);
      assert.deepEqual(v.map((x) => `${x.rule} ${x.path}`).sort(), expected(c));
      assert.match(v[0]!.fix, /\S/);
      const viaPod = one(checkSources([{ name: "p.yaml", text: yamlOf(bare(bad)) }], ctx));
      assert.deepEqual(viaPod.violations.map((x) => `${x.rule} ${x.path}`).sort(), expected(c));
      const viaDeploy = one(checkSources([{ name: "d.yaml", text: yamlOf(deployment(bad)) }], ctx));
      assert.deepEqual(
        viaDeploy.violations.map((x) => `${x.rule} ${x.path}`).sort(),
        expected(c, { spec: "spec.template.spec", meta: "spec.template.metadata" }),
      );
      const fixed = goodPod();
      assert.deepEqual(
        one(checkSources([{ name: "d.yaml", text: yamlOf(deployment(fixed)) }], ctx)).violations,
        [],
      );
    });
  }

  it("pod-level settings count for containers that set none; a container's own setting wins", () => {
    const p = goodPod();
    const c = goodContainer();
    const s = c["securityContext"] as Record<string, unknown>;
    delete s["runAsNonRoot"];
    delete s["seccompProfile"];
    p.spec["containers"] = [c];
    assert.deepEqual(
      checkPod(p.spec, p.metadata, ALL).map((v) => v.rule),
      ["run-as-non-root", "seccomp"],
    );
    p.spec["securityContext"] = {
      runAsNonRoot: true,
      seccompProfile: { type: "Localhost", localhostProfile: "x.json" },
    };
    assert.deepEqual(checkPod(p.spec, p.metadata, ALL), []);
    s["runAsNonRoot"] = false;
    assert.deepEqual(
      checkPod(p.spec, p.metadata, ALL).map((v) => v.path),
      ["spec.containers[0].securityContext.runAsNonRoot"],
    );
  });

  it("ephemeral containers, init containers and CronJobs are checked with their own paths", () => {
    const p = goodPod();
    p.spec["ephemeralContainers"] = [{ name: "debug", image: "busybox" }];
    const cron = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "nightly", namespace: "mcp" },
      spec: { schedule: "@daily", jobTemplate: { spec: { template: p } } },
    };
    const r = one(checkSources([{ name: "c.yaml", text: yamlOf(cron) }], ALL));
    const prefix = "spec.jobTemplate.spec.template.spec.ephemeralContainers[0]";
    assert.deepEqual(
      r.violations.map((v) => v.path),
      [
        `${prefix}.securityContext.runAsNonRoot`,
        `${prefix}.securityContext.allowPrivilegeEscalation`,
        `${prefix}.securityContext.capabilities.drop`,
        `${prefix}.securityContext.readOnlyRootFilesystem`,
        `${prefix}.securityContext.seccompProfile.type`,
        `${prefix}.image`,
      ],
    );
  });

  it("scope: unlabelled pods, exempt labels, exempt namespaces and admission=off are skipped, with the reason", () => {
    const bad = brokenPod(BREAK_CASES[0]!);
    const unlabelled = { metadata: { labels: { app: "x" } }, spec: bad.spec };
    const exemptPod = {
      metadata: {
        labels: { ...(bad.metadata["labels"] as object), "mcp-hangar.io/admission-exempt": "true" },
      },
      spec: bad.spec,
    };
    const ns = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "legacy", labels: { "mcp-hangar.io/admission": "off" } },
    };
    const reports = checkSources([
      {
        name: "all.yaml",
        text: yamlOf(
          deployment(unlabelled, "a"),
          deployment(exemptPod, "b"),
          bare(bad, "c", "kube-system"),
          ns,
          bare(bad, "d", "legacy"),
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "e" } },
          bare(bad, "f", "mcp"),
        ),
      },
    ]);
    assert.deepEqual(
      reports.map((r) => [r.where, r.name, r.skipped ?? `${r.violations.length} violations`]),
      [
        ["all.yaml:doc 1", "a", "no mcp-hangar.io/provider label on spec.template.metadata"],
        ["all.yaml:doc 2", "b", "exempt by the label mcp-hangar.io/admission-exempt=true"],
        ["all.yaml:doc 3", "c", "namespace kube-system is exempt"],
        ["all.yaml:doc 4", "legacy", "not a pod or a workload with a pod template"],
        ["all.yaml:doc 5", "d", "namespace legacy has mcp-hangar.io/admission=off"],
        ["all.yaml:doc 6", "e", "not a pod or a workload with a pod template"],
        ["all.yaml:doc 7", "f", "2 violations"],
      ],
    );
  });

  it("a namespace's labels turn the egress and digest requirements on for its objects only", () => {
    const p = goodPod();
    delete (p.metadata["annotations"] as Record<string, string>)["mcp-hangar.io/egress"];
    (p.spec["containers"] as Record<string, unknown>[])[0]!["image"] = "nginx:1";
    const strict = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "strict",
        labels: { "mcp-hangar.io/require-egress": "true", "mcp-hangar.io/require-image-digest": "true" },
      },
    };
    const reports = checkSources([
      {
        name: "x.json",
        text: JSON.stringify({
          apiVersion: "v1",
          kind: "List",
          items: [strict, bare(p, "a", "strict"), bare(p, "b", "mcp")],
        }),
      },
    ]);
    assert.deepEqual(
      reports.map((r) => [r.where, r.violations.map((v) => v.rule)]),
      [
        ["x.json:doc 1 item 1", []],
        ["x.json:doc 1 item 2", ["image-digest", "egress-declared"]],
        ["x.json:doc 1 item 3", []],
      ],
    );
  });

  it("bad input is refused naming file:doc and the field", () => {
    const cases: [string, RegExp][] = [
      ["kind: Pod\nmetadata: {name: x\n", /^p\.yaml:doc 1: line \d+: /],
      ["---\n- a\n- b\n", /^p\.yaml:doc 1: not an object/],
      ["kind: Pod\n---\nmetadata: {name: x}\n", /^p\.yaml:doc 2: no "kind"/],
      [
        "kind: Deployment\nmetadata: {name: d}\nspec: {}\n",
        /^p\.yaml:doc 1: Deployment d: spec\.template\.spec is missing/,
      ],
      [
        "kind: Pod\nmetadata: {name: p}\nspec: {containers: {a: 1}}\n",
        /^p\.yaml:doc 1: spec\.containers: must be a list of objects/,
      ],
      ["kind: List\nitems: [1]\n", /^p\.yaml:doc 1 item 1: not an object/],
    ];
    for (const [text, re] of cases)
      assert.throws(
        () => checkSources([{ name: "p.yaml", text }]),
        (err: unknown) =>
          err instanceof ControllerError && err.code === "HANGAR_ERR_ADMISSION_INPUT" && re.test(err.message),
        text,
      );
  });
});
