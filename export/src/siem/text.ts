/** Text hygiene shared by the encoders: well-formed UTF-8, control characters, caps by character. */

// C0 controls except TAB, LF, CR (handled by each format), DEL and the C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const SPACES_AT_ENDS = /^ +| +$/g;

/**
 * Makes `s` safe to put on the wire: lone surrogates become U+FFFD (so the UTF-8 is
 * well formed), TAB becomes a space, other control characters are removed. LF and CR
 * are kept when `keepNewlines`, otherwise they become spaces.
 */
export function clean(s: string, keepNewlines: boolean): string {
  let out = s.isWellFormed() ? s : s.toWellFormed();
  if (!HAS_CONTROL.test(out)) return out;
  out = out.replace(CONTROL, "").replaceAll("\t", " ");
  return keepNewlines ? out : out.replace(/\r\n|[\r\n]/g, " ");
}

/** Removes leading and trailing spaces (CEF loses trailing spaces of the last value). */
export function trimSpaces(s: string): string {
  if (s.length === 0 || (s.charCodeAt(0) !== 32 && s.charCodeAt(s.length - 1) !== 32)) return s;
  return s.replace(SPACES_AT_ENDS, "");
}

/**
 * The first `max` characters (Unicode code points) of `s`. Cutting happens before
 * escaping, so an escape sequence or a UTF-8 sequence is never split.
 */
export function capChars(s: string, max: number): string {
  if (s.length <= max) return s;
  let count = 0;
  let i = 0;
  while (i < s.length && count < max) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    count++;
  }
  return s.slice(0, i);
}

/** The number of characters (code points) in `s`. */
export function charLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/** Printable US-ASCII 33..126 only (RFC 5424 header fields), at most `max` characters; "-" when empty. */
export function printableAscii(s: string, max: number): string {
  const out = s.replace(/[^\x21-\x7e]/g, "").slice(0, max);
  return out === "" ? "-" : out;
}
