/**
 * License activation against a real kube-apiserver (etcd + kube-apiserver from @hangar/testkit):
 * the providers are counted from labelled pods and the cluster UID read from kube-system; the
 * BSL grant covers fewer than 5 providers; a license bound to this cluster turns the modules on
 * (signed with a throwaway key pair made here and passed in as the trusted keys); and the live
 * agent without coverage runs the MIT core's built-in detections and says once what is off.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { Counters, LICENSE_FORMAT, signLicense, type LicensePayload } from "@hangar/core";
import {
  memoryLogger,
  skipUnlessControlPlane,
  startControlPlane,
  tempDir,
  waitFor,
  type ControlPlane,
} from "@hangar/testkit";
import { licenseGate } from "../src/bootstrap/license.js";
import { startSimulator } from "../src/simulator/simulator.js";
import { loadTetragonRecording } from "../src/simulator/load.js";

const skip = skipUnlessControlPlane();
const MAIN = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

const keys = generateKeyPairSync("ed25519", {
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const TRUSTED = [{ keyId: "test-k8s", publicKey: keys.publicKey }];
const license = (over: Partial<LicensePayload>): string =>
  signLicense(
    {
      format: LICENSE_FORMAT,
      id: "lic-k8s",
      licensee: "Example Corp",
      tier: "enterprise",
      issued: "2026-01-01T00:00:00Z",
      expires: "2099-01-01T00:00:00Z",
      keyId: "test-k8s",
      ...over,
    },
    keys.privateKey,
  );

describe("license activation on a real kube-apiserver", { skip }, () => {
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let clusterUID: string;
  const { dir, cleanup } = tempDir("hangar-license-k8s-");

  const pod = (name: string, provider: string, node = "node-b"): Promise<unknown> =>
    core.createNamespacedPod({
      namespace: "mcp",
      body: {
        metadata: { name, labels: { "mcp-hangar.io/provider": provider } },
        spec: { nodeName: node, containers: [{ name: "server", image: "ghcr.io/example/mcp:1" }] },
      },
    });
  const gate = async (file?: string, use?: string) => {
    const { logger, lines } = memoryLogger();
    const g = await licenseGate({
      file,
      use,
      kubeConfig: kc,
      counters: new Counters(),
      log: logger,
      keys: TRUSTED,
    });
    return { g, lines };
  };

  before(async () => {
    cp = await startControlPlane();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "mcp" } } });
    clusterUID = (await core.readNamespace({ name: "kube-system" })).metadata?.uid ?? "";
    assert.ok(clusterUID !== "", "kube-system has a UID");
    // The fixture's pod (provider fs) on the fixture's node, and three more providers; two
    // replicas of one provider count once.
    await pod("mcp-fs-server-6c9d7b8f4-x2x7q", "fs", "kind-worker");
    await pod("notes-0", "notes");
    await pod("notes-1", "notes");
    await pod("search-0", "search");
    await pod("crm-0", "crm");
  });
  after(async () => {
    await cp?.stop();
    cleanup();
  });

  it("4 providers (counted from labelled pods): production under the grant", async () => {
    const { g } = await gate();
    assert.equal(g.decision.modules.semantic.basis, "small-production");
    assert.match(g.decision.modules.semantic.reason, /4 MCP providers in production \(fewer than 5\)/);
  });

  it("a license bound to this cluster turns both modules on; one bound to another does not", async () => {
    const mine = join(dir, "mine.json");
    writeFileSync(mine, license({ clusterUID, maxProviders: 10 }));
    const ok = await gate(mine);
    assert.equal(ok.g.decision.state, "valid");
    assert.equal(ok.g.decision.modules.behavioral.basis, "license");
    const other = join(dir, "other.json");
    writeFileSync(other, license({ clusterUID: "00000000-0000-0000-0000-000000000000" }));
    const bad = await gate(other);
    assert.equal(bad.g.decision.state, "wrong-cluster");
    assert.match(bad.g.decision.licenseProblem ?? "", new RegExp(`this cluster is ${clusterUID}`));
    // The grant still applies with 4 providers, so the module runs, and the unused license is said.
    assert.equal(bad.g.decision.modules.semantic.basis, "small-production");
    bad.g.announce(["semantic"]);
    assert.ok(
      bad.lines.some(
        (l) => l.includes("HANGAR_ERR_LICENSE_INVALID") && l.includes("the license is not used"),
      ),
    );
  });

  it("5 providers: the grant ends; a license for fewer providers does not apply; evaluation does", async () => {
    await pod("billing-0", "billing");
    const none = await gate();
    assert.equal(none.g.decision.modules.semantic.enabled, false);
    assert.match(none.g.decision.modules.semantic.reason, /runs 5 MCP providers in production/);
    const capped = join(dir, "capped.json");
    writeFileSync(capped, license({ maxProviders: 4 }));
    const over = await gate(capped);
    assert.equal(over.g.decision.state, "over-cap");
    assert.equal(over.g.decision.modules.behavioral.enabled, false);
    assert.equal((await gate(undefined, "evaluation")).g.decision.modules.behavioral.basis, "evaluation");
  });

  it("the live agent without coverage runs the built-in detections and says once what is off", async () => {
    // Five providers exist now (the test above added the fifth). Each run gets its own
    // simulator: it plays the recording once per stream.
    const run = async (extra: string[], until: (stdout: string) => boolean) => {
      const sim = await startSimulator({
        tetragon: {
          address: `unix://${join(dir, `tetragon-${extra.length}.sock`)}`,
          messages: loadTetragonRecording(join(FIXTURES, "realistic-tetragon.jsonl")),
          holdOpen: true,
        },
      });
      const child = spawn(
        process.execPath,
        [MAIN, "run", "--tetragon", sim.tetragonAddress ?? "", "--hubble", "none", "--node", "kind-worker"]
          .concat(["--kubeconfig", cp.kubeconfigPath, "--health-port", "0", "--default-rules"])
          .concat(["--prometheus-port", "0", ...extra]),
        {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, HANGAR_LICENSE_FILE: "", HANGAR_LICENSE_USE: "" },
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
      child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      try {
        await waitFor("the alerts", () => until(stdout), undefined, 30_000);
      } catch (err) {
        child.kill("SIGKILL");
        throw new Error(`${String(err)}\nstdout: ${stdout}\nstderr: ${stderr}`);
      }
      child.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
      await sim.stop();
      return { stdout, stderr };
    };
    {
      const off = await run([], (out) => out.includes("hangar.builtin.shell_in_provider"));
      const required = off.stderr.split("\n").filter((l) => l.includes("HANGAR_ERR_LICENSE_REQUIRED"));
      assert.equal(required.length, 1, off.stderr);
      assert.match(
        required[0] ?? "",
        /the rule engine \(enterprise\/semantic\) is off: no license is configured, and the cluster runs 5 MCP providers/,
      );
      assert.match(off.stderr, /built-in detections only/);
      assert.ok(
        !off.stdout.includes("hangar.exec.shell_from_server"),
        "no rule-engine alert without coverage",
      );
      const shell = off.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { ruleId: string; provider: string })
        .find((a) => a.ruleId === "hangar.builtin.shell_in_provider");
      assert.equal(shell?.provider, "fs");
      // Declared evaluation: the rule engine runs under the grant.
      const evaluation = await run(["--license-use", "evaluation"], (out) =>
        out.includes("hangar.exec.shell_from_server"),
      );
      assert.ok(!evaluation.stderr.includes("HANGAR_ERR_LICENSE_REQUIRED"), evaluation.stderr);
      assert.match(evaluation.stderr, /declared evaluation\/non-production use/);
    }
  });
});
