/**
 * Admission fixtures shared by the unit tests and the API-server test: a pod spec that passes
 * every rule, and for each rule a change that breaks it (only it), so each check is seen to
 * refuse its bad pod and admit the fixed one, through the offline checker and the real policy.
 */
import { ADMISSION_LABELS } from "./rules.js";

type Json = Record<string, unknown>;

/** A container that passes every rule. */
export function goodContainer(name = "server"): Json {
  return {
    name,
    image: `registry.example/mcp/${name}@sha256:${"a".repeat(64)}`,
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}

/** A pod spec and metadata that pass every rule (egress declared, images by digest). */
export function goodPod(provider = "weather"): { metadata: Json; spec: Json } {
  return {
    metadata: {
      labels: { app: provider, [ADMISSION_LABELS.provider]: provider },
      annotations: { [ADMISSION_LABELS.egress]: "api.weather.example:443" },
    },
    spec: {
      containers: [goodContainer("server")],
      initContainers: [goodContainer("init")],
      volumes: [{ name: "tmp", emptyDir: {} }],
    },
  };
}

export interface BreakCase {
  /** The rule this change breaks. */
  readonly rule: string;
  /** The path the violation names, under the pod spec (`spec.`) or metadata (`metadata.`). */
  readonly path: string;
  /** Violations that necessarily come with it (the API server refuses privileged without escalation). */
  readonly also?: readonly { readonly rule: string; readonly path: string }[];
  /** Needs the namespace to require it (egress, digests). */
  readonly requires?: "egress" | "digest";
  readonly apply: (pod: { metadata: Json; spec: Json }) => void;
}

const container = (pod: { spec: Json }, list = "containers", i = 0): Json => {
  const l = pod.spec[list] as Json[];
  return l[i] as Json;
};
const sc = (c: Json): Json => c["securityContext"] as Json;

/** One change per rule; each breaks only that rule (and `also`). */
export const BREAK_CASES: readonly BreakCase[] = [
  {
    rule: "privileged",
    path: "spec.containers[0].securityContext.privileged",
    also: [
      {
        rule: "allow-privilege-escalation",
        path: "spec.containers[0].securityContext.allowPrivilegeEscalation",
      },
    ],
    apply: (p) => {
      sc(container(p))["privileged"] = true;
      delete sc(container(p))["allowPrivilegeEscalation"];
    },
  },
  {
    rule: "host-network",
    path: "spec.hostNetwork",
    apply: (p) => {
      p.spec["hostNetwork"] = true;
    },
  },
  {
    rule: "host-pid",
    path: "spec.hostPID",
    apply: (p) => {
      p.spec["hostPID"] = true;
    },
  },
  {
    rule: "host-ipc",
    path: "spec.hostIPC",
    apply: (p) => {
      p.spec["hostIPC"] = true;
    },
  },
  {
    rule: "host-path",
    path: "spec.volumes[1].hostPath",
    apply: (p) => {
      (p.spec["volumes"] as Json[]).push({ name: "host", hostPath: { path: "/var/run" } });
    },
  },
  {
    rule: "run-as-non-root",
    path: "spec.initContainers[0].securityContext.runAsNonRoot",
    apply: (p) => {
      delete sc(container(p, "initContainers"))["runAsNonRoot"];
    },
  },
  {
    rule: "run-as-user-root",
    path: "spec.containers[0].securityContext.runAsUser",
    apply: (p) => {
      sc(container(p))["runAsUser"] = 0;
    },
  },
  {
    rule: "pod-run-as-user-root",
    path: "spec.securityContext.runAsUser",
    apply: (p) => {
      p.spec["securityContext"] = { runAsUser: 0 };
    },
  },
  {
    rule: "allow-privilege-escalation",
    path: "spec.containers[0].securityContext.allowPrivilegeEscalation",
    apply: (p) => {
      sc(container(p))["allowPrivilegeEscalation"] = true;
    },
  },
  {
    rule: "capabilities-drop-all",
    path: "spec.containers[0].securityContext.capabilities.drop",
    apply: (p) => {
      (sc(container(p))["capabilities"] as Json)["drop"] = ["NET_RAW"];
    },
  },
  {
    rule: "capabilities-add",
    path: "spec.containers[0].securityContext.capabilities.add",
    apply: (p) => {
      (sc(container(p))["capabilities"] as Json)["add"] = ["NET_BIND_SERVICE", "NET_RAW"];
    },
  },
  {
    rule: "read-only-root-filesystem",
    path: "spec.containers[0].securityContext.readOnlyRootFilesystem",
    apply: (p) => {
      sc(container(p))["readOnlyRootFilesystem"] = false;
    },
  },
  {
    rule: "seccomp",
    path: "spec.containers[0].securityContext.seccompProfile.type",
    apply: (p) => {
      sc(container(p))["seccompProfile"] = { type: "Unconfined" };
    },
  },
  {
    rule: "image-digest",
    path: "spec.containers[0].image",
    requires: "digest",
    apply: (p) => {
      container(p)["image"] = "registry.example/mcp/server:1.2.3";
    },
  },
  {
    rule: "egress-declared",
    path: "metadata.annotations['mcp-hangar.io/egress']",
    requires: "egress",
    apply: (p) => {
      delete (p.metadata["annotations"] as Json)[ADMISSION_LABELS.egress];
    },
  },
];

/** `goodPod()` with one case applied. */
export function brokenPod(c: BreakCase, provider = "weather"): { metadata: Json; spec: Json } {
  const p = goodPod(provider);
  c.apply(p);
  return p;
}

/** The violations a case must produce, as `rule path` lines, sorted; `spec`/`metadata` moved under `at`. */
export function expected(
  c: BreakCase,
  at: { spec: string; meta: string } = { spec: "spec", meta: "metadata" },
): string[] {
  const move = (p: string): string =>
    p.startsWith("spec.") ? `${at.spec}${p.slice(4)}` : `${at.meta}${p.slice("metadata".length)}`;
  return [{ rule: c.rule, path: c.path }, ...(c.also ?? [])].map((v) => `${v.rule} ${move(v.path)}`).sort();
}
