import type { BackendConfig } from "../config/types.js";
import { createRateWindows, largestLimit, sameLimits, type CountedAdmissions, type RateWindows, type WindowUsage } from "./rate-windows.js";

export { LONGEST_WINDOW_MS, type WindowUsage } from "./rate-windows.js";

const HOUR = 3_600_000;
/** How long a backend whose credential the upstream rejected stays out: retrying cannot fix a key. */
export const AUTH_FAILURE_COOLDOWN_MS = HOUR;
/** Attempts remembered per backend for latency and error rate. */
const RECENT = 100;
/**
 * A computed cooldown lasts a uniform draw between (1 − COOLDOWN_JITTER) and 1 times its nominal length, so that
 * backends which failed together do not come back at the same instant and take the whole backlog at once. Envoy's
 * retry back-off and AWS's "Exponential Backoff And Jitter" use full jitter (uniform in [0, interval)), which suits a
 * client's retry sleep but could return a failing backend almost at once; a cooldown is closer to Envoy's outlier
 * ejection, whose `max_ejection_time_jitter` only adds time. A band below the nominal length keeps at least 80 % of
 * the rest, never exceeds max_cooldown (Envoy's added jitter can), and still spreads backends that have all reached
 * the cap (jittering before capping would line them up there again).
 */
const COOLDOWN_JITTER = 0.2;

/**
 * What kind of failure a backend had, for its cooldown: `account` (the upstream rejected llmux's key or its quota is
 * exhausted: an hour), `config` (a name that does not resolve, a certificate that does not verify, a model the
 * upstream does not have: the longest configured cooldown); anything else grows from the base cooldown.
 */
export type FailureKind = "account" | "config";

/** Why a backend cannot be used right now, and when it can again. */
export interface Unavailability {
  kind: "cooldown" | "rate_window" | "unhealthy";
  /** Unix milliseconds when the backend becomes available (for unhealthy: the next health check). */
  until: number;
  detail: string;
}

/** Recent behaviour of a backend, for GetBackendStatus. */
export interface BackendStats {
  /** Median latency to the first byte over the recent attempts, in ms (0 when none). */
  latencyP50Ms: number;
  /** Failed fraction of the recent attempts (0..1). */
  errorRate: number;
  attempts: number;
  consecutiveFailures: number;
  /** Result of the last active health check: undefined until one ran. */
  healthy: boolean | undefined;
  lastCheckAt: number | undefined;
}

export interface BackendState {
  /** Undefined when the backend may be tried now. */
  unavailable(backend: BackendConfig): Unavailability | undefined;
  /** Counts one request against the backend's rate windows (call when an attempt starts). */
  admit(backend: BackendConfig): void;
  /** Another replica filled the backend's windows (shared PostgreSQL): treat them as full until `until`. */
  blockWindow(backend: BackendConfig, until: number): void;
  /**
   * Records a failed attempt and cools the backend down: the upstream's Retry-After when given, else
   * `cooldownMs × 2^(consecutive failures − 1)` capped at `maxCooldownMs`, jittered down by up to a fifth; an auth
   * failure takes it out for an hour. Returns the cooldown applied and whether it starts a cooldown (for metrics and
   * alerts): the backend was available, or an account failure lands during a shorter cooldown.
   */
  recordFailure(backend: BackendConfig, failure: { retryAfterMs?: number; kind?: FailureKind; latencyMs: number }): { ms: number; started: boolean };
  /** Records a successful attempt: clears cooldown and the failure streak. */
  recordSuccess(backend: BackendConfig, latencyMs: number): void;
  /** Records an active health check result. */
  recordHealth(backend: BackendConfig, healthy: boolean, nextCheckAt: number): void;
  windowUsage(backend: BackendConfig): WindowUsage;
  stats(backend: BackendConfig): BackendStats;
  /**
   * Restores admissions persisted by an earlier process: per backend name, ascending epoch seconds (as
   * `admissionSecond` gives them) with their count. They count as made at the end of their second.
   */
  restoreAdmissions(admissions: ReadonlyMap<string, readonly AdmissionSecond[]>): void;
}

