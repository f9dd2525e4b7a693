/** Argument parsing shared by the commands: node:util parseArgs with clear errors. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CoreError } from "./errors.js";

export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>
>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new CoreError(
      "HANGAR_ERR_CONFIG_INVALID",
      `${command}: ${err instanceof Error ? err.message : String(err)} (see 'hangar-agent ${command} --help')`,
    );
  }
}

export function intOption(
  command: string,
  name: string,
  value: string | undefined,
  min = 0,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new CoreError(
      "HANGAR_ERR_CONFIG_INVALID",
      `${command}: --${name} must be an integer ≥ ${min}, got "${value}"`,
    );
  }
  return n;
}
