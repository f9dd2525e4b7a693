/**
 * cgroup id → container → pod, for the eBPF probe, and the set of cgroups the probe's
 * in-kernel filter must hold.
 *
 * The probe reports the id of a task's cgroup (the cgroup directory's inode number) in
 * one hierarchy: the unified one (cgroup v2, or the `unified` mount of a hybrid node) or
 * a v1 controller's (`memory` by default on v1 nodes). Kubelet names the directories:
 *
 *   cgroupfs driver  …/kubepods[/burstable|/besteffort]/pod<uid>/<container id>
 *   systemd driver   …/kubepods[-burstable].slice/kubepods-burstable-pod<uid_>.slice/
 *                        cri-containerd-<id>.scope  (or docker-, crio-, libpod-)
 *
 * `CgroupResolver.scan()` walks the hierarchy once and remembers every directory at or
 * below a pod directory; `lookup()` answers from that, then from /proc/<pid>/cgroup of
 * the event's process, then from the pod directory the kernel matched.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Counters } from "@hangar/core";
import { AgentError } from "../../errors.js";

export interface CgroupHierarchy {
  version: 1 | 2;
  /** v1: the controller whose hierarchy is used ("memory"); v2: "". */
  controller: string;
  /** Where the hierarchy is mounted, e.g. /sys/fs/cgroup or /sys/fs/cgroup/memory. */
  mount: string;
}

/** The loader's --cgroup-mode for a hierarchy: "v2" or "v1:memory". */
export function loaderMode(h: CgroupHierarchy): string {
  return h.version === 2 ? "v2" : `v1:${h.controller}`;
}

interface Mount {
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The cgroup mounts of a /proc/self/mountinfo text. */
export function cgroupMounts(mountinfo: string): Mount[] {
  const out: Mount[] = [];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    const fstype = post[0] ?? "";
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    out.push({
      mountPoint: unescapeMount(pre[4] ?? ""),
      fstype,
      superOptions: (post[2] ?? "").split(","),
    });
  }
  return out;
}

/**
 * The hierarchy to use. `want`: "v2", "v1:<controller>", or "auto" — v2 on a pure v2 node
 * (and on a hybrid node with no v1 memory hierarchy), v1:memory on v1 and hybrid nodes,
 * where Kubernetes places containers by controller.
 */
export function findHierarchy(mountinfo: string, want = "auto"): CgroupHierarchy {
  const mounts = cgroupMounts(mountinfo);
  const v2 = mounts.find((m) => m.fstype === "cgroup2");
  const v1 = (ctrl: string): Mount | undefined =>
    mounts.find((m) => m.fstype === "cgroup" && m.superOptions.includes(ctrl));
  if (want === "v2") {
    if (v2 === undefined)
      throw new AgentError("HANGAR_ERR_PROBE_UNAVAILABLE", "cgroup mode v2: no cgroup2 mount in mountinfo");
    return { version: 2, controller: "", mount: v2.mountPoint };
  }
  if (want.startsWith("v1:")) {
    const ctrl = want.slice(3);
    const m = v1(ctrl);
    if (m === undefined)
      throw new AgentError(
        "HANGAR_ERR_PROBE_UNAVAILABLE",
        `cgroup mode ${want}: no cgroup v1 hierarchy with the ${ctrl} controller is mounted`,
      );
    return { version: 1, controller: ctrl, mount: m.mountPoint };
  }
  if (want !== "auto")
    throw new AgentError(
      "HANGAR_ERR_CONFIG_INVALID",
      `cgroup mode "${want}": expected auto, v2 or v1:CONTROLLER`,
    );
  const mem = v1("memory");
  if (mem !== undefined) return { version: 1, controller: "memory", mount: mem.mountPoint };
  if (v2 !== undefined) return { version: 2, controller: "", mount: v2.mountPoint };
  throw new AgentError("HANGAR_ERR_PROBE_UNAVAILABLE", "no cgroup hierarchy is mounted");
}