/** `count` admissions counted in epoch second `second`. */
export interface AdmissionSecond {
  second: number;
  count: number;
}

interface Entry {
  cooldownUntil: number;
  /** Whether the running cooldown is an account failure's: another one during it is not a new cooldown. */
  accountLevel: boolean;
  /**
   * The running cooldown's jitter factor, drawn when a computed cooldown first needs it. Failures landing during the
   * cooldown reuse it: a redraw per failure would push a burst's cooldown to the top of the band, in step again.
   */
  jitter: number | undefined;
  /** Windows known full (from the shared store) until this epoch ms. */
  windowBlockedUntil: number;
  failures: number;
  /** The rolling windows, built for the backend's limits when first needed and rebuilt when they change. */
  windows: RateWindows | undefined;
  /** Admissions restored before the backend's limits were known, ascending: they seed the next windows built. */
  restored: CountedAdmissions[];
  latencies: number[];
  outcomes: boolean[];
  healthy: boolean | undefined;
  nextCheckAt: number;
  lastCheckAt: number | undefined;
}

export interface BackendStateOptions {
  now: () => number;
  /** Uniform [0, 1), for the cooldown jitter; injected so tests are deterministic. */
  random: () => number;
  cooldownMs: number;
  maxCooldownMs: number;
  /** Called for every admission of a backend with rate windows (to persist it off the hot path). */
  onAdmit?: (backend: BackendConfig, at: number) => void;
}

/**
 * Creates the runtime state of backends: cooldowns after failures, rolling rate windows counted at admission,
 * active health, and recent latency and error rate. Time comes from the injected clock so tests never sleep.
 */
