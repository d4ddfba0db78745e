const SECOND = 1000;
const HOUR = 3_600_000;
/** The longest window: admissions older than this never count again. */
export const LONGEST_WINDOW_MS = 24 * HOUR;
/**
 * The largest limit counted with exact timestamps (80 kB of them at most); a backend with a larger limit counts
 * per second instead.
 */
export const EXACT_LIMIT = 10_000;
/** Seconds a per-second ring holds: every second that can still count in the longest window, the current one included. */
const RING_SECONDS = LONGEST_WINDOW_MS / SECOND + 1;

/** A backend's rolling-window limits, as configured (a backend's config is one). */
export interface WindowLimits {
  maxPerHour?: number | undefined;
  maxPer5Hours?: number | undefined;
  maxPerDay?: number | undefined;
}

const WINDOWS: ReadonlyArray<{ key: keyof WindowLimits; spanMs: number; label: string }> = [
  { key: "maxPerHour", spanMs: HOUR, label: "hour" },
  { key: "maxPer5Hours", spanMs: 5 * HOUR, label: "5 hours" },
  { key: "maxPerDay", spanMs: LONGEST_WINDOW_MS, label: "day" },
];

/** Requests admitted in each rolling window. */
export interface WindowUsage {
  hour: number;
  fiveHours: number;
  day: number;
}

/** A full window: when it has room again, and which limit it is. */
export interface WindowFull {
  /** Epoch ms when one more request may be admitted. */
  until: number;
  detail: string;
}

/** `count` admissions at epoch ms `at`: what a counter reports of itself and is seeded with. */
export interface CountedAdmissions {
  at: number;
  count: number;
}

/**
 * The rolling windows of one backend. Time only moves forward inside a counter: a reading earlier than one already
 * seen is taken as that one.
 */
export interface RateWindows {
  /** The limits the counter enforces; a backend whose limits changed needs a counter rebuilt from {@link counted}. */
  readonly limits: WindowLimits;
  /** Slots of storage the counter holds: fixed when it is created, whatever is admitted. */
  readonly capacity: number;
  /** Counts one request admitted at `at`. */
  admit(at: number): void;
  /** Undefined when every window has room at `at`; else the window that stays full the longest. */
  full(at: number): WindowFull | undefined;
  /** What each window counts at `at`. */
  usage(at: number): WindowUsage;
  /** Everything the counter holds, oldest first (admissions that already aged out may be included). */
  counted(): CountedAdmissions[];
}

/** The second an admission at epoch ms `at` is counted in: `at` rounded up, so it never ages out early. */
export function admissionSecond(at: number): number {
  return Math.ceil(at / SECOND);
}

/** Whether two sets of limits are the same. */
export function sameLimits(a: WindowLimits, b: WindowLimits): boolean {
  return a.maxPerHour === b.maxPerHour && a.maxPer5Hours === b.maxPer5Hours && a.maxPerDay === b.maxPerDay;
}

/** The largest configured limit, 0 when the backend has none. */
export function largestLimit(limits: WindowLimits): number {
  return Math.max(limits.maxPerHour ?? 0, limits.maxPer5Hours ?? 0, limits.maxPerDay ?? 0);
}

/**
 * Creates the counter that fits `limits` (at least one must be set): exact timestamps up to {@link EXACT_LIMIT},
 * per-second counts beyond. `seed` (ascending) is what an earlier counter or the store counted.
 */
export function createRateWindows(limits: WindowLimits, seed: readonly CountedAdmissions[] = []): RateWindows {
  return largestLimit(limits) <= EXACT_LIMIT ? createExactWindows(limits, seed) : createSecondWindows(limits, seed);
}

/** The configured windows of `limits`, with their limit and index into {@link WINDOWS}. */
function configured(limits: WindowLimits) {
  return WINDOWS.flatMap(({ key, spanMs, label }, index) => {
    const limit = limits[key];
    return limit === undefined ? [] : [{ index, spanMs, limit, detail: `${limit} requests per ${label} reached` }];
  });
}

/**
 * Exact rolling windows: the newest admissions (as many as the largest limit) in a ring of timestamps. A window is
 * full while its limit-th newest admission is inside its span, until that admission is a span old. Usage reads at
 * most the largest limit: older admissions are no longer held.
 */
