/** PATH for the proto tools (buf, protoc-gen-es): node_modules/.bin of `start` and every ancestor (npm workspaces hoist), then the caller's PATH. */
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";

export function toolPath(start) {
  const dirs = [];
  for (let dir = start; ; dir = dirname(dir)) {
    const bin = join(dir, "node_modules", ".bin");
    if (existsSync(bin)) dirs.push(bin);
    if (dirname(dir) === dir) break;
  }
  return [...dirs, process.env.PATH ?? ""].join(delimiter);
}
