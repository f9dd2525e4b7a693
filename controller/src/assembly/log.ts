/** How the assembled controller logs: one call per line, and serve's JSON-lines form of it. */

export type LogLevel = "debug" | "info" | "warn" | "error";

export type ControllerLog = (level: LogLevel, msg: string, extra?: Record<string, unknown>) => void;

/** `{"time","level","msg",…extra}` per line to `write` (serve's log on stderr). */
export function jsonLinesLog(write: (line: string) => void): ControllerLog {
  return (level, msg, extra = {}) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...extra })}\n`);
}
