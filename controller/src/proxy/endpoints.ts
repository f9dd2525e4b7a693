/**
 * Which pods serve each provider. The proxy picks the pod itself, so it knows
 * which pod served every call (the call trace names it) and can keep a session
 * on one pod. Pods come from the EndpointSlices of the provider's Service
 * (`kubernetes.io/service-name=<service>`), watched with an informer.
 *
 * An endpoint is offered to new sessions while it is ready; its sessions end when
 * it leaves every slice or stops serving (the pod went away or is shutting down).
 *
 * Address override (`addressMap`): maps an endpoint's `ip:port` to another base
 * URL. It exists for tests and local development only, where the "pods" are
 * processes on this machine: EndpointSlice validation refuses loopback
 * addresses, so a test stores documentation addresses (192.0.2.0/24) in real
 * EndpointSlices on a real API server and maps each to the local server that
 * plays that pod. Everything else (watch, readiness, pod identity, pod loss) is
 * the production path. Unmapped addresses are dialled as they are.
 */
import * as k8s from "@kubernetes/client-node";
import { ProxyError } from "./errors.js";
import type { ProviderTlsConfig } from "./tls.js";

export interface PodEndpoint {
  /** Stable key: `namespace/pod` when the slice names the pod, else `ip:port`. */
  readonly key: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly node: string;
  /** The address and port from the EndpointSlice. */
  readonly address: string;
  readonly port: number;
  /** The URL the proxy dials: `http(s)://<address>:<port><path>` (https with the provider's `tls`), or the override. */
  readonly url: string;
  /** Offered to new sessions. */
  readonly ready: boolean;
  /** The EndpointSlice it came from. */
  readonly slice: string;
}

export type EndpointLossListener = (provider: string, endpoint: PodEndpoint, reason: string) => void;

/** The current pods of every provider, and who to tell when one goes away. */
export class EndpointDirectory {
  readonly #byProvider = new Map<string, Map<string, PodEndpoint>>();
  readonly #listeners = new Set<EndpointLossListener>();
  readonly #rr = new Map<string, number>();

