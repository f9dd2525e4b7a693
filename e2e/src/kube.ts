/**
 * What the scenario and the tests share: the image names the chart runs (its appVersion), and
 * polling with a deadline.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** The chart's appVersion: the tag the chart uses when image.tag is empty. */
export const APP_VERSION = (() => {
  const chart = readFileSync(`${REPO}helm/hangar-agent/Chart.yaml`, "utf8");
  const m = /^appVersion:\s*"?([^"\s]+)"?\s*$/m.exec(chart);
  if (m?.[1] === undefined) throw new Error("helm/hangar-agent/Chart.yaml has no appVersion");
  return m[1];
})();
export const AGENT_IMAGE = `ghcr.io/mcp-hangar/hangar-agent:${APP_VERSION}`;
export const CONTROLLER_IMAGE = `ghcr.io/mcp-hangar/hangar-controller:${APP_VERSION}`;

/** Calls `check` every `everyMs` until it returns something other than undefined. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${last === undefined ? "" : ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})`}`,
      );
    await sleep(everyMs);
  }
}

/**
 * The lines of `hostStateDiff` that can be this node's: other tests on a shared machine add and
 * remove network namespaces, mounts and eBPF objects of their own meanwhile. Namespaces and
 * mounts count when they name the node (its id or directory); eBPF programs and maps when their
 * id is one the node's probe was seen holding; everything else (iptables rules and ipsets of the
 * host's namespace, links, routes, kernel settings) always counts.
 */
export function ownLeftovers(
  diff: readonly string[],
  node: { readonly netns: string; readonly dir: string },
  probeIds: { readonly progs: ReadonlySet<number>; readonly maps: ReadonlySet<number> } = {
    progs: new Set(),
    maps: new Set(),
  },
): string[] {
  const id = /hangar-node-([0-9a-f]+)/.exec(node.netns)?.[1] ?? node.netns;
  return diff.filter((line) => {
    if (line.startsWith("netns: ") || line.startsWith("mount: "))
      return line.includes(id) || line.includes(node.dir);
    const bpf = /^bpf (prog|map): (\d+) /.exec(line);
    if (bpf !== null) return (bpf[1] === "prog" ? probeIds.progs : probeIds.maps).has(Number(bpf[2]));
    return true;
  });
}
