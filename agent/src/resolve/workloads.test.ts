import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventKind, Sensor, newContainer, newEvent, newPod, type RuntimeEvent, Counters } from "@hangar/core";
import { WorkloadResolver, bareContainerId, parseProviderMapping, type PodInfo } from "./workloads.js";

const FULL_ID = "containerd://9f2c4e1ab03d5c7e8f90123456789abcdef0123456789abcdef0123456789ab";
/** Tetragon's truncated container id: the first 31 characters of the bare id. */
const TRUNCATED = "9f2c4e1ab03d5c7e8f90123456789ab";

function weatherPod(over: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: "mcp",
    name: "weather-6c9d7b8f4-x2x7q",
    uid: "uid-weather",
    labels: { app: "weather", "mcp-hangar.io/provider": "weather" },
    ips: ["10.244.1.17", "fd00::17"],
    containers: [{ id: FULL_ID, name: "server", image: "ghcr.io/example/weather-mcp:1.2.0" }],
    ...over,
  };
}

function webPod(): PodInfo {
  return {
    namespace: "shop",
    name: "web-5f7d8c9b6-abcde",
    uid: "uid-web",
    labels: { app: "web" },
    ips: ["10.244.2.5"],
    containers: [{ id: "containerd://aa00bb11cc22dd33ee44ff55667788", name: "web", image: "web:1" }],
  };
}

/** An event that carries only the identity fields given (as the eBPF probe would send). */
function event(pod?: {
  uid?: string;
  containerId?: string;
  ip?: string;
  labels?: Record<string, string>;
}): RuntimeEvent {
  const ev = newEvent(EventKind.CONNECT, Sensor.PROBE, { case: undefined });
  if (pod !== undefined) {
    const p = newPod("", "", pod.labels ?? {});
    p.uid = pod.uid ?? "";
    p.ip = pod.ip ?? "";
    if (pod.containerId !== undefined) p.container = newContainer(pod.containerId, "", "", "");
    ev.pod = p;
  }
  return ev;
}

function resolver(pods: PodInfo[] = [weatherPod(), webPod()], counters = new Counters()): WorkloadResolver {
  const r = new WorkloadResolver(counters);
  for (const p of pods) r.upsert(p);
  return r;
}

describe("bareContainerId", () => {
  it("strips the runtime prefix and leaves a bare id alone", () => {
    assert.equal(bareContainerId("containerd://abc123"), "abc123");
    assert.equal(bareContainerId("cri-o://def"), "def");
    assert.equal(bareContainerId("docker://0f0f"), "0f0f");
    assert.equal(bareContainerId("abc123"), "abc123");
    assert.equal(bareContainerId(""), "");
  });
});

