/**
 * `hangar-ctl admission check|rules`: the chart's admission rules for MCP provider pods,
 * offline. `check` evaluates manifests against the same rule table the chart's
 * ValidatingAdmissionPolicies are generated from and prints every violation with its path.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { checkSources, type ObjectReport, type Source } from "../../admission/check.js";
import { ADMISSION_LABELS, ADMISSION_RULES } from "../../admission/rules.js";
import { ControllerError } from "../../errors.js";
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
  -o, --output FMT        text (default) or json

Namespaces: a Namespace object among the inputs applies its labels as the cluster would:
${ADMISSION_LABELS.requireEgress}=true and ${ADMISSION_LABELS.requireImageDigest}=true turn the
requirements on, ${ADMISSION_LABELS.mode}=off skips its objects. An object (or its pod template)
labelled ${ADMISSION_LABELS.exempt}=true is skipped.

Exit codes: 0 no violation; 1 at least one violation; 2 usage error or a manifest that cannot
be read (the message names file:doc N).
`;

const OPTIONS = {
  filename: { type: "string", short: "f", multiple: true },
  namespace: { type: "string", short: "n" },
  "require-egress": { type: "boolean" },
  "require-image-digest": { type: "boolean" },
  "exempt-namespace": { type: "string", multiple: true },
  values: { type: "string" },
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

export const admissionCommand: CtlCommand = {
  name: "admission",
  summary: "check manifests offline against the chart's admission rules for MCP pods",
  run(argv: string[], io: CtlIO): Promise<number> {
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
      return Promise.resolve(0);
    }
    if (sub === undefined) throw usageError("missing subcommand: check or rules");
    if (rest.length > 0) throw usageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (sub === "rules") {
      io.stdout(rulesText());
      return Promise.resolve(0);
    }
    if (sub !== "check") throw usageError(`unknown subcommand ${JSON.stringify(sub)}: check or rules`);
    const output = values.output ?? "text";
    if (output !== "text" && output !== "json")
      throw usageError(`--output: ${JSON.stringify(output)} is not text or json`);
    const files = values.filename ?? [];
    if (files.length === 0)
      throw usageError("check: give the manifests with -f FILE (or -f - for standard input)");
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
        return Promise.resolve(2);
      }
      throw err;
    }
    io.stdout(output === "json" ? JSON.stringify({ objects: reports }, null, 2) + "\n" : text(reports));
    return Promise.resolve(reports.some((r) => r.violations.length > 0) ? 1 : 0);
  },
};
