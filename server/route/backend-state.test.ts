import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import { createBackendState } from "./backend-state.js";

const [backend] = parseConfig(
  `[provider.p]\nbase_url = "http://127.0.0.1:1/v1"\n[[backend]]\nmodel = "p:m"\nmax_per_hour = 2\nmax_per_day = 3\n`,
  { source: "t.toml", baseDir: ".", env: {} },
).backends;

describe("backend state", () => {
  it("counts rolling windows at admission", () => {
    let now = 1_000_000;
    const state = createBackendState(() => now);
    state.admit(backend!);
    now += 10 * 60_000;
    state.admit(backend!);
    // Two in the last hour: the hour window is full until the first admission is an hour old.
    expect(state.unavailable(backend!)).toEqual({ kind: "rate_window", until: 1_000_000 + 3_600_000, detail: "2 requests per hour reached" });
    now = 1_000_000 + 3_600_000;
    expect(state.unavailable(backend!)).toBeUndefined();
    state.admit(backend!);
    // Three in the last day: the day window is full until the first admission is a day old.
    expect(state.unavailable(backend!)).toMatchObject({ kind: "rate_window", until: 1_000_000 + 86_400_000, detail: "3 requests per day reached" });
  });

  it("cools down and recovers", () => {
    let now = 0;
    const state = createBackendState(() => now);
    state.coolDown(backend!, 5_000);
    expect(state.unavailable(backend!)).toEqual({ kind: "cooldown", until: 5_000, detail: "cooling down after a failure" });
    now = 5_000;
    expect(state.unavailable(backend!)).toBeUndefined();
    state.coolDown(backend!, 5_000);
    state.recordSuccess(backend!);
    expect(state.unavailable(backend!)).toBeUndefined();
  });
});