describe("WorkloadResolver.resolve", () => {
  it("takes the provider from the event's own pod labels without a lookup", () => {
    const counters = new Counters();
    const r = new WorkloadResolver(counters);
    const ev = event({ labels: { "mcp-hangar.io/provider": "weather" } });
    assert.equal(r.resolve(ev), true);
    assert.equal(ev.provider, "weather");
    assert.equal(counters.get("resolved_by_watch"), 0);
  });

  it("keeps a provider already set", () => {
    const ev = event();
    ev.provider = "preset";
    assert.equal(new WorkloadResolver(new Counters()).resolve(ev), true);
    assert.equal(ev.provider, "preset");
  });

  it("resolves by pod uid and fills the missing pod identity", () => {
    const counters = new Counters();
    const ev = event({ uid: "uid-weather" });
    assert.equal(resolver(undefined, counters).resolve(ev), true);
    assert.equal(ev.provider, "weather");
    assert.equal(ev.pod?.namespace, "mcp");
    assert.equal(ev.pod?.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(ev.pod?.labels["mcp-hangar.io/provider"], "weather");
    assert.equal(ev.pod?.container?.id, FULL_ID);
    assert.equal(ev.pod?.container?.name, "server");
    assert.equal(counters.get("resolved_by_watch"), 1);
  });

  it("names the container a sensor gives only by its bare id (the probe, from the cgroup)", () => {
    const bare = FULL_ID.slice("containerd://".length);
    const ev = event({ uid: "uid-weather", containerId: bare });
    const pod = weatherPod({
      containers: [
        {
          id: "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          name: "sidecar",
          image: "s:1",
        },
        { id: FULL_ID, name: "server", image: "ghcr.io/example/weather-mcp:1.2.0" },
      ],
    });
    assert.equal(resolver([pod]).resolve(ev), true);
    assert.equal(ev.pod?.container?.id, bare, "the sensor's id is kept");
    assert.equal(ev.pod?.container?.name, "server");
    assert.equal(ev.pod?.container?.image, "ghcr.io/example/weather-mcp:1.2.0");
  });

  it("resolves Tetragon's truncated container id against the pod's full containerd:// id", () => {
    const ev = event({ containerId: TRUNCATED });
    assert.equal(resolver().resolve(ev), true);
    assert.equal(ev.provider, "weather");
    assert.equal(ev.pod?.uid, "uid-weather");
  });

  it("resolves a prefixed truncated id too (containerd://<31 chars>)", () => {
    const ev = event({ containerId: `containerd://${TRUNCATED}` });
    assert.equal(resolver().resolve(ev), true);
    assert.equal(ev.provider, "weather");
  });

  it("does not resolve a container id that shares only the first 12 characters", () => {
    const ev = event({ containerId: `${TRUNCATED.slice(0, 12)}ffffffffffff` });
    assert.equal(resolver().resolve(ev), false);
    assert.equal(ev.provider, "");
  });

  it("resolves by pod IP (IPv4 and IPv6)", () => {
    for (const ip of ["10.244.1.17", "fd00::17"]) {
      const ev = event({ ip });
      assert.equal(resolver().resolve(ev), true, ip);
      assert.equal(ev.provider, "weather");
      assert.equal(ev.pod?.name, "weather-6c9d7b8f4-x2x7q");
    }
  });

  it("keeps the event's own pod name and container id; the container's name and image are filled in", () => {
    const ev = event({ uid: "uid-weather", containerId: TRUNCATED });
    if (ev.pod !== undefined) ev.pod.name = "from-event";
    resolver().resolve(ev);
    assert.equal(ev.pod?.name, "from-event");
    assert.equal(ev.pod?.container?.id, TRUNCATED);
    assert.equal(ev.pod?.container?.name, "server");
    assert.equal(ev.pod?.container?.image, "ghcr.io/example/weather-mcp:1.2.0");
  });

  it("keeps a container the event names fully", () => {
    const ev = event({ uid: "uid-weather" });
    if (ev.pod !== undefined) ev.pod.container = newContainer("containerd://other", "sidecar", "img:1", "");
    resolver().resolve(ev);
    assert.equal(ev.pod?.container?.id, "containerd://other");
  });

  it("drops the event of a pod without the provider label, counting not_mcp_pod", () => {
    const counters = new Counters();
    const r = resolver(undefined, counters);
    for (const ev of [
      event({ uid: "uid-web" }),
      event({ ip: "10.244.2.5" }),
      event({ labels: { app: "web" } }),
    ]) {
      assert.equal(r.resolve(ev), false);
      assert.equal(ev.provider, "");
    }
    assert.equal(counters.get("dropped", { reason: "not_mcp_pod" }), 3);
  });

  it("drops an unknown pod and an event without a pod", () => {
    const counters = new Counters();
    const r = resolver(undefined, counters);
    assert.equal(
      r.resolve(event({ uid: "nope", ip: "10.9.9.9", containerId: "ffffffffffffffffffff" })),
      false,
    );
    assert.equal(r.resolve(event()), false);
    assert.equal(counters.get("dropped", { reason: "not_mcp_pod" }), 2);
  });

  it("an empty provider label counts as no label", () => {
    const r = resolver([weatherPod({ labels: { "mcp-hangar.io/provider": "" } })]);
    assert.equal(r.resolve(event({ uid: "uid-weather" })), false);
    assert.equal(r.resolve(event({ labels: { "mcp-hangar.io/provider": "" } })), false);
  });
});

describe("WorkloadResolver: upsert, remove, replaceAll", () => {
  it("remove forgets the pod under every key", () => {
    const r = resolver();
    assert.equal(r.size, 2);
    r.remove("uid-weather");
    assert.equal(r.size, 1);
    assert.equal(r.resolve(event({ uid: "uid-weather" })), false);
    assert.equal(r.resolve(event({ ip: "10.244.1.17" })), false);
    assert.equal(r.resolve(event({ containerId: TRUNCATED })), false);
    r.remove("uid-unknown");
    assert.equal(r.size, 1);
  });

  it("upsert replaces the old version: a label change and a new IP take effect, the old IP is gone", () => {
    const r = resolver();
    r.upsert(weatherPod({ labels: { "mcp-hangar.io/provider": "forecast" }, ips: ["10.244.1.99"] }));
    assert.equal(r.size, 2);
    const byIp = event({ ip: "10.244.1.99" });
    assert.equal(r.resolve(byIp), true);
    assert.equal(byIp.provider, "forecast");
    assert.equal(r.resolve(event({ ip: "10.244.1.17" })), false);
  });

  it("removing a pod does not forget an IP that a newer pod now holds", () => {
    const r = resolver([weatherPod()]);
    r.upsert(weatherPod({ uid: "uid-new", name: "weather-new" }));
    r.remove("uid-weather");
    const ev = event({ ip: "10.244.1.17" });
    assert.equal(r.resolve(ev), true);
    assert.equal(ev.pod?.name, "weather-new");
    const byContainer = event({ containerId: TRUNCATED });
    assert.equal(r.resolve(byContainer), true);
    assert.equal(byContainer.pod?.name, "weather-new");
  });
});

describe("WorkloadResolver: without a pod watch", () => {
  function labelled(): RuntimeEvent {
    const ev = newEvent(EventKind.EXEC, Sensor.TETRAGON, { case: undefined });
    const p = newPod("mcp", "weather-6c9d7b8f4-x2x7q", { "mcp-hangar.io/provider": "weather" });
    p.uid = "uid-weather";
    p.container = newContainer(FULL_ID, "server", "ghcr.io/example/weather-mcp:1.2.0", "");
    ev.pod = p;
    return ev;
  }

  it("learns a pod's container from its labelled events and resolves events that carry only the container id", () => {
    const counters = new Counters();
    const r = new WorkloadResolver(counters);
    assert.equal(r.resolve(event({ containerId: TRUNCATED })), false, "unknown before any labelled event");
    assert.equal(r.resolve(labelled()), true);
    const bare = event({ containerId: TRUNCATED });
    assert.equal(r.resolve(bare), true);
    assert.equal(bare.provider, "weather");
    assert.equal(bare.pod?.name, "weather-6c9d7b8f4-x2x7q");
    assert.equal(bare.pod?.namespace, "mcp");
    assert.equal(bare.pod?.container?.name, "server");
    assert.equal(counters.get("resolved_by_watch"), 1);
  });

  it("learns a bounded number of pods, the oldest first out", () => {
    const r = new WorkloadResolver(new Counters());
    for (let i = 0; i < 4100; i++) {
      const ev = labelled();
      if (ev.pod !== undefined) {
        ev.pod.uid = `uid-${i}`;
        ev.pod.name = `p-${i}`;
        ev.pod.container = newContainer(`containerd://${String(i).padStart(12, "0")}ab`, "c", "i", "");
      }
      r.resolve(ev);
    }
    assert.equal(r.size, 4096);
    assert.equal(r.resolve(event({ containerId: `${String(0).padStart(12, "0")}ab` })), false);
    assert.equal(r.resolve(event({ containerId: `${String(4099).padStart(12, "0")}ab` })), true);
  });

  it("maps unlabelled pods by namespace and name prefix", () => {
    const counters = new Counters();
    const r = new WorkloadResolver(counters, { mappings: [parseProviderMapping("shop/web-=web-tools")] });
    const ev = event({ labels: { app: "web" } });
    if (ev.pod !== undefined) {
      ev.pod.namespace = "shop";
      ev.pod.name = "web-5f7d8c9b6-abcde";
    }
    assert.equal(r.resolve(ev), true);
    assert.equal(ev.provider, "web-tools");
    const other = event({ labels: {} });
    if (other.pod !== undefined) {
      other.pod.namespace = "shop";
      other.pod.name = "cart-1";
    }
    assert.equal(r.resolve(other), false);
    assert.equal(counters.get("resolved_by_mapping"), 1);
  });

  it("refuses a mapping that is not NAMESPACE[/POD-PREFIX]=PROVIDER, saying the form", () => {
    assert.deepEqual(parseProviderMapping("mcp=fs"), { namespace: "mcp", podPrefix: "", provider: "fs" });
    assert.throws(() => parseProviderMapping("fs-tools"), /NAMESPACE\[\/POD-PREFIX\]=PROVIDER/);
    assert.throws(() => parseProviderMapping("mcp/x="), /is not/);
  });
});
