import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StoreError } from "./store-error.js";
import { createWriteBehind, type WriteBehindOptions } from "./write-behind.js";

/** Lets every pending promise callback run (setImmediate stays real: only the setTimeout family is faked). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A promise the test resolves or rejects by hand, to hold a write in flight. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A recording writer: `writes` holds every call's batch, `errors` every onError report. */
function harness(options: Partial<WriteBehindOptions> = {}, write?: (batch: number[]) => Promise<void>) {
  const writes: number[][] = [];
  const errors: [unknown, number][] = [];
  const queue = createWriteBehind<number>(
    async (batch) => {
      writes.push([...batch]);
      await write?.(batch);
    },
    { flushMs: 1000, maxBatch: 3, maxQueued: 10, onError: (err, dropped) => void errors.push([err, dropped]), ...options },
  );
  return { queue, writes, errors };
}

describe("createWriteBehind", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes a partial batch after flushMs, not before", async () => {
    const { queue, writes } = harness();
    queue.push(1);
    queue.push(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(writes).toEqual([]);
    expect(queue.queued).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toEqual([[1, 2]]);
    expect(queue.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("writes as soon as maxBatch items wait, in batches of at most maxBatch, but never inside push", async () => {
    const { queue, writes } = harness();
    for (let i = 1; i <= 7; i++) queue.push(i);
    expect(writes).toEqual([]);
    await settle();
    // The full batches at once; the partial remainder waits for the timer like any other.
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6]]);
    await vi.advanceTimersByTimeAsync(999);
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("does not write a trickle item by item when every write takes time", async () => {
    // An asynchronous writer (a write thread, PostgreSQL): items keep arriving while each write is in flight.
    const { queue, writes } = harness({ flushMs: 200, maxBatch: 500, maxQueued: 10_000 }, () => new Promise((resolve) => setTimeout(resolve, 5)));
    for (let ms = 0; ms < 1000; ms++) {
      queue.push(ms);
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes.flat()).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // One write per flushMs plus the write's own 5 ms (items arriving during a write wait for the next timer), not
    // one per item or two.
    expect(writes.map((batch) => batch.length)).toEqual([200, 205, 205, 205, 185]);
  });

  it("has one write in flight at a time; items pushed meanwhile form the next batches", async () => {
    const gate = deferred();
    let active = 0;
    let maxActive = 0;
    const { queue, writes } = harness({}, async () => {
      maxActive = Math.max(maxActive, ++active);
      if (writes.length === 1) await gate.promise;
      active--;
    });
    [1, 2, 3].forEach((i) => queue.push(i));
    await settle();
    [4, 5, 6, 7].forEach((i) => queue.push(i));
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toEqual([[1, 2, 3]]);
    expect(queue.queued).toBe(4);
    gate.resolve();
    await settle();
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6]]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(maxActive).toBe(1);
  });

  it("retries a failed batch once and writes it when the retry succeeds", async () => {
    let calls = 0;
    const { queue, writes, errors } = harness({}, async () => {
      if (++calls === 1) throw new Error("connection reset");
    });
    [1, 2].forEach((i) => queue.push(i));
    await queue.flush();
    expect(writes).toEqual([[1, 2], [1, 2]]);
    expect(errors).toEqual([]);
  });

  it("reports a batch that fails twice with the second error and its size, then carries on", async () => {
    let calls = 0;
    const { queue, writes, errors } = harness({}, async () => {
      calls++;
      if (calls <= 2) throw new Error(`disk full ${calls}`);
    });
    [1, 2].forEach((i) => queue.push(i));
    await queue.flush();
    expect(errors).toEqual([[new Error("disk full 2"), 2]]);
    queue.push(3);
    await queue.flush();
    expect(writes).toEqual([[1, 2], [1, 2], [3]]);
    expect(errors).toHaveLength(1);
  });

  it("drops the oldest waiting items beyond maxQueued and reports how many", async () => {
    const gate = deferred();
    const { queue, writes, errors } = harness({ maxBatch: 2, maxQueued: 3 }, async (batch) => {
      if (batch[0] === 1) await gate.promise;
    });
    [1, 2].forEach((i) => queue.push(i));
    await settle();
    for (let i = 3; i <= 8; i++) queue.push(i);
    expect(queue.queued).toBe(3);
    gate.resolve();
    await queue.flush();
    expect(writes).toEqual([[1, 2], [6, 7], [8]]);
    expect(errors).toEqual([[new StoreError("write-behind queue full (3 items): dropped the 3 oldest"), 3]]);
  });

  it("flushes everything on close and leaves no timer", async () => {
    const { queue, writes } = harness({ maxBatch: 2 });
    queue.push(1);
    expect(vi.getTimerCount()).toBe(1);
    [2, 3, 4, 5].forEach((i) => queue.push(i));
    await queue.close();
    expect(writes).toEqual([[1, 2], [3, 4], [5]]);
    expect(queue.queued).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits on close for the write already in flight", async () => {
    const gate = deferred();
    const { queue, writes } = harness({}, () => gate.promise);
    [1, 2, 3, 4].forEach((i) => queue.push(i));
    await settle();
    let closed = false;
    const closing = queue.close().then(() => {
      closed = true;
    });
    await settle();
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    expect(writes).toEqual([[1, 2, 3], [4]]);
  });

  it("refuses items after close: reported, not written, and push still does not throw", async () => {
    const { queue, writes, errors } = harness();
    await queue.close();
    queue.push(1);
    expect(errors).toEqual([[new StoreError("write-behind is closed: item dropped"), 1]]);
    const throwing = createWriteBehind<number>(async () => {}, {
      flushMs: 10,
      maxBatch: 1,
      maxQueued: 1,
      onError: () => {
        throw new Error("logger down");
      },
    });
    await throwing.close();
    expect(() => throwing.push(1)).not.toThrow();
    await queue.flush();
    expect(writes).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("keeps going when onError itself throws", async () => {
    const writes: number[][] = [];
    const queue = createWriteBehind<number>(
      async (batch) => {
        writes.push(batch);
        if (batch[0] === 1) throw new Error("bad batch");
      },
      {
        flushMs: 10,
        maxBatch: 1,
        maxQueued: 5,
        onError: () => {
          throw new Error("logger down");
        },
      },
    );
    queue.push(1);
    queue.push(2);
    await queue.close();
    expect(writes).toEqual([[1], [1], [2]]);
  });

  it.each<[string, Partial<WriteBehindOptions>, string]>([
    ["flushMs 0", { flushMs: 0 }, "write-behind flushMs must be a positive number"],
    ["flushMs Infinity", { flushMs: Infinity }, "write-behind flushMs must be a positive number"],
    ["maxBatch 0", { maxBatch: 0 }, "write-behind maxBatch must be a positive integer"],
    ["maxBatch 1.5", { maxBatch: 1.5 }, "write-behind maxBatch must be a positive integer"],
    ["maxQueued below maxBatch", { maxBatch: 5, maxQueued: 4 }, "write-behind maxQueued must be an integer of at least maxBatch"],
  ])("refuses %s", (_, options, message) => {
    expect(() => harness(options)).toThrow(new StoreError(message));
  });

  describe("merge", () => {
    /** Counts per key: `merge` folds an item into the newest waiting one of the same key. */
    function counting(write?: (batch: { key: string; n: number }[]) => Promise<void>) {
      // The batches themselves, not copies: an item folded into after it was taken would show here.
      const writes: { key: string; n: number }[][] = [];
      const queue = createWriteBehind<{ key: string; n: number }>(
        async (batch) => {
          writes.push(batch);
          await write?.(batch);
        },
        {
          flushMs: 1000,
          maxBatch: 3,
          maxQueued: 10,
          onError: () => {},
          merge: (last, item) => last.key === item.key && ((last.n += item.n), true),
        },
      );
      return { queue, writes };
    }

    it("folds an item into the newest waiting item when merge says so, and queues it otherwise", async () => {
      const { queue, writes } = counting();
      for (const key of ["a", "a", "a", "b", "b", "a"]) queue.push({ key, n: 1 });
      expect(queue.queued).toBe(3);
      await vi.advanceTimersByTimeAsync(1000);
      expect(writes).toEqual([[{ key: "a", n: 3 }, { key: "b", n: 2 }, { key: "a", n: 1 }]]);
    });

    it("never folds into the batch being written: its items were taken off the queue", async () => {
      const held = deferred();
      const { queue, writes } = counting(() => held.promise);
      for (const key of ["a", "a", "b", "c"]) queue.push({ key, n: 1 });
      await settle();
      expect(writes).toEqual([[{ key: "a", n: 2 }, { key: "b", n: 1 }, { key: "c", n: 1 }]]);
      // The "c" item is in flight: a new "c" waits on its own, and the next ones fold into it.
      queue.push({ key: "c", n: 1 });
      queue.push({ key: "c", n: 4 });
      expect(queue.queued).toBe(1);
      held.resolve();
      await settle();
      await vi.advanceTimersByTimeAsync(1000);
      expect(writes).toEqual([[{ key: "a", n: 2 }, { key: "b", n: 1 }, { key: "c", n: 1 }], [{ key: "c", n: 5 }]]);
    });
  });
});

describe("createWriteBehind with real timers", () => {
  it("never keeps the process alive: its timer is unref'd", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;
    const before = timers();
    const queue = createWriteBehind<number>(async () => {}, { flushMs: 60_000, maxBatch: 10, maxQueued: 10, onError: () => {} });
    queue.push(1);
    expect(timers()).toBe(before);
    await queue.close();
    expect(queue.queued).toBe(0);
  });
});
