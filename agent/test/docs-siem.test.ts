/** docs/reference/metrics.md and siem-export.md must stay in step with the code. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { COUNTER_MAPPINGS, CS_LABELS } from "@hangar/export";

const doc = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../docs/reference/${name}`, import.meta.url)), "utf8");

it("metrics.md lists every instrument and every counter family it reads", () => {
  const text = doc("metrics.md");
  const direct = ["hangar.enforcement.events", "hangar.baseline.state", "mcp.server.operation.duration"];
  for (const [family, m] of Object.entries(COUNTER_MAPPINGS)) {
    assert.ok(text.includes(`\`${m.instrument}\``), `instrument ${m.instrument}`);
    assert.ok(text.includes(`\`${family}\``), `counter family ${family}`);
    for (const attr of Object.values(m.attrs)) assert.ok(text.includes(`\`${attr}\``), `attribute ${attr}`);
  }
  for (const name of direct) assert.ok(text.includes(`\`${name}\``), name);
});

it("siem-export.md names every custom-string label and SIEM counter", () => {
  const text = doc("siem-export.md");
  for (const label of Object.values(CS_LABELS)) assert.ok(text.includes(label), `label ${label}`);
  for (const c of [
    "siem_records",
    "siem_sent",
    "siem_spooled",
    "siem_resent",
    "siem_send_errors",
    "siem_dropped",
    "siem_up",
  ]) {
    assert.ok(text.includes(`\`${c}\``), c);
  }
  for (const r of ["queue_full", "spool_overflow", "spool_full", "spool_error", "encode_error", "closed"])
    assert.ok(text.includes(`\`${r}\``), r);
});
