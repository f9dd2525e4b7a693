import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  CidrTrie,
  DnsNameSet,
  PathPrefixTrie,
  formatIPv4,
  formatIPv6,
  parseIPv4,
  parseIPv6,
} from "./tries.js";

describe("IP parsing", () => {
  it("parses dotted quads and rejects everything else", () => {
    assert.equal(parseIPv4("10.0.0.1"), 0x0a000001);
    assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
    for (const bad of ["", "10.0.0", "10.0.0.256", "1.2.3.4.5", "a.b.c.d", "1..2.3", "1.2.3.1234", "::1"])
      assert.equal(parseIPv4(bad), -1, bad);
  });

  it("parses IPv6 with :: and an IPv4 tail, and formats it back per RFC 5952", () => {
    assert.deepEqual(parseIPv6("2001:db8::1"), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(parseIPv6("::ffff:10.0.0.1"), [0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]);
    assert.equal(parseIPv6("1:2:3"), undefined);
    assert.equal(parseIPv6("1::2::3"), undefined);
    assert.equal(formatIPv6(parseIPv6("2001:0db8:0000:0000:0000:0000:0000:0001")!), "2001:db8::1");
    assert.equal(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0]), "::");
  });
});

describe("CidrTrie", () => {
  it("answers the longest matching prefix", () => {
    const t = new CidrTrie();
    t.add("10.0.0.0/8", "wide");
    t.add("10.1.0.0/16", "narrow");
    t.add("10.1.2.3", "host");
    t.add("2001:db8::/32", "v6");
    assert.equal(t.match("10.9.9.9"), "wide");
    assert.equal(t.match("10.1.9.9"), "narrow");
    assert.equal(t.match("10.1.2.3"), "host");
    assert.equal(t.match("11.0.0.1"), undefined);
    assert.equal(t.match("2001:db8:1::5"), "v6");
    assert.equal(t.match("2001:db9::5"), undefined);
    assert.equal(t.match("not-an-ip"), undefined);
    assert.equal(t.add("10.0.0.0/33"), false);
    assert.equal(t.size, 4);
  });

  it("agrees with a naive prefix check on random prefixes and addresses", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 })), { maxLength: 40 }),
        fc.array(fc.nat(0xffffffff), { minLength: 1, maxLength: 40 }),
        (prefixes, addrs) => {
          const t = new CidrTrie();
          const nets = prefixes.map(([a, bits]) => {
            const size = 2 ** (32 - bits);
            const net = a - (a % size);
            const label = `${formatIPv4(net)}/${bits}`;
            t.add(label);
            return { net, size, bits, label };
          });
          for (const a of addrs) {
            let best: { bits: number; label: string } | undefined;
            for (const n of nets)
              if (a - (a % n.size) === n.net && (best === undefined || n.bits > best.bits)) best = n;
            assert.equal(t.match(formatIPv4(a)), best?.label);
          }
        },
      ),
    );
  });
});

describe("PathPrefixTrie", () => {
  it("matches only what lies strictly below a prefix, deepest first", () => {
    const t = new PathPrefixTrie();
    t.add("/tmp/work/", "/tmp/work/**");
    t.add("/tmp/work/deep", "/tmp/work/deep/**");
    assert.equal(t.match("/tmp/work/a.txt"), "/tmp/work/**");
    assert.equal(t.match("/tmp/work/sub/b.txt"), "/tmp/work/**");
    assert.equal(t.match("/tmp/work/deep/c"), "/tmp/work/deep/**");
    assert.equal(t.match("/tmp/work"), undefined);
    assert.equal(t.match("/tmp/workshop/x"), undefined);
    assert.equal(t.match("/etc/passwd"), undefined);
  });
});

describe("DnsNameSet", () => {
  it("matches exact names and wildcard suffixes at any depth, never the parent itself", () => {
    const s = new DnsNameSet();
    s.add("api.example.com");
    s.add("*.cdn.example.net");
    assert.equal(s.match("api.example.com"), "api.example.com");
    assert.equal(s.match("a.cdn.example.net"), "*.cdn.example.net");
    assert.equal(s.match("x.y.cdn.example.net"), "*.cdn.example.net");
    assert.equal(s.match("cdn.example.net"), undefined);
    assert.equal(s.match("evil-cdn.example.net"), undefined);
  });
});
