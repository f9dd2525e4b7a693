/**
 * The decoder's layout must be the C layout. pahole reads struct hangar_event from the BTF
 * of the compiled BPF object and struct hangar_meta from the loader's DWARF; every field's
 * offset and size, and the struct sizes, must equal PROBE_EVENT_LAYOUT / PROBE_META_LAYOUT.
 * Needs the probe built (bash scripts/setup-bpf-tools.sh) and pahole (dwarves); skipped with
 * the reason otherwise, unless HANGAR_REQUIRE_BPF=1 (CI on a kernel with BTF), where a
 * missing piece fails.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { PROBE_EVENT_LAYOUT, PROBE_META_LAYOUT, PROBE_META_SIZE, PROBE_RECORD_SIZE } from "./records.js";

const BUILD = fileURLToPath(new URL("../../../../../bpf/probe/build/", import.meta.url));
const BPF_OBJECT = `${BUILD}hangar_probe.bpf.o`;
const LOADER = `${BUILD}hangar-probe`;

interface Parsed {
  fields: Record<string, [number, number]>;
  size: number;
}

/** Parses `pahole -C NAME` output: "  type name[N];  /* offset size *\/" lines and "size: N". */
function parsePahole(text: string): Parsed {
  const fields: Record<string, [number, number]> = {};
  let size = -1;
  for (const line of text.split("\n")) {
    const m = /^\s+[^/]*?\b([A-Za-z_][A-Za-z0-9_]*)(?:\[\d+\])*;\s*\/\*\s*(\d+)\s+(\d+)\s*\*\//.exec(line);
    if (m !== null) fields[m[1] as string] = [Number(m[2]), Number(m[3])];
    const s = /\/\*\s*size:\s*(\d+),/.exec(line);
    if (s !== null) size = Number(s[1]);
  }
  return { fields, size };
}

function why(): string | undefined {
  try {
    execFileSync("pahole", ["--version"], { stdio: "pipe" });
  } catch {
    return "pahole is not installed (apt-get install dwarves; scripts/setup-bpf-tools.sh does it)";
  }
  if (!existsSync(BPF_OBJECT) || !existsSync(LOADER))
    return `the probe is not built (${BPF_OBJECT}); run bash scripts/setup-bpf-tools.sh`;
  return undefined;
}

it("the pahole parser reads offsets, array fields and the size", () => {
  const sample = [
    "struct x {",
    "\t__u16                      kind;                 /*     0     2 */",
    "\tchar                       path[256];            /*   136   256 */",
    "\t/* --- cacheline 6 boundary (384 bytes) was 8 bytes ago --- */",
    "\t/* size: 648, cachelines: 11, members: 2 */",
    "};",
  ].join("\n");
  assert.deepEqual(parsePahole(sample), { fields: { kind: [0, 2], path: [136, 256] }, size: 648 });
});

it("PROBE_EVENT_LAYOUT and PROBE_META_LAYOUT match the compiled C structs", (t) => {
  const reason = why();
  if (reason !== undefined) {
    if (process.env.HANGAR_REQUIRE_BPF === "1") assert.fail(`HANGAR_REQUIRE_BPF=1 but ${reason}`);
    t.skip(reason);
    return;
  }
  const fromBtf = parsePahole(
    execFileSync("pahole", ["-F", "btf", "-C", "hangar_event", BPF_OBJECT], { encoding: "utf8" }),
  );
  assert.equal(fromBtf.size, PROBE_RECORD_SIZE, "sizeof(struct hangar_event) (BTF of the BPF object)");
  assert.deepEqual(fromBtf.fields, PROBE_EVENT_LAYOUT, "struct hangar_event fields (BTF of the BPF object)");
  const fromDwarf = parsePahole(
    execFileSync("pahole", ["-F", "dwarf", "-C", "hangar_meta", LOADER], { encoding: "utf8" }),
  );
  assert.equal(fromDwarf.size, PROBE_META_SIZE, "sizeof(struct hangar_meta) (DWARF of the loader)");
  assert.deepEqual(fromDwarf.fields, PROBE_META_LAYOUT, "struct hangar_meta fields (DWARF of the loader)");
  // The loader writes hangar_event from its own compile too: same size there.
  const loaderEvent = parsePahole(
    execFileSync("pahole", ["-F", "dwarf", "-C", "hangar_event", LOADER], { encoding: "utf8" }),
  );
  if (loaderEvent.size !== -1) assert.equal(loaderEvent.size, PROBE_RECORD_SIZE);
});
