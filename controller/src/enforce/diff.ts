/**
 * A unified diff of two objects rendered as stable, indented JSON, for audit
 * records: what would change in the API server.
 */
import type { KubeObject } from "../kube/kube.js";

/** Drops the fields the API server owns (resourceVersion, managedFields, status …). */
export function comparable(obj: KubeObject | undefined): KubeObject | undefined {
  if (obj === undefined) return undefined;
  const {
    resourceVersion: _rv,
    uid: _uid,
    creationTimestamp: _ct,
    generation: _g,
    managedFields: _mf,
    selfLink: _sl,
    ...metadata
  } = obj.metadata;
  const { status: _status, ...rest } = obj;
  return sortKeys({ ...rest, metadata }) as KubeObject;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function lines(obj: KubeObject | undefined): string[] {
  return obj === undefined ? [] : JSON.stringify(comparable(obj), null, 2).split("\n");
}

/** Unified diff (`---`/`+++` headers, one hunk per change with 3 lines of context); "" when equal. */
export function unifiedDiff(
  before: KubeObject | undefined,
  after: KubeObject | undefined,
  name: string,
): string {
  const a = lines(before);
  const b = lines(after);
  // LCS table (objects are small: a few hundred lines at most).
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { op: " " | "-" | "+"; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: " ", line: a[i++]!, ai: i, bi: ++j });
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
      ops.push({ op: "-", line: a[i++]!, ai: i, bi: j });
    else ops.push({ op: "+", line: b[j++]!, ai: i, bi: j });
  }
  if (ops.every((o) => o.op === " ")) return "";
  const out = [
    `--- ${before === undefined ? "/dev/null" : `live/${name}`}`,
    `+++ ${after === undefined ? "/dev/null" : `new/${name}`}`,
  ];
  const context = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.op === " ") {
      k++;
      continue;
    }
    let start = Math.max(0, k - context);
    let end = k;
    // extend the hunk while changes are within 2*context of each other
    for (;;) {
      while (end < ops.length && ops[end]!.op !== " ") end++;
      let next = end;
      while (next < ops.length && ops[next]!.op === " " && next - end < 2 * context) next++;
      if (next < ops.length && ops[next]!.op !== " ") end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const aStart = hunk.filter((o) => o.op !== "+").length === 0 ? 0 : countBefore(ops, start, "+") + 1;
    const bStart = hunk.filter((o) => o.op !== "-").length === 0 ? 0 : countBefore(ops, start, "-") + 1;
    out.push(
      `@@ -${aStart},${hunk.filter((o) => o.op !== "+").length} +${bStart},${hunk.filter((o) => o.op !== "-").length} @@`,
    );
    for (const o of hunk) out.push(`${o.op}${o.line}`);
    k = stop;
    start = stop;
  }
  return out.join("\n") + "\n";
}

/** Lines of the old (skip "+") or new (skip "-") side before ops[index]. */
function countBefore(ops: { op: string }[], index: number, skip: string): number {
  let c = 0;
  for (let x = 0; x < index; x++) if (ops[x]!.op !== skip) c++;
  return c;
}
