/**
 * Baseline items and how they collapse: many IPs in one /24 become the /24,
 * many names under one parent become `*.parent`, many files in one directory
 * become `dir/**`. Collapse keeps a baseline small and its lookups fast, and is
 * what happens at the size cap instead of ending learning. Operator-allowed
 * items and sensitive paths are never absorbed.
 */
import type { FacetName } from "./facets.js";
import { isSensitivePath, parseEgress } from "./facets.js";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./tries.js";

export type ItemOrigin = "learned" | "operator" | "merged";

export interface Item {
  facet: FacetName;
  /** The tool whose calls touched it; "" for the provider-wide item. */
  tool: string;
  value: string;
  qualifier: string;
  count: number;
  /** Epoch ms. */
  first: number;
  last: number;
  collapsed: boolean;
  origin: ItemOrigin;
}

export function itemKey(facet: FacetName, tool: string, qualifier: string, value: string): string {
  return `${facet}\u0000${tool}\u0000${qualifier}\u0000${value}`;
}

export interface CollapseThresholds {
  /** Distinct IPs in one /24 (IPv6: /64) before they become the CIDR; /24s in one /16 likewise. */
  egress: number;
  /** Distinct names under one parent before they become `*.parent`. */
  dns: number;
  /** Distinct entries in one directory before they become `dir/**`. */
  file: number;
  /** Distinct argument shapes of one binary before the shape becomes `*`. */
  argShapes: number;
}

export const DEFAULT_THRESHOLDS: CollapseThresholds = { egress: 8, dns: 16, file: 32, argShapes: 16 };
/** At the size cap, collapse as far as it goes. */
export const CAP_THRESHOLDS: CollapseThresholds = { egress: 2, dns: 2, file: 2, argShapes: 2 };

/** Collapses the items of one provider. Returns the new list and how many items were absorbed. */
export function collapseItems(
  items: readonly Item[],
  t: CollapseThresholds,
  only?: FacetName,
): { items: Item[]; absorbed: number } {
  const byFacet = new Map<FacetName, Item[]>();
  for (const it of items) {
    const list = byFacet.get(it.facet);
    if (list === undefined) byFacet.set(it.facet, [it]);
    else list.push(it);
  }
  const out: Item[] = [];
  let absorbed = 0;
  for (const [facet, list] of byFacet) {
    if (only !== undefined && facet !== only) {
      out.push(...list);
      continue;
    }
    let next: Item[];
    switch (facet) {
      case "egress":
        next = collapseGrouped(list, (it) => egressParent(it.value), t.egress);
        break;
      case "dns":
        next = collapseGrouped(list, (it) => dnsParent(it.value), t.dns);
        break;
      case "file":
        next = collapseGrouped(list, (it) => fileParent(it.value), t.file);
        break;
      case "binary":
        next = collapseShapes(list, t.argShapes);
        break;
      default:
        next = list;
    }
    absorbed += list.length - next.length;
    out.push(...next);
  }
  return { items: out, absorbed };
}

/**
 * The collapsed entry an item would join, and a predicate for what that entry
 * covers; undefined when the item cannot be collapsed.
 */
interface Parent {
  key: string;
  covers: (value: string) => boolean;
}

function collapseGrouped(
  list: Item[],
  parentOf: (it: Item) => Parent | undefined,
  threshold: number,
): Item[] {
  let items = list;
  for (let round = 0; round < 6; round++) {
    const groups = new Map<string, { parent: Parent; members: Item[] }>();
    for (const it of items) {
      if (it.origin === "operator") continue;
      const p = parentOf(it);
      if (p === undefined) continue;
      const gk = `${it.tool}\u0000${it.qualifier}\u0000${p.key}`;
      const g = groups.get(gk);
      if (g === undefined) groups.set(gk, { parent: p, members: [it] });
      else g.members.push(it);
    }
    const chosen = [...groups.values()].filter((g) => g.members.length >= threshold);
    if (chosen.length === 0) return items;
    const absorbedSet = new Set<Item>();
    const made: Item[] = [];
    for (const g of chosen) {
      const head = g.members[0] as Item;
      const merged: Item = {
        facet: head.facet,
        tool: head.tool,
        value: g.parent.key,
        qualifier: head.qualifier,
        count: 0,
        first: Infinity,
        last: -Infinity,
        collapsed: true,
        origin: "learned",
      };
      // Absorb the group, and anything else of the same tool/qualifier the new entry covers.
      for (const it of items) {
        if (absorbedSet.has(it) || it.origin === "operator") continue;
        if (it.tool !== head.tool || it.qualifier !== head.qualifier) continue;
        if (!g.members.includes(it) && !g.parent.covers(it.value)) continue;
        if (it.facet === "file" && isSensitivePath(it.value)) continue;
        absorbedSet.add(it);
        merged.count += it.count;
        merged.first = Math.min(merged.first, it.first);
        merged.last = Math.max(merged.last, it.last);
      }
      made.push(merged);
    }
    items = [...items.filter((it) => !absorbedSet.has(it)), ...made];
  }
  return items;
}

