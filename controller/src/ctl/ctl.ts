/**
 * hangar-ctl: the operator's command line for MCP Hangar (rules, baselines,
 * providers, alerts, enforcement).
 */
import { isUsageError, processIO, type CtlCommand, type CtlIO } from "./command.js";
import { COMMANDS } from "./commands.js";

export function usage(commands: readonly CtlCommand[]): string {
  const width = Math.max(10, ...commands.map((c) => c.name.length + 2));
  return `hangar-ctl — operate MCP Hangar: rules, baselines, providers, alerts, enforcement

Usage: hangar-ctl <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join("\n")}

Run 'hangar-ctl <command> --help' for the options of a command.
`;
}

/** Runs hangar-ctl with `argv` (without node and the script); resolves to the exit code. */
export async function ctl(
  argv: string[],
  io: CtlIO = processIO,
  commands: readonly CtlCommand[] = COMMANDS,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout)(usage(commands));
    return name === undefined ? 2 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    io.stderr(`hangar-ctl: unknown command "${name}"\n\n${usage(commands)}`);
    return 2;
  }
  try {
    return await cmd.run(rest, io, commands);
  } catch (err) {
    if (isUsageError(err)) {
      io.stderr(`hangar-ctl ${name}: ${err.message}\nRun 'hangar-ctl ${name} --help' for usage.\n`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`hangar-ctl ${name}: ${typeof code === "string" ? `${code}: ` : ""}${message}\n`);
    return 1;
  }
}
