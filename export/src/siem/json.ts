/** JSON lines: the record as proto JSON (hangar.v1.Alert or hangar.v1.EnforcementEvent), one per line. */
import type { SiemRecord } from "./record.js";

// JSON.stringify writes a lone surrogate as a \udXXX escape, which is not valid UTF-8 once
// decoded (protobuf JSON parsers and many SIEMs reject it). Paired surrogates are written
// raw, so every such escape left in the text is a lone one: make it U+FFFD. The look-behind
// skips escaped backslashes (`\\ud800` is the six characters of literal text).
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u[dD][89a-fA-F][0-9a-fA-F]{2}/g;

export function encodeJson(r: SiemRecord): string {
  // Control characters are escaped by JSON.stringify (inside toJsonString), so a record is
  // always one line.
  const text = r.json();
  return text.includes("\\u") ? text.replace(LONE_SURROGATE_ESCAPE, "$1\\ufffd") : text;
}
