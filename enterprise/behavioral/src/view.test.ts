import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Item } from "./collapse.js";
import type { FacetName } from "./facets.js";
import { BaselineView } from "./view.js";

function item(facet: FacetName, value: string, qualifier = "", tool = ""): Item {
  return { facet, tool, value, qualifier, count: 1, first: 0, last: 0, collapsed: false, origin: "learned" };
}

describe("BaselineView", () => {
  const view = new BaselineView("v7", [
    item("egress", "198.51.100.0/24:443/tcp"),
    item("egress", "10.96.0.20:5432/tcp"),
    item("egress", "10.0.0.0/8"),
    item("egress", "[2001:db8::/32]:443/tcp"),
    item("dns", "*.cdn.example.net"),
    item("binary", "/usr/bin/git", "clone <url>"),
    item("file", "/app/notes/**", "read"),
    item("file", "/etc/hosts", "read"),
    item("file", "/var/run/secrets/kubernetes.io/serviceaccount/token", "read"),
    item("tool", "search"),
    item("egress", "10.96.0.20:5432/tcp", "", "search"),
  ]);

  it("covers() answers exactly as match() does, for hits and misses of every facet", () => {
    const queries: [FacetName, string][] = [
      ["egress", "10.96.0.20:5432/tcp"],
      ["egress", "10.96.0.20:5432/udp"],
      ["egress", "10.96.0.20:5432"],
      ["egress", "10.96.0.20"],
      ["egress", "198.51.100.77:443/tcp"],
      ["egress", "198.51.100.77:80/tcp"],
      ["egress", "10.1.2.3:9999/udp"],
      ["egress", "203.0.113.66:443/tcp"],
      ["egress", "[2001:db8::1]:443/tcp"],
      ["egress", "[2001:db9::1]:443/tcp"],
      ["egress", "not an address"],
      ["dns", "a.cdn.example.net"],
      ["dns", "cdn.example.net"],
      ["dns", "evil.example"],
      ["binary", "/usr/bin/git"],
      ["binary", "/bin/sh"],
      ["file", "/app/notes/a/b.txt"],
      ["file", "/etc/hosts"],
      ["file", "/etc/shadow"],
      ["file", "/var/run/secrets/kubernetes.io/serviceaccount/token"],
      ["tool", "search"],
      ["tool", "exec"],
    ];
    let hits = 0;
    for (const [facet, value] of queries) {
      const m = view.match(facet, value) !== undefined;
      assert.equal(view.covers(facet, value), m, `${facet} ${value}`);
      if (m) hits++;
    }
    // Both answers occur, so the comparison is not vacuous.
    assert.ok(hits > 5 && hits < queries.length - 5, `hits ${hits}`);
  });

  it("matches egress exactly, by CIDR and port, by address alone, and for IPv6", () => {
    assert.deepEqual(view.match("egress", "10.96.0.20:5432/tcp"), {
      entry: "10.96.0.20:5432/tcp",
      qualifier: "",
    });
    assert.equal(view.match("egress", "198.51.100.77:443/tcp")?.entry, "198.51.100.0/24:443/tcp");
    assert.equal(view.match("egress", "198.51.100.77:443/any")?.entry, "198.51.100.0/24:443/tcp");
    assert.equal(view.match("egress", "198.51.100.77:80/tcp"), undefined);
    assert.equal(view.match("egress", "198.51.100.77:443/udp"), undefined);
    assert.equal(view.match("egress", "198.51.100.77")?.entry, "198.51.100.0/24:443/tcp");
    assert.equal(view.match("egress", "10.5.5.5:9999/udp")?.entry, "10.0.0.0/8", "an all-ports CIDR");
    assert.equal(view.match("egress", "[2001:db8:5::1]:443/tcp")?.entry, "[2001:db8::/32]:443/tcp");
    assert.equal(view.match("egress", "203.0.113.66:443/tcp"), undefined);
  });

  it("matches files by operation and prefix; sensitive paths only exactly", () => {
    assert.equal(view.match("file", "/app/notes/42.md", "read")?.entry, "/app/notes/**");
    assert.equal(view.match("file", "/app/notes/42.md", "write"), undefined);
    assert.ok(view.fileKnownAnyOp("/app/notes/42.md"));
    assert.equal(view.match("file", "/etc/hosts", "write"), undefined);
    assert.ok(view.fileKnownAnyOp("/etc/hosts"));
    assert.equal(view.match("file", "/etc/hosts")?.entry, "/etc/hosts", "lookup without an operation");
    assert.ok(view.match("file", "/var/run/secrets/kubernetes.io/serviceaccount/token", "read"));
  });

  it("knows binaries, their argument shapes, tools, DNS wildcards and per-tool items", () => {
    assert.ok(view.match("binary", "/usr/bin/git"));
    assert.ok(view.shapeKnown("/usr/bin/git", "clone <url>"));
    assert.ok(!view.shapeKnown("/usr/bin/git", "push <s> <s>"));
    assert.equal(view.match("binary", "/bin/sh"), undefined);
    assert.ok(view.match("tool", "search"));
    assert.equal(view.match("dns", "x.cdn.example.net")?.entry, "*.cdn.example.net");
    assert.ok(view.toolKnows("search", "egress", "10.96.0.20:5432/tcp"));
    assert.ok(!view.toolKnows("search", "egress", "198.51.100.0/24:443/tcp"));
    assert.equal(view.size("egress"), 4);
    assert.equal(view.version, "v7");
  });
});
