/**
 * Named counters with a small, closed label set. Every stage takes a Counters
 * instance explicitly (no process-wide registry), so tests and benchmarks can
 * read exactly what one run counted. Names are typed: a counter family exists
 * once, in `COUNTER_FAMILIES`, with the labels it is counted by and what it means
 * (the agent's README and docs/reference/metrics.md describe the same list).
 */

/** Every counter family: the labels it is counted by, and what it counts. */
export const COUNTER_FAMILIES = {
  // sources
  sensor_messages: { labels: ["sensor"], help: "messages received from a sensor stream" },
  sensor_connects: { labels: ["sensor"], help: "sensor streams established" },
  sensor_reconnects: { labels: ["sensor"], help: "sensor stream losses followed by a retry" },
  sensor_gaps: { labels: ["sensor"], help: "reconnects after data had flowed" },
  sensor_gap_ms: { labels: ["sensor"], help: "time without a sensor stream, ms" },
  sensor_lost_events: { labels: ["sensor", "reason"], help: "events a sensor says it lost" },
  sensor_throttle: { labels: ["sensor", "type"], help: "Tetragon process_throttle start/stop" },
  sensor_node_status: { labels: ["sensor"], help: "Hubble node status messages" },
  probe_available: { labels: [], help: "1 when the eBPF probe runs, 0 when it could not start" },
  probe_cgroup_scans: { labels: [], help: "cgroup tree scans of the probe" },
  probe_cgroup_lookups: {
    labels: ["via"],
    help: "cgroup ids resolved through /proc, only to the pod, or not at all",
  },
  queue_depth: { labels: ["queue"], help: "records waiting in a queue (gauge)" },
  queue_dropped: {
    labels: ["queue", "reason"],
    help: "records dropped because the pipeline fell behind or was stopping",
  },
  // normalize, resolve, correlate
  unknown_fields: { labels: ["sensor"], help: "fields or oneof variants this build does not know, skipped" },
  unknown_field_names: {
    labels: ["sensor", "field"],
    help: "unknown fields by message type and field (the first 64 distinct, then other)",
  },
  unsupported_hooks: {
    labels: ["sensor", "hook"],
    help: "hook events of functions this build does not model (the first 64 names, then other)",
  },
  events: { labels: ["sensor", "kind"], help: "normalized events" },
  dropped: { labels: ["reason"], help: "records that yield no event, by reason" },
  malformed: { labels: ["format"], help: "recording lines that are not valid, by format" },
  resolver_pods: { labels: [], help: "pods the workload resolver knows (gauge)" },
  resolved_by_watch: {
    labels: [],
    help: "events whose provider came from the pod watch, a pod list, or a pod learned from labelled events",
  },
  resolved_by_mapping: {
    labels: [],
    help: "events of unlabelled pods mapped to a provider (replay --provider)",
  },
  dns_names_attached: {
    labels: ["kind"],
    help: "connect and flow events given the names of the pod's own DNS answers for their remote address",
  },
  resolver_watch_errors: { labels: [], help: "pod watch failures (the watch restarts)" },
  kept: { labels: [], help: "events that passed the resolver (MCP pods)" },
  correlated: { labels: ["reason"], help: "events attributed to a tool call" },
  correlator_lineage_evicted: { labels: [], help: "processes forgotten by the lineage bound" },
  correlator_hold_overflow: { labels: [], help: "runtime records released early because the hold was full" },
  // detect, outputs
  alerts: { labels: ["rule", "severity"], help: "alerts raised" },
  alerts_folded: { labels: ["rule"], help: "rule alerts not sent because a deviation of the same event was" },
  enforcement_requests: { labels: [], help: "enforcement requests of the detector" },
  alerts_truncated: {
    labels: ["rule"],
    help: "alerts and enforcement requests with fields cut to the size limits before they left the agent",
  },
  alert_fields_truncated: {
    labels: [],
    help: "fields cut to the size limits (strings, bytes, repeated fields)",
  },
  rule_updates: { labels: ["outcome"], help: "rule updates from the controller" },
  merged_baselines: { labels: ["outcome"], help: "merged baselines from the controller" },
  config_warnings: { labels: ["reason"], help: "settings ignored because they are invalid" },
  // the hub client
  hub_connects: { labels: [], help: "streams to the controller's hub established" },
  hub_stream_errors: { labels: [], help: "streams to the hub lost" },
  hub_duplicates: { labels: [], help: "messages the hub had already" },
  hub_renumbered: { labels: [], help: "outbox messages renumbered after the hub forgot this node" },
  hub_traces_dropped: { labels: [], help: "call traces dropped because the pipeline fell behind" },
  hub_baseline_resyncs: { labels: [], help: "times every baseline went out in full" },
  hub_outbox_bytes: { labels: [], help: "bytes of the agent's disk outbox (gauge)" },
  hub_outbox_dropped: { labels: ["reason"], help: "outbox messages dropped by its overflow policy" },
  hub_outbox_errors: { labels: [], help: "outbox writes that failed" },
  hub_outbox_read_errors: { labels: [], help: "outbox reads that failed" },
  hub_dead_letters: {
    labels: ["kind", "code"],
    help: "messages the hub refused for good (status code), set aside so the ones after them go on",
  },
  hub_messages: { labels: ["kind"], help: "messages the controller's hub handled (gauge)" },
  proxy_requests_refused: {
    labels: ["provider", "reason"],
    help: "MCP requests the proxy refused: duplicate ids in a batch, batches under MCP 2025-06-18+, sessions over the per-caller cap (gauge)",
  },
  // SIEM destinations
  siem_records: { labels: ["destination"], help: "records handed to a SIEM destination" },
  siem_sent: { labels: ["destination"], help: "records a SIEM destination confirmed" },
  siem_resent: { labels: ["destination"], help: "records sent again after a reconnect" },
  siem_dropped: { labels: ["destination", "reason"], help: "records a SIEM destination dropped" },
  siem_spooled: { labels: ["destination"], help: "records written to a destination's disk spool" },
  siem_send_errors: { labels: ["destination"], help: "failed sends to a SIEM destination" },
  siem_up: { labels: ["destination"], help: "1 while a SIEM destination is connected (gauge)" },
  siem_queue_depth: { labels: ["destination"], help: "records waiting for a SIEM destination (gauge)" },
  siem_spool_records: { labels: ["destination"], help: "records in a destination's disk spool (gauge)" },
  siem_spool_bytes: { labels: ["destination"], help: "bytes of a destination's disk spool (gauge)" },
  // Kubernetes Events of the controller (alerts and enforcement on MCP pods)
  k8s_events: { labels: ["outcome"], help: "Kubernetes Events written: created, updated (a series), failed" },
  k8s_events_dropped: {
    labels: ["reason"],
    help: "Kubernetes Events not written: rate_limited, queue_full, no_pod, shutdown",
  },
  // licensing (core/src/license/gate.ts)
  license_state: { labels: ["state"], help: "1 for the license's current state, 0 for a former one (gauge)" },
  license_days_left: { labels: [], help: "whole days until the license expires, negative after (gauge)" },
  license_module: {
    labels: ["module", "basis"],
    help: "1 when an enterprise module runs, 0 when it is off, by why (license, evaluation, development, small-production, none) (gauge)",
  },
  // the controller's REST API
  api_followers_buffered: {
    labels: [],
    help: "bytes waiting in the controller for alert followers (GET /v1/alerts?follow) that have not read them (gauge)",
  },
  api_followers_dropped: {
    labels: ["reason"],
    help: "alert followers the REST API dropped because they stopped reading (reason slow)",
  },
} as const satisfies Record<string, { readonly labels: readonly string[]; readonly help: string }>;

