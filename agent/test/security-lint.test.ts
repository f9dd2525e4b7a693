/**
 * The local security lint rule `hangar/no-string-key-write` (scripts/eslint/hangar-security.mjs,
 * docs/supply-chain.md): it flags writes, deletes and calls through a string-typed key on a
 * plain object, and leaves arrays, Maps, literal keys and Object.create(null) targets alone.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { it } from "node:test";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { tempDir } from "@hangar/testkit";

const RULES = fileURLToPath(new URL("../../../scripts/eslint/hangar-security.mjs", import.meta.url));

it("flags string-keyed writes, deletes and calls on plain objects only", async () => {
  const hangar = ((await import(pathToFileURL(RULES).href)) as { default: ESLint.Plugin }).default;
  const { dir, cleanup } = tempDir("hangar-lint-rule-");
  try {
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, target: "es2022", module: "nodenext" },
        include: ["*.ts"],
      }),
    );
    const lines = [
      "export function f(input: Record<string, unknown>, k: string, n: number, lit: 'a' | 'b', m: Map<string, number>, buf: Uint8Array): void {",
      "  const out: Record<string, unknown> = {};",
      "  out[k] = input; // FLAG",
      "  const safe = Object.create(null) as Record<string, unknown>;",
      "  safe[k] = input;",
      "  const arr: number[] = [];",
      "  arr[n] = 1;",
      "  buf[n] = 1;",
      "  out[lit] = 1;",
      "  out['x'] = 1;",
      "  m.set(k, 1);",
      "  delete out[k]; // FLAG",
      "  (input[k] as () => void)(); // FLAG",
      "  out[`x${k}`] = 2; // FLAG",
      "  out[k] ??= 3; // FLAG",
      "  const read = out[k];",
      "  void read;",
      "}",
    ];
    writeFileSync(join(dir, "fixture.ts"), lines.join("\n") + "\n");
    const eslint = new ESLint({
      cwd: dir,
      overrideConfigFile: true,
      overrideConfig: [
        {
          files: ["**/*.ts"],
          languageOptions: {
            parser: tseslint.parser,
            parserOptions: { project: "./tsconfig.json", tsconfigRootDir: dir },
          },
          plugins: { hangar },
          rules: { "hangar/no-string-key-write": "error" },
        },
      ],
    });
    const [result] = await eslint.lintFiles([join(dir, "fixture.ts")]);
    const flagged = (result?.messages ?? []).map((m) => `${m.line} ${m.ruleId ?? m.message}`);
    const want = lines.flatMap((l, i) =>
      l.includes("// FLAG") ? [`${i + 1} hangar/no-string-key-write`] : [],
    );
    assert.deepEqual(flagged, want);
    assert.match(result!.messages[0]!.message, /"__proto__" or "constructor" reaches the prototype/);
  } finally {
    cleanup();
  }
});
