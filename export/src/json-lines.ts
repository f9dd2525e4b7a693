/** Writes alerts (and, optionally, events) as proto-JSON lines to a stream. */
import type { Writable } from "node:stream";
import { toJsonString } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import type { Alert, AlertSink, RuntimeEvent } from "@hangar/core";

export function alertJson(alert: Alert): string {
  return toJsonString(hangar.AlertSchema, alert);
}

export function eventJson(ev: RuntimeEvent): string {
  return toJsonString(hangar.RuntimeEventSchema, ev);
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
