import { describe, expect, it } from "vitest";
import { admissionSecond, createExactWindows, createRateWindows, createSecondWindows, EXACT_LIMIT, type RateWindows, type WindowLimits } from "./rate-windows.js";

/** A whole second, so both representations count alike. */
const T0 = 1_795_000_000_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const representations: Array<[string, (limits: WindowLimits, seed?: Array<{ at: number; count: number }>) => RateWindows]> = [
  ["exact timestamps", createExactWindows],
  ["per-second counts", createSecondWindows],
];

describe.each(representations)("rate windows with %s", (_, create) => {
  it("is full once a limit is reached, until the limit-th newest admission is a span old", () => {
    const windows = create({ maxPerHour: 2, maxPerDay: 3 });
    windows.admit(T0);
    expect(windows.full(T0)).toBeUndefined();
    windows.admit(T0 + 10 * MINUTE);
    expect(windows.full(T0 + 10 * MINUTE)).toEqual({ until: T0 + HOUR, detail: "2 requests per hour reached" });
    expect(windows.usage(T0 + 10 * MINUTE)).toEqual({ hour: 2, fiveHours: 2, day: 2 });
    expect(windows.full(T0 + HOUR - 1)).toEqual({ until: T0 + HOUR, detail: "2 requests per hour reached" });
  });

  it("ages admissions out of each window on its own span", () => {
    const windows = create({ maxPerHour: 2, maxPerDay: 3 });
    windows.admit(T0);
    windows.admit(T0 + 10 * MINUTE);
    expect(windows.full(T0 + HOUR)).toBeUndefined();
    expect(windows.usage(T0 + HOUR)).toEqual({ hour: 1, fiveHours: 2, day: 2 });
    windows.admit(T0 + HOUR);
    expect(windows.full(T0 + HOUR)).toEqual({ until: T0 + DAY, detail: "3 requests per day reached" });
    expect(windows.usage(T0 + 5 * HOUR)).toEqual({ hour: 0, fiveHours: 2, day: 3 });
    expect(windows.usage(T0 + 6 * HOUR)).toEqual({ hour: 0, fiveHours: 0, day: 3 });
    expect(windows.full(T0 + DAY)).toBeUndefined();
    expect(windows.usage(T0 + DAY)).toEqual({ hour: 0, fiveHours: 0, day: 2 });
    expect(windows.usage(T0 + 3 * DAY)).toEqual({ hour: 0, fiveHours: 0, day: 0 });
  });

  it("reports the window that stays full the longest", () => {
    const windows = create({ maxPerHour: 1, maxPer5Hours: 5, maxPerDay: 2 });
    windows.admit(T0);
    windows.admit(T0 + 2 * HOUR);
    expect(windows.full(T0 + 2 * HOUR)).toEqual({ until: T0 + DAY, detail: "2 requests per day reached" });
  });

  it("restores from what was counted, several admissions at one instant included", () => {
    const seeded = create({ maxPerHour: 3 }, [{ at: T0, count: 2 }, { at: T0 + MINUTE, count: 1 }]);
    expect(seeded.full(T0 + 10 * MINUTE)).toEqual({ until: T0 + HOUR, detail: "3 requests per hour reached" });
    expect(seeded.full(T0 + HOUR)).toBeUndefined();
    expect(seeded.usage(T0 + HOUR)).toEqual({ hour: 1, fiveHours: 3, day: 3 });

    const rebuilt = create({ maxPerHour: 3 }, seeded.counted());
    expect(rebuilt.full(T0 + HOUR)).toBeUndefined();
    expect(rebuilt.usage(T0 + HOUR)).toEqual({ hour: 1, fiveHours: 3, day: 3 });
    rebuilt.admit(T0 + HOUR);
    rebuilt.admit(T0 + HOUR);
    expect(rebuilt.full(T0 + HOUR)).toEqual({ until: T0 + MINUTE + HOUR, detail: "3 requests per hour reached" });
  });

  it("counts from the epoch on", () => {
    const windows = create({ maxPerHour: 2 });
    windows.admit(0);
    windows.admit(MINUTE);
    expect(windows.full(MINUTE)).toEqual({ until: HOUR, detail: "2 requests per hour reached" });
    expect(windows.usage(HOUR)).toEqual({ hour: 1, fiveHours: 2, day: 2 });
  });

  it("never lets time run backwards: an earlier reading is taken as the latest one", () => {
    const windows = create({ maxPerHour: 2 });
    windows.admit(T0 + HOUR);
    windows.admit(T0);
    expect(windows.usage(T0)).toEqual({ hour: 2, fiveHours: 2, day: 2 });
    expect(windows.full(T0)).toEqual({ until: T0 + 2 * HOUR, detail: "2 requests per hour reached" });
  });
});

