import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { envInt } from "../harness.js";
import { limitCpu, replicaCores } from "./proxy-replicas.js";

/** Why the real cgroup test cannot run here, or undefined; HANGAR_REQUIRE_FAULT=1 makes a skip a failure. */
function cgroupSkip(): string | undefined {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = "needs root to make a cgroup";
  else if (!existsSync("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"))
    reason = "no cgroup v1 cpu controller at /sys/fs/cgroup/cpu";
  if (reason !== undefined && process.env["HANGAR_REQUIRE_FAULT"] === "1")
    throw new Error(`HANGAR_REQUIRE_FAULT=1 but the cgroup test cannot run: ${reason}`);
  return reason;
}

describe("proxy/replicas CPU quota (HANGAR_BENCH_REPLICA_CORES)", () => {
  it("reads the quota, and refuses what is not a sane number of cores, naming the variable", () => {
    assert.equal(replicaCores({}), undefined);
    assert.equal(replicaCores({ HANGAR_BENCH_REPLICA_CORES: "" }), undefined);
    assert.equal(replicaCores({ HANGAR_BENCH_REPLICA_CORES: "0.25" }), 0.25);
    for (const bad of ["abc", "0", "-1", "0.001", "100", "NaN"])
      assert.throws(
        () => replicaCores({ HANGAR_BENCH_REPLICA_CORES: bad }),
        new RegExp(`HANGAR_BENCH_REPLICA_CORES=${bad}: a number of cores`),
      );
  });

  it("reads the sessions and the period as whole numbers in range, naming the variable otherwise", () => {
    assert.equal(envInt("X", 32, 1, 4096, {}), 32);
    assert.equal(envInt("X", 32, 1, 4096, { X: "96" }), 96);
    for (const bad of ["0", "1.5", "abc", "5000", "-3"])
      assert.throws(
        () => envInt("X", 32, 1, 4096, { X: bad }),
        new RegExp(`^Error: X=${bad}: a whole number from 1 to 4096`),
      );
  });

  it("says what it needs when the cgroup cannot be made, and leaves nothing behind", () => {
    const root = mkdtempSync(join(tmpdir(), "hangar-cg-"));
    try {
      // A plain directory is not a cgroup: the group dir is made but has no cpu files to write.
      assert.throws(
        () => limitCpu(process.pid, 0.5, join(root, "missing")),
        /needs root and the cgroup v1 cpu controller/,
      );
      assert.throws(() => limitCpu(process.pid, 0.5, root), /needs root and the cgroup v1 cpu controller/);
      assert.equal(existsSync(join(root, `hangar-bench-${process.pid}-${process.pid}`)), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("puts a process and its threads in a group with the quota, and removes the group after", async (t) => {
    const skip = cgroupSkip();
    if (skip !== undefined) {
      t.skip(skip);
      return;
    }
    // A running Node (its threads started: it says so), as a replica is when it is limited.
    const child = spawn(
      process.execPath,
      ["-e", "process.stdout.write('up\\n'); setTimeout(() => {}, 30000)"],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise((resolve) => child.stdout.once("data", resolve));
    const pid = child.pid ?? 0;
    const dir = `/sys/fs/cgroup/cpu/hangar-bench-${process.pid}-${pid}`;
    let unlimit: (() => void) | undefined;
    try {
      unlimit = limitCpu(pid, 0.1);
      assert.equal(readFileSync(`${dir}/cpu.cfs_quota_us`, "utf8").trim(), "10000");
      assert.equal(readFileSync(`${dir}/cpu.cfs_period_us`, "utf8").trim(), "100000");
      assert.deepEqual(readFileSync(`${dir}/cgroup.procs`, "utf8").trim().split("\n"), [String(pid)]);
      // Every thread of the process moved with it (Node has several).
      const tasks = readFileSync(`${dir}/tasks`, "utf8").trim().split("\n");
      assert.ok(tasks.length > 1, `${tasks.length} threads in the group`);
      assert.match(
        readFileSync(`/proc/${pid}/cgroup`, "utf8"),
        new RegExp(`cpu[^:]*:/hangar-bench-${process.pid}-${pid}`),
      );
    } finally {
      child.kill("SIGKILL");
      await exited;
      unlimit?.();
    }
    assert.equal(existsSync(dir), false, "the group is removed once its process is gone");
  });
});
