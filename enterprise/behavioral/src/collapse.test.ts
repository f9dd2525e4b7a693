import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CAP_THRESHOLDS, DEFAULT_THRESHOLDS, collapseItems, type Item } from "./collapse.js";
import type { FacetName } from "./facets.js";
import { BaselineView } from "./view.js";

function item(
  facet: FacetName,
  value: string,
  qualifier = "",
  t = 1000,
  origin: Item["origin"] = "learned",
): Item {
  return { facet, tool: "", value, qualifier, count: 2, first: t, last: t + 10, collapsed: false, origin };
}

describe("collapse", () => {
  it("turns many IPs of one /24 and port into the /24, keeping counts and first/last seen", () => {
    const items = Array.from({ length: 10 }, (_, i) =>
      item("egress", `198.51.100.${i + 1}:443/tcp`, "", 1000 + i),
    );
    items.push(item("egress", "198.51.100.1:80/tcp"), item("egress", "192.0.2.9:443/tcp"));
    const { items: out, absorbed } = collapseItems(items, DEFAULT_THRESHOLDS);
    assert.equal(absorbed, 9);
    const cidr = out.find((i) => i.value === "198.51.100.0/24:443/tcp");
    assert.ok(cidr?.collapsed);
    assert.equal(cidr.count, 20);
    assert.equal(cidr.first, 1000);
    assert.equal(cidr.last, 1019);
    assert.ok(
      out.some((i) => i.value === "198.51.100.1:80/tcp"),
      "another port stays apart",
    );
    assert.ok(out.some((i) => i.value === "192.0.2.9:443/tcp"));
  });

  it("collapses DNS names under one parent to a wildcard, never to *.com", () => {
    const names = Array.from({ length: 20 }, (_, i) => item("dns", `n${i}.cdn.example.net`));
    const tlds = Array.from({ length: 20 }, (_, i) => item("dns", `site${i}.com`));
    const { items: out } = collapseItems([...names, ...tlds], DEFAULT_THRESHOLDS);
    assert.ok(out.some((i) => i.value === "*.cdn.example.net"));
    assert.ok(!out.some((i) => i.value === "*.com"));
    assert.equal(out.filter((i) => i.value.endsWith(".com")).length, 20);
  });

  it("collapses files of one directory and operation to dir/**, never a sensitive path or an allowed item", () => {
    const files = Array.from({ length: 40 }, (_, i) => item("file", `/app/notes/${i}.md`, "read"));
    files.push(
      item("file", "/app/notes/.env", "read"),
      item("file", "/app/notes/pinned.md", "read", 5, "operator"),
    );
    files.push(item("file", "/app/notes/0.md", "write"));
    const { items: out } = collapseItems(files, DEFAULT_THRESHOLDS);
    const values = out.map((i) => `${i.qualifier} ${i.value}`).sort();
    assert.deepEqual(values, [
      "read /app/notes/**",
      "read /app/notes/.env",
      "read /app/notes/pinned.md",
      "write /app/notes/0.md",
    ]);
  });

  it("at the cap collapses as far as it goes, and a view built from the result still covers every input", () => {
    const items: Item[] = [];
    for (let a = 0; a < 4; a++)
      for (let b = 0; b < 3; b++)
        items.push(item("egress", `10.${a}.${b}.7:5432/tcp`), item("egress", `10.${a}.${b}.8:5432/tcp`));
    for (let i = 0; i < 6; i++)
      items.push(
        item("file", `/var/cache/app/${i}/blob1`, "write"),
        item("file", `/var/cache/app/${i}/blob2`, "write"),
      );
    const { items: out } = collapseItems(items, CAP_THRESHOLDS);
    assert.deepEqual(out.map((i) => i.value).sort(), [
      "/var/cache/app/**",
      "10.0.0.0/16:5432/tcp",
      "10.1.0.0/16:5432/tcp",
      "10.2.0.0/16:5432/tcp",
      "10.3.0.0/16:5432/tcp",
    ]);
    const view = new BaselineView("v1", out);
    for (const it of items) assert.ok(view.match(it.facet, it.value, it.qualifier), it.value);
    assert.equal(view.match("egress", "10.9.0.7:5432/tcp"), undefined);
  });

  it("caps argument shapes of one binary at '*'", () => {
    const shapes = Array.from({ length: 20 }, (_, i) => item("binary", "/usr/bin/git", `shape-${i}`));
    const { items: out } = collapseItems(shapes, DEFAULT_THRESHOLDS);
    assert.deepEqual(
      out.map((i) => i.qualifier),
      ["*"],
    );
  });
});
