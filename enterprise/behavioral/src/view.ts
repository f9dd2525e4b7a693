/**
 * The published, read-only view of one provider's baseline: what the hot path
 * matches events against. A view is built from the items once (at the end of
 * learning, after `allow`, after a merge) and swapped in whole; it is never
 * changed in place, so a lookup always answers from one consistent version.
 */
import type { Item } from "./collapse.js";
import type { FacetName } from "./facets.js";
import { isSensitivePath, parseEgress } from "./facets.js";
import { CidrTrie, DnsNameSet, PathPrefixTrie } from "./tries.js";

/** What matched: the baseline entry (exact value or collapsed entry) and its qualifier. */
export interface Match {
  entry: string;
  qualifier: string;
}

const ALL_PORTS = "all";
const ANY_PORT_QUERY = "*";

export class BaselineView {
  readonly version: string;
  /** `ip:port/proto` of single addresses. */
  readonly #egressExact = new Set<string>();
  /** `ip:port` and `ip` of single addresses, for queries without protocol or port. */
  readonly #egressHostPort = new Set<string>();
  readonly #egressHosts = new Set<string>();
  /** Single addresses allowed on every port. */
  readonly #egressAnyPort = new Set<string>();
  /** CIDR entries (only these are in the tries). */
  #cidrs = 0;
  /** Single-address entries whose protocol is unknown (`ip:port/any`). */
  #anyProto = 0;
  readonly #egress = new Map<string, CidrTrie>();
  readonly #dns = new DnsNameSet();
  /** binary → argument shapes ("*" for any). */
  readonly #binary = new Map<string, Set<string>>();
  /** exact path → operations. */
  readonly #fileExact = new Map<string, Set<string>>();
  /** operation → prefix trie; "" holds every prefix whatever its operation. */
  readonly #filePrefix = new Map<string, PathPrefixTrie>();
  readonly #tool = new Set<string>();
  /** `tool\0facet\0entry` for per-tool items. */
  readonly #perTool = new Set<string>();
  readonly #sizes = new Map<FacetName, number>();

  constructor(version: string, items: Iterable<Item>) {
    this.version = version;
    for (const it of items) {
      if (it.tool !== "") {
        this.#perTool.add(`${it.tool}\u0000${it.facet}\u0000${it.value}`);
        continue;
      }
      this.#sizes.set(it.facet, (this.#sizes.get(it.facet) ?? 0) + 1);
      switch (it.facet) {
        case "egress":
          this.#addEgress(it.value);
          break;
        case "dns":
          this.#dns.add(it.value);
          break;
        case "binary": {
          let shapes = this.#binary.get(it.value);
          if (shapes === undefined) this.#binary.set(it.value, (shapes = new Set()));
          shapes.add(it.qualifier);
          break;
        }
        case "file":
          this.#addFile(it.value, it.qualifier);
          break;
        case "tool":
          this.#tool.add(it.value);
          break;
      }
    }
  }

  /** Provider-wide entries per facet. */
  size(facet: FacetName): number {
    return this.#sizes.get(facet) ?? 0;
  }

