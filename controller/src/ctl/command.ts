/** What a `hangar-ctl` command is: a name, a one-line summary, and how to run it. */
import { ControllerError } from "../errors.js";

export interface CtlIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CtlCommand {
  /** The first word after `hangar-ctl` (e.g. `rules`, `baseline`). */
  readonly name: string;
  /** One line for `hangar-ctl --help`. */
  readonly summary: string;
  /**
   * Runs with the words after the command name; resolves to the exit code. `commands` is
   * every command hangar-ctl has (for those that list them, such as `completion`).
   */
  run(args: string[], io: CtlIO, commands: readonly CtlCommand[]): Promise<number>;
}

/**
 * A usage error: printed with the command's help, exit code 2. It is the controller's error
 * class with the core code for a bad command-line option (`HANGAR_ERR_CONFIG_INVALID`).
 */
export function usageError(message: string): ControllerError {
  return new ControllerError("HANGAR_ERR_CONFIG_INVALID", message);
}

/** Whether `err` is a usage error (`usageError`). */
export function isUsageError(err: unknown): err is ControllerError {
  return err instanceof ControllerError && err.code === "HANGAR_ERR_CONFIG_INVALID";
}

export const processIO: CtlIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
