/**
 * Rule packs from the controller into the running detector. The hub sends a
 * `hangar.v1.RuleUpdate` (file name → contents, and a version) when the
 * controller's packs change and when an agent connects with another version.
 * Each update is compiled off the hot path; only a set that compiles replaces
 * the running one, swapped in whole between two events. A set that does not
 * compile is logged with every `file:line:col` diagnostic and counted, and the
 * detector keeps running the rules it had. Either way the update counts as
 * received (the hub is acknowledged and told the version in the next hello), so
 * a broken pack is not sent again until it changes.
 */
import type { Logger } from "pino";
import type { hangar } from "@hangar/proto";
import { type Counters, type Detection, type Detector, type RuntimeEvent, NoDetector } from "@hangar/core";

/**
 * A detector whose rules can be replaced while events flow. `swap` takes the new
 * detector at once; what the old one still held (sequences waiting for a later
 * step, thresholds) is flushed and its alerts go out with the next result.
 */
export class SwappableDetector implements Detector {
  #current: Detector;
  #pending: Detection | undefined;

  constructor(initial: Detector = new NoDetector()) {
    this.#current = initial;
  }

  get name(): string {
    return this.#current.name;
  }

  /** The detector in use now. */
  get current(): Detector {
    return this.#current;
  }

  /** Puts `next` in place; returns the old one, flushed (close it when done). */
  swap(next: Detector): Detector {
    const old = this.#current;
    this.#current = next;
    const held = old.flush?.();
    if (held !== undefined) this.#pending = join(this.#pending, held);
    return old;
  }

  process(event: RuntimeEvent): Detection | undefined {
    const d = this.#current.process(event);
    return this.#pending === undefined ? d : this.#takePending(d);
  }

  advance(idleMs: number): Detection | undefined {
    const d = this.#current.advance?.(idleMs);
    return this.#pending === undefined ? d : this.#takePending(d);
  }

  flush(): Detection | undefined {
    return this.#takePending(this.#current.flush?.());
  }

  async close(): Promise<void> {
    await this.#current.close?.();
  }

  /** The current detector's statistics, when it keeps them (the metrics read this). */
  stats(): Readonly<Record<string, unknown>> {
    const d = this.#current as { stats?: () => Readonly<Record<string, unknown>> };
    return d.stats?.() ?? {};
  }

  #takePending(d: Detection | undefined): Detection | undefined {
    const out = join(this.#pending, d);
    this.#pending = undefined;
    return out;
  }
}

function join(a: Detection | undefined, b: Detection | undefined): Detection | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return {
    alerts: [...a.alerts, ...b.alerts],
    enforcement: [...(a.enforcement ?? []), ...(b.enforcement ?? [])],
  };
}

/** Compiles rule sources (file name → text) into a detector; rejects with the diagnostics in the message. */
export type RuleCompiler = (sources: ReadonlyMap<string, string>) => Promise<Detector>;

export interface RuleUpdatesOptions {
  detector: SwappableDetector;
  compile: RuleCompiler;
  counters: Counters;
  logger: Logger;
}

/** What became of one update. */
export type RuleUpdateOutcome = "applied" | "rejected" | "unchanged";

export class RuleUpdates {
  readonly #o: RuleUpdatesOptions;
  #received = "";
  #running = "";
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: RuleUpdatesOptions) {
    this.#o = options;
  }

  /** Version of the last update received (applied or rejected): the hub's hello carries it. */
  get received(): string {
    return this.#received;
  }

  /** Version of the rules the detector runs ("" for the rules the agent started with). */
  get running(): string {
    return this.#running;
  }

  /**
   * Takes one update (the hub client calls this, then acknowledges): compiled in the
   * background, in arrival order. The promise is for tests; it never rejects.
   */
  handle(update: hangar.RuleUpdate): Promise<RuleUpdateOutcome> {
    this.#received = update.version;
    const done = this.#chain.then(() => this.#apply(update));
    this.#chain = done;
    return done;
  }

  async #apply(update: hangar.RuleUpdate): Promise<RuleUpdateOutcome> {
    const { counters, logger } = this.#o;
    if (update.version !== "" && update.version === this.#running) return "unchanged";
    const files = Object.keys(update.files).sort();
    const sources = new Map(files.map((f) => [f, update.files[f] as string]));
    let next: Detector;
    try {
      next = await this.#o.compile(sources);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const e = err as { code?: unknown; diagnostics?: unknown };
      if (
        (e.code === "HANGAR_ERR_PLUGIN_LOAD" && e.diagnostics === undefined) ||
        e.code === "HANGAR_ERR_LICENSE_REQUIRED"
      ) {
        // The build has no rule engine, or no license or grant covers it: nothing to compile
        // with (rule errors carry diagnostics).
        counters.inc("rule_updates", { outcome: "no_engine" });
        logger.warn({ version: update.version, files }, `rule update ${update.version} ignored: ${message}`);
        return "rejected";
      }
      counters.inc("rule_updates", { outcome: "rejected" });
      logger.error(
        { version: update.version, files, running: this.#running === "" ? "(as started)" : this.#running },
        `rule update ${update.version} from the controller does not compile; the detector keeps its current rules:\n${message}`,
      );
      return "rejected";
    }
    const old = this.#o.detector.swap(next);
    this.#running = update.version;
    counters.inc("rule_updates", { outcome: "applied" });
    logger.info({ version: update.version, files }, "rule update from the controller applied");
    try {
      await old.close?.();
    } catch (err) {
      logger.warn({ err }, "closing the replaced detector failed");
    }
    return "applied";
  }
}