/** The name of a counter family. */
export type CounterName = keyof typeof COUNTER_FAMILIES;

/** One counter's value: what a handle and the key map share, so an increment finds it once. */
interface Cell {
  value: number;
}

/**
 * A pre-resolved counter (one family, one label set): `inc` adds to it without building or
 * hashing a label key. Take one where the labels are known ahead (a stage's fixed reasons).
 */
export interface CounterHandle {
  inc(by?: number): void;
  set(value: number): void;
}

/**
 * Label sets seen before, by label name then value in the order the caller wrote them, down to
 * the counter's cell: an increment with a fresh but known label object walks small maps and
 * allocates nothing (building `name{a="x"}` per increment was 3 % of the agent's CPU). A node's
 * `cell` is the counter of the label set that ends there.
 */
interface LabelNode {
  cell?: Cell;
  readonly next: Map<string, Map<string, LabelNode>>;
}

/**
 * Counters of the families in `N` (default: the product's, `CounterName`). A test of the
 * mechanism itself may use `Counters<string>`.
 */
export class Counters<N extends string = CounterName> {
  readonly #values = new Map<string, Cell>();
  /** Family name → label sets seen (see LabelNode). */
  readonly #index = new Map<string, LabelNode>();
  /** Gauges read only when someone looks (snapshot, get): nothing on the hot path. */
  readonly #gauges = new Map<string, () => number>();