/**
 * Where hierarchy `h` (as this process's mountinfo places it, e.g. /sys/fs/cgroup/memory) is
 * inside `root`, the node's cgroup filesystem mounted elsewhere (a hostPath at
 * /host/sys/fs/cgroup): root/memory on a v1 or hybrid node, root/unified for the unified
 * hierarchy of a hybrid node, root itself on a pure v2 node. `root` as given when it is that
 * hierarchy already (the sub-directory does not exist under it).
 */
export function hierarchyUnder(root: string, h: CgroupHierarchy): string {
  const rel = relative("/sys/fs/cgroup", h.mount);
  if (rel === "" || rel.startsWith("..")) return root;
  const candidate = join(root, rel);
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the node's cgroup hierarchy (from mountinfo or --probe-cgroup-root) and directories the kernel lists in it
  return existsSync(candidate) ? candidate : root;
}

/** Reads /proc/self/mountinfo and picks the hierarchy (see findHierarchy). */
export function detectHierarchy(want = "auto", procRoot = "/proc"): CgroupHierarchy {
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- /proc files under the configured proc root; the pid is a number
  return findHierarchy(readFileSync(`${procRoot}/self/mountinfo`, "utf8"), want);
}

const UID = "[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12}";
const POD_DIR = new RegExp(`^(?:kubepods(?:-[a-z]+)*-)?pod(${UID})(?:\\.slice)?$`);
const CONTAINER_DIR =
  /^(?:(?:cri-containerd|containerd|docker|crio|cri-o|libpod)-)?([0-9a-f]{64})(?:\.scope)?$/;

/** The pod uid of a pod cgroup directory name, or "". */
export function podUidOfDir(name: string): string {
  const m = POD_DIR.exec(name);
  return m === null ? "" : (m[1] as string).replace(/_/g, "-").toLowerCase();
}

/** The container id of a container cgroup directory name, or "". */
export function containerIdOfDir(name: string): string {
  return CONTAINER_DIR.exec(name)?.[1] ?? "";
}

export interface CgroupIdentity {
  podUid: string;
  /** Bare container id (64 hex), "" for the pod's own cgroup. */
  containerId: string;
  /** Path inside the hierarchy, e.g. /kubepods/burstable/pod…/… */
  path: string;
}

/** Pod and container of a cgroup path (as /proc/<pid>/cgroup gives it), or undefined. */
export function parseCgroupPath(path: string): CgroupIdentity | undefined {
  const parts = path.split("/");
  for (let i = 0; i < parts.length; i++) {
    const uid = podUidOfDir(parts[i] as string);
    if (uid === "") continue;
    let containerId = "";
    for (let j = i + 1; j < parts.length; j++) {
      const c = containerIdOfDir(parts[j] as string);
      if (c !== "") {
        containerId = c;
        break;
      }
    }
    return { podUid: uid, containerId, path };
  }
  return undefined;
}

/** The line of /proc/<pid>/cgroup that belongs to a hierarchy, as a path, or undefined. */
export function cgroupPathOf(procCgroup: string, h: CgroupHierarchy): string | undefined {
  for (const line of procCgroup.split("\n")) {
    const a = line.indexOf(":");
    const b = line.indexOf(":", a + 1);
    if (a < 0 || b < 0) continue;
    const ctrls = line.slice(a + 1, b);
    if (h.version === 2 ? line.slice(0, a) === "0" && ctrls === "" : ctrls.split(",").includes(h.controller))
      return line.slice(b + 1);
  }
  return undefined;
}

export interface CgroupResolverOptions {
  hierarchy: CgroupHierarchy;
  counters?: Counters;
  procRoot?: string;
  /** How deep scan() descends below the mount (default 12). */
  maxDepth?: number;
}

