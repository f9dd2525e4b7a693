/**
 * The registry of `hangar-ctl` commands. Each command lives in its own module
 * under `commands/` and is listed here once.
 */
import type { CtlCommand } from "./command.js";
import { baselineCommand } from "./commands/baseline.js";
import { providersCommand } from "./commands/providers.js";
import { alertsCommand } from "./commands/alerts.js";
import { enforcementCommand } from "./commands/enforcement.js";
import { completionCommand } from "./commands/completion.js";
import { rulesCommand } from "./commands/rules.js";
import { admissionCommand } from "./commands/admission.js";
import { licenseCommand } from "./commands/license.js";

export const COMMANDS: readonly CtlCommand[] = [
  baselineCommand,
  providersCommand,
  alertsCommand,
  enforcementCommand,
  completionCommand,
  rulesCommand,
  admissionCommand,
  licenseCommand,
];
