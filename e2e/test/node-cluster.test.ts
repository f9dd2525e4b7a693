/**
 * The real one-node cluster of @hangar/testkit (`startNodeCluster`) on this machine: kubelet
 * runs a pod of an image built here in containerd, the pod resolves cluster names through
 * CoreDNS and reaches the API server through the `kubernetes` Service (kube-proxy), `kubectl
 * exec` works (API server → kubelet → containerd), the container's cgroup is under the node's
 * cgroup root, and `stop()` leaves no process, mount, network namespace, link, route, iptables
 * rule, ipset, eBPF program or cgroup behind.
 *
 * Needs root and what scripts/setup-k8s-tools.sh, scripts/setup-node-tools.sh and
 * scripts/build-images.sh make; skipped with the reason otherwise, never with
 * HANGAR_REQUIRE_NODE=1 (CI).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import {
  hostState,
  hostStateDiff,
  processesMentioning,
  skipUnlessNode,
  startNodeCluster,
} from "@hangar/testkit";
import { CONTROLLER_IMAGE, ownLeftovers, waitFor } from "../src/kube.js";

const log = (l: string): void => console.log(`  [node] ${l}`);

describe(
  "a real one-node cluster on this machine",
  { skip: skipUnlessNode({ requiredImages: [CONTROLLER_IMAGE] }) },
  () => {
    test("kubelet runs a pod in containerd, cluster DNS and Services work, exec works, and stop() leaves nothing behind", async () => {
      const before = await hostState();
      const node = await startNodeCluster({ log });
      let dir = node.dir;
      try {
        log(`timings (ms): ${JSON.stringify(node.timings)}`);
        const pod = {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "probe-pod", namespace: "default" },
          spec: {
            restartPolicy: "Never",
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: "c",
                image: CONTROLLER_IMAGE,
                imagePullPolicy: "Never",
                command: ["node", "-e", "setInterval(() => {}, 1000)"],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
              },
            ],
          },
        };
        const created = await node.kubectl(["apply", "-f", "-"], { input: JSON.stringify(pod) });
        assert.equal(created.code, 0, created.stderr);
        await waitFor("the pod Running", 90_000, async () => {
          const r = await node.kubectl(["get", "pod", "probe-pod", "-o", "jsonpath={.status.phase}"]);
          return r.stdout === "Running" ? true : undefined;
        });
        // DNS (CoreDNS through the kube-dns Service) and the API server through 10.96.0.1.
        const script = [
          "const dns = require('node:dns').promises;",
          "const https = require('node:https');",
          "(async () => {",
          "  const a = await dns.lookup('kubernetes.default.svc.cluster.local');",
          "  const status = await new Promise((res, rej) => https.get({ host: '10.96.0.1', port: 443, path: '/readyz', rejectUnauthorized: false }, (r) => { r.resume(); res(r.statusCode); }).on('error', rej));",
          "  console.log(JSON.stringify({ address: a.address, status }));",
          "})().catch((e) => { console.error(e.message); process.exit(1); });",
        ].join("\n");
        const exec = await node.kubectl(["exec", "probe-pod", "--", "node", "-e", script]);
        assert.equal(exec.code, 0, `kubectl exec: ${exec.stderr}`);
        const answer = JSON.parse(exec.stdout.trim()) as { address: string; status: number };
        assert.equal(answer.address, "10.96.0.1", "kubernetes.default resolves to the Service address");
        assert.ok(
          [200, 401, 403].includes(answer.status),
          `the API server answered through the Service (${answer.status})`,
        );
        // The container's process lives in a cgroup under the node's cgroup root.
        const ps = await node.crictl(["ps", "--name", "^c$", "-q"]);
        const id = ps.stdout.trim().split("\n")[0] ?? "";
        assert.match(id, /^[0-9a-f]{64}$/, ps.stderr);
        const inspect = await node.crictl(["inspect", id]);
        const pid = (JSON.parse(inspect.stdout) as { info: { pid: number } }).info.pid;
        const cg = await readFile(`/proc/${pid}/cgroup`, "utf8");
        const memory = cg.split("\n").find((l) => /:memory:/.test(l)) ?? cg;
        assert.ok(memory.includes(`${node.cgroupRoot}/kubepods/`), `cgroup of the container: ${memory}`);
        assert.ok(memory.includes(id), `the container's cgroup is named after its id: ${memory}`);
      } finally {
        dir = node.dir;
        await node.stop();
      }
      const after = await hostState();
      assert.deepEqual(ownLeftovers(hostStateDiff(before, after), node), [], "the node left this behind");
      assert.deepEqual(await processesMentioning(dir), [], "processes of the node are still running");
      assert.equal(existsSync(dir), false, `${dir} was removed`);
    });
  },
);
