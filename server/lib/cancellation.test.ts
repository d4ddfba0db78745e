import { describe, expect, it } from "vitest";
import { abortableSleep, Cancellation, toAbortSignal } from "./cancellation.js";

describe("Cancellation", () => {
  it("runs each listener once, in the order added, with the reason set", () => {
    const c = new Cancellation();
    const seen: string[] = [];
    c.addEventListener("abort", () => seen.push(`a:${String(c.reason)}`));
    c.addEventListener("abort", () => seen.push("b"));
    c.addEventListener("abort", () => seen.push("c"));
    c.abort("why");
    c.abort("again");
    expect(seen).toEqual(["a:why", "b", "c"]);
    expect(c.aborted).toBe(true);
    expect(c.reason).toBe("why");
  });

  it("keeps the order of the others when one is removed, and ignores unknown or repeated removals", () => {
    const c = new Cancellation();
    const seen: number[] = [];
    const listeners = [0, 1, 2, 3, 4].map((n) => () => seen.push(n));
    for (const l of listeners) c.addEventListener("abort", l);
    c.removeEventListener("abort", listeners[1]!);
    c.removeEventListener("abort", listeners[1]!);
    c.removeEventListener("abort", () => {});
    c.removeEventListener("abort", listeners[4]!);
    c.abort(undefined);
    expect(seen).toEqual([0, 2, 3]);
  });

  it("adds a listener already there only once, and none after the abort", () => {
    const c = new Cancellation();
    let calls = 0;
    const l = () => calls++;
    c.addEventListener("abort", l);
    c.addEventListener("abort", l);
    c.abort(1);
    c.addEventListener("abort", l);
    expect(calls).toBe(1);
  });

  it("runs every listener even when one throws", () => {
    const c = new Cancellation();
    const seen: string[] = [];
    c.addEventListener("abort", () => {
      throw new Error("listener failed");
    });
    c.addEventListener("abort", () => seen.push("after"));
    c.abort(0);
    expect(seen).toEqual(["after"]);
  });

  it("is empty again after thousands of listeners came and went (the shutdown signal's life)", () => {
    const c = new Cancellation();
    const live: Array<() => void> = [];
    let fired = 0;
    for (let i = 0; i < 5_000; i++) {
      const l = () => fired++;
      c.addEventListener("abort", l);
      live.push(l);
      if (live.length > 32) c.removeEventListener("abort", live.shift()!);
    }
    for (const l of live.splice(0, 30)) c.removeEventListener("abort", l);
    c.abort("stop");
    expect(fired).toBe(2);
  });
});

describe("toAbortSignal and abortableSleep", () => {
  it("an AbortSignal follows the Cancellation it was made from", () => {
    const c = new Cancellation();
    const signal = toAbortSignal(c);
    expect(signal.aborted).toBe(false);
    c.abort("gone");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("gone");
  });

  it("a sleep rejects with the reason when cancelled, and resolves after its time otherwise", async () => {
    const c = new Cancellation();
    const sleeping = abortableSleep(60_000, c);
    c.abort("cancelled");
    await expect(sleeping).rejects.toBe("cancelled");

    const d = new Cancellation();
    let fired = 0;
    d.addEventListener("abort", () => fired++);
    await abortableSleep(1, d);
    d.abort("late");
    expect(fired).toBe(1);
  });
});
