/** A value as text for keys, messages and enforcement destinations (lists joined by commas). */
export function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined || v === null) return "";
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return v.map(text).join(",");
  return JSON.stringify(v);
}
