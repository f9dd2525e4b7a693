/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`,
 * pinned in the root package.json) against a server URL as its CLI does for a
 * user (`conformance server --url URL --suite all -o DIR`), and reads back what
 * each scenario checked (`DIR/server-<scenario>-<time>/checks.json`).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { TestkitError } from "./errors.js";

export interface ConformanceCheck {
  id: string;
  name: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

export interface ConformanceRun {
  /** Scenario name → its checks, in the order the suite made them. */
  scenarios: Map<string, ConformanceCheck[]>;
  passed: number;
  failed: number;
  warnings: number;
  /** The CLI's exit code (1 when a check failed). */
  exitCode: number;
  /** The CLI's output, for failure messages. */
  output: string;
  ms: number;
}

/** The suite's CLI entry point (`bin.conformance` of the installed package). */
export function conformanceCli(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve("@modelcontextprotocol/conformance/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as {
    bin: Record<string, string>;
  };
  return join(dirname(pkgPath), pkg.bin["conformance"] ?? "dist/index.js");
}

/** Runs every server scenario of the suite (`--suite all`) against `url`. */
export async function runConformance(
  url: string,
  opts: { suite?: string; scenario?: string; timeoutMs?: number } = {},
): Promise<ConformanceRun> {
  const dir = await mkdtemp(join(tmpdir(), "hangar-conformance-"));
  const t0 = performance.now();
  try {
    const args = [conformanceCli(), "server", "--url", url, "-o", dir];
    if (opts.scenario !== undefined) args.push("--scenario", opts.scenario);
    else args.push("--suite", opts.suite ?? "all");
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const exitCode = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(
          new TestkitError(
            "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
            `the conformance suite ran over ${timeoutMs} ms`,
            {
              details: { output: output.slice(-4000) },
            },
          ),
        );
      }, timeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(
          new TestkitError(
            "HANGAR_ERR_TESTKIT_PROCESS_EXITED",
            `cannot run the conformance suite: ${err.message}`,
            {
              cause: err,
            },
          ),
        );
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code ?? 1);
      });
    });
    const scenarios = new Map<string, ConformanceCheck[]>();
    for (const entry of (await readdir(dir)).sort()) {
      const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
      if (m === null) continue;
      const checks = JSON.parse(
        await readFile(join(dir, entry, "checks.json"), "utf8"),
      ) as ConformanceCheck[];
      scenarios.set(
        m[1] as string,
        checks.map((c) => ({
          id: c.id,
          name: c.name,
          status: c.status,
          ...(c.errorMessage === undefined ? {} : { errorMessage: c.errorMessage }),
        })),
      );
    }
    let passed = 0;
    let failed = 0;
    let warnings = 0;
    for (const checks of scenarios.values())
      for (const c of checks) {
        if (c.status === "SUCCESS") passed++;
        else if (c.status === "FAILURE") failed++;
        else if (c.status === "WARNING") warnings++;
      }
    return { scenarios, passed, failed, warnings, exitCode, output, ms: performance.now() - t0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What a run says, in a form two runs can be compared by: one line per check
 * that is not INFO (`scenario check-id STATUS`), in the suite's order.
 */
export function conformanceVerdicts(run: ConformanceRun): string[] {
  const out: string[] = [];
  for (const [scenario, checks] of [...run.scenarios.entries()].sort(([a], [b]) => a.localeCompare(b)))
    for (const c of checks) if (c.status !== "INFO") out.push(`${scenario} ${c.id} ${c.status}`);
  return out;
}
