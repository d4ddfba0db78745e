import { StoreError } from "./store-error.js";

/** How a write-behind queue batches, bounds and reports. */
export interface WriteBehindOptions<T = unknown> {
  /**
   * The longest an item waits before its batch is written, in milliseconds (counted from the end of the write in
   * flight when it arrived, if there was one).
   */
  flushMs: number;
  /** The most items in one write; reaching it starts a write at once instead of waiting for the timer. */
  maxBatch: number;
  /** The most items waiting (not counting the batch being written); beyond it the oldest are dropped. */
  maxQueued: number;
  /**
   * Told about every item that will never be written: a batch that failed twice (with the second error), items
   * dropped because the queue was full or closed (with a StoreError). Exceptions it throws are ignored.
   */
  onError: (err: unknown, dropped: number) => void;
  /**
   * Folds `item` into `last`, the newest item still waiting, and returns true; or returns false to queue `item`
   * after it. For counters that would otherwise queue an item per event (a rate admission per request): one
   * waiting item per key instead of thousands, none of which would live long enough to die young.
   */
  merge?: (last: T, item: T) => boolean;
}

/** A queue in front of a batch writer. */
export interface WriteBehind<T> {
  /** Queues one item. Synchronous and O(1): it never awaits, never throws and never writes in the caller's turn. */
  push(item: T): void;
  /** Resolves when the queue is empty and no write is in flight (every item written or reported). */
  flush(): Promise<void>;
  /** Refuses further items, writes everything pending and stops the timer. Call before closing the database. */
  close(): Promise<void>;
  /** Items waiting for a write (the batch being written is not counted). */
  readonly queued: number;
}

/**
 * Keeps store writes off the request path: callers push rows and return, and the rows are written in batches
 * in the background. One write is in flight at a time; rows pushed meanwhile wait for the next batch, written at
 * once if they fill one and after `flushMs` otherwise, so under load batches grow (up to `maxBatch`) rather than
 * writes piling up, and a slow or asynchronous writer never degrades into a write per row.
 *
 * Nothing is lost silently: a failed batch is retried once at once (a broken pooled connection is replaced by
 * then) and, if it fails again, reported through `onError` with its size; when the queue is full the oldest
 * waiting items are dropped and reported, so memory stays bounded while the database is down. The timer is
 * unref'd, so an idle queue never keeps the process alive; `close()` is what guarantees the final flush.
 */
export function createWriteBehind<T>(write: (batch: T[]) => Promise<void>, options: WriteBehindOptions<T>): WriteBehind<T> {
  const { flushMs, maxBatch, maxQueued, onError, merge } = options;
  if (!(flushMs > 0 && Number.isFinite(flushMs))) throw new StoreError("write-behind flushMs must be a positive number");
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new StoreError("write-behind maxBatch must be a positive integer");
  if (!Number.isInteger(maxQueued) || maxQueued < maxBatch) {
    throw new StoreError("write-behind maxQueued must be an integer of at least maxBatch");
  }

  // Waiting items are items[head..]; advancing head makes taking and dropping O(1), and the array is compacted
  // once the consumed prefix is the larger half.
  let items: (T | undefined)[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let kickScheduled = false;
  let overflowed = 0;
  let closed = false;

  const size = (): number => items.length - head;

  function report(err: unknown, dropped: number): void {
    try {
      onError(err, dropped);
    } catch {
      // The reporter itself failed; there is no one left to tell.
    }
  }

  function advance(count: number): void {
    head += count;
    if (head === items.length) {
      items = [];
      head = 0;
    } else if (head * 2 > items.length) {
      items = items.slice(head);
      head = 0;
    }
  }

  function reportOverflow(): void {
    if (overflowed === 0) return;
    const dropped = overflowed;
    overflowed = 0;
    report(new StoreError(`write-behind queue full (${maxQueued} items): dropped the ${dropped} oldest`), dropped);
  }

  async function writeBatch(batch: T[]): Promise<void> {
    try {
      await write(batch);
      return;
    } catch {
      // Retried once below; only the second failure is reported.
    }
    try {
      await write(batch);
    } catch (err) {
      report(err, batch.length);
    }
  }

  // Writes what is waiting, then goes on only while full batches wait (a backlog) or the queue is closing. A
  // partial remainder waits for the timer like any other: with an asynchronous writer (a write thread,
  // PostgreSQL) items keep arriving during each write, and writing them at once would turn a steady trickle into
  // a commit per item or two.
  async function drainLoop(): Promise<void> {
    do {
      reportOverflow();
      const batch = items.slice(head, head + maxBatch) as T[];
      advance(batch.length);
      await writeBatch(batch);
    } while (size() >= maxBatch || (closed && size() > 0));
    reportOverflow();
  }

  function clearTimer(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  function startDrain(): Promise<void> {
    if (draining === undefined) {
      clearTimer();
      draining = drainLoop().finally(() => {
        draining = undefined;
        // Items pushed after the loop's last check wait for the timer like any other.
        if (size() > 0 && !closed) arm();
      });
    }
    return draining;
  }

  function arm(): void {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void startDrain();
    }, flushMs);
    timer.unref();
  }

  function flushSoon(): void {
    if (kickScheduled) return;
    kickScheduled = true;
    queueMicrotask(() => {
      kickScheduled = false;
      void startDrain();
    });
  }

  async function flush(): Promise<void> {
    while (draining !== undefined || size() > 0) await (draining ?? startDrain());
  }

  return {
    push(item: T): void {
      if (closed) {
        report(new StoreError("write-behind is closed: item dropped"), 1);
        return;
      }
      // Only a waiting item is folded into: the batch being written was taken off the queue.
      if (merge !== undefined && size() > 0 && merge(items[items.length - 1] as T, item)) return;
      if (size() >= maxQueued) {
        items[head] = undefined;
        advance(1);
        overflowed++;
      }
      items.push(item);
      if (draining !== undefined) return;
      if (size() >= maxBatch) flushSoon();
      else arm();
    },
    flush,
    async close(): Promise<void> {
      closed = true;
      clearTimer();
      await flush();
    },
    get queued(): number {
      return size();
    },
  };
}
