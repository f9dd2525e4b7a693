/** Alerts as CEF lines (no syslog header) on a Node stream: `hangar-agent replay --format cef`. */
import type { Writable } from "node:stream";
import type { Alert, AlertSink } from "@hangar/core";
import { encodeCef, type CefOptions } from "./cef.js";
import { alertRecord } from "./record.js";

export class CefLinesAlertSink implements AlertSink {
  readonly #out: Writable;
  readonly #opts: CefOptions;
  #ended = false;
  constructor(out: Writable, opts: CefOptions = {}) {
    this.#out = out;
    this.#opts = opts;
  }
  write(alert: Alert): void {
    if (this.#ended) return;
    this.#out.write(`${encodeCef(alertRecord(alert), this.#opts)}\n`);
  }
  flush(): Promise<void> {
    if (!this.#out.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.#out.once("drain", () => resolve()));
  }
  async shutdown(): Promise<void> {
    await this.flush();
    this.#ended = true;
  }
}
