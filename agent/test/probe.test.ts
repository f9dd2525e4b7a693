/**
 * The own eBPF probe end to end.
 *
 * Root tests (real kernel): a cgroup named like kubelet's and a network namespace act as an
 * MCP pod; a shell inside connects over IPv4 and IPv6 to a listener in another namespace and
 * opens a file under a watched prefix; the agent (startAgent with the probe) must report
 * exactly those events with the pod's identity, and nothing from the same script run outside
 * the cgroup. Run once per cgroup hierarchy the machine has (v2 / unified, v1 memory).
 * Without root, BTF, the built loader or the tools they are skipped with the reason —
 * unless HANGAR_REQUIRE_BPF=1, where that is a failure.
 *
 * The other tests use a fake loader (a script speaking the loader's record protocol) and
 * need nothing special.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { startAgent } from "../src/agent.js";
import { createTestPod, runProbeScenario, testPodPrerequisites } from "../src/selftest/probe.js";
import { type RuntimeEvent, Counters } from "@hangar/core";
import { PROBE_META_LAYOUT, PROBE_RECORD_SIZE, ProbeKind } from "../src/sources/probe/records.js";
import { McpPodTracker } from "../src/resolve/mcp-pods.js";
import { CgroupResolver, detectHierarchy, findHierarchy } from "../src/sources/probe/cgroups.js";
import { findLoader, probePrerequisites, probeSource } from "../src/sources/probe/source.js";
import type { SensorRecord } from "../src/sources/records.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const required = process.env.HANGAR_REQUIRE_BPF === "1";

async function realProbeMissing(): Promise<string | undefined> {
  const missing = [...probePrerequisites(), ...(await testPodPrerequisites())];
  if (findLoader() === undefined) missing.push("the probe loader (run bash scripts/setup-bpf-tools.sh)");
  return missing.length === 0 ? undefined : `cannot run the real probe here: missing ${missing.join("; ")}`;
}

function hierarchies(): string[] {
  let mountinfo = "";
  try {
    mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const mode of ["v2", "v1:memory"]) {
    try {
      findHierarchy(mountinfo, mode);
      out.push(mode);
    } catch {
      // not on this machine
    }
  }
  return out;
}

describe("probe on the real kernel (root)", () => {
  const modes = hierarchies();
  for (const mode of modes.length > 0 ? modes : ["v2"]) {
    it(`a pod's exec, IPv4/IPv6 connects and watched open arrive with its identity, and nothing else (cgroup ${mode})`, async (t) => {
      const reason = await realProbeMissing();
      if (reason !== undefined) {
        if (required) assert.fail(`HANGAR_REQUIRE_BPF=1 but ${reason}`);
        t.skip(reason);
        return;
      }
      const r = await runProbeScenario({ cgroupMode: mode, timeoutMs: 15_000 });
      const failed = r.checks.filter((c) => !c.ok);
      assert.deepEqual(
        failed.map((c) => `${c.what}: ${c.detail}`),
        [],
        `events seen:\n${r.events.map((e) => JSON.stringify({ kind: e.kind, pid: e.process?.pid, d: e.detail.case })).join("\n")}`,
      );
      assert.ok(r.ok);
      assert.equal(r.events.length, 6);
    });
  }
});

describe("probe as a sidecar on the real kernel (root)", () => {
  it("the loader connects to the agent's socket (--output unix:PATH) and the pod's events arrive", async (t) => {
    const reason = await realProbeMissing();
    if (reason !== undefined) {
      if (required) assert.fail(`HANGAR_REQUIRE_BPF=1 but ${reason}`);
      t.skip(reason);
      return;
    }
    const r = await runProbeScenario({ viaSocket: true, timeoutMs: 15_000 });
    assert.deepEqual(
      r.checks.filter((c) => !c.ok).map((c) => `${c.what}: ${c.detail}`),
      [],
    );
  });
});

describe("probe --sock-state on the real kernel (root)", () => {
  it("reports the outcome of non-blocking connects: established, refused, and left in SYN_SENT then closed", async (t) => {
    const reason = await realProbeMissing();
    if (reason !== undefined) {
      if (required) assert.fail(`HANGAR_REQUIRE_BPF=1 but ${reason}`);
      t.skip(reason);
      return;
    }
    const hierarchy = detectHierarchy("auto");
    const pod = await createTestPod(hierarchy);
    const counters = new Counters();
    const resolver = new McpPodTracker(counters);
    const events: RuntimeEvent[] = [];
    let synced: (() => void) | undefined;
    const ready = new Promise<void>((r) => (synced = r));
    try {
      const agent = await startAgent({
        node: "t",
        namespaces: [],
        resolver,
        counters,
        probe: {
          prefixes: [],
          cgroupMode: hierarchy.version === 2 ? "v2" : `v1:${hierarchy.controller}`,
          sockState: true,
          required: true,
          onSynced: (i) => {
            if (i.pods > 0) synced?.();
          },
        },
        sinks: [],
        logger: pino({ level: "silent" }),
        onEvent: (ev) => events.push(ev),
      });
      try {
        resolver.upsert(pod.podInfo());
        await ready;
        // Node connects without blocking: to the listener, to an address nobody answers (no
        // ARP reply: the SYN never leaves, the socket stays in SYN_SENT until closed), and to
        // a closed port (reset).
        const js =
          "const n=require('node:net');" +
          `const a=n.connect(${pod.peerPort},'${pod.peerIp}',()=>a.destroy());a.on('error',()=>{});` +
          `const b=n.connect(${pod.peerPort},'${pod.silentIp}');b.on('error',()=>{});` +
          `const c=n.connect(1,'${pod.peerIp}');c.on('error',()=>{});` +
          "setTimeout(()=>{b.destroy();},300);";
        const r = await pod.run(`exec ${process.execPath} -e "${js}"`);
        assert.equal(r.code, 0, r.stderr);
        const deadline = Date.now() + 10_000;
        const states = (): RuntimeEvent[] =>
          events.filter((e) => e.detail.case === "connect" && e.detail.value.hook === "inet_sock_set_state");
        while (states().length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        const got = states().map((e) =>
          e.detail.case === "connect"
            ? [
                e.detail.value.destinationIp,
                e.detail.value.state,
                e.detail.value.result,
                e.provider,
                e.process?.pid,
              ]
            : [],
        );
        assert.deepEqual(
          got.sort(),
          [
            [pod.peerIp, "TCP_ESTABLISHED", 0, pod.provider, r.pid],
            [pod.silentIp, "TCP_CLOSE", -103, pod.provider, r.pid],
            [pod.peerIp, "TCP_CLOSE", -111, pod.provider, r.pid],
          ].sort(),
        );
        const connects = events.filter(
          (e) => e.detail.case === "connect" && e.detail.value.hook === "sys_exit_connect",
        );
        assert.ok(connects.every((e) => e.detail.case === "connect" && e.detail.value.result === -115));
        assert.equal(connects.length, 3);
      } finally {
        await agent.stop();
      }
    } finally {
      await pod.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// A fake loader: a script that writes loader records (so these run anywhere).

function metaRecord(fields: Record<string, number | bigint>): Buffer {
  const buf = Buffer.alloc(PROBE_RECORD_SIZE);
  for (const [name, value] of Object.entries(fields)) {
    const [off, len] = PROBE_META_LAYOUT[name as keyof typeof PROBE_META_LAYOUT];
    if (typeof value === "bigint") buf.writeBigUInt64LE(value, off);
    else if (len === 2) buf.writeUInt16LE(value, off);
    else buf.writeUInt32LE(value, off);
  }
  return buf;
}

const HELLO = (abi = 1): Buffer =>
  metaRecord({
    kind: ProbeKind.HELLO,
    size: PROBE_RECORD_SIZE,
    magic: 0x48414e47,
    abi,
    boot_ns: 1_000n,
    real_ns: 1_700_000_000_000_001_000n,
  });

function execRecord(pid: number): Buffer {
  const buf = Buffer.alloc(PROBE_RECORD_SIZE);
  buf.writeUInt16LE(ProbeKind.EXEC, 0);
  buf.writeUInt16LE(PROBE_RECORD_SIZE, 2);
  buf.writeUInt32LE(pid, 4);
  buf.writeUInt32LE(pid, 8);
  buf.writeBigUInt64LE(5_000n, 24);
  buf.write("/bin/true", 136);
  buf.writeUInt16LE(9, 84);
  return buf;
}

const dir = mkdtempSync(join(tmpdir(), "hangar-fake-loader-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A loader that writes `records` (hex), then keeps reading stdin (or exits when `exit`). */
function fakeLoader(name: string, records: Buffer[], exit: boolean): string {
  const path = join(dir, name);
  const hex = Buffer.concat(records).toString("hex");
  writeFileSync(
    path,
    `#!${process.execPath}\n` +
      `process.stdout.write(Buffer.from("${hex}", "hex"), () => {\n` +
      (exit
        ? "  process.exit(0);\n"
        : "  process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(0));\n") +
      "});\n",
  );
  chmodSync(path, 0o755);
  return path;
}

