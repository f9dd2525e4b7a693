/**
 * Matchers built once at load time: glob → RegExp, the linear-time regex
 * subset check, and CIDR sets over IPv4/IPv6.
 */

/** Why `src` is outside the regex subset the engine accepts, or undefined if it is fine. */
export function regexProblem(src: string): string | undefined {
  if (src.length > 1024) return "longer than 1024 characters";
  if (/\\[1-9]|\\k</.test(src)) return "back-references are not allowed (they need backtracking)";
  if (/\(\?<?[=!]/.test(src)) return "lookahead and lookbehind are not allowed (they need backtracking)";
  // A quantified group that itself contains a quantifier or an alternation can backtrack
  // exponentially ((a+)+, (a|aa)*): reject it.
  const stack: { quant: boolean; alt: boolean }[] = [];
  let last: { quant: boolean; alt: boolean } | undefined;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === "\\") {
      i++;
      last = undefined;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    const top = stack[stack.length - 1];
    switch (c) {
      case "[":
        inClass = true;
        last = undefined;
        break;
      case "(":
        stack.push({ quant: false, alt: false });
        last = undefined;
        break;
      case ")": {
        const g = stack.pop();
        if (g === undefined) return "unbalanced parenthesis";
        last = g;
        break;
      }
      case "|":
        if (top !== undefined) top.alt = true;
        last = undefined;
        break;
      case "?":
        // Optional (or a lazy marker): never repeats, never backtracks exponentially.
        if (top !== undefined) top.quant = true;
        last = undefined;
        break;
      case "*":
      case "+":
      case "{": {
        // eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored quantifier syntax {n,m}
        if (c === "{" && !/^\{\d+(,\d*)?\}/.test(src.slice(i))) break;
        if (last !== undefined && (last.quant || last.alt))
          return "a quantified group contains a quantifier or alternation (exponential backtracking)";
        if (top !== undefined) top.quant = true;
        if (c === "{") i = src.indexOf("}", i);
        last = undefined;
        break;
      }
      default:
        last = undefined;
    }
  }
  if (stack.length > 0) return "unbalanced parenthesis";
  return undefined;
}

/** Glob: `*` within a path element, `**` across elements, `?` one character, `[abc]`/`[!abc]` classes. */
export function globToRegExp(glob: string): RegExp {
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
  // eslint-disable-next-line security/detect-non-literal-regexp -- a glob of the rule author translated to an escaped pattern, compiled once
  return new RegExp(`${out}$`, "s");
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

export function parseIPv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const x = Number(p);
    if (x > 255) return undefined;
    n = n * 256 + x;
  }
  return n;
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
