/** What a `hangar-ctl` command is: a name, a one-line summary, and how to run it. */
export interface CtlIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface CtlCommand {
  /** The first word after `hangar-ctl` (e.g. `rules`, `baseline`). */
  readonly name: string;
  /** One line for `hangar-ctl --help`. */
  readonly summary: string;
  /** Runs with the words after the command name; resolves to the exit code. */
  run(args: string[], io: CtlIO): Promise<number>;
}

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const processIO: CtlIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
