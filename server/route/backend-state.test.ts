import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import { AUTH_FAILURE_COOLDOWN_MS, createBackendState } from "./backend-state.js";

const [backend] = parseConfig(
  `[provider.p]\nbase_url = "http://127.0.0.1:1/v1"\n[[backend]]\nmodel = "p:m"\nmax_per_hour = 2\nmax_per_day = 3\n`,
  { source: "t.toml", baseDir: ".", env: {} },
).backends;

/** Random 0 draws no jitter: computed cooldowns come out at their nominal length. */
const options = (now: () => number, random: () => number = () => 0) => ({ now, random, cooldownMs: 5_000, maxCooldownMs: 60_000 });

/** A random source that returns `values` in order, and fails the test if it is drawn from once more. */
function scripted(...values: number[]): () => number {
  return () => {
    const value = values.shift();
    if (value === undefined) throw new Error("random drawn more often than expected");
    return value;
  };
}

/** Three backends that fail together, as in the audit that found them coming back in step. */
const trio = ["p:a", "p:b", "p:c"].map((name) => ({ ...backend!, name }));

describe("backend state", () => {
  it("counts rolling windows at admission, and reports each admission for persistence", () => {
    let now = 1_000_000;
    const admitted: number[] = [];
    const state = createBackendState({ ...options(() => now), onAdmit: (_, at) => admitted.push(at) });
    state.admit(backend!);
    now += 10 * 60_000;
    state.admit(backend!);
    // Two in the last hour: the hour window is full until the first admission is an hour old.
    expect(state.unavailable(backend!)).toEqual({ kind: "rate_window", until: 1_000_000 + 3_600_000, detail: "2 requests per hour reached" });
    expect(state.windowUsage(backend!)).toEqual({ hour: 2, fiveHours: 2, day: 2 });
    now = 1_000_000 + 3_600_000;
    expect(state.unavailable(backend!)).toBeUndefined();
    state.admit(backend!);
    // Three in the last day: the day window is full until the first admission is a day old.
    expect(state.unavailable(backend!)).toMatchObject({ kind: "rate_window", until: 1_000_000 + 86_400_000, detail: "3 requests per day reached" });
    expect(admitted).toEqual([1_000_000, 1_600_000, 4_600_000]);
  });

  it("restores admissions persisted per second (a restart keeps the windows)", () => {
    const state = createBackendState(options(() => 2_000_000));
    state.restoreAdmissions(new Map([["p:m", [{ second: 1_900, count: 1 }, { second: 1_950, count: 1 }]], ["gone", [{ second: 1_950, count: 9 }]]]));
    expect(state.unavailable(backend!)).toEqual({ kind: "rate_window", until: 1_900_000 + 3_600_000, detail: "2 requests per hour reached" });
    expect(state.windowUsage(backend!)).toEqual({ hour: 2, fiveHours: 2, day: 2 });
  });

  it("restores into windows of either size, and keeps what they counted when the limits change", () => {
    let now = 1_000_000;
    const state = createBackendState(options(() => now));
    const huge = { ...backend!, maxPerDay: 1_000_000_000 };
    state.restoreAdmissions(new Map([["p:m", [{ second: 1_000, count: 1 }]]]));
    now = 1_001_500;
    state.admit(huge);
    expect(state.unavailable(huge)).toEqual({ kind: "rate_window", until: 1_000_000 + 3_600_000, detail: "2 requests per hour reached" });
    expect(state.windowUsage(huge)).toEqual({ hour: 2, fiveHours: 2, day: 2 });
    now = 1_000_000 + 3_600_000;
    expect(state.unavailable(huge)).toBeUndefined();
    state.admit(huge);
    // Per-second counts: the admission at 1_001_500 counts as made at the end of its second.
    expect(state.unavailable(huge)).toEqual({ kind: "rate_window", until: 1_002_000 + 3_600_000, detail: "2 requests per hour reached" });
    // The catalog reloads with small limits: the counts move to exact windows, at the seconds they were counted in.
    expect(state.unavailable(backend!)).toEqual({ kind: "rate_window", until: 1_000_000 + 86_400_000, detail: "3 requests per day reached" });
    expect(state.windowUsage(backend!)).toEqual({ hour: 2, fiveHours: 3, day: 3 });
    // Limits removed: nothing is counted or refused, and what was counted comes back with them.
    const unlimited = { ...backend!, maxPerHour: undefined, maxPerDay: undefined };
    state.admit(unlimited);
    expect(state.unavailable(unlimited)).toBeUndefined();
    expect(state.windowUsage(unlimited)).toEqual({ hour: 0, fiveHours: 0, day: 0 });
    expect(state.windowUsage(huge)).toEqual({ hour: 2, fiveHours: 3, day: 3 });
    expect(state.unavailable(huge)).toEqual({ kind: "rate_window", until: 1_002_000 + 3_600_000, detail: "2 requests per hour reached" });
  });

  it("grows the cooldown with consecutive failures, caps it, and resets on success", () => {
    let now = 0;
    const state = createBackendState(options(() => now));
    expect(state.recordFailure(backend!, { latencyMs: 10 })).toEqual({ ms: 5_000, started: true });
    expect(state.unavailable(backend!)).toEqual({ kind: "cooldown", until: 5_000, detail: "cooling down after a failure" });
    // A failure landing while the cooldown runs does not grow the streak (a burst is one event).
    expect(state.recordFailure(backend!, { latencyMs: 10 })).toEqual({ ms: 5_000, started: false });
    now = 20_000;
    expect(state.unavailable(backend!)).toBeUndefined();
    expect(state.recordFailure(backend!, { latencyMs: 10 })).toEqual({ ms: 10_000, started: true });
    now = 40_000;
    expect(state.recordFailure(backend!, { latencyMs: 10 })).toEqual({ ms: 20_000, started: true });
    now = 80_000;
    expect(state.recordFailure(backend!, { latencyMs: 10 })).toEqual({ ms: 40_000, started: true });
    now = 120_000;
    expect(state.recordFailure(backend!, { latencyMs: 10 }).ms).toBe(60_000);
    expect(state.stats(backend!)).toMatchObject({ consecutiveFailures: 5, errorRate: 1, attempts: 6 });
    // Long after the last cooldown ended, a failure starts a new streak.
    now = 400_000;
    expect(state.recordFailure(backend!, { latencyMs: 10 }).ms).toBe(5_000);
    state.recordFailure(backend!, { latencyMs: 10 });
    state.recordSuccess(backend!, 30);
    expect(state.unavailable(backend!)).toBeUndefined();
    now = 500_000;
    expect(state.recordFailure(backend!, { latencyMs: 10 }).ms).toBe(5_000);
  });

  it("jitters computed cooldowns down by up to a fifth, so backends that failed together come back apart", () => {
    let now = 0;
    const state = createBackendState(options(() => now, scripted(0, 0.5, 0.95, 0.25, 0.75, 0.1)));
    expect(trio.map((b) => state.recordFailure(b, { latencyMs: 1 }))).toEqual([
      { ms: 5_000, started: true },
      { ms: 4_500, started: true },
      { ms: 4_050, started: true },
    ]);
    expect(trio.map((b) => state.unavailable(b)?.until)).toEqual([5_000, 4_500, 4_050]);
    // The next round doubles the nominal length and draws again: 10 s jittered into [8 s, 10 s].
    now = 5_000;
    expect(trio.map((b) => state.recordFailure(b, { latencyMs: 1 }).ms)).toEqual([9_500, 8_500, 9_800]);
    expect(trio.map((b) => state.unavailable(b)?.until)).toEqual([14_500, 13_500, 14_800]);
  });

  it("draws the jitter once per cooldown: a failure landing during it extends it by the same factor", () => {
    let now = 0;
    const state = createBackendState(options(() => now, scripted(0.5)));
    expect(state.recordFailure(backend!, { latencyMs: 1 })).toEqual({ ms: 4_500, started: true });
    now = 1_000;
    // No second draw (scripted() would throw): a burst is one event, not many chances at the top of the band.
    expect(state.recordFailure(backend!, { latencyMs: 1 })).toEqual({ ms: 4_500, started: false });
    expect(state.unavailable(backend!)?.until).toBe(5_500);
  });

  it("keeps max_cooldown as the cap, and still spreads backends that reached it", () => {
    const state = createBackendState({ ...options(() => 0, scripted(0, 0.3, 0.6)), cooldownMs: 60_000 });
    expect(trio.map((b) => state.recordFailure(b, { latencyMs: 1 }).ms)).toEqual([60_000, 56_400, 52_800]);
  });

  it("keeps Retry-After exact, and takes a backend out for the maximum on a config fault and an hour on an auth failure", () => {
    // Nothing is drawn: scripted() throws on the first draw.
    const state = createBackendState(options(() => 0, scripted()));
    expect(state.recordFailure(backend!, { latencyMs: 1, retryAfterMs: 42_000 }).ms).toBe(42_000);
    expect(state.recordFailure(trio[0]!, { latencyMs: 1, kind: "config" }).ms).toBe(60_000);
    expect(state.recordFailure(backend!, { latencyMs: 1, kind: "account" }).ms).toBe(AUTH_FAILURE_COOLDOWN_MS);
    expect(state.unavailable(backend!)?.until).toBe(AUTH_FAILURE_COOLDOWN_MS);
  });

  it("starts an account cooldown even during a shorter one, and only once", () => {
    let now = 0;
    const state = createBackendState(options(() => now));
    expect(state.recordFailure(backend!, { latencyMs: 1 })).toEqual({ ms: 5_000, started: true });
    // The key is revoked while the 429's cooldown runs: the hour-long cooldown starts now, and is reported.
    now = 1_000;
    expect(state.recordFailure(backend!, { latencyMs: 1, kind: "account" })).toEqual({ ms: AUTH_FAILURE_COOLDOWN_MS, started: true });
    now = 2_000;
    expect(state.recordFailure(backend!, { latencyMs: 1, kind: "account" })).toEqual({ ms: AUTH_FAILURE_COOLDOWN_MS, started: false });
    // The same outage: neither failure grows the streak, and a transient one cannot shorten the hour.
    expect(state.recordFailure(backend!, { latencyMs: 1 })).toEqual({ ms: 5_000, started: false });
    expect(state.unavailable(backend!)?.until).toBe(2_000 + AUTH_FAILURE_COOLDOWN_MS);
    expect(state.stats(backend!).consecutiveFailures).toBe(1);
  });

  it("treats a failed health check as unavailable until the next check", () => {
    const state = createBackendState(options(() => 0));
    state.recordHealth(backend!, false, 30_000);
    expect(state.unavailable(backend!)).toEqual({ kind: "unhealthy", until: 30_000, detail: "failed its last health check" });
    state.recordHealth(backend!, true, 60_000);
    expect(state.unavailable(backend!)).toBeUndefined();
  });
});
