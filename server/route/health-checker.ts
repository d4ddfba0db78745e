import type { BackendConfig } from "../config/types.js";
import type { ProviderAdapter } from "../providers/provider.js";
import type { BackendState } from "./backend-state.js";

/** What the health checker reads and writes; time and configuration are injected so tests control them. */
export interface HealthCheckerDeps {
  /** The current backends, read at every round so a reloaded configuration is checked. */
  backends: () => readonly BackendConfig[];
  providers: ReadonlyMap<string, ProviderAdapter>;
  /** Where results go, through `recordHealth`; selection then skips unhealthy backends. */
  state: BackendState;
  /** Pause between the end of one round and the start of the next, in ms; 0 turns the schedule off. */
  intervalMs: number;
  /** Longest a single probe may take before its backends count as unhealthy, in ms. */
  timeoutMs: number;
  now: () => number;
  /** Called for each backend whose result differs from its previous one (the first result included). */
  onChange?: (backend: BackendConfig, healthy: boolean) => void;
}

/** Active health checking of every provider, alongside the passive cooldowns in BackendState. */
export interface HealthChecker {
  /** Runs a round now and then one every `intervalMs`; does nothing when `intervalMs` is 0 or after `stop()`. */
  start(): void;
  /** Runs one round now (or joins the one in flight) and resolves once its results are recorded. */
  checkNow(): Promise<void>;
  /**
   * Stops for good: cancels the next round, aborts probes in flight (their results are not recorded: stopping is
   * not the upstream's fault) and resolves once they have settled, leaving no timer or request behind.
   */
  stop(): Promise<void>;
}

/**
 * Creates the active health checker. A round probes each provider that has backends once (the backends sharing
 * it share its result, as they share its upstream), all providers concurrently, each probe with its own timeout.
 * Probes are model-list GETs (`ProviderAdapter.probe`), so health never costs a completion. The result goes to
 * `state.recordHealth(backend, ok, now + intervalMs)`: an unhealthy backend is out of selection until a later
 * round finds it healthy. Rounds never overlap: the next one is scheduled when one ends. Every timer is unref'd so
 * the checker never keeps the process alive.
 */
export function createHealthChecker(deps: HealthCheckerDeps): HealthChecker {
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let started = false;

  async function probe(provider: ProviderAdapter): Promise<boolean> {
    const controller = new AbortController();
    const onStop = () => controller.abort(stopping.signal.reason);
    stopping.signal.addEventListener("abort", onStop, { once: true });
    const timeout = setTimeout(() => controller.abort(), deps.timeoutMs);
    timeout.unref();
    try {
      return await provider.probe(controller.signal);
    } catch {
      // probe() never rejects by contract; an adapter that does anyway is not healthy.
      return false;
    } finally {
      clearTimeout(timeout);
      stopping.signal.removeEventListener("abort", onStop);
    }
  }

  async function round(): Promise<void> {
    const byProvider = new Map<string, BackendConfig[]>();
    for (const backend of deps.backends()) {
      const group = byProvider.get(backend.provider);
      if (group) group.push(backend);
      else byProvider.set(backend.provider, [backend]);
    }
    await Promise.all(
      [...byProvider].map(async ([name, backends]) => {
        const provider = deps.providers.get(name);
        if (!provider) return;
        const ok = await probe(provider);
        if (stopping.signal.aborted) return;
        const nextCheckAt = deps.now() + deps.intervalMs;
        for (const backend of backends) {
          const before = deps.state.stats(backend).healthy;
          deps.state.recordHealth(backend, ok, nextCheckAt);
          if (before !== ok) deps.onChange?.(backend, ok);
        }
      }),
    );
  }

  function checkNow(): Promise<void> {
    if (stopping.signal.aborted) return Promise.resolve();
    inFlight ??= round().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      timer = undefined;
      void checkNow().then(schedule);
    }, deps.intervalMs);
    timer.unref();
  }

  return {
    start() {
      if (started || deps.intervalMs === 0 || stopping.signal.aborted) return;
      started = true;
      void checkNow().then(schedule);
    },
    checkNow,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
