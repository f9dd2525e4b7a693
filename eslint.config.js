// Type-aware lint for every workspace. `no-floating-promises` is an error: in an
// agent built from async streams, a dropped promise is a lost event.
import js from "@eslint/js";
import security from "eslint-plugin-security";
import tseslint from "typescript-eslint";
import hangarSecurity from "./scripts/eslint/hangar-security.mjs";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "proto/src/gen/**", "**/*.js", "**/*.mjs"] },
  { ignores: ["proto/src/gen-lazy/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      eqeqeq: ["error", "smart"],
      "no-console": "error",
    },
  },
  // Security lint (docs/supply-chain.md "Static analysis"): eslint-plugin-security's rules as
  // errors, each finding fixed or justified inline (`eslint-disable-next-line <rule> -- why`).
  // One substitution: detect-object-injection flags every computed member access — 253 in the
  // shipped code, nearly all arrays, typed arrays and buffers indexed by number — so it is
  // replaced by hangar/no-string-key-write (scripts/eslint/hangar-security.mjs), which uses type
  // information to flag the risky subset only: writes, deletes and calls through a key typed
  // `string`/any on a plain object (not an array, typed array or Map, nor an
  // Object.create(null) object). That is where a key from input ("__proto__", "constructor")
  // reaches a prototype.
  {
    files: ["**/*.ts"],
    plugins: { security, hangar: hangarSecurity },
    rules: {
      ...Object.fromEntries(Object.keys(security.configs.recommended.rules).map((r) => [r, "error"])),
      "security/detect-object-injection": "off",
      "hangar/no-string-key-write": "error",
    },
  },
  // Lighter for code that never ships in an image and reads no untrusted input: tests, benches,
  // the test kit (testkit/), the end-to-end harness (e2e/) and the local developer stack
  // (stack/, run by a developer on their own machine). Their file paths are temporary
  // directories and fixtures they create themselves, their regexes match their own output and
  // their object keys are their own case names; the other security rules stay on.
  {
    files: [
      "**/*.test.ts",
      "**/test/**/*.ts",
      "bench/**/*.ts",
      "testkit/**/*.ts",
      "e2e/**/*.ts",
      "stack/**/*.ts",
    ],
    rules: {
      "security/detect-non-literal-fs-filename": "off",
      "security/detect-non-literal-regexp": "off",
      "security/detect-unsafe-regex": "off",
      "security/detect-possible-timing-attacks": "off",
      "hangar/no-string-key-write": "off",
    },
  },
  {
    files: ["**/*.test.ts", "**/test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "no-console": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      // node:test's describe/it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] },
          ],
        },
      ],
    },
  },
);