  onLoss(listener: EndpointLossListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every endpoint of a provider (ready or not). */
  all(provider: string): readonly PodEndpoint[] {
    return [...(this.#byProvider.get(provider)?.values() ?? [])];
  }

  get(provider: string, key: string): PodEndpoint | undefined {
    return this.#byProvider.get(provider)?.get(key);
  }

  /**
   * A ready endpoint for a new session: the one with the fewest sessions
   * (`load(key)`), round robin among equals. Undefined when none is ready.
   */
  pick(provider: string, load: (key: string) => number): PodEndpoint | undefined {
    const eps = this.#byProvider.get(provider);
    if (eps === undefined) return undefined;
    const ready = [...eps.values()].filter((e) => e.ready);
    if (ready.length === 0) return undefined;
    const start = (this.#rr.get(provider) ?? 0) % ready.length;
    this.#rr.set(provider, start + 1);
    let best: PodEndpoint | undefined;
    let bestLoad = Infinity;
    for (let i = 0; i < ready.length; i++) {
      const e = ready[(start + i) % ready.length] as PodEndpoint;
      const l = load(e.key);
      if (l < bestLoad) {
        best = e;
        bestLoad = l;
      }
    }
    return best;
  }

  /** Replaces a provider's endpoints; endpoints that left (or stopped serving) are reported lost. */
  set(
    provider: string,
    endpoints: readonly PodEndpoint[],
    lostReason = "it left the provider's EndpointSlices",
  ): void {
    const next = new Map(endpoints.map((e) => [e.key, e]));
    const prev = this.#byProvider.get(provider);
    this.#byProvider.set(provider, next);
    if (prev === undefined) return;
    for (const [key, e] of prev) {
      if (!next.has(key)) for (const l of this.#listeners) l(provider, e, lostReason);
    }
  }
}

export interface ProviderService {
  provider: string;
  namespace: string;
  service: string;
  /** Port name or number on the Service's EndpointSlices. Default: the only port, or the first. */
  port?: string | number;
  /** HTTP path of the MCP endpoint on the pod. Default "/mcp". */
  path?: string;
  /** TLS to the pods (see tls.ts): their addresses are then dialled with https. */
  tls?: ProviderTlsConfig;
}

/** Endpoints of one provider from the EndpointSlices of its Service (pure; tested without a cluster). */
export function endpointsFromSlices(
  svc: ProviderService,
  slices: readonly k8s.V1EndpointSlice[],
  addressMap: Readonly<Record<string, string>> = {},
): PodEndpoint[] {
  const out = new Map<string, PodEndpoint>();
  const path = svc.path ?? "/mcp";
  for (const slice of slices) {
    const ports = slice.ports ?? [];
    const port =
      svc.port === undefined
        ? ports[0]
        : ports.find((p) => (typeof svc.port === "number" ? p.port === svc.port : p.name === svc.port));
    if (port?.port === undefined) continue;
    if (port.protocol !== undefined && port.protocol !== "TCP") continue;
    for (const ep of slice.endpoints) {
      const c = ep.conditions ?? {};
      // `serving` false (or, for old servers without it, ready false on a terminating pod): going away.
      const serving = c.serving ?? c.ready ?? true;
      if (!serving) continue;
      const ready = (c.ready ?? true) && c.terminating !== true;
      const address = ep.addresses[0];
      if (address === undefined) continue;
      const ref = ep.targetRef;
      const isPod = ref?.kind === "Pod" && ref.name !== undefined;
      const hostPort = slice.addressType === "IPv6" ? `[${address}]:${port.port}` : `${address}:${port.port}`;
      const key = isPod ? `${ref.namespace ?? svc.namespace}/${ref.name}` : hostPort;
      const mapped = addressMap[hostPort];
      const url =
        mapped !== undefined
          ? new URL(path, mapped).toString()
          : `${svc.tls === undefined ? "http" : "https"}://${hostPort}${path}`;
      out.set(key, {
        key,
        podNamespace: isPod ? (ref.namespace ?? svc.namespace) : "",
        podName: isPod ? (ref.name ?? "") : "",
        podUid: isPod ? (ref.uid ?? "") : "",
        node: ep.nodeName ?? "",
        address,
        port: port.port,
        url,
        ready,
        slice: slice.metadata?.name ?? "",
      });
    }
  }
  return [...out.values()];
}

export interface SliceWatchOptions {
  kubeConfig: k8s.KubeConfig;
  services: readonly ProviderService[];
  directory: EndpointDirectory;
  addressMap?: Readonly<Record<string, string>>;
  /** Told about watch failures (the watch restarts by itself after `retryMs`). */
  onError?: (err: ProxyError) => void;
  retryMs?: number;
}

export interface SliceWatch {
  /** Resolves when every provider's first list has been applied. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/** Watches the EndpointSlices of every provider's Service and keeps `directory` current. */
export function watchEndpointSlices(opts: SliceWatchOptions): SliceWatch {
  const api = opts.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
  const informers: k8s.ListWatch<k8s.V1EndpointSlice>[] = [];
  let stopped = false;
  const synced: Promise<void>[] = [];
  for (const svc of opts.services) {
    const labelSelector = `kubernetes.io/service-name=${svc.service}`;
    const informer = new k8s.ListWatch<k8s.V1EndpointSlice>(
      `/apis/discovery.k8s.io/v1/namespaces/${svc.namespace}/endpointslices`,
      new k8s.Watch(opts.kubeConfig),
      () => api.listNamespacedEndpointSlice({ namespace: svc.namespace, labelSelector }),
      false,
      labelSelector,
    );
    informers.push(informer);
    const apply = (): void => {
      opts.directory.set(
        svc.provider,
        endpointsFromSlices(svc, informer.list(svc.namespace), opts.addressMap),
      );
    };
    informer.on("add", apply);
    informer.on("update", apply);
    informer.on("delete", apply);
    let markSynced: () => void = () => undefined;
    synced.push(
      new Promise<void>((resolve) => {
        markSynced = resolve;
      }),
    );
    // `start()` lists, then opens the watch; it resolves after both, or after the
    // "error" callbacks when either failed (those schedule the retry).
    let failures = 0;
    const report = (err: unknown): void =>
      opts.onError?.(
        new ProxyError(
          "HANGAR_ERR_PROXY_DISCOVERY",
          `watching EndpointSlices of Service ${svc.namespace}/${svc.service} (provider ${svc.provider}): ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        ),
      );
    const start = (): void => {
      const before = failures;
      informer.start().then(
        () => {
          if (failures !== before || stopped) return;
          apply();
          markSynced();
        },
        (err: unknown) => report(err),
      );
    };
    informer.on("error", (err: unknown) => {
      failures++;
      report(err);
      if (!stopped)
        setTimeout(() => {
          if (!stopped) start();
        }, opts.retryMs ?? 2000).unref();
    });
    start();
  }
  return {
    synced: Promise.all(synced).then(() => undefined),
    async stop() {
      stopped = true;
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
