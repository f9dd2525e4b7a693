/**
 * The license decision of one running process: made once at start, said once (one log line
 * per module that is off, with HANGAR_ERR_LICENSE_REQUIRED, and one for the license), kept in
 * the counters the metrics read (`license_state`, `license_days_left`, `license_module`), and
 * looked at again on a timer: expiry warnings are logged once a day, and a module whose
 * license ends (past the grace period) is reported through `onTurnOff` so the process can
 * take it out at a safe point. Nothing here throws at the process: a module that may not run
 * is a log line and a metric, never a crash.
 */
import type { Counters } from "../counters.js";
import { ENTERPRISE_MODULES, type EnterpriseModule } from "./license.js";
import { LICENSE_STATES, decideLicense, type LicenseDecision, type LicenseInputs } from "./policy.js";

export interface LicenseLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface LicenseGateOptions {
  readonly inputs: LicenseInputs;
  readonly log: LicenseLog;
  readonly counters?: Counters;
  /** The clock (tests). */
  readonly now?: () => Date;
}

const DAY_MS = 86_400_000;

export class LicenseGate {
  readonly #o: LicenseGateOptions;
  #decision: LicenseDecision;
  #announced = false;
  /** The UTC day the last expiry warning was logged on. */
  #warnedDay = "";
  #timer: NodeJS.Timeout | undefined;
  #counters: Counters | undefined;

  constructor(options: LicenseGateOptions) {
    this.#o = options;
    this.#counters = options.counters;
    this.#decision = decideLicense(options.inputs, this.#now());
    this.#publish();
  }

  /**
   * Keeps the metrics in `counters` from now on (a process whose metrics start after the
   * decision, such as the controller's telemetry).
   */
  attach(counters: Counters): void {
    this.#counters = counters;
    this.#publish();
  }

  get decision(): LicenseDecision {
    return this.#decision;
  }

  /** Whether `module` may be loaded now. */
  allows(module: EnterpriseModule): boolean {
    return this.#decision.modules[module].enabled;
  }

  /**
   * Logs the decision once: for each module `wanted` (the ones the configuration asks for),
   * why it runs or, as a warning with HANGAR_ERR_LICENSE_REQUIRED, what is off and why; and
   * the expiry warning of the day. Later calls do nothing.
   */
  announce(wanted: readonly EnterpriseModule[]): void {
    if (this.#announced) return;
    this.#announced = true;
    const d = this.#decision;
    for (const m of wanted) {
      const md = d.modules[m];
      if (md.enabled) this.#o.log.info({ module: ENTERPRISE_MODULES[m].package, basis: md.basis }, md.reason);
      else
        this.#o.log.warn(
          {
            code: "HANGAR_ERR_LICENSE_REQUIRED",
            module: ENTERPRISE_MODULES[m].package,
            licenseState: d.state,
          },
          md.reason,
        );
    }
    if (d.licenseProblem !== undefined && wanted.every((m) => d.modules[m].enabled))
      this.#o.log.warn(
        { code: "HANGAR_ERR_LICENSE_INVALID", licenseState: d.state },
        `the license is not used: ${d.licenseProblem}`,
      );
    this.#warnDaily();
  }

  /**
   * Looks again every `everyMs` (default an hour; unref'd): logs the day's expiry warning,
   * updates the metrics, and calls `onTurnOff` for each module that ran and may no longer.
   */
  watch(onTurnOff: (module: EnterpriseModule, reason: string) => void, everyMs = 3_600_000): void {
    this.stop();
    this.#timer = setInterval(() => this.check(onTurnOff), Math.min(everyMs, DAY_MS));
    this.#timer.unref();
  }

  /** One look (what `watch` does on its timer); returns the modules turned off. */
  check(onTurnOff?: (module: EnterpriseModule, reason: string) => void): EnterpriseModule[] {
    const before = this.#decision;
    this.#decision = decideLicense(this.#o.inputs, this.#now());
    this.#publish(before);
    const off: EnterpriseModule[] = [];
    for (const m of Object.keys(ENTERPRISE_MODULES) as EnterpriseModule[]) {
      const md = this.#decision.modules[m];
      if (before.modules[m].enabled && !md.enabled) {
        off.push(m);
        this.#o.log.warn(
          {
            code: "HANGAR_ERR_LICENSE_REQUIRED",
            module: ENTERPRISE_MODULES[m].package,
            licenseState: this.#decision.state,
          },
          md.reason,
        );
        onTurnOff?.(m, md.reason);
      }
    }
    this.#warnDaily();
    return off;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  #warnDaily(): void {
    const today = this.#now().toISOString().slice(0, 10);
    if (this.#decision.warnings.length === 0 || this.#warnedDay === today) return;
    this.#warnedDay = today;
    for (const w of this.#decision.warnings)
      this.#o.log.warn({ licenseState: this.#decision.state, daysLeft: this.#decision.daysLeft }, w);
  }

  #publish(before?: LicenseDecision): void {
    const c = this.#counters;
    if (c === undefined) return;
    const d = this.#decision;
    for (const s of LICENSE_STATES)
      if (s === d.state || s === before?.state) c.set("license_state", s === d.state ? 1 : 0, { state: s });
    if (d.daysLeft !== undefined) c.set("license_days_left", d.daysLeft);
    for (const m of Object.keys(ENTERPRISE_MODULES) as EnterpriseModule[]) {
      const md = d.modules[m];
      const prev = before?.modules[m];
      if (prev !== undefined && prev.basis !== md.basis)
        c.set("license_module", 0, { module: m, basis: prev.basis });
      c.set("license_module", md.enabled ? 1 : 0, { module: m, basis: md.basis });
    }
  }
}
