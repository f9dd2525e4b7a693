/**
 * `hangar-ctl admission check|rules`: the chart's admission rules for MCP provider pods,
 * offline. `check` evaluates manifests against the same rule table the chart's
 * ValidatingAdmissionPolicies are generated from and prints every violation with its path.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { KubeConfig } from "@kubernetes/client-node";
import { checkSources, type ObjectReport, type Source } from "../../admission/check.js";
import { dryRunSources, type ServerReport } from "../../admission/server.js";
import { ADMISSION_LABELS, ADMISSION_RULES } from "../../admission/rules.js";
import { ControllerError } from "../../errors.js";
import { KubeClient } from "../../kube/kube.js";
import { usageError, type CtlCommand, type CtlIO } from "../command.js";

export const ADMISSION_HELP = `Usage: hangar-ctl admission <subcommand> [options]

The admission rules of the hangar-agent chart for MCP provider pods (pods and the pod
templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs labelled
${ADMISSION_LABELS.provider}), evaluated offline: the chart's ValidatingAdmissionPolicies are
generated from the same rule table.

Subcommands:
  check -f FILE|- ...     check manifests (multi-document YAML or JSON, List kinds; "-" reads
                          standard input); prints every violation as the field to change, what
                          is wrong and what to set, e.g.
                            spec.template.spec.containers[0].securityContext.privileged: a
                            privileged container, set it to false (or leave it out) [privileged]
  rules                   the rules: id, the field each checks, the fix

Options (check):
  -f, --filename FILE     a manifest file, or - for standard input (repeatable)
  -n, --namespace NS      namespace of objects that name none (default: default)
  --require-egress        require the ${ADMISSION_LABELS.egress} annotation everywhere
                          (the chart's admission.requireEgress)
  --require-image-digest  require images by digest everywhere (admission.requireImageDigest)
  --exempt-namespace NS   never check this namespace (repeatable; default: kube-system, as the chart)
  --values FILE           take the three settings above from a values file of the chart
  --dry-run=server        instead of checking offline, send each pod and workload to the
                          cluster of the kubeconfig as a server-side dry run (nothing is
                          stored) and report what the installed policies answered: refused
                          (Deny) or admitted with warnings (Warn), each violation with its path
  --kubeconfig FILE       with --dry-run=server (default $KUBECONFIG, else ~/.kube/config)
  -o, --output FMT        text (default) or json

Namespaces: a Namespace object among the inputs applies its labels as the cluster would:
${ADMISSION_LABELS.requireEgress}=true and ${ADMISSION_LABELS.requireImageDigest}=true turn the
requirements on, ${ADMISSION_LABELS.mode}=off skips its objects. An object (or its pod template)
labelled ${ADMISSION_LABELS.exempt}=true is skipped.

Exit codes: 0 no violation; 1 at least one violation; 2 usage error, a manifest that cannot
be read (the message names file:doc N), or, with --dry-run=server, an object the API server
refused for another reason (its namespace does not exist, an invalid field) or no cluster.
`;

const OPTIONS = {
  filename: { type: "string", short: "f", multiple: true },
  namespace: { type: "string", short: "n" },
  "require-egress": { type: "boolean" },
  "require-image-digest": { type: "boolean" },
  "exempt-namespace": { type: "string", multiple: true },
  values: { type: "string" },
  "dry-run": { type: "string" },
  kubeconfig: { type: "string" },
  output: { type: "string", short: "o" },
  help: { type: "boolean", short: "h" },
} as const;

interface ChartSettings {
  requireEgress?: boolean;
  requireImageDigest?: boolean;
  exemptNamespaces?: string[];
}

/** `admission.*` of a chart values file; throws a usage error naming the file and key. */
function valuesFile(path: string): ChartSettings {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw usageError(`--values ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const a = (doc as { admission?: Record<string, unknown> } | null)?.admission;
  if (a === undefined) return {};
  const out: ChartSettings = {};
  for (const key of ["requireEgress", "requireImageDigest"] as const) {
    const v = a[key];
    if (v === undefined) continue;
    if (typeof v !== "boolean") throw usageError(`--values ${path}: admission.${key}: must be true or false`);
    out[key] = v;
  }
  const ex = a["exemptNamespaces"];
  if (ex !== undefined) {
    if (!Array.isArray(ex) || !ex.every((x) => typeof x === "string"))
      throw usageError(`--values ${path}: admission.exemptNamespaces: must be a list of names`);
    out.exemptNamespaces = ex;
  }
  return out;
}

function readSource(name: string): Source {
  try {
    return { name, text: readFileSync(name === "-" ? 0 : name, "utf8") };
  } catch (err) {
    throw new ControllerError(
      "HANGAR_ERR_ADMISSION_INPUT",
      `${name === "-" ? "<stdin>" : name}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function text(reports: readonly ObjectReport[]): string {
  const lines: string[] = [];
  let bad = 0;
  let violations = 0;
  let skipped = 0;
  for (const r of reports) {
    const id = `${r.where} ${r.kind} ${r.namespace}/${r.name}`;
    if (r.skipped !== undefined) {
      skipped++;
      lines.push(`${id}: skipped (${r.skipped})`);
    } else if (r.violations.length === 0) lines.push(`${id}: ok`);
    else {
      bad++;
      violations += r.violations.length;
      lines.push(`${id}: ${r.violations.length} violation${r.violations.length === 1 ? "" : "s"}`);
      for (const v of r.violations) lines.push(`  ${v.path}: ${v.problem}, ${v.fix} [${v.rule}]`);
    }
  }
  const checked = reports.length - skipped;
  lines.push(
    `${checked} checked, ${bad} with violations (${violations} violation${violations === 1 ? "" : "s"}), ${skipped} skipped`,
  );
  return lines.join("\n") + "\n";
}

function rulesText(): string {
  const rows = ADMISSION_RULES.map((r) => {
    const where =
      r.scope === "container"
        ? `<container>.${r.field}`
        : r.scope === "volume"
          ? `volumes[i].${r.field}`
          : `${r.base === "spec" ? "<pod spec>" : "<pod metadata>"}.${r.field}`;
    return `${r.id.padEnd(28)}${where}\n${"".padEnd(28)}${r.problem}: ${r.fix}`;
  });
  return (
    rows.join("\n") +
    "\n\n<container> is each of containers[i], initContainers[i] and ephemeralContainers[i].\n" +
    "image-digest and egress-declared apply where required (see hangar-ctl admission --help).\n"
  );
}

async function serverCheck(
  files: string[],
  namespace: string | undefined,
  kubeconfig: string | undefined,
  output: string,
  io: CtlIO,
): Promise<number> {
  const kc = new KubeConfig();
  let kube: KubeClient;
  try {
    if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    kube = new KubeClient(kc);
  } catch (err) {
    io.stderr(
      `hangar-ctl admission check: no cluster: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 2;
  }
  const ns = namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  let reports: ServerReport[];
  try {
    reports = await dryRunSources(kube, files.map(readSource), ns);
  } catch (err) {
    const code = (err as { code?: string }).code;
    io.stderr(
      `hangar-ctl admission check: ${code !== undefined ? `${code}: ` : ""}${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 2;
  }
  if (output === "json") io.stdout(JSON.stringify({ objects: reports }, null, 2) + "\n");
  else {
    const lines = reports.map((r) => {
      const id = `${r.where} ${r.kind} ${r.namespace}/${r.name}`;
      if (r.skipped !== undefined) return `${id}: skipped (${r.skipped})`;
      if (r.answer === "error")
        return `${id}: the API server refused it for another reason: ${r.error ?? ""}`;
      const head = `${id}: ${r.answer === "refused" ? "refused" : r.answer === "warned" ? "admitted with warnings" : "admitted"} (server-side dry run)`;
      return [head, ...r.violations.map((v) => `  ${v.path}: ${v.problem}, ${v.fix} [${v.rule}]`)].join("\n");
    });
    io.stdout(lines.join("\n") + "\n");
  }
  if (reports.some((r) => r.answer === "error")) return 2;
  return reports.some((r) => r.violations.length > 0) ? 1 : 0;
}

export const admissionCommand: CtlCommand = {
  name: "admission",
  summary: "check manifests offline against the chart's admission rules for MCP pods",
  async run(argv: string[], io: CtlIO): Promise<number> {
    let values;
    let positionals;
    try {
      ({ values, positionals } = parseArgs({
        args: argv,
        options: OPTIONS,
        allowPositionals: true,
        strict: true,
      }));
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    const [sub, ...rest] = positionals;
    if (values.help === true || sub === "help") {
      io.stdout(ADMISSION_HELP);
      return 0;
    }
    if (sub === undefined) throw usageError("missing subcommand: check or rules");
    if (rest.length > 0) throw usageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (sub === "rules") {
      io.stdout(rulesText());
      return 0;
    }
    if (sub !== "check") throw usageError(`unknown subcommand ${JSON.stringify(sub)}: check or rules`);
    const output = values.output ?? "text";
    if (output !== "text" && output !== "json")
      throw usageError(`--output: ${JSON.stringify(output)} is not text or json`);
    const files = values.filename ?? [];
    if (files.length === 0)
      throw usageError("check: give the manifests with -f FILE (or -f - for standard input)");
    const dryRun = values["dry-run"] ?? "none";
    if (dryRun !== "none" && dryRun !== "server")
      throw usageError(`--dry-run: ${JSON.stringify(dryRun)} is not server (or none: offline, the default)`);
    if (dryRun === "server") {
      const offline = ["require-egress", "require-image-digest", "exempt-namespace", "values"] as const;
      const given = offline.find((k) => values[k] !== undefined);
      if (given !== undefined)
        throw usageError(`--${given}: only offline; with --dry-run=server the cluster's policies decide`);
      return serverCheck(files, values.namespace, values.kubeconfig, output, io);
    }
    const chart = values.values !== undefined ? valuesFile(values.values) : {};
    let reports: ObjectReport[];
    try {
      reports = checkSources(files.map(readSource), {
        requireEgress: values["require-egress"] === true || chart.requireEgress === true,
        requireImageDigest: values["require-image-digest"] === true || chart.requireImageDigest === true,
        exemptNamespaces: values["exempt-namespace"] ?? chart.exemptNamespaces ?? ["kube-system"],
        ...(values.namespace !== undefined ? { defaultNamespace: values.namespace } : {}),
      });
    } catch (err) {
      if (err instanceof ControllerError && err.code === "HANGAR_ERR_ADMISSION_INPUT") {
        io.stderr(`hangar-ctl admission check: ${err.code}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    io.stdout(output === "json" ? JSON.stringify({ objects: reports }, null, 2) + "\n" : text(reports));
    return reports.some((r) => r.violations.length > 0) ? 1 : 0;
  },
};
