/**
 * Limits retries to a fraction of the requests in flight (Envoy's retry budget), so that an outage cannot multiply
 * the load it receives: with 100 requests failing at once, at most `max(minRetries, ratio × 100)` retries run
 * concurrently, i.e. about 1.2× the upstream attempts plus a small constant.
 */
export interface RetryBudget {
  /** Counts a request in flight; call the returned function when it ends. */
  enter(): () => void;
  /** Takes a retry slot if the budget allows one now; call the returned function when the retry ends. */
  tryRetry(): (() => void) | undefined;
}

export function createRetryBudget(options: { ratio: number; minRetries: number }): RetryBudget {
  let active = 0;
  let retries = 0;
  return {
    enter() {
      active++;
      let done = false;
      return () => {
        if (!done) active--;
        done = true;
      };
    },
    tryRetry() {
      if (retries >= Math.max(options.minRetries, Math.floor(active * options.ratio))) return undefined;
      retries++;
      let done = false;
      return () => {
        if (!done) retries--;
        done = true;
      };
    },
  };
}
