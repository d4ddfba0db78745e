import { describe, expect, it } from "vitest";
import { createRetryBudget } from "./retry-budget.js";

describe("retry budget", () => {
  it("allows the minimum when few requests are in flight", () => {
    const budget = createRetryBudget({ ratio: 0.2, minRetries: 3 });
    budget.enter();
    const slots = [budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()];
    expect(slots.map((s) => s !== undefined)).toEqual([true, true, true, false]);
    slots[0]!();
    expect(budget.tryRetry()).toBeDefined();
  });

  it("allows 20% of the requests in flight", () => {
    const budget = createRetryBudget({ ratio: 0.2, minRetries: 3 });
    for (let i = 0; i < 100; i++) budget.enter();
    let granted = 0;
    while (budget.tryRetry()) granted++;
    expect(granted).toBe(20);
  });

  it("releases are idempotent", () => {
    const budget = createRetryBudget({ ratio: 0, minRetries: 1 });
    const leave = budget.enter();
    const slot = budget.tryRetry()!;
    slot();
    slot();
    leave();
    leave();
    expect(budget.tryRetry()).toBeDefined();
    expect(budget.tryRetry()).toBeUndefined();
  });
});
