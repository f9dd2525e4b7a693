import { pino, type Logger } from "pino";

/** JSON logs to stderr (stdout carries alerts and events). */
export function stderrLogger(level: string): Logger {
  return pino({ level, base: { component: "hangar-agent" } }, pino.destination({ fd: 2, sync: true }));
}
