/**
 * The sensor-output corpus (`testkit/corpus/`): recordings written in the upstream
 * Tetragon and Hubble JSON shapes, for replay tests and the replay benchmark.
 */
import { fileURLToPath } from "node:url";

/** Files of the corpus, by name. */
export const CORPUS_FILES = {
  tetragon: "tetragon.jsonl",
  tetragonPretty: "tetragon-pretty.json",
  tetragonEnterprise: "tetragon-enterprise.jsonl",
  hubble: "hubble.jsonl",
  hubbleBare: "hubble-bare.jsonl",
  hubblePretty: "hubble-pretty.json",
  traces: "traces.jsonl",
} as const;

/** The absolute path of a corpus file (the directory with no argument). */
export function corpusPath(file?: (typeof CORPUS_FILES)[keyof typeof CORPUS_FILES]): string {
  return fileURLToPath(new URL(`../../corpus/${file ?? ""}`, import.meta.url));
}