describe("rate windows, per-second counts", () => {
  it("takes a second's admissions as made at its end, so a full window has room at the end of its oldest second", () => {
    const perSecond = createSecondWindows({ maxPerHour: 3 });
    const exact = createExactWindows({ maxPerHour: 3 });
    for (const at of [T0 + 100, T0 + 900, T0 + 1500]) {
      perSecond.admit(at);
      exact.admit(at);
    }
    expect(exact.full(T0 + 1500)).toEqual({ until: T0 + 100 + HOUR, detail: "3 requests per hour reached" });
    expect(perSecond.full(T0 + 1500)).toEqual({ until: T0 + 1000 + HOUR, detail: "3 requests per hour reached" });
    expect(perSecond.full(T0 + 1000 + HOUR - 1)).toEqual({ until: T0 + 1000 + HOUR, detail: "3 requests per hour reached" });
    // Both admissions of the oldest second leave at once.
    expect(perSecond.full(T0 + 1000 + HOUR)).toBeUndefined();
    expect(perSecond.usage(T0 + 1000 + HOUR)).toEqual({ hour: 1, fiveHours: 3, day: 3 });
    expect(perSecond.counted()).toEqual([
      { at: T0 + 1000, count: 2 },
      { at: T0 + 2000, count: 1 },
    ]);
  });

  it("waits for as many old seconds as it takes to go below the limit", () => {
    const windows = createSecondWindows({ maxPerHour: 2 });
    for (const at of [T0 + 1, T0 + 2, T0 + 1001, T0 + 1002, T0 + 1003]) windows.admit(at);
    expect(windows.full(T0 + 1003)).toEqual({ until: T0 + 2000 + HOUR, detail: "2 requests per hour reached" });
    windows.admit(T0 + 2000 + HOUR);
    expect(windows.full(T0 + 2000 + HOUR)).toBeUndefined();
  });

  it("never admits over a limit, across second boundaries", () => {
    const limit = 50;
    const windows = createSecondWindows({ maxPerHour: limit, maxPerDay: 1e9 });
    const admitted: number[] = [];
    // A deterministic client asking at uneven sub-second gaps for three hours, admitted whenever there is room.
    let seed = 7;
    for (let at = T0; at < T0 + 3 * HOUR; at += seed % 2000) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      if (windows.full(at) === undefined) {
        windows.admit(at);
        admitted.push(at);
      }
    }
    // The most admissions any real hour ever held.
    let most = 0;
    for (let first = 0, last = 0; last < admitted.length; last++) {
      while (admitted[first]! <= admitted[last]! - HOUR) first++;
      most = Math.max(most, last - first + 1);
    }
    expect(most).toBe(limit);
  });

  it("keeps a fixed amount of storage whatever it admits", () => {
    const windows = createSecondWindows({ maxPerDay: 1e9 });
    const capacity = windows.capacity;
    // A million admissions ten a second: more than a day, so the ring wraps.
    for (let i = 0; i < 1_000_000; i++) windows.admit(T0 + 100 * i);
    const end = T0 + 100 * 999_999;
    expect(windows.capacity).toBe(capacity);
    expect(windows.counted()).toHaveLength(24 * 3600 + 1);
    // Exactly 36,000 / 180,000 / 864,000 admissions are younger than each span; counting each second at its end
    // adds the nine of the second straddling the window's start.
    expect(windows.usage(end)).toEqual({ hour: 36_009, fiveHours: 180_009, day: 864_009 });
    expect(windows.full(end)).toBeUndefined();
  });

  it("starts afresh after more than a day without admissions", () => {
    const windows = createSecondWindows({ maxPerHour: 1 });
    windows.admit(T0);
    expect(windows.full(T0 + 3 * DAY)).toBeUndefined();
    expect(windows.usage(T0 + 3 * DAY)).toEqual({ hour: 0, fiveHours: 0, day: 0 });
    windows.admit(T0 + 3 * DAY);
    expect(windows.full(T0 + 3 * DAY)).toEqual({ until: T0 + 3 * DAY + HOUR, detail: "1 requests per hour reached" });
    expect(windows.counted()).toEqual([{ at: T0 + 3 * DAY, count: 1 }]);
  });
});

describe("createRateWindows", () => {
  it(`keeps exact timestamps up to a largest limit of ${EXACT_LIMIT}, per-second counts beyond`, () => {
    const exact = createRateWindows({ maxPerHour: 10, maxPerDay: EXACT_LIMIT });
    expect(exact.capacity).toBe(EXACT_LIMIT);
    for (let i = 0; i < 3 * EXACT_LIMIT; i++) exact.admit(T0 + i);
    expect(exact.capacity).toBe(EXACT_LIMIT);
    expect(exact.counted()).toHaveLength(EXACT_LIMIT);
    expect(exact.full(T0 + 3 * EXACT_LIMIT)).toEqual({ until: T0 + 3 * EXACT_LIMIT - EXACT_LIMIT + DAY, detail: `${EXACT_LIMIT} requests per day reached` });

    const perSecond = createRateWindows({ maxPerHour: 10, maxPerDay: EXACT_LIMIT + 1 });
    expect(perSecond.capacity).toBe(24 * 3600 + 1);
  });

  it("rounds an admission up to the second it is counted in", () => {
    expect([admissionSecond(T0), admissionSecond(T0 + 1), admissionSecond(T0 + 999), admissionSecond(T0 + 1000)]).toEqual([
      T0 / 1000,
      T0 / 1000 + 1,
      T0 / 1000 + 1,
      T0 / 1000 + 1,
    ]);
  });
});
