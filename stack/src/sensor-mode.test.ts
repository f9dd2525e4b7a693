import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideSensor, realModeCheck, sensorLine, type RealModeFacts } from "./sensor-mode.js";
import { runLocalCli } from "./cli.js";

const ALL: RealModeFacts = { root: true, probe: [], pod: [], loader: "/repo/bpf/probe/build/hangar-probe" };
const USER: RealModeFacts = {
  root: false,
  probe: ["privileges: not root and lacking CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN"],
  pod: ["root (cgroups and network namespaces are created)"],
  loader: "/repo/bpf/probe/build/hangar-probe",
};

describe("the local stack's sensor", () => {
  it("auto takes the probe when nothing is missing, and the first line says so", () => {
    const d = decideSensor("auto", ALL);
    assert.deepEqual(d, { mode: "probe", loader: ALL.loader });
    if ("error" in d) return;
    const line = sensorLine(d);
    assert.match(line.text, /^sensor: the eBPF probe \(real mode\)/);
    assert.equal(line.json["mode"], "probe");
  });

  it("without root: the simulator, naming root once and sudo as the way to get it", () => {
    const d = decideSensor("auto", USER);
    assert.ok(!("error" in d) && d.mode === "simulator");
    const line = sensorLine(d);
    assert.match(line.text, /^sensor: the simulator — real mode .* is not possible here: missing root/);
    assert.match(line.text, /to get it: run it as root: sudo npm start/);
    assert.equal((line.json["missing"] as string[]).length, 1, "root is said once, not per check");
    assert.equal(line.json["chosen"], false);
  });

  it("each missing piece is named with how to get it: BTF, the loader, tools, overlayfs", () => {
    const c = realModeCheck({
      root: true,
      probe: ["kernel BTF (/sys/kernel/btf/vmlinux is not readable: CONFIG_DEBUG_INFO_BTF)"],
      pod: ["the nsenter command", "overlayfs (the pod's own files are an overlay: modprobe overlay)"],
      loader: undefined,
    });
    assert.equal(c.missing.length, 4);
    assert.ok(c.how.some((h) => h.includes("CONFIG_DEBUG_INFO_BTF")));
    assert.ok(c.how.some((h) => h.includes("bash scripts/setup-bpf-tools.sh")));
    assert.ok(c.how.some((h) => h.includes("install nsenter")));
    assert.ok(c.how.includes("modprobe overlay"));
  });

  it("--sensor simulator is the simulator whatever the machine has; --sensor probe insists", () => {
    const sim = decideSensor("simulator", ALL);
    assert.ok(!("error" in sim) && sim.mode === "simulator" && sim.chosen);
    assert.match(sensorLine(sim).text, /^sensor: the simulator \(--sensor simulator\)/);
    const probe = decideSensor("probe", USER);
    assert.ok("error" in probe);
  });

  it("hangar-local --sensor probe where real mode is not possible is a configuration error (exit 2) that says why", async () => {
    let out = "";
    let err = "";
    const code = await runLocalCli(
      ["--sensor", "probe"],
      { stdout: (s) => (out += s), stderr: (s) => (err += s) },
      new AbortController().signal,
      () => Promise.resolve({ ...USER, loader: undefined }),
    );
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.match(
      err,
      /--sensor probe: real mode is not possible here: missing root .*the eBPF probe's loader/,
    );
    assert.match(err, /sudo npm start.*bash scripts\/setup-bpf-tools\.sh/s);
  });

  it("a --sensor that is not one of auto, probe, simulator is a usage error", async () => {
    let err = "";
    const code = await runLocalCli(
      ["--sensor", "tetragon"],
      { stdout: () => undefined, stderr: (s) => (err += s) },
      new AbortController().signal,
    );
    assert.equal(code, 2);
    assert.match(err, /--sensor: "tetragon" is not one of auto, probe, simulator/);
  });
});
