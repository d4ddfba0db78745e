/**
 * The part of `AbortSignal` the request path uses. A real `AbortSignal` satisfies it (tests and callers outside the
 * hot path pass one); so does {@link Cancellation}.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * A one-shot abort signal and its controller in one small object. Node's `AbortSignal` is an `EventTarget`: creating
 * one and adding and removing two listeners costs ~6 µs, and every request needs one for the client and one per
 * attempt; this costs a few hundred nanoseconds, and thousands of listeners (the shutdown signal of every attempt
 * in flight) are a `Set`, added and removed in O(1). Listeners run once, in the order they were added, when
 * `abort` is first called; a listener that throws does not stop the others.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Set<() => void> | undefined;

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    (this.#listeners ??= new Set()).add(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    this.#listeners?.delete(listener);
  }

  /** Marks the signal aborted with `reason` (once; later calls do nothing) and runs the listeners. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // One listener's failure must not keep the others from learning of the abort.
      }
    }
  }
}

/** A real `AbortSignal` that follows `signal`, for APIs that insist on one (off the hot path only). */
export function toAbortSignal(signal: CancelSignal): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}

/** Waits `ms` milliseconds; rejects with the signal's reason (and leaves no timer behind) when it aborts first. */
export function abortableSleep(ms: number, signal: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