/** egress: an address joins its /24 (/64); a /24 joins its /16 (/48). Same port and protocol. */
function egressParent(value: string): Parent | undefined {
  const p = parseEgress(value);
  if (p === undefined || p.port < 0) return undefined;
  const [ip, bitsText] = p.host.split("/");
  const suffix = `:${p.port}/${p.proto === "" ? "any" : p.proto}`;
  const v4 = parseIPv4(ip ?? "");
  if (v4 >= 0) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    const to = bits > 24 ? 24 : bits > 16 ? 16 : -1;
    if (to < 0) return undefined;
    const net = to === 24 ? v4 - (v4 % 256) : v4 - (v4 % 65536);
    const cidr = `${formatIPv4(net)}/${to}`;
    return { key: `${cidr}${suffix}`, covers: (v) => egressCovered(v, net, to, suffix) };
  }
  const v6 = parseIPv6(ip ?? "");
  if (v6 === undefined) return undefined;
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  const to = bits > 64 ? 64 : bits > 48 ? 48 : -1;
  if (to < 0) return undefined;
  const groups = v6.map((g, i) => (i * 16 < to ? g : 0));
  const cidr = `${formatIPv6(groups)}/${to}`;
  return {
    key: `[${cidr}]${suffix}`,
    covers: (v) => {
      const q = parseEgress(v);
      if (q === undefined || !v.endsWith(suffix)) return false;
      const [qip, qbits] = q.host.split("/");
      const g = parseIPv6(qip ?? "");
      if (g === undefined || (qbits !== undefined && Number(qbits) < to)) return false;
      for (let i = 0; i < to / 16; i++) if (g[i] !== groups[i]) return false;
      return true;
    },
  };
}

function egressCovered(v: string, net: number, bits: number, suffix: string): boolean {
  if (!v.endsWith(suffix)) return false;
  const q = parseEgress(v);
  if (q === undefined) return false;
  const [qip, qbits] = q.host.split("/");
  const a = parseIPv4(qip ?? "");
  if (a < 0 || (qbits !== undefined && Number(qbits) < bits)) return false;
  const size = 2 ** (32 - bits);
  return a - (a % size) === net;
}

/** dns: `a.b.example.com` and `*.b.example.com` join `*.example.com`… never a single-label parent. */
function dnsParent(value: string): Parent | undefined {
  const name = value.startsWith("*.") ? value.slice(2) : value;
  const dot = name.indexOf(".");
  if (dot < 0) return undefined;
  const parent = name.slice(dot + 1);
  if (!parent.includes(".")) return undefined; // never "*.com"
  const suffix = `.${parent}`;
  return { key: `*.${parent}`, covers: (v) => v.endsWith(suffix) };
}

/** file: `/a/b/c` and `/a/b/c/**` join `/a/b/**`; never `/**`, never a sensitive path. */
function fileParent(value: string): Parent | undefined {
  if (isSensitivePath(value)) return undefined;
  const path = value.endsWith("/**") ? value.slice(0, -3) : value;
  const slash = path.lastIndexOf("/");
  if (slash <= 0) return undefined;
  const dir = path.slice(0, slash);
  const prefix = `${dir}/`;
  return { key: `${dir}/**`, covers: (v) => v.startsWith(prefix) && !isSensitivePath(v) };
}

/** binary: past `threshold` argument shapes, one binary's shapes become `*`. */
function collapseShapes(list: Item[], threshold: number): Item[] {
  const groups = new Map<string, Item[]>();
  for (const it of list) {
    if (it.origin === "operator") continue;
    const k = `${it.tool}\u0000${it.value}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [it]);
    else g.push(it);
  }
  const absorbed = new Set<Item>();
  const made: Item[] = [];
  for (const g of groups.values()) {
    if (g.length < threshold) continue;
    const head = g[0] as Item;
    const merged: Item = { ...head, qualifier: "*", count: 0, first: Infinity, last: -Infinity };
    merged.collapsed = true;
    for (const it of g) {
      absorbed.add(it);
      merged.count += it.count;
      merged.first = Math.min(merged.first, it.first);
      merged.last = Math.max(merged.last, it.last);
    }
    made.push(merged);
  }
  return absorbed.size === 0 ? list : [...list.filter((it) => !absorbed.has(it)), ...made];
}
