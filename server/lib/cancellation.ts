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
 * attempt; this costs a few hundred nanoseconds. Listeners run once, in the order they were added, when `abort` is
 * first called; a listener that throws does not stop the others; adding one already there does nothing.
 *
 * The listeners are an array, not a `Set`: the shutdown signal lives as long as the process and gets a listener
 * added and removed by every attempt. A long-lived `Set` with that churn rehashes every few dozen requests, and V8
 * keeps each replaced table pointing to the next until a full GC, so the old generation held a chain of tables
 * reaching the listeners (and through them the whole request) of every attempt since; every minor GC then promoted
 * ~1 kB a request. Removal scans the array: it holds the attempts in flight, and only shutdown's is ever long.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | undefined;

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    const listeners = (this.#listeners ??= []);
    if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const listeners = this.#listeners;
    if (!listeners) return;
    const at = listeners.lastIndexOf(listener);
    if (at < 0) return;
    // Shifted down in place (not `splice`, which allocates the removed part): the order of the rest is kept.
    for (let i = at + 1; i < listeners.length; i++) listeners[i - 1] = listeners[i]!;
    listeners.pop();
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