function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

function source(loader: string, counters: Counters, signal: AbortSignal, logger = pino({ level: "silent" })) {
  return probeSource(
    {
      loader,
      prefixes: ["/etc/"],
      cgroups: new CgroupResolver({ hierarchy: { version: 2, controller: "", mount: dir } }),
      pods: new McpPodTracker(counters),
      counters,
      logger,
      backoff: { initialMs: 10, maxMs: 20 },
    },
    signal,
  );
}

describe("probe source with a fake loader", () => {
  it("refuses a loader of another ABI with HANGAR_ERR_PROBE_PROTOCOL", async () => {
    const loader = fakeLoader("abi99", [HELLO(99)], false);
    const ac = new AbortController();
    const counters = new Counters();
    await assert.rejects(
      async () => {
        for await (const _ of source(loader, counters, ac.signal)) void _;
      },
      { code: "HANGAR_ERR_PROBE_PROTOCOL", message: /abi 99.*abi 1/ },
    );
  });

  it("refuses a loader whose cgroup hierarchy is not the agent's", async () => {
    const hello = HELLO();
    hello.writeUInt32LE(1, PROBE_META_LAYOUT.cgroup_mode[0]); // v1, the agent resolves v2
    const loader = fakeLoader("v1mode", [hello], false);
    await assert.rejects(
      async () => {
        for await (const _ of source(loader, new Counters(), new AbortController().signal)) void _;
      },
      { code: "HANGAR_ERR_PROBE_PROTOCOL", message: /cgroup v1 hierarchy.*--cgroup-mode v2/ },
    );
  });

  it("decodes records, and restarts a loader that ends after it started", async () => {
    const loader = fakeLoader("once", [HELLO(), execRecord(4242)], true);
    const ac = new AbortController();
    const counters = new Counters();
    const got: SensorRecord[] = [];
    for await (const rec of source(loader, counters, ac.signal)) {
      got.push(rec);
      if (got.length === 2) ac.abort();
    }
    assert.equal(got.length, 2);
    const first = got[0];
    assert.ok(first?.sensor === "probe");
    assert.equal(first.msg.pid, 4242);
    assert.equal(first.msg.path, "/bin/true");
    assert.equal(first.msg.realNs, 1_700_000_000_000_005_000n, "boot time shifted by HELLO's clock pair");
    assert.ok(counters.get("sensor_reconnects", { sensor: "probe" }) >= 1);
    assert.ok(counters.get("sensor_connects", { sensor: "probe" }) >= 2);
  });

  it("a loader that cannot start ends the source with the loader's reason", async () => {
    const path = join(dir, "noperm");
    writeFileSync(
      path,
      `#!${process.execPath}\nprocess.stderr.write("hangar-probe: loading the BPF programs: Operation not permitted\\n"); process.exit(2);\n`,
    );
    chmodSync(path, 0o755);
    await assert.rejects(
      async () => {
        for await (const _ of source(path, new Counters(), new AbortController().signal)) void _;
      },
      {
        code: "HANGAR_ERR_PROBE_UNAVAILABLE",
        message: /privileges or kernel support.*Operation not permitted/,
      },
    );
  });
});

