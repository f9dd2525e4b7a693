// Shared by scripts/sbom.mjs, scripts/check-licenses.mjs and scripts/audit.mjs: which
// workspaces each image ships (read from its Dockerfile), the production dependency closure of
// those workspaces in package-lock.json, SPDX license expressions and the license policy.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The images and their Dockerfiles; the workspaces come from each `ARG WORKSPACES="…"`. */
export const IMAGES = [
  { image: "hangar-agent", dockerfile: "agent/Dockerfile" },
  { image: "hangar-controller", dockerfile: "controller/Dockerfile" },
];

/** `[{image, dockerfile, workspaces}]` of a checkout. */
export function imageWorkspaces(root) {
  return IMAGES.map(({ image, dockerfile }) => {
    const text = readFileSync(join(root, dockerfile), "utf8");
    const m = /^ARG WORKSPACES="([^"]+)"$/m.exec(text);
    if (m === null) throw new Error(`${dockerfile}: no ARG WORKSPACES="…" line (the image's npm workspaces)`);
    return { image, dockerfile, workspaces: m[1].trim().split(/\s+/) };
  });
}

/**
 * The license policy. Third-party packages in an image, the enterprise (BSL) modules' own
 * dependencies included, must be under permissive licenses only: each SPDX expression must be
 * satisfiable with these ids (docs/supply-chain.md says why each is here).
 */
export const ALLOWED_LICENSES = new Set([
  "MIT",
  "MIT-0",
  "ISC",
  "0BSD",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "Apache-2.0",
  "BlueOak-1.0.0",
  "CC0-1.0",
  "Unlicense",
  "Zlib",
  "Python-2.0",
]);

/** Our own packages: MIT, except the enterprise modules under the Business Source License. */
export function firstPartyLicense(name, declared) {
  if (!name.startsWith("@hangar/")) return undefined;
  const bsl = declared === "SEE LICENSE IN ../LICENSE.BSL" || declared === "BUSL-1.1";
  if (name === "@hangar/semantic" || name === "@hangar/behavioral")
    return bsl
      ? { ok: true }
      : { ok: false, why: `an enterprise module must be BUSL-1.1, declares ${declared}` };
  return declared === "MIT"
    ? { ok: true }
    : { ok: false, why: `a core package must be MIT, declares ${declared}` };
}

/**
 * Whether an SPDX license expression is satisfied by the allowed ids: every operand of AND,
 * one of OR; `X WITH exception` counts as X; `LicenseRef-*` and unknown words are not allowed.
 */
export function spdxAllowed(expression, allowed = ALLOWED_LICENSES) {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const primary = () => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`incomplete license expression "${expression}"`);
    if (t === "(") {
      const v = or();
      if (tokens[i++] !== ")") throw new Error(`unbalanced parentheses in "${expression}"`);
      return v;
    }
    let ok = allowed.has(t.replace(/\+$/, ""));
    if (peek() === "WITH") {
      i += 2;
      ok = ok && tokens[i - 1] !== undefined;
    }
    return ok;
  };
  const and = () => {
    let v = primary();
    while (peek() === "AND") {
      i++;
      v = primary() && v;
    }
    return v;
  };
  const or = () => {
    let v = and();
    while (peek() === "OR") {
      i++;
      v = and() || v;
    }
    return v;
  };
  const result = or();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]}" in license expression "${expression}"`);
  return result;
}

/**
 * The production dependency closure of `workspaces` in a v2/v3 package-lock.json, resolved as
 * Node does (the nearest node_modules upwards from the dependent). Returns a Map
 * "name@version" → { name, version, location, via } where `via` is the dependent's name; a
 * non-optional dependency the lockfile lacks throws, naming both.
 */
export function productionClosure(lock, workspaces) {
  const pkgs = lock.packages ?? {};
  const byName = new Map();
  for (const [loc, p] of Object.entries(pkgs))
    if (loc !== "" && !loc.includes("node_modules/") && p.name !== undefined) byName.set(p.name, loc);
  const out = new Map();
  const queue = [];
  const visit = (loc, via) => {
    let p = pkgs[loc];
    if (p?.link === true) {
      loc = p.resolved;
      p = pkgs[loc];
    }
    if (p === undefined) return;
    const name = p.name ?? loc.slice(loc.lastIndexOf("node_modules/") + "node_modules/".length);
    const key = `${name}@${p.version}`;
    if (out.has(key)) return;
    out.set(key, { name, version: p.version, location: loc, via, license: p.license });
    queue.push(loc);
  };
  // The nearest node_modules/<dep> from `from` upwards: "a/node_modules/b" → "a" → the root.
  const resolve = (from, dep) => {
    let base = from;
    for (;;) {
      const candidate = base === "" ? `node_modules/${dep}` : `${base}/node_modules/${dep}`;
      if (pkgs[candidate] !== undefined) return candidate;
      if (base === "") return undefined;
      const cut = base.lastIndexOf("/node_modules/");
      base = cut >= 0 ? base.slice(0, cut) : "";
    }
  };
  for (const w of workspaces) {
    const loc = byName.get(w);
    if (loc === undefined) throw new Error(`workspace ${w} is not in package-lock.json`);
    visit(loc, "(image)");
  }
  while (queue.length > 0) {
    const loc = queue.shift();
    const p = pkgs[loc];
    const name = p.name ?? loc.slice(loc.lastIndexOf("node_modules/") + "node_modules/".length);
    const optionalPeers = new Set(
      Object.entries(p.peerDependenciesMeta ?? {})
        .filter(([, m]) => m?.optional === true)
        .map(([n]) => n),
    );
    const deps = [
      ...Object.keys(p.dependencies ?? {}).map((d) => [d, false]),
      ...Object.keys(p.optionalDependencies ?? {}).map((d) => [d, true]),
      ...Object.keys(p.peerDependencies ?? {}).map((d) => [d, optionalPeers.has(d)]),
    ];
    for (const [dep, optional] of deps) {
      const at = resolve(loc, dep);
      if (at === undefined) {
        if (optional) continue;
        throw new Error(
          `package-lock.json: ${name} (${loc}) depends on ${dep}, which the lockfile does not hold`,
        );
      }
      visit(at, name);
    }
  }
  return out;
}

/** "group/name" of a CycloneDX component, as npm spells the package name. */
export function componentName(c) {
  return c.group ? `${c.group}/${c.name}` : c.name;
}

/** The license of a CycloneDX component as one SPDX expression (or a name), or undefined. */
export function componentLicense(c) {
  const parts = (c.licenses ?? [])
    .map((l) => l.expression ?? l.license?.id ?? l.license?.name)
    .filter(Boolean);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : parts.map((p) => `(${p})`).join(" AND ");
}