/** Ids of cgroup directories, as the kernel reports them: the inode number. */
function cgroupId(path: string): bigint | undefined {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the node's cgroup hierarchy (from mountinfo or --probe-cgroup-root) and directories the kernel lists in it
    return statSync(path, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

export class CgroupResolver {
  readonly hierarchy: CgroupHierarchy;
  readonly #counters: Counters | undefined;
  readonly #procRoot: string;
  readonly #maxDepth: number;
  #byId = new Map<bigint, CgroupIdentity>();
  #podDirs = new Map<string, bigint[]>();
  #scans = 0;

  constructor(options: CgroupResolverOptions) {
    this.hierarchy = options.hierarchy;
    this.#counters = options.counters;
    this.#procRoot = options.procRoot ?? "/proc";
    this.#maxDepth = options.maxDepth ?? 12;
  }

  get scans(): number {
    return this.#scans;
  }

  /** Walks the hierarchy and remembers every pod directory and what is below it. */
  scan(): void {
    const byId = new Map<bigint, CgroupIdentity>();
    const podDirs = new Map<string, bigint[]>();
    const walk = (dir: string, rel: string, depth: number, pod: CgroupIdentity | undefined): void => {
      let entries;
      try {
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- the node's cgroup hierarchy (from mountinfo or --probe-cgroup-root) and directories the kernel lists in it
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return; // removed while we walked
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const childRel = `${rel}/${e.name}`;
        const childPath = join(dir, e.name);
        let ident: CgroupIdentity | undefined;
        if (pod === undefined) {
          const uid = podUidOfDir(e.name);
          if (uid !== "") ident = { podUid: uid, containerId: "", path: childRel };
        } else {
          const cid = containerIdOfDir(e.name);
          ident = { podUid: pod.podUid, containerId: cid !== "" ? cid : pod.containerId, path: childRel };
        }
        if (ident !== undefined) {
          const id = cgroupId(childPath);
          if (id !== undefined) {
            byId.set(id, ident);
            if (pod === undefined) {
              const list = podDirs.get(ident.podUid);
              if (list === undefined) podDirs.set(ident.podUid, [id]);
              else list.push(id);
            }
          }
        }
        if (depth < this.#maxDepth) walk(childPath, childRel, depth + 1, ident);
      }
    };
    walk(this.hierarchy.mount, "", 1, undefined);
    this.#byId = byId;
    this.#podDirs = podDirs;
    this.#scans++;
    this.#counters?.inc("probe_cgroup_scans");
  }

  /** The cgroup ids of a pod's own directories (usually one), from the last scan. */
  podCgroupIds(podUid: string): readonly bigint[] {
    return this.#podDirs.get(podUid) ?? [];
  }

  /**
   * The pod and container of a cgroup id: from the last scan; else from
   * /proc/<pid>/cgroup of the process (checked against the id); else the pod of
   * `matchId`, the directory the kernel filter matched, without a container.
   */
  lookup(id: bigint, matchId: bigint, pid: number): CgroupIdentity | undefined {
    const known = this.#byId.get(id);
    if (known !== undefined) return known;
    if (pid > 0) {
      let text: string | undefined;
      try {
        // eslint-disable-next-line security/detect-non-literal-fs-filename -- /proc files under the configured proc root; the pid is a number
        text = readFileSync(`${this.#procRoot}/${pid}/cgroup`, "utf8");
      } catch {
        text = undefined;
      }
      const path = text === undefined ? undefined : cgroupPathOf(text, this.hierarchy);
      const ident = path === undefined ? undefined : parseCgroupPath(path);
      if (ident !== undefined && cgroupId(join(this.hierarchy.mount, ident.path)) === id) {
        this.#byId.set(id, ident);
        this.#counters?.inc("probe_cgroup_lookups", { via: "proc" });
        return ident;
      }
    }
    const pod = this.#byId.get(matchId);
    if (pod !== undefined) {
      this.#counters?.inc("probe_cgroup_lookups", { via: "pod" });
      return { podUid: pod.podUid, containerId: "", path: pod.path };
    }
    this.#counters?.inc("probe_cgroup_lookups", { via: "unknown" });
    return undefined;
  }
}

/** What the probe needs to know about the pods of this node: the MCP ones, and changes. */
export interface McpPods {
  /** Uids of the pods that carry the provider label. */
  mcpPodUids(): Iterable<string>;
  /** Calls `listener` after every change; returns the function that unsubscribes. */
  onChange(listener: () => void): () => void;
}