  #trie(key: string): CidrTrie {
    let t = this.#egress.get(key);
    if (t === undefined) this.#egress.set(key, (t = new CidrTrie()));
    return t;
  }

  #addEgress(value: string): void {
    const p = parseEgress(value);
    if (p === undefined) return;
    const proto = p.proto === "" ? "any" : p.proto;
    if (!p.host.includes("/")) {
      // A single address: plain sets, no trie walk on the hot path.
      const host = p.host.includes(":") ? `[${p.host}]` : p.host;
      this.#egressHosts.add(host);
      if (p.port < 0) {
        this.#egressAnyPort.add(host);
        return;
      }
      this.#egressExact.add(`${host}:${p.port}/${proto}`);
      if (proto === "any") this.#anyProto++;
      this.#egressHostPort.add(`${host}:${p.port}`);
      return;
    }
    this.#cidrs++;
    if (p.port < 0) {
      this.#trie(ALL_PORTS).add(p.host, value);
      return;
    }
    this.#trie(`${p.port}/${proto}`).add(p.host, value);
    this.#trie(`${p.port}/*`).add(p.host, value);
    this.#trie(ANY_PORT_QUERY).add(p.host, value);
  }

  #addFile(value: string, op: string): void {
    if (value.endsWith("/**")) {
      const dir = value.slice(0, -2);
      let t = this.#filePrefix.get(op);
      if (t === undefined) this.#filePrefix.set(op, (t = new PathPrefixTrie()));
      t.add(dir, value);
      let any = this.#filePrefix.get("");
      if (any === undefined) this.#filePrefix.set("", (any = new PathPrefixTrie()));
      any.add(dir, value);
      return;
    }
    let ops = this.#fileExact.get(value);
    if (ops === undefined) this.#fileExact.set(value, (ops = new Set()));
    ops.add(op);
  }

  /**
   * The entry that covers `value` in `facet`, or undefined. For `file`, a
   * qualifier (operation) narrows the match; for `binary`, the qualifier is
   * ignored here (see `shapeKnown`).
   */
  match(facet: FacetName, value: string, qualifier = ""): Match | undefined {
    switch (facet) {
      case "egress":
        return this.#matchEgress(value);
      case "dns": {
        const e = this.#dns.match(value);
        return e === undefined ? undefined : { entry: e, qualifier: "" };
      }
      case "binary":
        return this.#binary.has(value) ? { entry: value, qualifier } : undefined;
      case "file":
        return this.#matchFile(value, qualifier);
      case "tool":
        return this.#tool.has(value) ? { entry: value, qualifier: "" } : undefined;
    }
  }

  /**
   * Whether `facet` covers `value` (the `lookup` hot path): the same answer as
   * `match(...) !== undefined` without building a Match for the common exact hit.
   */
  covers(facet: FacetName, value: string): boolean {
    switch (facet) {
      case "egress":
        return this.#egressExact.has(value) || this.#matchEgress(value) !== undefined;
      case "dns":
        return this.#dns.match(value) !== undefined;
      case "binary":
        return this.#binary.has(value);
      case "file":
        return this.#fileExact.has(value) || this.#matchFile(value, "") !== undefined;
      case "tool":
        return this.#tool.has(value);
    }
  }

  #matchEgress(value: string): Match | undefined {
    if (this.#egressExact.has(value)) return { entry: value, qualifier: "" };
    // Nothing but exact entries, and a query with port and protocol: the set has answered.
    if (
      this.#cidrs === 0 &&
      this.#egressAnyPort.size === 0 &&
      this.#anyProto === 0 &&
      !value.endsWith("/any") &&
      value.lastIndexOf("/") > value.lastIndexOf(":")
    )
      return undefined;
    const p = parseEgress(value);
    if (p === undefined) return undefined;
    const host = p.host.includes(":") ? `[${p.host}]` : p.host;
    // Single addresses: the same address with any protocol, or allowed on every port.
    if (this.#egressAnyPort.has(host)) return { entry: host, qualifier: "" };
    if (p.port < 0) {
      if (this.#egressHosts.has(host)) return { entry: this.#firstExact(host) ?? host, qualifier: "" };
    } else if (p.proto === "" || p.proto === "any") {
      if (this.#egressHostPort.has(`${host}:${p.port}`))
        return { entry: this.#firstExact(`${host}:${p.port}`) ?? value, qualifier: "" };
    } else {
      const anyProto = `${host}:${p.port}/any`;
      if (this.#egressExact.has(anyProto)) return { entry: anyProto, qualifier: "" };
    }
    if (this.#cidrs === 0) return undefined;
    let e = this.#egress.get(ALL_PORTS)?.match(p.host);
    if (e === undefined) {
      if (p.port < 0) e = this.#egress.get(ANY_PORT_QUERY)?.match(p.host);
      else if (p.proto === "" || p.proto === "any") e = this.#egress.get(`${p.port}/*`)?.match(p.host);
      else
        e =
          this.#egress.get(`${p.port}/${p.proto}`)?.match(p.host) ??
          this.#egress.get(`${p.port}/any`)?.match(p.host);
    }
    return e === undefined ? undefined : { entry: e, qualifier: "" };
  }

  /** The stored entry for a host or host:port query (lookups without port or protocol; not the hot path). */
  #firstExact(prefix: string): string | undefined {
    for (const v of this.#egressExact) if (v.startsWith(`${prefix}:`) || v.startsWith(`${prefix}/`)) return v;
    return undefined;
  }

  #matchFile(path: string, op: string): Match | undefined {
    const ops = this.#fileExact.get(path);
    if (ops !== undefined) {
      if (op === "") return { entry: path, qualifier: ops.values().next().value ?? "" };
      if (ops.has(op)) return { entry: path, qualifier: op };
      if (ops.has("*")) return { entry: path, qualifier: "*" };
    }
    if (this.#filePrefix.size === 0) return undefined;
    // Sensitive paths only ever match exactly.
    if (isSensitivePath(path)) return undefined;
    const e = this.#filePrefix.get(op)?.match(path);
    if (e !== undefined) return { entry: e, qualifier: op };
    const any = op === "" ? undefined : this.#filePrefix.get("*")?.match(path);
    return any === undefined ? undefined : { entry: any, qualifier: "*" };
  }

  /** Whether the path is known under any operation (for "new operation on a known file"). */
  fileKnownAnyOp(path: string): boolean {
    if (this.#fileExact.has(path)) return true;
    return !isSensitivePath(path) && this.#filePrefix.get("")?.match(path) !== undefined;
  }

  /** Whether `shape` is a known argument shape of `binary`. */
  shapeKnown(binary: string, shape: string): boolean {
    const s = this.#binary.get(binary);
    return s !== undefined && (s.has(shape) || s.has("*"));
  }

  /** Whether calls of `tool` touched `entry` during learning. */
  toolKnows(tool: string, facet: FacetName, entry: string): boolean {
    return this.#perTool.has(`${tool}\u0000${facet}\u0000${entry}`);
  }
}
