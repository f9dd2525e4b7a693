/**
 * The subset of Tetragon's and Hubble's server-side filtering the simulator
 * applies, so tests see what a real sensor would send for the agent's request.
 */
import type { flow, observer, tetragon } from "@hangar/proto";

/** Matches Kubernetes label-selector terms: "key", "!key", "key=value", "key!=value" (comma = AND). */
export function matchesSelector(selector: string, labels: Readonly<Record<string, string>>): boolean {
  for (const raw of selector.split(",")) {
    const term = raw.trim();
    if (term === "") continue;
    if (term.startsWith("!")) {
      if (Object.hasOwn(labels, term.slice(1))) return false;
      continue;
    }
    const ne = term.indexOf("!=");
    if (ne > 0) {
      if (labels[term.slice(0, ne)] === term.slice(ne + 2)) return false;
      continue;
    }
    const eq = term.indexOf("=");
    if (eq > 0) {
      const key = term.slice(0, eq);
      const value = term.slice(term[eq + 1] === "=" ? eq + 2 : eq + 1);
      if (labels[key] !== value) return false;
      continue;
    }
    if (!Object.hasOwn(labels, term)) return false;
  }
  return true;
}

/** The event type number of a response = its oneof field number. */
const TETRAGON_EVENT_TYPE: Record<string, number> = {
  processExec: 1,
  processExit: 5,
  processKprobe: 9,
  processTracepoint: 10,
  processLoader: 11,
  processUprobe: 12,
  processThrottle: 27,
  processLsm: 28,
  processUsdt: 29,
  test: 40000,
  rateLimitInfo: 40001,
};

function tetragonPod(ev: tetragon.GetEventsResponse): tetragon.Pod | undefined {
  const e = ev.event;
  if (e.case === undefined) return undefined;
  const v = e.value as { process?: tetragon.Process };
  return v.process?.pod;
}

function tetragonFilterMatches(f: tetragon.Filter, ev: tetragon.GetEventsResponse): boolean {
  const pod = tetragonPod(ev);
  if (f.eventSet.length > 0 && !f.eventSet.includes(TETRAGON_EVENT_TYPE[ev.event.case ?? ""] ?? -1))
    return false;
  if (f.namespace.length > 0 && !f.namespace.includes(pod?.namespace ?? "")) return false;
  if (f.labels.length > 0) {
    // Label filters never match events without a pod.
    if (pod === undefined) return false;
    if (!f.labels.some((sel) => matchesSelector(sel, pod.podLabels))) return false;
  }
  return true;
}

/** allow-list (OR) minus deny-list (OR), as Tetragon applies them. */
export function tetragonAllows(req: tetragon.GetEventsRequest, ev: tetragon.GetEventsResponse): boolean {
  if (req.allowList.length > 0 && !req.allowList.some((f) => tetragonFilterMatches(f, ev))) return false;
  if (req.denyList.some((f) => tetragonFilterMatches(f, ev))) return false;
  return true;
}

function endpointLabels(ep: flow.Endpoint | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of ep?.labels ?? []) {
    const eq = l.indexOf("=");
    // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
    if (eq < 0) out[l] = "";
    // eslint-disable-next-line hangar/no-string-key-write -- string value: a "__proto__" assignment is ignored by its setter, no prototype is reached
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

function podMatches(prefixes: readonly string[], ep: flow.Endpoint | undefined): boolean {
  const name = `${ep?.namespace ?? ""}/${ep?.podName ?? ""}`;
  return prefixes.some((p) => name.startsWith(p));
}

function flowFilterMatches(f: flow.FlowFilter, fl: flow.Flow): boolean {
  if (f.sourceLabel.length > 0 && !f.sourceLabel.some((s) => matchesSelector(s, endpointLabels(fl.source))))
    return false;
  if (
    f.destinationLabel.length > 0 &&
    !f.destinationLabel.some((s) => matchesSelector(s, endpointLabels(fl.destination)))
  ) {
    return false;
  }
  if (f.sourcePod.length > 0 && !podMatches(f.sourcePod, fl.source)) return false;
  if (f.destinationPod.length > 0 && !podMatches(f.destinationPod, fl.destination)) return false;
  return true;
}

/** whitelist (OR) minus blacklist (OR); non-flow responses (lost events) are never filtered. */
export function hubbleAllows(req: observer.GetFlowsRequest, res: observer.GetFlowsResponse): boolean {
  if (res.responseTypes.case !== "flow") return true;
  const fl = res.responseTypes.value;
  if (req.whitelist.length > 0 && !req.whitelist.some((f) => flowFilterMatches(f, fl))) return false;
  if (req.blacklist.some((f) => flowFilterMatches(f, fl))) return false;
  return true;
}
