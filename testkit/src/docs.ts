/** Reading reference docs in tests that keep docs and code in step. */
import { readFileSync } from "node:fs";

/** The text of one `## heading` section of a Markdown file (up to the next `## `); throws when it is missing. */
export function sectionText(path: string, heading: string): string {
  const doc = readFileSync(path, "utf8");
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${path} has no "## ${heading}" section`);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/**
 * The `HANGAR_ERR_*` codes a section lists: the first cell of its table rows
 * (`| \`HANGAR_ERR_…\` | … |`). Codes named in its prose are not listed codes.
 */
export function documentedCodes(path: string, heading: string): Set<string> {
  const section = sectionText(path, heading);
  return new Set([...section.matchAll(/^\| `(HANGAR_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1] as string));
}

/** Codes in `codes` missing from `documented`, and documented codes that are not in `codes`. */
export function codeDrift(
  codes: Iterable<string>,
  documented: ReadonlySet<string>,
): { missing: string[]; unknown: string[] } {
  const set = new Set(codes);
  return {
    missing: [...set].filter((c) => !documented.has(c)),
    unknown: [...documented].filter((c) => !set.has(c)),
  };
}