export function createBackendState(options: BackendStateOptions): BackendState {
  const { now } = options;
  const entries = new Map<string, Entry>();
  const entryNamed = (name: string): Entry => {
    let e = entries.get(name);
    if (!e) {
      e = { cooldownUntil: 0, accountLevel: false, jitter: undefined, windowBlockedUntil: 0, failures: 0, windows: undefined, restored: [], latencies: [], outcomes: [], healthy: undefined, nextCheckAt: 0, lastCheckAt: undefined };
      entries.set(name, e);
    }
    return e;
  };
  const entry = (backend: BackendConfig): Entry => entryNamed(backend.name);

  /** The backend's rolling windows (undefined when it has no limits), rebuilt from what they counted on a change. */
  function windowsOf(backend: BackendConfig, e: Entry): RateWindows | undefined {
    if (largestLimit(backend) === 0) return undefined;
    if (e.windows && e.restored.length === 0 && sameLimits(e.windows.limits, backend)) return e.windows;
    const seed = [...(e.windows?.counted() ?? []), ...e.restored];
    if (e.windows && e.restored.length > 0) seed.sort((x, y) => x.at - y.at);
    e.windows = createRateWindows({ maxPerHour: backend.maxPerHour, maxPer5Hours: backend.maxPer5Hours, maxPerDay: backend.maxPerDay }, seed);
    e.restored = [];
    return e.windows;
  }

  /** `cooldownMs × 2^(failures − 1)`, capped at `maxCooldownMs`, times this cooldown's jitter factor (whole ms). */
  function computedCooldown(e: Entry): number {
    const nominal = Math.min(options.maxCooldownMs, options.cooldownMs * 2 ** Math.min(30, e.failures - 1));
    e.jitter ??= 1 - COOLDOWN_JITTER * options.random();
    return Math.round(nominal * e.jitter);
  }

  function remember(e: Entry, ok: boolean, latencyMs: number): void {
    e.outcomes.push(ok);
    e.latencies.push(latencyMs);
    if (e.outcomes.length > RECENT) {
      e.outcomes.shift();
      e.latencies.shift();
    }
  }

  return {
    unavailable(backend) {
      const e = entries.get(backend.name);
      if (!e) return undefined;
      const at = now();
      if (e.cooldownUntil > at) return { kind: "cooldown", until: e.cooldownUntil, detail: "cooling down after a failure" };
      if (e.healthy === false) return { kind: "unhealthy", until: e.nextCheckAt, detail: "failed its last health check" };
      if (e.windowBlockedUntil > at) return { kind: "rate_window", until: e.windowBlockedUntil, detail: "rate window full (shared with other replicas)" };
      const full = windowsOf(backend, e)?.full(at);
      return full && { kind: "rate_window", ...full };
    },
    admit(backend) {
      const windows = windowsOf(backend, entry(backend));
      if (!windows) return;
      const at = now();
      windows.admit(at);
      options.onAdmit?.(backend, at);
    },
    blockWindow(backend, until) {
      const e = entry(backend);
      e.windowBlockedUntil = Math.max(e.windowBlockedUntil, until);
    },
    recordFailure(backend, failure) {
      const e = entry(backend);
      const at = now();
      const available = e.cooldownUntil <= at;
      // The streak grows once per cooldown, not once per failure landing during it: a burst of concurrent failures
      // is one event, not a reason to park the backend for the maximum.
      // A failure long after the last cooldown ended starts a new streak: "consecutive" means close together.
      if (available && e.cooldownUntil > 0 && at - e.cooldownUntil > options.maxCooldownMs) e.failures = 0;
      if (available) {
        e.failures++;
        e.jitter = undefined;
      }
      // An account failure during a shorter cooldown (a 429, then the key is revoked) starts the hour-long one: it is
      // reported now, not an hour later when the backend is tried again.
      const started = available || (failure.kind === "account" && !e.accountLevel);
      e.accountLevel = failure.kind === "account" || (!available && e.accountLevel);
      remember(e, false, failure.latencyMs);
      // An upstream's Retry-After is kept exact: shorter would be refused again, and longer would idle a backend its
      // upstream says is ready and delay the Retry-After llmux passes on. What recovered in step was llmux's identical
      // arithmetic on every backend, not an upstream's own schedule.
      const ms = failure.kind === "account"
        ? AUTH_FAILURE_COOLDOWN_MS
        : failure.kind === "config"
          ? options.maxCooldownMs
          : failure.retryAfterMs ?? computedCooldown(e);
      e.cooldownUntil = Math.max(e.cooldownUntil, at + ms);
      return { ms, started };
    },
    recordSuccess(backend, latencyMs) {
      const e = entry(backend);
      e.cooldownUntil = 0;
      e.failures = 0;
      remember(e, true, latencyMs);
    },
    recordHealth(backend, healthy, nextCheckAt) {
      const e = entry(backend);
      e.healthy = healthy;
      e.nextCheckAt = nextCheckAt;
      e.lastCheckAt = now();
    },
    windowUsage(backend) {
      const e = entries.get(backend.name);
      return (e && windowsOf(backend, e)?.usage(now())) ?? { hour: 0, fiveHours: 0, day: 0 };
    },
    stats(backend) {
      const e = entries.get(backend.name);
      if (!e) return { latencyP50Ms: 0, errorRate: 0, attempts: 0, consecutiveFailures: 0, healthy: undefined, lastCheckAt: undefined };
      const sorted = [...e.latencies].sort((a, b) => a - b);
      const failed = e.outcomes.filter((ok) => !ok).length;
      return {
        latencyP50Ms: sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)]!,
        errorRate: e.outcomes.length === 0 ? 0 : failed / e.outcomes.length,
        attempts: e.outcomes.length,
        consecutiveFailures: e.failures,
        healthy: e.healthy,
        lastCheckAt: e.lastCheckAt,
      };
    },
    restoreAdmissions(admissions) {
      for (const [name, seconds] of admissions) {
        const e = entryNamed(name);
        e.restored = [...e.restored, ...seconds.map(({ second, count }) => ({ at: second * 1000, count }))].sort((x, y) => x.at - y.at);
      }
    },
  };
}