  static key(name: string, labels?: Readonly<Record<string, string>>): string {
    if (labels === undefined) return name;
    const parts = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${JSON.stringify(labels[k])}`);
    return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
  }

  /** The cell of `name` with `labels`, created at 0 the first time. */
  #cell(name: string, labels: Readonly<Record<string, string>> | undefined): Cell {
    let node: LabelNode | undefined = this.#index.get(name);
    if (node === undefined) {
      node = { next: new Map() };
      this.#index.set(name, node);
    }
    if (labels !== undefined) {
      for (const k in labels) {
        if (!Object.hasOwn(labels, k)) continue;
        const v = labels[k] as string;
        let values: Map<string, LabelNode> | undefined = node.next.get(k);
        if (values === undefined) {
          values = new Map();
          node.next.set(k, values);
        }
        let child: LabelNode | undefined = values.get(v);
        if (child === undefined) {
          child = { next: new Map() };
          values.set(v, child);
        }
        node = child;
      }
    }
    let cell = node.cell;
    if (cell === undefined) {
      // Labels written in another order reach the same counter through its key.
      const key = Counters.key(name, labels);
      cell = this.#values.get(key);
      if (cell === undefined) {
        cell = { value: 0 };
        this.#values.set(key, cell);
      }
      node.cell = cell;
    }
    return cell;
  }

  inc(name: N, labels?: Readonly<Record<string, string>>, by = 1): void {
    this.#cell(name, labels).value += by;
  }

  /** Sets a gauge-like value (e.g. a queue depth). */
  set(name: N, value: number, labels?: Readonly<Record<string, string>>): void {
    this.#cell(name, labels).value = value;
  }

  /**
   * The counter of `name` with `labels`, resolved once: for hot paths that count the same
   * label set again and again. It reads and writes the same value as `inc`/`get` with those
   * labels (copied: a caller changing its object later changes nothing).
   */
  handle(name: N, labels?: Readonly<Record<string, string>>): CounterHandle {
    // Resolved at the first count, so a counter nobody counted stays out of snapshots as before.
    let cell: Cell | undefined;
    const resolve = (): Cell => (cell ??= this.#cell(name, labels === undefined ? undefined : { ...labels }));
    return {
      inc(by = 1) {
        resolve().value += by;
      },
      set(value) {
        resolve().value = value;
      },
    };
  }

  /**
   * Registers a gauge read at snapshot time (e.g. a queue's depth); a later registration
   * under the same name and labels replaces it. Returns the function that removes it.
   */
  gauge(name: N, labels: Readonly<Record<string, string>> | undefined, read: () => number): () => void {
    const key = Counters.key(name, labels);
    this.#gauges.set(key, read);
    return () => {
      if (this.#gauges.get(key) === read) this.#gauges.delete(key);
    };
  }

  get(name: N, labels?: Readonly<Record<string, string>>): number {
    const key = Counters.key(name, labels);
    const g = this.#gauges.get(key);
    return g !== undefined ? g() : (this.#values.get(key)?.value ?? 0);
  }

  /** All values of a counter family by one label, e.g. byLabel("dropped", "reason"). */
  byLabel(name: N, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    const prefix = `${name}{`;
    for (const [key, { value }] of this.#values) {
      if (!key.startsWith(prefix)) continue;
      // eslint-disable-next-line security/detect-non-literal-regexp -- label is one of our own counter label names ([a-z_]+), not input
      const m = new RegExp(`(?:\\{|,)${label}=("(?:[^"\\\\]|\\\\.)*")`).exec(key);
      if (m?.[1] === undefined) continue;
      const labelValue = JSON.parse(m[1]) as string;
      // Label values come from outside (provider names): hasOwn, so "constructor" counts from 0;
      // a "__proto__" assignment of a number is ignored by its setter (no prototype change).
      // eslint-disable-next-line hangar/no-string-key-write -- number value, own-property read above
      out[labelValue] = (Object.hasOwn(out, labelValue) ? (out[labelValue] ?? 0) : 0) + value;
    }
    return out;
  }

  snapshot(): Record<string, number> {
    const all: [string, number][] = [];
    for (const [key, { value }] of this.#values) all.push([key, value]);
    for (const [key, read] of this.#gauges) if (!this.#values.has(key)) all.push([key, read()]);
    return Object.fromEntries(all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
