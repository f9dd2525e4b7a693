/**
 * Matchers built once at load time: glob → RegExp, rule regexes on RE2JS (linear-time),
 * and CIDR sets over IPv4/IPv6.
 */
import { RE2JS, RE2JSException } from "re2js";

/** The longest regex a rule may hold: it bounds the compiled program (RE2 bounds it again). */
export const MAX_REGEX_LENGTH = 1024;

/**
 * Compiles a rule's regex with RE2JS (a port of RE2): matching is linear in the input, for
 * every pattern, so a rule cannot stall the pipeline on a crafted argument (V8's backtracking
 * engine took 34 s on 4 KB for `a*a*a*b`). RE2 has no back-references and no lookaround; those
 * get a message saying so. Throws an `Error` whose message says what is wrong and where in
 * the pattern (the caller adds the file, line and column of the literal).
 */
export function compileRegex(src: string): RE2JS {
  if (src.length > MAX_REGEX_LENGTH)
    throw new Error(`longer than ${MAX_REGEX_LENGTH} characters (${src.length})`);
  try {
    return RE2JS.compile(src);
  } catch (err) {
    if (!(err instanceof RE2JSException)) throw err;
    throw new Error(
      unsupported(src) ?? `not in the RE2 syntax: ${err.message.replace(/^error parsing regexp: /, "")}`,
    );
  }
}

/** A plainer reason for the constructs people reach for that RE2 refuses, with their place. */
function unsupported(src: string): string | undefined {
  for (const m of src.matchAll(/\\(?:[1-9]|k<)|\(\?<?[=!]/g)) {
    if (escapedAt(src, m.index)) continue;
    return m[0].startsWith("(")
      ? `lookahead and lookbehind are not supported (at character ${m.index + 1}): use a character class or a second condition`
      : `back-references are not supported (at character ${m.index + 1}): matching them needs backtracking, which is not linear-time`;
  }
  return undefined;
}

/** Whether the character at `i` is escaped by an odd number of backslashes before it. */
function escapedAt(src: string, i: number): boolean {
  let n = 0;
  while (i - n - 1 >= 0 && src[i - n - 1] === "\\") n++;
  return n % 2 === 1;
}

/**
 * Glob: `*` within a path element, `**` across elements, `?` one character, `[abc]`/`[!abc]`
 * classes. On RE2JS too: `/**a**a**b` would be polynomial on a backtracking engine.
 */
export function compileGlob(glob: string): RE2JS {
  let out = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? "";
    if (c === "*") {
      if (glob[i + 1] === "*") {
        out += ".*";
        i++;
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) out += "\\[";
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith("!")) body = `^${body.slice(1)}`;
        out += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  try {
    return RE2JS.compile(`${out}$`, RE2JS.DOTALL);
  } catch (err) {
    if (!(err instanceof RE2JSException)) throw err;
    throw new Error(`glob ${JSON.stringify(glob)}: ${err.message.replace(/^error parsing regexp: /, "")}`);
  }
}

interface V4Net {
  v: 4;
  base: number;
  mask: number;
}
interface V6Net {
  v: 6;
  base: bigint;
  mask: bigint;
}

/**
 * Dotted-quad IPv4 text → its 32-bit value: four groups of 1–3 decimal digits, each ≤ 255.
 * Read by character code: it runs for every CIDR test of every event, and a split and a regex
 * per group were 1 % of the agent's CPU.
 */
export function parseIPv4(s: string): number | undefined {
  const len = s.length;
  if (len < 7 || len > 15) return undefined;
  let n = 0;
  let group = 0;
  let digits = 0;
  let groups = 0;
  for (let i = 0; i <= len; i++) {
    const c = i === len ? 46 : s.charCodeAt(i);
    if (c === 46) {
      // "." (or the end): closes a group of 1–3 digits.
      if (digits === 0 || group > 255 || ++groups > 4) return undefined;
      n = n * 256 + group;
      group = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      group = group * 10 + (c - 48);
    } else return undefined;
  }
  return groups === 4 ? n : undefined;
}

export function parseIPv6(s: string): bigint | undefined {
  if (!s.includes(":")) return undefined;
  let text = s;
  let tail4: number | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tail4 = parseIPv4(text.slice(lastColon + 1));
    if (tail4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : (halves[0] ?? "").split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : (halves[1] ?? "").split(":")) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail4 !== undefined) n = (n & ~0xffffffffn) | BigInt(tail4);
  return n;
}

/** A set of networks; `has(ip)` for IPv4 or IPv6 text. Throws on an invalid CIDR. */
export class CidrSet {
  readonly #v4: V4Net[] = [];
  readonly #v6: V6Net[] = [];

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr = "", bitsText] = c.split("/");
      const v4 = parseIPv4(addr);
      if (v4 !== undefined) {
        const bits = bitsText === undefined ? 32 : Number(bitsText);
        if (!Number.isInteger(bits) || bits < 0 || bits > 32)
          throw new Error(`invalid prefix length in "${c}"`);
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        this.#v4.push({ v: 4, base: (v4 & mask) >>> 0, mask });
        continue;
      }
      const v6 = parseIPv6(addr);
      if (v6 === undefined) throw new Error(`"${c}" is not an IPv4 or IPv6 network`);
      const bits = bitsText === undefined ? 128 : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > 128)
        throw new Error(`invalid prefix length in "${c}"`);
      const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
      this.#v6.push({ v: 6, base: v6 & mask, mask });
    }
  }

  has(ip: string): boolean {
    const v4 = parseIPv4(ip);
    if (v4 !== undefined) {
      for (const n of this.#v4) if ((v4 & n.mask) >>> 0 === n.base) return true;
      return false;
    }
    if (this.#v6.length === 0) return false;
    const v6 = parseIPv6(ip);
    if (v6 === undefined) return false;
    for (const n of this.#v6) if ((v6 & n.mask) === n.base) return true;
    return false;
  }
}
