/** controller/README.md documents every proxy error code and JSON-RPC code, and no other. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { codeDrift, documentedCodes } from "@hangar/testkit";
import { ProxyErrorCodes, RpcCode } from "./errors.js";

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));
const ERRORS_MD = fileURLToPath(new URL("../../../../docs/reference/errors.md", import.meta.url));

it("docs/reference/errors.md has a section for the proxy listing exactly its codes", () => {
  const documented = documentedCodes(ERRORS_MD, "controller: MCP proxy");
  assert.deepEqual(codeDrift(Object.keys(ProxyErrorCodes), documented), { missing: [], unknown: [] });
});

it("controller/README.md lists every HANGAR_ERR_PROXY_* code and every JSON-RPC code the proxy answers", () => {
  const doc = readFileSync(README, "utf8");
  const documented = new Set([...doc.matchAll(/`(HANGAR_ERR_PROXY_[A-Z_]+)`/g)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), Object.keys(ProxyErrorCodes).sort());
  const table = doc.slice(doc.indexOf("### What callers get back"), doc.indexOf("### Error codes"));
  const rpc = new Set([...table.matchAll(/`(-32\d{3})`/g)].map((m) => Number(m[1])));
  assert.deepEqual([...rpc].sort(), [...new Set(Object.values(RpcCode))].sort());
});
