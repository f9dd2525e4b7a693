/**
 * The registry of `hangar-ctl` commands. Each command lives in its own module
 * under `commands/` and is listed here once.
 */
import type { CtlCommand } from "./command.js";

export const COMMANDS: readonly CtlCommand[] = [];
