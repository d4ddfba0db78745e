import type { BackendConfig } from "../config/types.js";

const HOUR = 3_600_000;
const WINDOWS: ReadonlyArray<{ key: "maxPerHour" | "maxPer5Hours" | "maxPerDay"; spanMs: number; label: string }> = [
  { key: "maxPerHour", spanMs: HOUR, label: "hour" },
  { key: "maxPer5Hours", spanMs: 5 * HOUR, label: "5 hours" },
  { key: "maxPerDay", spanMs: 24 * HOUR, label: "day" },
];

/** Why a backend cannot be used right now, and when it can again. */
export interface Unavailability {
  kind: "cooldown" | "rate_window";
  /** Unix milliseconds when the backend becomes available. */
  until: number;
  detail: string;
}

/**
 * Runtime state of backends that selection reads: cooldowns after failures and rolling rate windows counted at
 * admission. Time comes from the injected clock so tests never sleep.
 */
export interface BackendState {
  /** Undefined when the backend may be tried now. */
  unavailable(backend: BackendConfig): Unavailability | undefined;
  /** Counts one request against the backend's rate windows (call when an attempt is started). */
  admit(backend: BackendConfig): void;
  /** Takes the backend out of rotation for `ms`. */
  coolDown(backend: BackendConfig, ms: number): void;
  /** Clears the cooldown after a success. */
  recordSuccess(backend: BackendConfig): void;
}

/**
 * Creates in-memory backend state. Rate windows are rolling: a window of one hour admits at most N requests in any
 * 60 minutes, counted by the admission timestamps kept per backend (bounded by the largest limit).
 */
export function createBackendState(now: () => number): BackendState {
  const cooldowns = new Map<string, number>();
  const admissions = new Map<string, number[]>();

  function windowFullUntil(backend: BackendConfig, at: number): Unavailability | undefined {
    const stamps = admissions.get(backend.name);
    if (!stamps) return undefined;
    let worst: Unavailability | undefined;
    for (const { key, spanMs, label } of WINDOWS) {
      const limit = backend[key];
      if (limit === undefined) continue;
      // Stamps are in ascending order; the window is full when the limit-th newest is inside the span.
      const index = stamps.length - limit;
      if (index < 0) continue;
      const oldestCounted = stamps[index]!;
      if (oldestCounted > at - spanMs) {
        const until = oldestCounted + spanMs;
        if (!worst || until > worst.until) worst = { kind: "rate_window", until, detail: `${limit} requests per ${label} reached` };
      }
    }
    return worst;
  }

  return {
    unavailable(backend) {
      const at = now();
      const cooldownEnd = cooldowns.get(backend.name);
      if (cooldownEnd !== undefined) {
        if (cooldownEnd > at) return { kind: "cooldown", until: cooldownEnd, detail: `cooling down after a failure` };
        cooldowns.delete(backend.name);
      }
      return windowFullUntil(backend, at);
    },
    admit(backend) {
      const largest = Math.max(backend.maxPerHour ?? 0, backend.maxPer5Hours ?? 0, backend.maxPerDay ?? 0);
      if (largest === 0) return;
      let stamps = admissions.get(backend.name);
      if (!stamps) admissions.set(backend.name, (stamps = []));
      stamps.push(now());
      if (stamps.length > largest) stamps.splice(0, stamps.length - largest);
    },
    coolDown(backend, ms) {
      const until = now() + ms;
      if ((cooldowns.get(backend.name) ?? 0) < until) cooldowns.set(backend.name, until);
    },
    recordSuccess(backend) {
      cooldowns.delete(backend.name);
    },
  };
}
