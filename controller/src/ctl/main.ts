#!/usr/bin/env node
// The hangar-ctl executable; the command logic is in ctl.ts.
import { ctl } from "./ctl.js";

process.exitCode = await ctl(process.argv.slice(2));
