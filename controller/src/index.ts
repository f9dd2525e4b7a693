// Public API of @hangar/controller.
export { ctl, usage } from "./ctl/ctl.js";
export { UsageError, type CtlCommand, type CtlIO } from "./ctl/command.js";
