/**
 * The lookup structures behind a baseline: a CIDR trie (longest-prefix match over
 * IPv4 and IPv6 bits), a path prefix trie (segments), and a DNS suffix set for
 * wildcards. They are built once per published view and only read on the hot
 * path; lookups allocate nothing for IPv4 and little for paths.
 */
import { formatIPv6 } from "@hangar/core";

interface BitNode {
  zero: BitNode | undefined;
  one: BitNode | undefined;
  /** A prefix ends here: everything below matches. */
  end: string | undefined;
}

function bitNode(): BitNode {
  return { zero: undefined, one: undefined, end: undefined };
}

/** IPv4 address → uint32, or -1 when `s` is not dotted-quad IPv4. Allocation-free. */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || octet > 255) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (c < 48 || c > 57 || digits === 3) return -1;
    octet = octet * 10 + (c - 48);
    digits++;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return -1;
  return value * 256 + octet;
}

export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** IPv6 address → 8 groups of 16 bits, or undefined. Accepts "::" and an embedded IPv4 tail. */
export function parseIPv6(s: string): number[] | undefined {
  if (s.length < 2 || s.indexOf(":") < 0) return undefined;
  const zone = s.indexOf("%");
  const addr = zone < 0 ? s : s.slice(0, zone);
  const halves = addr.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (v4 < 0) return undefined;
        out.push((v4 >>> 16) & 0xffff, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** RFC 5952 text of 8 IPv6 groups (shared with the agent). */
export { formatIPv6 };

/**
 * A binary trie of CIDR prefixes for one address family. `match` returns the
 * label of the longest prefix that contains the address (or undefined).
 */
export class CidrTrie {
  readonly #v4 = bitNode();
  readonly #v6 = bitNode();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `cidr` ("10.0.0.0/24", "2001:db8::/32", or a bare address) under `label`. */
  add(cidr: string, label: string = cidr): boolean {
    const slash = cidr.indexOf("/");
    const ip = slash < 0 ? cidr : cidr.slice(0, slash);
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      const bits = slash < 0 ? 32 : Number(cidr.slice(slash + 1));
      if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
      let n = this.#v4;
      for (let i = 0; i < bits; i++) {
        const bit = (v4 >>> (31 - i)) & 1;
        if (bit === 1) n = n.one ??= bitNode();
        else n = n.zero ??= bitNode();
      }
      if (n.end === undefined) this.#size++;
      n.end = label;
      return true;
    }
    const v6 = parseIPv6(ip);
    if (v6 === undefined) return false;
    const bits = slash < 0 ? 128 : Number(cidr.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) return false;
    let n = this.#v6;
    for (let i = 0; i < bits; i++) {
      const bit = ((v6[i >>> 4] as number) >>> (15 - (i & 15))) & 1;
      if (bit === 1) n = n.one ??= bitNode();
      else n = n.zero ??= bitNode();
    }
    if (n.end === undefined) this.#size++;
    n.end = label;
    return true;
  }

  /** The label of the longest prefix containing `ip`, or undefined. */
  match(ip: string): string | undefined {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) return this.matchV4(v4);
    const v6 = parseIPv6(ip);
    return v6 === undefined ? undefined : this.#matchV6(v6);
  }

  matchV4(v4: number): string | undefined {
    let n: BitNode | undefined = this.#v4;
    let best = n.end;
    for (let i = 0; i < 32 && n !== undefined; i++) {
      n = ((v4 >>> (31 - i)) & 1) === 1 ? n.one : n.zero;
      if (n?.end !== undefined) best = n.end;
    }
    return best;
  }

  #matchV6(v6: readonly number[]): string | undefined {
    let n: BitNode | undefined = this.#v6;
    let best = n.end;
    for (let i = 0; i < 128 && n !== undefined; i++) {
      n = (((v6[i >>> 4] as number) >>> (15 - (i & 15))) & 1) === 1 ? n.one : n.zero;
      if (n?.end !== undefined) best = n.end;
    }
    return best;
  }
}

interface PathNode {
  children: Map<string, PathNode> | undefined;
  /** A prefix entry ends here: this directory and everything below it match. */
  end: string | undefined;
}

/**
 * A trie of path prefixes by segment. `add("/tmp/work/")` makes every path under
 * /tmp/work/ match; `match` returns the label of the deepest prefix.
 */
export class PathPrefixTrie {
  readonly #root: PathNode = { children: undefined, end: undefined };
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** `dir` is an absolute directory path; a trailing "/" is optional. */
  add(dir: string, label: string): void {
    let n = this.#root;
    let start = 1;
    const end = dir.endsWith("/") ? dir.length - 1 : dir.length;
    while (start <= end) {
      let slash = dir.indexOf("/", start);
      if (slash < 0 || slash > end) slash = end;
      const seg = dir.slice(start, slash);
      if (seg !== "") {
        n.children ??= new Map();
        let next = n.children.get(seg);
        if (next === undefined) {
          next = { children: undefined, end: undefined };
          n.children.set(seg, next);
        }
        n = next;
      }
      start = slash + 1;
    }
    if (n.end === undefined) this.#size++;
    n.end = label;
  }

  /** The label of the deepest prefix that `path` lies under (strictly below it), or undefined. */
  match(path: string): string | undefined {
    let n: PathNode | undefined = this.#root;
    let best: string | undefined;
    let start = path.charCodeAt(0) === 47 ? 1 : 0;
    while (n !== undefined) {
      const slash = path.indexOf("/", start);
      if (slash < 0) break; // the last segment is the file itself: prefixes match only what lies below them
      if (n.end !== undefined) best = n.end;
      const children: Map<string, PathNode> | undefined = n.children;
      if (children === undefined) break;
      n = children.get(path.slice(start, slash));
      start = slash + 1;
    }
    if (n !== undefined && n.end !== undefined && path.indexOf("/", start) < 0) best = n.end;
    return best;
  }
}

/**
 * DNS names and wildcards. `"*.cdn.example.com"` matches any name ending in
 * ".cdn.example.com" (at any depth), never "cdn.example.com" itself.
 */
export class DnsNameSet {
  readonly #exact = new Set<string>();
  readonly #suffixes = new Set<string>();

  get size(): number {
    return this.#exact.size + this.#suffixes.size;
  }

  add(name: string): void {
    if (name.startsWith("*.")) this.#suffixes.add(name.slice(2));
    else this.#exact.add(name);
  }

  /** The entry that matches `name` ("a.b" or "*.b"), or undefined. */
  match(name: string): string | undefined {
    if (this.#exact.has(name)) return name;
    if (this.#suffixes.size === 0) return undefined;
    for (let i = name.indexOf("."); i >= 0; i = name.indexOf(".", i + 1)) {
      const suffix = name.slice(i + 1);
      if (this.#suffixes.has(suffix)) return `*.${suffix}`;
    }
    return undefined;
  }
}