describe("the in-kernel cgroup filter follows the MCP pods", () => {
  it("sends add for a new MCP pod's cgroup, del when the pod goes, and a sync after each change", async () => {
    // A cgroup tree in a temp dir (inode numbers are the ids, as on cgroupfs).
    const root = mkdtempSync(join(tmpdir(), "hangar-cg-"));
    const uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const podDir = join(root, "kubepods", `pod${uid}`);
    mkdirSync(join(podDir, "a".repeat(64)), { recursive: true });
    const podId = statSync(podDir, { bigint: true }).ino;
    const log = join(dir, "control.log");
    // A loader that answers `sync N` with ACK N and records every control line.
    const ack = metaRecord({
      kind: ProbeKind.ACK,
      size: PROBE_RECORD_SIZE,
      magic: 0x48414e47,
      abi: 1,
    }).toString("hex");
    const path = join(dir, "acking");
    writeFileSync(
      path,
      `#!${process.execPath}\n` +
        `const fs = require("node:fs");\n` +
        `process.stdout.write(Buffer.from("${HELLO().toString("hex")}", "hex"));\n` +
        `let buf = "";\n` +
        `process.stdin.on("data", (d) => { fs.appendFileSync(${JSON.stringify(log)}, d); buf += d;\n` +
        `  let i; while ((i = buf.indexOf("\\n")) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1);\n` +
        `    const m = /^sync (\\d+)$/.exec(line); if (m) { const r = Buffer.from("${ack}", "hex"); r.writeBigUInt64LE(BigInt(m[1]), 56); process.stdout.write(r); } } });\n` +
        `process.stdin.on("end", () => process.exit(0));\n`,
    );
    chmodSync(path, 0o755);
    const counters = new Counters();
    const pods = new McpPodTracker(counters);
    const synced: number[] = [];
    let wake: (() => void) | undefined;
    const ac = new AbortController();
    const records = probeSource(
      {
        loader: path,
        prefixes: [],
        cgroups: new CgroupResolver({ hierarchy: { version: 2, controller: "", mount: root } }),
        pods,
        counters,
        logger: pino({ level: "silent" }),
        onSynced: (i) => {
          synced.push(i.pods);
          wake?.();
        },
      },
      ac.signal,
    );
    const drained = (async () => {
      for await (const _ of records) void _;
    })();
    const until = async (pred: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !pred(); i++)
        await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
      assert.ok(pred(), readFileSync(log, "utf8"));
    };
    try {
      await until(() => synced.length >= 1);
      pods.upsert({
        namespace: "mcp",
        name: "weather",
        uid,
        labels: { "mcp-hangar.io/provider": "weather" },
        ips: [],
        containers: [],
      });
      await until(() => synced.includes(1));
      assert.match(readFileSync(log, "utf8"), new RegExp(`^add ${podId}$`, "m"));
      pods.remove(uid);
      await until(() => readFileSync(log, "utf8").includes(`del ${podId}`));
      const lines = readFileSync(log, "utf8").trim().split("\n");
      assert.deepEqual(
        lines.filter((l) => !l.startsWith("sync")),
        [`add ${podId}`, `del ${podId}`],
      );
      assert.match(lines[lines.length - 1] ?? "", /^sync \d+$/);
    } finally {
      ac.abort();
      await drained;
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the agent without the probe", () => {
  it("runs on and logs why when the loader is not there", async () => {
    const { logger, lines } = capture();
    const agent = await startAgent({
      node: "n",
      namespaces: [],
      probe: { loader: "/nonexistent/hangar-probe" },
      sinks: [],
      logger,
    });
    await agent.stop();
    // The reason depends on the machine: the loader is not executable, or privileges/BTF are missing first.
    const warn = lines
      .map((l) => JSON.parse(l) as { msg: string })
      .find((l) => /without the eBPF probe/.test(l.msg));
    assert.ok(warn !== undefined, lines.join(""));
    assert.equal(agent.counters.get("probe_available"), 0);
  });

  it("hangar-agent probe --selftest without privileges says what is missing and exits 2", async (t) => {
    const asRoot = process.getuid?.() === 0;
    // As root, the command runs as nobody (uid 65534); a checkout in a directory nobody
    // cannot enter (a 0700 home, `mktemp -d`) cannot run it: check first, and say so.
    if (asRoot) {
      const probe = spawnSync(
        process.execPath,
        ["-e", `require("node:fs").accessSync(${JSON.stringify(MAIN)}, require("node:fs").constants.R_OK)`],
        { uid: 65534, gid: 65534, encoding: "utf8" },
      );
      const why =
        probe.error?.message ?? (probe.status !== 0 ? probe.stderr.trim().split("\n")[0] : undefined);
      if (why !== undefined) {
        t.skip(`uid 65534 cannot run the agent from this checkout (${process.execPath}, ${MAIN}): ${why}`);
        return;
      }
    }
    const child = spawn(process.execPath, [MAIN, "probe", "--selftest"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HANGAR_PROBE_LOADER: "" },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.equal(code, 2, out);
    assert.match(out, /HANGAR_ERR_PROBE_UNAVAILABLE/);
    assert.match(out, /missing: /);
  });
});
