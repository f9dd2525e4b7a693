import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Counters } from "@hangar/core";
import {
  CgroupResolver,
  cgroupMounts,
  cgroupPathOf,
  containerIdOfDir,
  findHierarchy,
  hierarchyUnder,
  loaderMode,
  parseCgroupPath,
  podUidOfDir,
} from "./cgroups.js";

const UID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const CID = "9f2c4e1ab03d5c7e8f90123456789abcdef0123456789abcdef0123456789ab0";

const HYBRID = `
25 30 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
31 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
32 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
`;
const PURE_V2 = `
30 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
40 1 0:27 / /host\\040root/cg rw - cgroup2 cgroup2 rw
`;

describe("cgroup mounts and hierarchy", () => {
  it("reads cgroup mounts from mountinfo, unescaping paths", () => {
    const m = cgroupMounts(PURE_V2);
    assert.deepEqual(
      m.map((x) => [x.fstype, x.mountPoint]),
      [
        ["cgroup2", "/sys/fs/cgroup"],
        ["cgroup2", "/host root/cg"],
      ],
    );
  });

  it("auto picks v2 on a pure v2 node and v1:memory on a hybrid one", () => {
    assert.deepEqual(findHierarchy(PURE_V2), { version: 2, controller: "", mount: "/sys/fs/cgroup" });
    const h = findHierarchy(HYBRID);
    assert.deepEqual(h, { version: 1, controller: "memory", mount: "/sys/fs/cgroup/memory" });
    assert.equal(loaderMode(h), "v1:memory");
    assert.equal(findHierarchy(HYBRID, "v2").mount, "/sys/fs/cgroup/unified");
    assert.equal(findHierarchy(HYBRID, "v1:cpu").mount, "/sys/fs/cgroup/cpu,cpuacct");
  });

  it("finds the node's hierarchy under a hostPath of /sys/fs/cgroup (--probe-cgroup-root)", () => {
    const root = mkdtempSync(join(tmpdir(), "hangar-cgroot-"));
    try {
      mkdirSync(join(root, "memory"));
      mkdirSync(join(root, "unified"));
      const hybrid = findHierarchy(HYBRID);
      assert.equal(hierarchyUnder(root, hybrid), join(root, "memory"));
      assert.equal(hierarchyUnder(root, findHierarchy(HYBRID, "v2")), join(root, "unified"));
      assert.equal(hierarchyUnder(root, findHierarchy(PURE_V2)), root, "pure v2: the root itself");
      // Given the hierarchy itself (e.g. /host/sys/fs/cgroup/memory), it is kept.
      assert.equal(hierarchyUnder(join(root, "memory"), hybrid), join(root, "memory"));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("names what is missing", () => {
    assert.throws(() => findHierarchy(PURE_V2, "v1:memory"), {
      code: "HANGAR_ERR_PROBE_UNAVAILABLE",
      message: /no cgroup v1 hierarchy with the memory controller/,
    });
    assert.throws(() => findHierarchy(HYBRID, "v3"), { code: "HANGAR_ERR_CONFIG_INVALID" });
    assert.throws(() => findHierarchy(""), { code: "HANGAR_ERR_PROBE_UNAVAILABLE" });
  });
});

describe("kubelet cgroup names", () => {
  it("recognizes pod directories of both drivers", () => {
    assert.equal(podUidOfDir(`pod${UID}`), UID);
    assert.equal(podUidOfDir(`kubepods-burstable-pod${UID.replace(/-/g, "_")}.slice`), UID);
    assert.equal(podUidOfDir(`kubepods-pod${UID.replace(/-/g, "_")}.slice`), UID);
    assert.equal(podUidOfDir("kubepods"), "");
    assert.equal(podUidOfDir("burstable"), "");
  });

  it("recognizes container directories of the common runtimes", () => {
    for (const name of [CID, `cri-containerd-${CID}.scope`, `docker-${CID}.scope`, `crio-${CID}.scope`])
      assert.equal(containerIdOfDir(name), CID, name);
    assert.equal(containerIdOfDir(`crio-conmon-${CID}.scope`), "");
    assert.equal(containerIdOfDir("abc"), "");
  });

  it("parses full paths", () => {
    assert.deepEqual(parseCgroupPath(`/kubepods/burstable/pod${UID}/${CID}`), {
      podUid: UID,
      containerId: CID,
      path: `/kubepods/burstable/pod${UID}/${CID}`,
    });
    const systemd = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, "_")}.slice/cri-containerd-${CID}.scope`;
    assert.equal(parseCgroupPath(systemd)?.containerId, CID);
    assert.equal(parseCgroupPath(`/kubepods/pod${UID}`)?.containerId, "");
    assert.equal(parseCgroupPath("/system.slice/sshd.service"), undefined);
  });

  it("picks the hierarchy's line of /proc/<pid>/cgroup", () => {
    const text = `12:pids:/a\n4:memory:/kubepods/pod${UID}/${CID}\n1:name=systemd:/b\n0::/unified/path\n`;
    assert.equal(
      cgroupPathOf(text, { version: 1, controller: "memory", mount: "" }),
      `/kubepods/pod${UID}/${CID}`,
    );
    assert.equal(cgroupPathOf(text, { version: 2, controller: "", mount: "" }), "/unified/path");
    assert.equal(cgroupPathOf("3:cpu:/x\n", { version: 1, controller: "memory", mount: "" }), undefined);
  });
});

describe("CgroupResolver over a directory tree", () => {
  const root = mkdtempSync(join(tmpdir(), "hangar-cgroups-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const podDir = join(root, "kubepods", "besteffort", `pod${UID}`);
  const ctrDir = join(podDir, CID);
  mkdirSync(join(ctrDir, "sub"), { recursive: true });
  mkdirSync(join(root, "system.slice", "x"), { recursive: true });
  writeFileSync(join(podDir, "cgroup.procs"), "");
  const ino = (p: string): bigint => statSync(p, { bigint: true }).ino;

  it("scan finds the pod directory and everything below it by inode (= cgroup id)", () => {
    const counters = new Counters();
    const r = new CgroupResolver({
      hierarchy: { version: 2, controller: "", mount: root },
      counters,
      procRoot: "/nonexistent",
    });
    r.scan();
    assert.deepEqual(r.podCgroupIds(UID), [ino(podDir)]);
    assert.deepEqual(r.lookup(ino(ctrDir), ino(podDir), 0), {
      podUid: UID,
      containerId: CID,
      path: `/kubepods/besteffort/pod${UID}/${CID}`,
    });
    assert.equal(r.lookup(ino(join(ctrDir, "sub")), 0n, 0)?.containerId, CID, "nested below a container");
    assert.equal(r.lookup(ino(podDir), ino(podDir), 0)?.containerId, "");
    assert.equal(r.lookup(ino(join(root, "system.slice")), 0n, 0), undefined);
    assert.equal(counters.get("probe_cgroup_lookups", { via: "unknown" }), 1);
  });

  it("falls back to the matched pod directory for a container created after the scan", () => {
    const r = new CgroupResolver({
      hierarchy: { version: 2, controller: "", mount: root },
      procRoot: "/nonexistent",
    });
    r.scan();
    const late = join(podDir, "f".repeat(64));
    mkdirSync(late);
    try {
      assert.deepEqual(r.lookup(ino(late), ino(podDir), 123), {
        podUid: UID,
        containerId: "",
        path: `/kubepods/besteffort/pod${UID}`,
      });
      r.scan();
      assert.equal(r.lookup(ino(late), ino(podDir), 0)?.containerId, "f".repeat(64));
    } finally {
      rmSync(late, { recursive: true });
    }
  });

  it("uses /proc/<pid>/cgroup when the scan does not know the id, checked against the inode", () => {
    const proc = mkdtempSync(join(tmpdir(), "hangar-proc-"));
    try {
      mkdirSync(join(proc, "77"));
      writeFileSync(join(proc, "77", "cgroup"), `0::/kubepods/besteffort/pod${UID}/${CID}\n`);
      mkdirSync(join(proc, "78"));
      writeFileSync(join(proc, "78", "cgroup"), `0::/kubepods/besteffort/pod${UID}/${CID}\n`);
      const r = new CgroupResolver({
        hierarchy: { version: 2, controller: "", mount: root },
        procRoot: proc,
      });
      assert.equal(r.lookup(ino(ctrDir), 0n, 77)?.containerId, CID);
      // pid 78 claims the same path, but the id asked for is another directory: not trusted.
      assert.equal(r.lookup(ino(join(root, "system.slice", "x")), 0n, 78), undefined);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});
