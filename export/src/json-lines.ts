/** Writes alerts (and, optionally, events) as proto-JSON lines to a stream. */
import type { Writable } from "node:stream";
import { hangar } from "@hangar/proto";
import { protoJsonString, type Alert, type AlertSink, type RuntimeEvent } from "@hangar/core";

/** The alert's proto-JSON (the text of `toJsonString`, from a compiled writer: core/src/proto-json.ts). */
export function alertJson(alert: Alert): string {
  return protoJsonString(hangar.AlertSchema, alert);
}

export function eventJson(ev: RuntimeEvent): string {
  return protoJsonString(hangar.RuntimeEventSchema, ev);
}

/**
 * A JSON-lines alert sink over a Node stream. Writes are buffered by the stream;
 * `flush` waits for the stream to drain.
 */
export class JsonLinesAlertSink implements AlertSink {
  readonly #out: Writable;
  #ended = false;
  constructor(out: Writable) {
    this.#out = out;
  }
  write(alert: Alert): void {
    if (this.#ended) return;
    this.#out.write(`${alertJson(alert)}\n`);
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