export function createExactWindows(limits: WindowLimits, seed: readonly CountedAdmissions[] = []): RateWindows {
  const windows = configured(limits);
  const capacity = Math.max(1, largestLimit(limits));
  const stamps = new Float64Array(capacity);
  // Admissions ever stored; admission i (0-based) sits at stamps[i % capacity] while i >= pushed - capacity.
  let pushed = 0;
  let latest = -Infinity;
  // Per window in WINDOWS order: the oldest admission still counted (an index as above); moves forward only.
  const starts = [0, 0, 0];
  const stamp = (i: number) => stamps[i % capacity]!;

  function push(at: number, count: number): void {
    latest = Math.max(latest, at);
    for (let n = 0; n < count; n++) stamps[pushed++ % capacity] = latest;
  }

  function advance(at: number): number {
    latest = Math.max(latest, at);
    for (let index = 0; index < WINDOWS.length; index++) {
      const oldest = latest - WINDOWS[index]!.spanMs;
      let start = Math.max(starts[index]!, pushed - capacity);
      while (start < pushed && stamp(start) <= oldest) start++;
      starts[index] = start;
    }
    return latest;
  }

  // Only the newest `capacity` seeded admissions can matter.
  let skip = Math.max(0, seed.reduce((sum, s) => sum + s.count, 0) - capacity);
  for (const { at, count } of seed) {
    const dropped = Math.min(skip, count);
    skip -= dropped;
    push(at, count - dropped);
  }

  return {
    limits,
    capacity,
    admit(at) {
      push(at, 1);
    },
    full(at) {
      const now = advance(at);
      let worst: WindowFull | undefined;
      for (const { spanMs, limit, detail } of windows) {
        if (pushed < limit) continue;
        const oldestCounted = stamp(pushed - limit);
        if (oldestCounted > now - spanMs && (!worst || oldestCounted + spanMs > worst.until)) worst = { until: oldestCounted + spanMs, detail };
      }
      return worst;
    },
    usage(at) {
      advance(at);
      return { hour: pushed - starts[0]!, fiveHours: pushed - starts[1]!, day: pushed - starts[2]! };
    },
    counted() {
      const out: CountedAdmissions[] = [];
      for (let i = Math.max(0, pushed - capacity); i < pushed; i++) out.push({ at: stamp(i), count: 1 });
      return out;
    },
  };
}

/**
 * Rolling windows counted per second, for limits too large to keep a timestamp each: a fixed ring of one count per
 * second of the longest window, and a running total per window that admissions add to and seconds leaving the
 * window subtract from, so admitting and checking cost O(1) amortized and memory is fixed. The admissions of a
 * second are taken as made at its end ({@link admissionSecond}), so a window never counts fewer than it holds: never
 * admits over its limit, and when full has room once enough of its oldest seconds have aged out.
 */
export function createSecondWindows(limits: WindowLimits, seed: readonly CountedAdmissions[] = []): RateWindows {
  const windows = configured(limits);
  const counts = new Uint32Array(RING_SECONDS);
  const slot = (second: number) => ((second % RING_SECONDS) + RING_SECONDS) % RING_SECONDS;
  let latest = -Infinity;
  // The newest second the ring holds; it holds the seconds (head - RING_SECONDS, head].
  let head = -Infinity;
  // Per window in WINDOWS order: its oldest counted second, and the admissions it counts.
  const tails = [0, 0, 0];
  const totals = [0, 0, 0];
  // Changes whenever an admission is counted: a cached `until` is valid while this has not moved.
  let version = 0;
  const untils = WINDOWS.map(() => ({ version: -1, until: 0 }));
  // The oldest second still counted at `at` in a window of `spanMs`: second s counts while at < s·1000 + span.
  const tailAt = (at: number, spanMs: number) => Math.floor((at - spanMs) / SECOND) + 1;

  function advance(at: number): number {
    latest = Math.max(latest, at);
    const newHead = admissionSecond(latest);
    if (!(newHead - head < RING_SECONDS)) {
      counts.fill(0);
      for (let index = 0; index < WINDOWS.length; index++) {
        tails[index] = tailAt(latest, WINDOWS[index]!.spanMs);
        totals[index] = 0;
      }
    } else {
      for (let index = 0; index < WINDOWS.length; index++) {
        const tail = tailAt(latest, WINDOWS[index]!.spanMs);
        // Only seconds up to the old head hold counts; later slots still hold seconds a ring ago.
        for (let s = tails[index]!; s < tail && s <= head; s++) totals[index]! -= counts[slot(s)]!;
        tails[index] = Math.max(tails[index]!, tail);
      }
      // Every second a ring older than the new ones has left the longest window above.
      for (let s = head + 1; s <= newHead; s++) counts[slot(s)] = 0;
    }
    head = newHead;
    return latest;
  }

  function add(at: number, count: number): void {
    advance(at);
    counts[slot(head)]! += count;
    for (let index = 0; index < WINDOWS.length; index++) totals[index]! += count;
    version++;
  }

  /** When window `index` has room again: its oldest seconds, enough of them to go below `limit`, have aged out. */
  function until(index: number, spanMs: number, limit: number): number {
    const cached = untils[index]!;
    if (cached.version !== version) {
      const excess = totals[index]! - limit + 1;
      let second = tails[index]!;
      for (let aged = counts[slot(second)]!; aged < excess; aged += counts[slot(second)]!) second++;
      cached.version = version;
      cached.until = second * SECOND + spanMs;
    }
    return cached.until;
  }

  for (const { at, count } of seed) add(at, count);

  return {
    limits,
    capacity: RING_SECONDS,
    admit(at) {
      add(at, 1);
    },
    full(at) {
      advance(at);
      let worst: WindowFull | undefined;
      for (const { index, spanMs, limit, detail } of windows) {
        if (totals[index]! < limit) continue;
        const when = until(index, spanMs, limit);
        if (!worst || when > worst.until) worst = { until: when, detail };
      }
      return worst;
    },
    usage(at) {
      advance(at);
      return { hour: totals[0]!, fiveHours: totals[1]!, day: totals[2]! };
    },
    counted() {
      const out: CountedAdmissions[] = [];
      if (head === -Infinity) return out;
      for (let second = head - RING_SECONDS + 1; second <= head; second++) {
        const count = counts[slot(second)]!;
        if (count > 0) out.push({ at: second * SECOND, count });
      }
      return out;
    },
  };
}
