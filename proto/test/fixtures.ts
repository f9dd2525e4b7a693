// Loads the JSON-lines fixtures in proto/test/fixtures (shared with other
// workspaces' tests). Paths resolve from the compiled file in dist/test.
import { readFileSync } from "node:fs";

const fixturesDir = new URL("../../test/fixtures/", import.meta.url);

/** Parsed JSON objects, one per non-empty line of the named fixture. */
export function readJsonLines(name: string): Record<string, unknown>[] {
  return readFileSync(new URL(name, fixturesDir), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
